//! The housekeeping tick: deletes ended sessions, spent codes, stale rate-limit counters
//! idempotency keys older than a day, and webhook deliveries finished a month ago.

use ips_core::store::{housekeeping, now};
use ips_core::Db;

pub async fn tick(db: &Db, audit_retention: Option<chrono::Duration>) {
    match db
        .write(move |conn| housekeeping::sweep(conn, now(), audit_retention))
        .await
    {
        Ok(swept) => tracing::info!(
            sessions = swept.sessions,
            enrolment_codes = swept.enrolment_codes,
            auth_failures = swept.auth_failures,
            audit_events = swept.audit_events,
            idempotency_keys = swept.idempotency_keys,
            webhook_deliveries = swept.webhook_deliveries,
            "housekeeping tick"
        ),
        Err(e) => tracing::warn!(error = %e, "housekeeping tick failed; the next tick retries"),
    }
}
