//! Push transports behind one trait.

pub mod apns;
pub mod fcm;
pub mod log;
