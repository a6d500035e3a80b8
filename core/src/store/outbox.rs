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

use super::bulk::{self, numbered, Value};
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
            // `= ANY(ARRAY(...))` makes the picked ids one value computed first, so the update
            // finds its rows by primary key; with `IN (subquery)` PostgreSQL may hash-join the
            // picked ids against a scan of the whole table.
            let sql = format!(
                "UPDATE {table} {set} WHERE id = ANY(ARRAY(SELECT id FROM {table} WHERE {condition} \
                 ORDER BY {order}, id LIMIT ? FOR UPDATE SKIP LOCKED)) {returning}"
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

/// "`owner` holds this notification's lease", in the worker's writes to its claimed rows. A row
/// has a lease owner exactly when it is `in_flight` (PostgreSQL checks it:
/// `notifications_lease_only_in_flight`; only this module sets or clears the owner), so the status
/// is not tested as well: `status = 'in_flight'` would let PostgreSQL pick the partial lease index
/// and walk every in-flight row of every worker for each statement, where the primary key finds
/// the chunk's rows directly.
const HELD: &str = "notifications.lease_owner = ?";

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
    Ok(!settle_all(conn, owner, &[(id, settled.clone())], now)?.is_empty())
}

/// A settled row, with what a reminder's result event says.
#[derive(QueryableByName)]
struct SettledRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    recipient_id: i64,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Timestamp)]
    due_at: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Records how each of these notifications ended, in one statement per few hundred, for those
/// `owner` still holds; returns the ids recorded. The others' leases passed to another worker,
/// whose result stands.
pub fn settle_all(
    conn: &mut DbConnection,
    owner: &str,
    settled: &[(i64, Settled)],
    now: NaiveDateTime,
) -> Result<Vec<i64>, StoreError> {
    let mut kept = Vec::with_capacity(settled.len());
    for chunk in settled.chunks(bulk::ROWS_PER_STATEMENT) {
        // (id, status, next attempt, last error, sent at): a column left NULL keeps its value,
        // except the error, which a sent notification clears. The ids are also listed in
        // `IN (...)`, which says nothing new but lets PostgreSQL narrow the rows by primary key
        // before the join: with statistics taken while few rows were in flight it otherwise joins
        // all of a worker's claimed rows against every row of the VALUES list (30 ms for 64 of
        // 1,000). See `HELD` for why the status is not tested.
        let sql = format!(
            "UPDATE notifications SET status = v.column2, \
             next_attempt_at = COALESCE(v.column3, next_attempt_at), last_error = v.column4, \
             sent_at = COALESCE(v.column5, sent_at), lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = ? FROM (VALUES {}) AS v \
             WHERE notifications.id = v.column1 AND {HELD} AND notifications.id IN ({}) \
             RETURNING id, kind, recipient_id, payload, due_at, attempts",
            bulk::values_rows(chunk.len(), 5),
            bulk::list(chunk.len())
        );
        let mut values = Vec::with_capacity(chunk.len() * 5 + 2);
        values.push(Value::Time(Some(now)));
        for (id, how) in chunk {
            let (status, next, error, sent_at) = match how {
                Settled::Sent => ("sent", None, None, Some(now)),
                Settled::Retry { at, error } => ("pending", Some(*at), Some(error), None),
                Settled::Failed { error } => ("failed", None, Some(error), None),
                Settled::Dropped { reason } => ("cancelled", None, Some(reason), None),
            };
            values.extend([
                Value::Int(*id),
                Value::Text(Some(status.to_owned())),
                Value::Time(next),
                Value::Text(error.cloned()),
                Value::Time(sent_at),
            ]);
        }
        values.push(Value::Text(Some(owner.to_owned())));
        values.extend(chunk.iter().map(|(id, _)| Value::Int(*id)));
        let rows: Vec<SettledRow> = bulk::load(conn, &sql, &values)?;
        let how: std::collections::HashMap<i64, &Settled> =
            chunk.iter().map(|(id, how)| (*id, how)).collect();
        let events: Vec<Event> = rows
            .iter()
            .filter_map(|row| reminder_result_event(row, how.get(&row.id)?))
            .collect();
        webhooks::emit_all(conn, &events, now)?;
        kept.extend(rows.iter().map(|row| row.id));
    }
    Ok(kept)
}

/// A reminder's final result is an event for integrations (`reminder.delivered`,
/// `reminder.failed`), written with the result. A retry is not final, and a dropped reminder
/// (expired, or its interview gone) was never meant to arrive.
fn reminder_result_event(row: &SettledRow, settled: &Settled) -> Option<Event> {
    let delivered = match settled {
        Settled::Sent => true,
        Settled::Failed { .. } => false,
        Settled::Retry { .. } | Settled::Dropped { .. } => return None,
    };
    if row.kind != REMINDER_KIND {
        return None;
    }
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
    let facts = ReminderFacts {
        notification_id: row.id,
        participant_id: row.recipient_id,
        interview_id: payload["interview_id"].as_i64(),
        offset_minutes: payload["offset_minutes"].as_i64(),
        due_at: row.due_at,
        attempts: row.attempts,
    };
    Some(if delivered {
        Event::ReminderDelivered(facts)
    } else {
        Event::ReminderFailed(facts)
    })
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

/// A push about to be sent: to this device, for this notification.
#[derive(Debug, Clone)]
pub struct Planned {
    pub notification_id: i64,
    pub device_id: i64,
    pub platform: &'static str,
}

/// A push recorded as `attempting`.
#[derive(Debug, Clone, QueryableByName)]
pub struct Attempt {
    #[diesel(sql_type = BigInt)]
    pub delivery_id: i64,
    #[diesel(sql_type = BigInt)]
    pub notification_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub device_id: Option<i64>,
}

/// Records that each of these pushes is about to be sent (`attempting`), before it is sent: if
/// the worker dies before it learns the provider's answer, the worker that takes the
/// notification over sees the attempt and does not push to that device again. Only pushes of
/// notifications `owner` still holds are recorded, and only those may be sent: a worker that lost
/// a lease pushes nothing more for it. Returns the attempts recorded, in no particular order.
pub fn begin_attempts(
    conn: &mut DbConnection,
    owner: &str,
    planned: &[Planned],
    now: NaiveDateTime,
) -> Result<Vec<Attempt>, StoreError> {
    let mut attempts = Vec::with_capacity(planned.len());
    for chunk in planned.chunks(bulk::ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO deliveries (notification_id, device_id, platform, outcome, attempted_at) \
             SELECT v.column1, v.column2, v.column3, 'attempting', ? FROM (VALUES {}) AS v \
             JOIN notifications ON notifications.id = v.column1 \
             WHERE {HELD} AND notifications.id IN ({}) \
             RETURNING id AS delivery_id, notification_id, device_id",
            bulk::values_rows(chunk.len(), 3),
            bulk::list(chunk.len())
        );
        let mut values = Vec::with_capacity(chunk.len() * 3 + 2);
        values.push(Value::Time(Some(now)));
        for p in chunk {
            values.extend([
                Value::Int(p.notification_id),
                Value::Int(p.device_id),
                Value::Text(Some(p.platform.to_owned())),
            ]);
        }
        values.push(Value::Text(Some(owner.to_owned())));
        values.extend(chunk.iter().map(|p| Value::Int(p.notification_id)));
        attempts.extend(bulk::load::<Attempt>(conn, &sql, &values)?);
    }
    Ok(attempts)
}

/// The provider's answer to one attempt.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub delivery_id: i64,
    pub outcome: &'static str,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
}

/// Records the providers' answers, in one statement per few hundred.
pub fn finish_attempts(
    conn: &mut DbConnection,
    results: &[AttemptResult],
) -> Result<(), StoreError> {
    for chunk in results.chunks(bulk::ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE deliveries SET outcome = v.column2, provider_message_id = v.column3, \
             error = v.column4 FROM (VALUES {}) AS v WHERE deliveries.id = v.column1",
            bulk::values_rows(chunk.len(), 4)
        );
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|r| {
                [
                    Value::Int(r.delivery_id),
                    Value::Text(Some(r.outcome.to_owned())),
                    Value::Text(r.provider_message_id.clone()),
                    Value::Text(r.error.clone()),
                ]
            })
            .collect();
        bulk::execute(conn, &sql, &values)?;
    }
    Ok(())
}

/// Devices previous holders of these notifications began pushing to and never heard back from
/// (they died mid-send), as (notification, device). They are marked `in_doubt` and returned: the
/// new holder does not push to them again, preferring a possibly missed push (the in-app inbox
/// has it) to a certain double.
pub fn take_over_in_doubt(
    conn: &mut DbConnection,
    notification_ids: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut taken = Vec::new();
    for chunk in notification_ids.chunks(bulk::ROWS_PER_STATEMENT) {
        let in_doubt = || {
            deliveries::table
                .filter(deliveries::notification_id.eq_any(chunk))
                .filter(deliveries::outcome.eq("attempting"))
        };
        let rows: Vec<(i64, Option<i64>)> = in_doubt()
            .select((deliveries::notification_id, deliveries::device_id))
            .load(conn)?;
        if rows.is_empty() {
            continue;
        }
        diesel::update(in_doubt())
            .set((
                deliveries::outcome.eq("in_doubt"),
                deliveries::error.eq("the sending worker stopped before the provider answered"),
            ))
            .execute(conn)?;
        taken.extend(rows.into_iter().filter_map(|(n, d)| Some((n, d?))));
    }
    Ok(taken)
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
