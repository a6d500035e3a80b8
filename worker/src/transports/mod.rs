//! Push transports behind one trait.

pub mod fcm;
pub mod log;
