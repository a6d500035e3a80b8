//! The audit trail: who did what to which participant, staff reads included. Insert-only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

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
        let (kind, id) = match e.actor {
            Actor::Staff(id) => ("staff", Some(id)),
            Actor::Participant(id) => ("participant", Some(id)),
            Actor::System => ("system", None),
        };
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
