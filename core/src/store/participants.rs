//! Participants and the one rule of who among staff may see them (the caseload).

use anyhow::anyhow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::sessions::{self, RevokeReason, Subject};
use super::status_changes::{self, Change, ChangedBy};
use super::{devices, enrolment_codes, follow_up, notifications, webhooks, Page, StoreError};
use diesel::sql_types::Bool;

use crate::db::{DbConnection, MultiBackend};
use crate::domain::follow_up::Rules;
use crate::domain::webhooks::Event;
use crate::domain::{ClosedReason, ParticipantStatus, Role};
use crate::schema::participants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct Participant {
    pub id: i64,
    pub team_id: i64,
    pub specialist_id: i64,
    pub display_name: String,
    pub preferred_language: String,
    pub time_zone: String,
    pub birth_year: Option<i32>,
    pub status: String,
    pub enrolled_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub updated_at: NaiveDateTime,
    /// Local wall-clock `HH:MM` in `time_zone`; see `domain::settings`.
    pub quiet_hours_start: String,
    pub quiet_hours_end: String,
    /// A JSON list of minutes before an interview, largest first.
    pub reminder_offsets: String,
    pub lock_screen_previews: bool,
    pub closed_reason: Option<String>,
    pub withdrawal_note: Option<String>,
}

/// A new participant starts with the default settings (the columns' defaults).
#[derive(Debug, Insertable)]
#[diesel(table_name = participants)]
pub struct NewParticipant {
    pub team_id: i64,
    pub specialist_id: i64,
    pub display_name: String,
    pub preferred_language: String,
    pub time_zone: String,
    pub birth_year: Option<i32>,
    pub status: String,
    pub enrolled_at: NaiveDateTime,
    pub created_by: i64,
    pub updated_at: NaiveDateTime,
}

/// The participant's own changes to their profile and settings; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = participants)]
pub struct ParticipantChanges {
    pub display_name: Option<String>,
    pub preferred_language: Option<String>,
    pub time_zone: Option<String>,
    pub quiet_hours_start: Option<String>,
    pub quiet_hours_end: Option<String>,
    pub reminder_offsets: Option<String>,
    pub lock_screen_previews: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Which participants a staff member may see. This is the only place the rule is written:
/// a specialist sees their own caseload, a supervisor their team's, an administrator none
/// (administrators manage accounts, not people's cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caseload {
    OfSpecialist(i64),
    OfTeam(i64),
    Nobody,
}

impl Caseload {
    pub fn of(staff_id: i64, role: Role, team_id: Option<i64>) -> Self {
        match (role, team_id) {
            (Role::Specialist, _) => Caseload::OfSpecialist(staff_id),
            (Role::Supervisor, Some(team)) => Caseload::OfTeam(team),
            _ => Caseload::Nobody,
        }
    }

    /// The rule as a SQL condition, for queries that filter or join participants.
    pub fn condition(
        self,
    ) -> Box<dyn BoxableExpression<participants::table, MultiBackend, SqlType = Bool>> {
        match self {
            Caseload::OfSpecialist(id) => Box::new(participants::specialist_id.eq(id)),
            Caseload::OfTeam(team) => Box::new(participants::team_id.eq(team)),
            Caseload::Nobody => Box::new(participants::id.lt(0)),
        }
    }

    /// The same rule for a participant already loaded (the worker words a batch of pushes
    /// from participants it loaded at once); it must say what `condition` says.
    pub fn includes(self, participant: &Participant) -> bool {
        match self {
            Caseload::OfSpecialist(id) => participant.specialist_id == id,
            Caseload::OfTeam(team) => participant.team_id == team,
            Caseload::Nobody => false,
        }
    }
}

/// Enrols a participant (the enrolment's webhook event is written here, in its transaction).
pub fn create(conn: &mut DbConnection, new: NewParticipant) -> Result<Participant, StoreError> {
    let id = diesel::insert_into(participants::table)
        .values(&new)
        .returning(participants::id)
        .get_result(conn)?;
    let enrolled = get(conn, id)?;
    webhooks::emit(
        conn,
        &Event::ParticipantEnrolled {
            participant_id: id,
            team_id: enrolled.team_id,
            specialist_id: enrolled.specialist_id,
            status: enrolled.status.clone(),
            enrolled_at: enrolled.enrolled_at,
        },
        enrolled.enrolled_at,
    )?;
    Ok(enrolled)
}

/// A participant by id, for their own session (no caseload check: the id comes from the session).
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Participant, StoreError> {
    // On the backend's own connection, where the query's type alone names its prepared statement;
    // through the combined connection diesel builds the SQL on every call to find it by its text
    // (a fifth of a new interview's CPU in the server). Most writes about a participant read them.
    Ok(crate::per_backend!(conn, |c| participants::table
        .find(id)
        .select(Participant::as_select())
        .first(c))?)
}

/// A participant by id if `caseload` includes them; otherwise `NotFound`, exactly as if the id
/// did not exist, so staff cannot learn who is in another caseload.
pub fn get_in_caseload(
    conn: &mut DbConnection,
    id: i64,
    caseload: Caseload,
) -> Result<Participant, StoreError> {
    Ok(participants::table
        .filter(participants::id.eq(id))
        .filter(caseload.condition())
        .select(Participant::as_select())
        .first(conn)?)
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: ParticipantChanges,
) -> Result<Participant, StoreError> {
    let id = diesel::update(participants::table.find(id))
        .set(&changes)
        .returning(participants::id)
        .get_result(conn)?;
    get(conn, id)
}

pub fn list_in_caseload(
    conn: &mut DbConnection,
    caseload: Caseload,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Participant>, StoreError> {
    let mut query = participants::table
        .select(Participant::as_select())
        .order(participants::id)
        .limit(limit + 1)
        .filter(caseload.condition())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(participants::id.gt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |p| p.id))
}

/// The participant's own decision to leave: the case closes as `withdrew`, every session ends
/// (their tokens stop working on the next request), their push devices and unused enrolment
/// codes go. The record itself stays, so their specialist sees the case closed; the step is in
/// the case's history (by the participant) and follow-up ends (the plan has nothing due, no
/// scanner checks). Run inside a write transaction. `NotFound` if they had already withdrawn (a
/// concurrent request won).
pub fn withdraw(
    conn: &mut DbConnection,
    id: i64,
    note: Option<String>,
    rules: &Rules,
    now: NaiveDateTime,
) -> Result<Participant, StoreError> {
    // The plan first, as every change of a case takes it (see `store::follow_up`).
    follow_up::lock(conn, id)?;
    let before = get(conn, id)?;
    let from = ParticipantStatus::parse(&before.status)
        .ok_or_else(|| StoreError::Internal(anyhow!("stored status {:?}", before.status)))?;
    let changed = diesel::update(
        participants::table
            .find(id)
            .filter(participants::withdrawn_at.is_null()),
    )
    .set((
        participants::withdrawn_at.eq(now),
        participants::status.eq(ParticipantStatus::Closed.as_str()),
        participants::closed_reason.eq(ClosedReason::Withdrew.as_str()),
        participants::withdrawal_note.eq(&note),
        participants::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(StoreError::NotFound);
    }
    // The case's history and plan: closed at the participant's own wish, follow-up ended.
    let by = ChangedBy::Participant(id);
    status_changes::record(
        conn,
        &Change {
            participant_id: id,
            from: Some(from),
            to: ParticipantStatus::Closed,
            closed_reason: Some(ClosedReason::Withdrew),
            note,
            by,
            at: now,
        },
    )?;
    let closed = get(conn, id)?;
    follow_up::close(
        conn,
        &follow_up::Context {
            participant: &closed,
            status: ParticipantStatus::Closed,
            by,
            now,
            rules,
        },
    )?;
    let subject = Subject::Participant(id);
    sessions::revoke_all(conn, subject, RevokeReason::Withdrawn, now)?;
    devices::delete_all_of(conn, subject)?;
    enrolment_codes::revoke_unused(conn, id, now)?;
    // Reminders stop: nothing more is sent to someone who has left.
    notifications::cancel_all_pending_for(conn, notifications::Recipient::Participant(id), now)?;
    set_calendar_feed(conn, id, None, now)?;
    webhooks::emit(
        conn,
        &Event::ParticipantWithdrawn {
            participant_id: id,
            team_id: closed.team_id,
            specialist_id: closed.specialist_id,
            withdrawn_at: now,
        },
        now,
    )?;
    get(conn, id)
}

/// Sets or clears the hash of the participant's calendar-feed token (a new one replaces the old).
pub fn set_calendar_feed(
    conn: &mut DbConnection,
    id: i64,
    token_hash: Option<String>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(participants::table.find(id))
        .set((
            participants::calendar_feed_token_hash.eq(token_hash),
            participants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The enrolled participant whose calendar-feed token hashes to `token_hash`.
pub fn by_calendar_feed(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<Participant>, StoreError> {
    Ok(participants::table
        .filter(participants::calendar_feed_token_hash.eq(token_hash))
        .filter(participants::withdrawn_at.is_null())
        .select(Participant::as_select())
        .first(conn)
        .optional()?)
}

/// Whether the participant has a calendar-feed URL that works (the token itself is never stored).
pub fn has_calendar_feed(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(participants::table
        .find(id)
        .select(participants::calendar_feed_token_hash.is_not_null())
        .first(conn)?)
}
