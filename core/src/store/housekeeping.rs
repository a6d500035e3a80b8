//! Nightly-style clean-up the worker runs: expired secrets, stale counters, old idempotency keys and
//! finished webhook deliveries go.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{audit, auth_failures, idempotency, sessions, webhook_deliveries, StoreError};
use crate::db::DbConnection;
use crate::schema::enrolment_codes;

/// How long ended sessions and spent codes stay for inspection before they are deleted.
const KEEP_ENDED: Duration = Duration::days(30);
/// Failure counters older than any rate-limit window are useless.
const KEEP_FAILURES: Duration = Duration::days(1);
/// A phone retries a POST within minutes; a day covers any retry without keeping answers for long.
const KEEP_IDEMPOTENCY_KEYS: Duration = Duration::hours(24);
/// Finished webhook deliveries (and their events) stay a month for administrators to inspect.
const KEEP_WEBHOOK_DELIVERIES: Duration = Duration::days(30);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub enrolment_codes: usize,
    pub auth_failures: usize,
    pub audit_events: usize,
    pub idempotency_keys: usize,
    pub webhook_deliveries: usize,
}

pub fn sweep(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    audit_retention: Option<Duration>,
) -> Result<Swept, StoreError> {
    let sessions = sessions::purge_ended_before(conn, now - KEEP_ENDED)?;
    let enrolment_codes = diesel::delete(
        enrolment_codes::table.filter(enrolment_codes::expires_at.lt(now - KEEP_ENDED)),
    )
    .execute(conn)?;
    let auth_failures = auth_failures::purge_before(conn, now - KEEP_FAILURES)?;
    let audit_events = match audit_retention {
        Some(keep) => audit::purge_before(conn, now - keep)?,
        None => 0,
    };
    let idempotency_keys = idempotency::purge_before(conn, now - KEEP_IDEMPOTENCY_KEYS)?;
    let webhook_deliveries =
        webhook_deliveries::purge_finished_before(conn, now - KEEP_WEBHOOK_DELIVERIES)?;
    Ok(Swept {
        sessions,
        enrolment_codes,
        auth_failures,
        audit_events,
        idempotency_keys,
        webhook_deliveries,
    })
}
