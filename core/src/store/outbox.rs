//! The worker's side of the notification outbox: claiming due rows under a lease, recording
//! what happened, and giving back what a stopping worker still holds.
//!
//! A claim marks rows `in_flight` with this worker's name and a lease expiry, in one statement.
//! On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so any number of workers claim
//! disjoint batches; on SQLite the write transaction is `IMMEDIATE`, so claims are serial. A row
//! whose lease ran out (its worker died) is claimable again. Every later update is conditional on
//! still holding the lease, so a worker that lost its lease cannot overwrite the new owner's result.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::interviews::REMINDER_KIND;
use super::{webhooks, StoreError};
use crate::db::DbConnection;
use crate::domain::webhooks::{Event, ReminderFacts};
use crate::schema::{deliveries, notifications};

/// A claimed notification, as the dispatcher needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub recipient_kind: String,
    #[diesel(sql_type = BigInt)]
    pub recipient_id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub subject_type: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub subject_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Timestamp)]
    pub due_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub expires_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
}

const RETURNING: &str =
    "RETURNING id, recipient_kind, recipient_id, kind, subject_type, subject_id, payload, due_at, expires_at, attempts, created_at";

/// A table the worker claims rows of under a lease. Each has the same lease columns: `id`,
/// `status` (`pending`, `in_flight`, ...), `attempts`, `next_attempt_at`, `lease_owner`,
/// `lease_expires_at` and `updated_at`; the claim below is written once for all of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeasedQueue {
    pub table: &'static str,
    /// The `RETURNING` clause: the columns the claimed rows are read with.
    pub returning: &'static str,
    /// A further condition (no placeholders) that a pending row must meet to be claimed, or "".
    pub ready: &'static str,
}

const NOTIFICATIONS: LeasedQueue = LeasedQueue {
    table: "notifications",
    returning: RETURNING,
    ready: "",
};

/// Claims up to `limit` due notifications for `owner` until `now + lease`: first any whose
/// lease expired (a crashed worker's), then pending ones, oldest due first. Run in a write
/// transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    claim_leased(conn, NOTIFICATIONS, owner, now, lease, limit)
}

/// The claim of any leased queue: expired leases first, then due pending rows.
pub(crate) fn claim_leased<R>(
    conn: &mut DbConnection,
    queue: LeasedQueue,
    owner: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<R>, StoreError>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let until = now + lease;
    let mut claimed = claim(
        conn,
        queue,
        "status = 'in_flight' AND lease_expires_at < ?",
        "lease_expires_at",
        owner,
        now,
        until,
        limit,
    )?;
    let room = limit - claimed.len() as i64;
    if room > 0 {
        let pending = format!("status = 'pending' AND next_attempt_at <= ?{}", queue.ready);
        claimed.extend(claim(
            conn,
            queue,
            &pending,
            "next_attempt_at",
            owner,
            now,
            until,
            room,
        )?);
    }
    Ok(claimed)
}

#[expect(clippy::too_many_arguments, reason = "one claim statement's parts")]
fn claim<R>(
    conn: &mut DbConnection,
    queue: LeasedQueue,
    condition: &str,
    order: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<R>, StoreError>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let LeasedQueue {
        table, returning, ..
    } = queue;
    let set = "SET status = 'in_flight', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?";
    Ok(match conn {
        DbConnection::Postgresql(pg) => {
            let sql = format!(
                "UPDATE {table} {set} WHERE id IN (SELECT id FROM {table} WHERE {condition} \
                 ORDER BY {order}, id LIMIT ? FOR UPDATE SKIP LOCKED) {returning}"
            );
            diesel::sql_query(numbered(&sql))
                .bind::<Text, _>(owner)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(pg)?
        }
        DbConnection::Sqlite(lite) => {
            let sql = format!(
                "UPDATE {table} {set} WHERE id IN (SELECT id FROM {table} WHERE {condition} \
                 ORDER BY {order}, id LIMIT ?) {returning}"
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(owner)
                .bind::<Timestamp, _>(until)
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(lite)?
        }
    })
}

/// PostgreSQL numbers its placeholders: `?` becomes `$1`, `$2`, ...
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// How a claimed notification ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Delivered to at least one device, or to the in-app inbox only when the person has none.
    Sent,
    /// Try again at `at` (a transient failure).
    Retry { at: NaiveDateTime, error: String },
    /// Given up: a permanent failure, or out of attempts.
    Failed { error: String },
    /// Not sent, on purpose: it expired, or its recipient or subject is gone.
    Dropped { reason: String },
}

/// Records how a notification ended, if `owner` still holds its lease; false when the lease was
/// lost (another worker now owns the row and its result stands).
pub fn settle(
    conn: &mut DbConnection,
    id: i64,
    owner: &str,
    settled: &Settled,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let held = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::status.eq("in_flight"))
        .filter(notifications::lease_owner.eq(owner));
    let clear = (
        notifications::lease_owner.eq(None::<String>),
        notifications::lease_expires_at.eq(None::<NaiveDateTime>),
        notifications::updated_at.eq(now),
    );
    let changed = match settled {
        Settled::Sent => diesel::update(held)
            .set((
                clear,
                notifications::status.eq("sent"),
                notifications::sent_at.eq(now),
                notifications::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Settled::Retry { at, error } => diesel::update(held)
            .set((
                clear,
                notifications::status.eq("pending"),
                notifications::next_attempt_at.eq(at),
                notifications::last_error.eq(error),
            ))
            .execute(conn)?,
        Settled::Failed { error } => diesel::update(held)
            .set((
                clear,
                notifications::status.eq("failed"),
                notifications::last_error.eq(error),
            ))
            .execute(conn)?,
        Settled::Dropped { reason } => diesel::update(held)
            .set((
                clear,
                notifications::status.eq("cancelled"),
                notifications::last_error.eq(reason),
            ))
            .execute(conn)?,
    };
    if changed == 1 {
        reminder_result_event(conn, id, settled, now)?;
    }
    Ok(changed == 1)
}

/// A reminder's final result is an event for integrations (`reminder.delivered`,
/// `reminder.failed`), written with the result. A retry is not final, and a dropped reminder
/// (expired, or its interview gone) was never meant to arrive.
fn reminder_result_event(
    conn: &mut DbConnection,
    id: i64,
    settled: &Settled,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let delivered = match settled {
        Settled::Sent => true,
        Settled::Failed { .. } => false,
        Settled::Retry { .. } | Settled::Dropped { .. } => return Ok(()),
    };
    let (kind, participant_id, payload, due_at, attempts): (
        String,
        i64,
        String,
        NaiveDateTime,
        i32,
    ) = notifications::table
        .find(id)
        .select((
            notifications::kind,
            notifications::recipient_id,
            notifications::payload,
            notifications::due_at,
            notifications::attempts,
        ))
        .first(conn)?;
    if kind != REMINDER_KIND {
        return Ok(());
    }
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
    let facts = ReminderFacts {
        notification_id: id,
        participant_id,
        interview_id: payload["interview_id"].as_i64(),
        offset_minutes: payload["offset_minutes"].as_i64(),
        due_at,
        attempts,
    };
    let event = if delivered {
        Event::ReminderDelivered(facts)
    } else {
        Event::ReminderFailed(facts)
    };
    webhooks::emit(conn, &event, now)?;
    Ok(())
}

/// Gives back every notification `owner` still holds (a graceful stop).
pub fn release(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    release_leased(conn, NOTIFICATIONS, owner, now)
}

/// The release of any leased queue: every row `owner` still holds is pending again, due at once
/// (it was due when claimed), and the attempt that never happened is not counted.
pub(crate) fn release_leased(
    conn: &mut DbConnection,
    queue: LeasedQueue,
    owner: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let sql = format!(
        "UPDATE {} SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
         attempts = attempts - 1, updated_at = ? WHERE status = 'in_flight' AND lease_owner = ?",
        queue.table
    );
    Ok(match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(numbered(&sql))
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(owner)
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::sql_query(sql)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(owner)
            .execute(lite)?,
    })
}

/// Records that a push to each of these devices is about to be sent (`attempting`), before it
/// is sent: if the worker dies before it learns the provider's answer, the worker that takes the
/// notification over sees the attempt and does not push to that device again. Returns the
/// delivery ids, in the order of `targets`.
pub fn begin_attempts(
    conn: &mut DbConnection,
    notification_id: i64,
    targets: &[(i64, &'static str)],
    now: NaiveDateTime,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(targets.len());
    for (device_id, platform) in targets {
        ids.push(
            diesel::insert_into(deliveries::table)
                .values((
                    deliveries::notification_id.eq(notification_id),
                    deliveries::device_id.eq(Some(*device_id)),
                    deliveries::platform.eq(*platform),
                    deliveries::outcome.eq("attempting"),
                    deliveries::attempted_at.eq(now),
                ))
                .returning(deliveries::id)
                .get_result(conn)?,
        );
    }
    Ok(ids)
}

/// The provider's answer to one attempt.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub delivery_id: i64,
    pub outcome: &'static str,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
}

pub fn finish_attempts(
    conn: &mut DbConnection,
    results: &[AttemptResult],
) -> Result<(), StoreError> {
    for r in results {
        diesel::update(deliveries::table.find(r.delivery_id))
            .set((
                deliveries::outcome.eq(r.outcome),
                deliveries::provider_message_id.eq(r.provider_message_id.as_deref()),
                deliveries::error.eq(r.error.as_deref()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Devices a previous holder of this notification began pushing to and never heard back from
/// (it died mid-send). They are marked `in_doubt` and returned: the new holder does not push to
/// them again, preferring a possibly missed push (the in-app inbox has it) to a certain double.
pub fn take_over_in_doubt(
    conn: &mut DbConnection,
    notification_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let in_doubt = deliveries::table
        .filter(deliveries::notification_id.eq(notification_id))
        .filter(deliveries::outcome.eq("attempting"));
    let devices: Vec<Option<i64>> = in_doubt.select(deliveries::device_id).load(conn)?;
    diesel::update(in_doubt)
        .set((
            deliveries::outcome.eq("in_doubt"),
            deliveries::error.eq("the sending worker stopped before the provider answered"),
        ))
        .execute(conn)?;
    Ok(devices.into_iter().flatten().collect())
}

/// The queue at a glance, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub due: i64,
    pub in_flight: i64,
    pub pending: i64,
    pub retrying: i64,
    pub failed: i64,
    pub sent_last_hour: i64,
    /// Seconds the oldest due notification has waited (0 when nothing is due): lateness.
    pub oldest_due_seconds: i64,
}

pub fn stats(conn: &mut DbConnection, now: NaiveDateTime) -> Result<QueueStats, StoreError> {
    let with_status =
        |status: &'static str| notifications::table.filter(notifications::status.eq(status));
    let due_rows = with_status("pending").filter(notifications::next_attempt_at.le(now));
    let due: i64 = due_rows.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = due_rows
        .select(diesel::dsl::min(notifications::due_at))
        .first(conn)?;
    Ok(QueueStats {
        due,
        in_flight: with_status("in_flight").count().get_result(conn)?,
        pending: with_status("pending").count().get_result(conn)?,
        retrying: with_status("pending")
            .filter(notifications::attempts.gt(0))
            .count()
            .get_result(conn)?,
        failed: with_status("failed").count().get_result(conn)?,
        sent_last_hour: with_status("sent")
            .filter(notifications::sent_at.gt(now - Duration::hours(1)))
            .count()
            .get_result(conn)?,
        oldest_due_seconds: oldest.map_or(0, |at| (now - at).num_seconds().max(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered("a = ? AND b = ? LIMIT ?"),
            "a = $1 AND b = $2 LIMIT $3"
        );
    }
}
