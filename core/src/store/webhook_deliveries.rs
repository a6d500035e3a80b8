//! Webhook deliveries: the worker's queue of (event, endpoint) pairs, and what administrators
//! see of it.
//!
//! The worker claims due deliveries with the notification outbox's lease claim
//! (`outbox::claim_leased`: `FOR UPDATE SKIP LOCKED` on PostgreSQL, expired leases taken over),
//! only for active endpoints, so a paused or disabled endpoint's deliveries wait for it. Every
//! result is recorded only while the lease is held. Delivery is at least once: a worker that dies
//! after the receiver answered but before recording it leaves the delivery to be sent again
//! after its lease runs out, which is why receivers deduplicate by event id.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use super::outbox::{claim_leased, release_leased, LeasedQueue};
use super::webhooks::{self, Endpoint, EndpointStatus};
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events};

const QUEUE: LeasedQueue = LeasedQueue {
    table: "webhook_deliveries",
    returning: "RETURNING id, attempts",
    ready: " AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE status = 'active')",
};

#[derive(Debug, Clone, QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// A claimed delivery with everything needed to send it.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: i64,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    pub endpoint_id: i64,
    /// False when the endpoint was paused or disabled after the delivery was first claimed
    /// (a takeover): the delivery is then put back, not sent.
    pub endpoint_active: bool,
    pub url: String,
    /// The secrets to sign with: the current one, and the previous one during its overlap.
    pub secrets: Vec<String>,
    pub event_id: String,
    pub body: String,
}

/// Claims up to `limit` due deliveries for `owner` until `now + lease`, and reads what sending
/// them needs. Run in a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Job>, StoreError> {
    let claimed: Vec<ClaimedRow> = claim_leased(conn, QUEUE, owner, now, lease, limit)?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    let rows: Vec<(i64, String, String, Endpoint)> = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .select((
            webhook_deliveries::id,
            webhook_events::event_id,
            webhook_events::payload,
            Endpoint::as_select(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(delivery_id, event_id, body, endpoint)| {
            let attempt = claimed.iter().find(|c| c.id == delivery_id)?.attempts;
            Some(Job {
                delivery_id,
                attempt,
                endpoint_id: endpoint.id,
                endpoint_active: endpoint.status == EndpointStatus::Active.as_str(),
                url: endpoint.url.clone(),
                secrets: endpoint
                    .signing_secrets(now)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                event_id,
                body,
            })
        })
        .collect())
}

/// One attempt as the worker saw it. No response body is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status, or `None` when no answer came (timeout, connection refused).
    pub status_code: Option<i32>,
    /// A short description of a failure, never the receiver's response body.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// How a claimed delivery ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The receiver answered 2xx.
    Delivered,
    /// Try again at `at`.
    Retry { at: NaiveDateTime },
    /// Given up: out of attempts, or a permanent refusal.
    Failed,
    /// The receiver answered 410 Gone: given up, and the endpoint disabled.
    Gone,
    /// Not attempted: the endpoint is no longer active. Back in the queue, the claim uncounted.
    Held,
}

/// Records an attempt and how the delivery ended, if `owner` still holds its lease; false when
/// the lease was lost (another worker owns the delivery now and its result stands).
pub fn settle(
    conn: &mut DbConnection,
    job: &Job,
    owner: &str,
    attempt: Option<&Attempt>,
    settled: &Settled,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let held = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(job.delivery_id))
        .filter(webhook_deliveries::status.eq("in_flight"))
        .filter(webhook_deliveries::lease_owner.eq(owner));
    let clear = (
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_expires_at.eq(None::<NaiveDateTime>),
        webhook_deliveries::updated_at.eq(now),
    );
    let last = (
        webhook_deliveries::last_status_code.eq(attempt.and_then(|a| a.status_code)),
        webhook_deliveries::last_error.eq(attempt.and_then(|a| a.error.clone())),
    );
    let changed = match settled {
        Settled::Delivered => diesel::update(held)
            .set((
                clear,
                last,
                webhook_deliveries::status.eq("delivered"),
                webhook_deliveries::delivered_at.eq(now),
            ))
            .execute(conn)?,
        Settled::Retry { at } => diesel::update(held)
            .set((
                clear,
                last,
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::next_attempt_at.eq(at),
            ))
            .execute(conn)?,
        Settled::Failed | Settled::Gone => diesel::update(held)
            .set((clear, last, webhook_deliveries::status.eq("failed")))
            .execute(conn)?,
        Settled::Held => diesel::update(held)
            .set((
                clear,
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
                webhook_deliveries::next_attempt_at.eq(now),
            ))
            .execute(conn)?,
    };
    if changed != 1 {
        return Ok(false);
    }
    if let Some(attempt) = attempt {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(job.delivery_id),
                webhook_attempts::attempted_at
                    .eq(now - Duration::milliseconds(attempt.duration_ms)),
                webhook_attempts::status_code.eq(attempt.status_code),
                webhook_attempts::error.eq(&attempt.error),
                webhook_attempts::duration_ms.eq(attempt.duration_ms),
            ))
            .execute(conn)?;
    }
    if *settled == Settled::Gone {
        webhooks::disable(conn, job.endpoint_id, "the receiver answered 410 Gone", now)?;
    }
    Ok(true)
}

/// Gives back every delivery `owner` still holds (a graceful stop), with the outbox's release
/// (`outbox::release_leased`): due again at once, the claim uncounted.
pub fn release(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    release_leased(conn, QUEUE, owner, now)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// A delivery as administrators see it: the event it carries and every attempt so far.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub delivery: DeliveryRow,
    pub event_id: String,
    pub event_type: String,
    pub attempts: Vec<AttemptRow>,
}

/// The statuses a delivery can have, for filters.
pub const STATUSES: [&str; 4] = ["pending", "in_flight", "delivered", "failed"];

/// An endpoint's deliveries, newest first, optionally only those with one of `statuses`.
pub fn list(
    conn: &mut DbConnection,
    endpoint_id: i64,
    statuses: &[String],
    before: Option<i64>,
    limit: i64,
) -> Result<Page<Delivery>, StoreError> {
    webhooks::get(conn, endpoint_id)?;
    let mut query = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select((
            DeliveryRow::as_select(),
            webhook_events::event_id,
            webhook_events::event_type,
        ))
        .order(webhook_deliveries::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if !statuses.is_empty() {
        query = query.filter(webhook_deliveries::status.eq_any(statuses));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    let rows: Vec<(DeliveryRow, String, String)> = query.load(conn)?;
    let page = Page::from_rows(rows, limit, |(d, _, _)| d.id);
    let ids: Vec<i64> = page.items.iter().map(|(d, _, _)| d.id).collect();
    let mut attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .select(AttemptRow::as_select())
        .order(webhook_attempts::id)
        .load(conn)?;
    Ok(page.map(|(delivery, event_id, event_type)| {
        let (mine, rest): (Vec<AttemptRow>, Vec<AttemptRow>) = std::mem::take(&mut attempts)
            .into_iter()
            .partition(|a| a.delivery_id == delivery.id);
        attempts = rest;
        Delivery {
            delivery,
            event_id,
            event_type,
            attempts: mine,
        }
    }))
}

/// One delivery of this endpoint; another endpoint's is `NotFound`, like a missing one.
pub fn get(
    conn: &mut DbConnection,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<Delivery, StoreError> {
    let (delivery, event_id, event_type): (DeliveryRow, String, String) = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::id.eq(delivery_id))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select((
            DeliveryRow::as_select(),
            webhook_events::event_id,
            webhook_events::event_type,
        ))
        .first(conn)?;
    let attempts = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .select(AttemptRow::as_select())
        .order(webhook_attempts::id)
        .load(conn)?;
    Ok(Delivery {
        delivery,
        event_id,
        event_type,
        attempts,
    })
}

/// Sends the delivery's event again, with the same event id and body: due at once, with a fresh
/// count of attempts (the earlier attempts stay listed). A delivery being attempted right now
/// is a conflict; a pending one is simply made due now.
pub fn redeliver(
    conn: &mut DbConnection,
    endpoint_id: i64,
    delivery_id: i64,
    now: NaiveDateTime,
) -> Result<Delivery, StoreError> {
    let current = get(conn, endpoint_id, delivery_id)?;
    if current.delivery.status == "in_flight" {
        return Err(StoreError::Conflict(
            "the delivery is being attempted right now; try again shortly".into(),
        ));
    }
    let changed = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery_id))
            .filter(webhook_deliveries::status.ne("in_flight")),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::delivered_at.eq(None::<NaiveDateTime>),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(StoreError::Conflict(
            "the delivery is being attempted right now; try again shortly".into(),
        ));
    }
    get(conn, endpoint_id, delivery_id)
}

/// Deletes deliveries that ended (delivered or failed) before `before`, with their attempts, and
/// the events no delivery refers to any more. Returns the deliveries deleted.
pub fn purge_finished_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, StoreError> {
    let deleted = diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq_any(["delivered", "failed"]))
            .filter(webhook_deliveries::updated_at.lt(before)),
    )
    .execute(conn)?;
    diesel::delete(
        webhook_events::table
            .filter(webhook_events::created_at.lt(before))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                webhook_deliveries::table
                    .filter(webhook_deliveries::webhook_event_id.eq(webhook_events::id)),
            ))),
    )
    .execute(conn)?;
    Ok(deleted)
}

/// The webhook queue at a glance, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub due: i64,
    pub in_flight: i64,
    pub pending: i64,
    pub failed: i64,
    pub delivered_last_hour: i64,
    /// Seconds the oldest due delivery has waited (0 when nothing is due).
    pub oldest_due_seconds: i64,
}

pub fn stats(conn: &mut DbConnection, now: NaiveDateTime) -> Result<QueueStats, StoreError> {
    let with_status = |status: &'static str| {
        webhook_deliveries::table.filter(webhook_deliveries::status.eq(status))
    };
    // Due means waiting for a worker: a paused or disabled endpoint's deliveries are not.
    let active = webhook_endpoints::table
        .filter(webhook_endpoints::status.eq(EndpointStatus::Active.as_str()))
        .select(webhook_endpoints::id);
    let due_rows = with_status("pending")
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::endpoint_id.eq_any(active));
    let oldest: Option<NaiveDateTime> = due_rows
        .select(diesel::dsl::min(webhook_deliveries::next_attempt_at))
        .first(conn)?;
    Ok(QueueStats {
        due: due_rows.count().get_result(conn)?,
        in_flight: with_status("in_flight").count().get_result(conn)?,
        pending: with_status("pending").count().get_result(conn)?,
        failed: with_status("failed").count().get_result(conn)?,
        delivered_last_hour: with_status("delivered")
            .filter(webhook_deliveries::delivered_at.gt(now - Duration::hours(1)))
            .count()
            .get_result(conn)?,
        oldest_due_seconds: oldest.map_or(0, |at| (now - at).num_seconds().max(0)),
    })
}
