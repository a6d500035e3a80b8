//! IPS Companion's HTTP API (actix-web): routes, handlers, authentication, problem+json errors.
//!
//! Handlers are thin: they check who is calling, validate input, and call the store in
//! `ips-core` inside one unit of work on the blocking pool.

pub mod auth;
pub mod auth_cache;
pub mod csv;
pub mod deprecation;
pub mod idempotency;
pub mod input;
pub mod json_time;
pub mod metrics;
pub mod pagination;
pub mod preconditions;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;
mod strict_json;
pub mod telemetry;

pub use startup::{build_server, Running};
pub use state::AppState;

/// The public contract, served at `/openapi.yaml` and held to the routes by the tests.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");
