//! The notification outbox: one durable row per notification to one person, written in the
//! transaction of the change that caused it. The worker delivers due rows; the recipient's
//! inbox is the same table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bulk;
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::schema::notifications;

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Participant(i64),
    Staff(i64),
}

impl Recipient {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Recipient::Participant(id) => ("participant", id),
            Recipient::Staff(id) => ("staff", id),
        }
    }
}

/// A notification to put in the outbox. `dedupe_key` is unique: writing the same key twice
/// writes one row, so a retried transaction or scan never notifies twice.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub recipient: Recipient,
    pub kind: &'static str,
    pub dedupe_key: String,
    pub subject: Option<(&'static str, i64)>,
    /// Message id and parameters as JSON; never sensitive text (the worker renders the words).
    pub payload: serde_json::Value,
    pub due_at: NaiveDateTime,
    /// After this instant the notification is useless (an interview has begun) and is not sent.
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<i64>,
    pub payload: String,
    pub due_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
}

impl Notification {
    /// A number from the payload, such as `interview_id` or `participant_id`.
    pub fn payload_id(&self, key: &str) -> Option<i64> {
        serde_json::from_str::<serde_json::Value>(&self.payload)
            .ok()?
            .get(key)?
            .as_i64()
    }
}

/// A notification as stored, before the worker has touched it. Serialised, it is one element of
/// [`ENQUEUE_FROM_JSON`]'s array (its field names are the column names).
#[derive(Insertable, serde::Serialize)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
struct NewRow<'a> {
    recipient_kind: &'static str,
    recipient_id: i64,
    kind: &'static str,
    dedupe_key: &'a str,
    subject_type: Option<&'static str>,
    subject_id: Option<i64>,
    payload: String,
    due_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    status: &'static str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewRow<'a> {
    fn of(new: &'a NewNotification, now: NaiveDateTime) -> Self {
        let (recipient_kind, recipient_id) = new.recipient.parts();
        NewRow {
            recipient_kind,
            recipient_id,
            kind: new.kind,
            dedupe_key: &new.dedupe_key,
            subject_type: new.subject.map(|s| s.0),
            subject_id: new.subject.map(|s| s.1),
            payload: new.payload.to_string(),
            due_at: new.due_at,
            expires_at: new.expires_at,
            status: "pending",
            attempts: 0,
            next_attempt_at: new.due_at,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Writes the notification unless one with its dedupe key exists; true when written. One
/// statement (`ON CONFLICT DO NOTHING`, per backend: the combined connection cannot say it).
pub fn enqueue(
    conn: &mut DbConnection,
    new: &NewNotification,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let row = NewRow::of(new, now);
    let written = crate::per_backend!(conn, |c| diesel::insert_into(notifications::table)
        .values(&row)
        .on_conflict(notifications::dedupe_key)
        .do_nothing()
        .execute(c))?;
    Ok(written == 1)
}

/// [`enqueue`] for several notifications in one statement; returns the due times of those
/// written (a dedupe key already present writes nothing).
pub fn enqueue_many(
    conn: &mut DbConnection,
    new: &[NewNotification],
    now: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, StoreError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<NewRow<'_>> = new.iter().map(|n| NewRow::of(n, now)).collect();
    Ok(crate::per_backend!(conn, |c| diesel::insert_into(
        notifications::table
    )
    .values(&rows)
    .on_conflict(notifications::dedupe_key)
    .do_nothing()
    .returning(notifications::due_at)
    .get_results(c))?)
}

/// [`enqueue_many`] as a clause of a PostgreSQL statement that writes a record and what goes
/// with it through data-modifying `WITH` clauses (see `store::prepared`): the notifications are
/// written only if the statement's clause `saved` wrote a row. Its one placeholder takes
/// [`enqueue_json`]. The rows come as one JSON array, so the SQL is the same for any number of
/// them and stays prepared.
pub(crate) const ENQUEUE_FROM_JSON: &str = "INSERT INTO notifications (recipient_kind, \
    recipient_id, kind, dedupe_key, subject_type, subject_id, payload, due_at, expires_at, status, \
    attempts, next_attempt_at, created_at, updated_at) SELECT r.recipient_kind, r.recipient_id, \
    r.kind, r.dedupe_key, r.subject_type, r.subject_id, r.payload, r.due_at, r.expires_at, \
    r.status, r.attempts, r.next_attempt_at, r.created_at, r.updated_at \
    FROM json_to_recordset(?::json) AS r(recipient_kind text, recipient_id bigint, kind text, \
    dedupe_key text, subject_type text, subject_id bigint, payload text, due_at timestamp, \
    expires_at timestamp, status text, attempts integer, next_attempt_at timestamp, \
    created_at timestamp, updated_at timestamp) \
    WHERE EXISTS (SELECT 1 FROM saved) ON CONFLICT (dedupe_key) DO NOTHING";

/// The value of [`ENQUEUE_FROM_JSON`]'s placeholder: the rows [`enqueue_many`] would write.
pub(crate) fn enqueue_json(
    new: &[NewNotification],
    now: NaiveDateTime,
) -> Result<bulk::Value, StoreError> {
    let rows: Vec<NewRow<'_>> = new.iter().map(|n| NewRow::of(n, now)).collect();
    let json = serde_json::to_string(&rows).map_err(|e| StoreError::Internal(e.into()))?;
    Ok(bulk::Value::Text(Some(json)))
}

/// [`enqueue_many`] for any number, a few hundred rows per statement; returns how many were
/// written.
pub fn enqueue_all(
    conn: &mut DbConnection,
    new: &[NewNotification],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let mut written = 0;
    for chunk in new.chunks(bulk::ROWS_PER_STATEMENT) {
        written += enqueue_many(conn, chunk, now)?.len();
    }
    Ok(written)
}

/// Cancels the not-yet-sent notifications of one kind about one subject (an interview moved or
/// was cancelled). Returns how many were cancelled.
pub fn cancel_pending(
    conn: &mut DbConnection,
    kind: &str,
    subject: (&str, i64),
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        notifications::table
            .filter(notifications::kind.eq(kind))
            .filter(notifications::subject_type.eq(subject.0))
            .filter(notifications::subject_id.eq(subject.1))
            .filter(notifications::status.eq("pending")),
    )
    .set((
        notifications::status.eq("cancelled"),
        notifications::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Pending notifications of one kind about one subject, soonest first (what is still to come).
pub fn pending_for_subject(
    conn: &mut DbConnection,
    kind: &str,
    subject: (&str, i64),
) -> Result<Vec<(i64, NaiveDateTime)>, StoreError> {
    Ok(notifications::table
        .filter(notifications::kind.eq(kind))
        .filter(notifications::subject_type.eq(subject.0))
        .filter(notifications::subject_id.eq(subject.1))
        .filter(notifications::status.eq("pending"))
        .order(notifications::due_at)
        .select((notifications::id, notifications::due_at))
        .load(conn)?)
}

/// Cancels everything still to be sent to one person (a participant who withdrew).
pub fn cancel_all_pending_for(
    conn: &mut DbConnection,
    recipient: Recipient,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let (kind, id) = recipient.parts();
    Ok(diesel::update(
        notifications::table
            .filter(notifications::recipient_kind.eq(kind))
            .filter(notifications::recipient_id.eq(id))
            .filter(notifications::status.eq("pending")),
    )
    .set((
        notifications::status.eq("cancelled"),
        notifications::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Cancels specific pending notifications by id.
pub fn cancel_ids(
    conn: &mut DbConnection,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        notifications::table
            .filter(notifications::id.eq_any(ids))
            .filter(notifications::status.eq("pending")),
    )
    .set((
        notifications::status.eq("cancelled"),
        notifications::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// The recipient's inbox: what was sent to them, newest first.
pub fn inbox(
    conn: &mut DbConnection,
    recipient: Recipient,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Notification>, StoreError> {
    let (kind, id) = recipient.parts();
    let mut query = notifications::table
        .filter(notifications::recipient_kind.eq(kind))
        .filter(notifications::recipient_id.eq(id))
        .filter(notifications::status.eq("sent"))
        .select(Notification::as_select())
        .order(notifications::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(notifications::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |n| n.id))
}

/// Marks one notification of the recipient's inbox read. A notification already read keeps its
/// first `read_at`, so repeating this changes nothing; one that is not in their inbox (someone
/// else's, not yet sent, or missing) is `NotFound`.
pub fn mark_read(
    conn: &mut DbConnection,
    recipient: Recipient,
    id: i64,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let (kind, recipient_id) = recipient.parts();
    let mine = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::recipient_kind.eq(kind))
        .filter(notifications::recipient_id.eq(recipient_id))
        .filter(notifications::status.eq("sent"));
    let exists: bool = diesel::select(diesel::dsl::exists(mine)).get_result(conn)?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    diesel::update(mine.filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Marks everything in the recipient's inbox read; returns how many were unread.
pub fn mark_all_read(
    conn: &mut DbConnection,
    recipient: Recipient,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    let (kind, id) = recipient.parts();
    Ok(diesel::update(
        notifications::table
            .filter(notifications::recipient_kind.eq(kind))
            .filter(notifications::recipient_id.eq(id))
            .filter(notifications::status.eq("sent"))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(at))
    .execute(conn)?)
}

/// How many notifications in the recipient's inbox are unread (the app's badge).
pub fn unread_count(conn: &mut DbConnection, recipient: Recipient) -> Result<i64, StoreError> {
    let (kind, id) = recipient.parts();
    Ok(notifications::table
        .filter(notifications::recipient_kind.eq(kind))
        .filter(notifications::recipient_id.eq(id))
        .filter(notifications::status.eq("sent"))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Every notification to the recipient whatever its status (sent, still to come, cancelled),
/// newest first: what a data export shows.
pub fn all_for(
    conn: &mut DbConnection,
    recipient: Recipient,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Notification>, StoreError> {
    let (kind, id) = recipient.parts();
    let mut query = notifications::table
        .filter(notifications::recipient_kind.eq(kind))
        .filter(notifications::recipient_id.eq(id))
        .select(Notification::as_select())
        .order(notifications::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(notifications::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |n| n.id))
}
