//! End-to-end tests: the real app on a random port, a fresh database per test, HTTP in and out.
//! Run on SQLite by default and on PostgreSQL with `IPS_TEST_DATABASE=postgres`.

#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap should fail loudly"
)]

mod alerts;
mod auth;
mod authorization;
mod case_status;
mod caseload;
mod cli;
mod contact;
mod contacts;
mod contract;
mod contract_check;
mod database_faults;
mod devices;
mod docs;
mod errors;
mod export;
mod fake_fcm;
mod fcm;
mod follow_up;
mod fuzz;
mod health;
mod helpers;
mod interviews;
mod job_preferences;
mod jobs;
mod migrations;
mod network_drop;
mod notifications;
mod participants;
mod rate_limit_burst;
mod readiness;
mod reassign;
mod reports;
mod seed;
mod settings;
mod tcp_proxy;
mod teams_staff;
mod unknown_fields;
mod webhooks;
mod withdrawal;
mod withdrawal_instances;
mod worker;
mod worker_faults;
mod worker_processes;
