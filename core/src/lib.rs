//! IPS Companion's core: configuration, domain rules and the store.
//!
//! Everything that touches SQL lives here (`db`, `schema`, `store`), so the API and the worker
//! share one definition of every rule and every query.

pub mod config;
pub mod db;
pub mod domain;
pub mod schema;
pub mod store;

pub use config::Config;
pub use db::{Backend, Db, DbConnection};
pub use store::StoreError;
