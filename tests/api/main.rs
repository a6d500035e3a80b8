//! End-to-end tests: the real app on a random port, a fresh database per test, HTTP in and out.
//! Run on SQLite by default and on PostgreSQL with `IPS_TEST_DATABASE=postgres`.

#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap should fail loudly"
)]

mod auth;
mod cli;
mod contract;
mod errors;
mod health;
mod helpers;
mod interviews;
mod migrations;
mod participants;
mod readiness;
mod teams_staff;
