//! Push transports behind one trait.

pub mod log;
