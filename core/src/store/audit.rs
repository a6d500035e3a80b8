//! The audit trail: who did what to which participant, staff reads included. Insert-only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bulk::Value;
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::schema::audit_events;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Staff(i64),
    Participant(i64),
    System,
}

/// One audited action. `action` is a dotted name such as `participant.read`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    pub action: &'static str,
    pub participant_id: Option<i64>,
    pub subject_type: Option<&'static str>,
    pub subject_id: Option<i64>,
}

impl Entry {
    pub fn new(actor: Actor, action: &'static str) -> Self {
        Entry {
            actor,
            action,
            participant_id: None,
            subject_type: None,
            subject_id: None,
        }
    }

    pub fn participant(mut self, id: i64) -> Self {
        self.participant_id = Some(id);
        self
    }

    pub fn subject(mut self, kind: &'static str, id: i64) -> Self {
        self.subject_type = Some(kind);
        self.subject_id = Some(id);
        self
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub participant_id: Option<i64>,
    pub subject_type: Option<String>,
    pub subject_id: Option<i64>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The stored `actor_kind` and `actor_id`.
    fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            Actor::Staff(id) => ("staff", Some(id)),
            Actor::Participant(id) => ("participant", Some(id)),
            Actor::System => ("system", None),
        }
    }
}

/// Records entries in one statement (a list of a caseload is one audited read per participant).
pub fn record(
    conn: &mut DbConnection,
    entries: &[Entry],
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let row = |e: &Entry| {
        let (kind, id) = e.actor.parts();
        (
            audit_events::occurred_at.eq(now),
            audit_events::actor_kind.eq(kind),
            audit_events::actor_id.eq(id),
            audit_events::action.eq(e.action),
            audit_events::participant_id.eq(e.participant_id),
            audit_events::subject_type.eq(e.subject_type),
            audit_events::subject_id.eq(e.subject_id),
            audit_events::request_id.eq(request_id),
        )
    };
    // One entry (most requests) as a single-row insert, whose SQL never changes, so it stays
    // prepared; diesel never keeps a multi-row insert prepared.
    if let [entry] = entries {
        diesel::insert_into(audit_events::table)
            .values(row(entry))
            .execute(conn)?;
        return Ok(());
    }
    let rows: Vec<_> = entries.iter().map(row).collect();
    crate::per_backend!(conn, |c| diesel::insert_into(audit_events::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// [`record`] of one entry as a clause of a PostgreSQL statement that makes the audited change:
/// `WITH changed AS (UPDATE ... RETURNING ...), audit AS (<this> FROM changed) ...` writes the
/// entry exactly when the change wrote a row, in the same statement (one round trip, and atomic
/// without a transaction around it). Its placeholders take [`values`].
pub(crate) const INSERT_SELECT: &str = "INSERT INTO audit_events (occurred_at, actor_kind, \
    actor_id, action, participant_id, subject_type, subject_id, request_id) \
    SELECT ?, ?, ?, ?, ?, ?, ?, ?";

/// The values of [`INSERT_SELECT`]'s placeholders, in its order.
pub(crate) fn values(entry: &Entry, request_id: Option<&str>, now: NaiveDateTime) -> [Value; 8] {
    let (kind, id) = entry.actor.parts();
    [
        Value::Time(Some(now)),
        Value::Text(Some(kind.to_owned())),
        Value::OptInt(id),
        Value::Text(Some(entry.action.to_owned())),
        Value::OptInt(entry.participant_id),
        Value::Text(entry.subject_type.map(str::to_owned)),
        Value::OptInt(entry.subject_id),
        Value::Text(request_id.map(str::to_owned)),
    ]
}

/// A participant's audit trail, newest first.
pub fn list_for_participant(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<AuditEvent>, StoreError> {
    let mut query = audit_events::table
        .filter(audit_events::participant_id.eq(participant_id))
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(audit_events::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |e| e.id))
}

pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(audit_events::table.filter(audit_events::occurred_at.lt(before)))
            .execute(conn)?,
    )
}
