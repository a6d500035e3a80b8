//! The history of a case's status: who moved it from what to what, when, and why. Insert-only;
//! every change of `participants.status` writes its row here in the same transaction.

use anyhow::anyhow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::participants::{self as participants_store, Participant};
use super::{contacts, follow_up, jobs, Page, StoreError};
use crate::db::DbConnection;
use crate::domain::case_status::{self, Case, Refusal, Step};
use crate::domain::follow_up as follow_up_rules;
use crate::domain::{ClosedReason, ParticipantStatus};
use crate::schema::{participants, status_changes};

/// Who made a change: a staff member, the participant, or the product itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    Staff(i64),
    Participant(i64),
    System,
}

impl ChangedBy {
    pub fn kind(self) -> &'static str {
        match self {
            ChangedBy::Staff(_) => "staff",
            ChangedBy::Participant(_) => "participant",
            ChangedBy::System => "system",
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            ChangedBy::Staff(id) | ChangedBy::Participant(id) => Some(id),
            ChangedBy::System => None,
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Result<Self, StoreError> {
        match (kind, id) {
            ("staff", Some(id)) => Ok(ChangedBy::Staff(id)),
            ("participant", Some(id)) => Ok(ChangedBy::Participant(id)),
            ("system", _) => Ok(ChangedBy::System),
            _ => Err(StoreError::Internal(anyhow!(
                "stored changed_by {kind:?} {id:?}"
            ))),
        }
    }
}

/// One row of a case's history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_changes)]
pub struct StatusChange {
    pub id: i64,
    pub participant_id: i64,
    /// `None` on the first row of a case (its enrolment).
    pub from_status: Option<String>,
    pub to_status: String,
    pub closed_reason: Option<String>,
    pub note: Option<String>,
    pub changed_at: NaiveDateTime,
    pub changed_by_kind: String,
    pub changed_by_id: Option<i64>,
}

/// A step to record.
#[derive(Debug, Clone)]
pub struct Change {
    pub participant_id: i64,
    pub from: Option<ParticipantStatus>,
    pub to: ParticipantStatus,
    pub closed_reason: Option<ClosedReason>,
    pub note: Option<String>,
    pub by: ChangedBy,
    pub at: NaiveDateTime,
}

/// Writes a step to the history (and only there: see [`apply`] for the whole step).
pub fn record(conn: &mut DbConnection, change: &Change) -> Result<StatusChange, StoreError> {
    let id: i64 = diesel::insert_into(status_changes::table)
        .values((
            status_changes::participant_id.eq(change.participant_id),
            status_changes::from_status.eq(change.from.map(ParticipantStatus::as_str)),
            status_changes::to_status.eq(change.to.as_str()),
            status_changes::closed_reason.eq(change.closed_reason.map(ClosedReason::as_str)),
            status_changes::note.eq(change.note.as_deref()),
            status_changes::changed_at.eq(change.at),
            status_changes::changed_by_kind.eq(change.by.kind()),
            status_changes::changed_by_id.eq(change.by.id()),
        ))
        .returning(status_changes::id)
        .get_result(conn)?;
    Ok(status_changes::table
        .find(id)
        .select(StatusChange::as_select())
        .first(conn)?)
}

/// Moves the participant's status from `change.from` to `change.to` and records the step. The
/// update only matches the status the caller saw, so two steps racing from the same status cannot
/// both be taken: the second is a conflict (the client reads the case again).
pub fn apply(conn: &mut DbConnection, change: &Change) -> Result<StatusChange, StoreError> {
    let from = change
        .from
        .ok_or_else(|| StoreError::Internal(anyhow!("a status step needs its from-status")))?;
    let changed = diesel::update(
        participants::table
            .filter(participants::id.eq(change.participant_id))
            .filter(participants::status.eq(from.as_str())),
    )
    .set((
        participants::status.eq(change.to.as_str()),
        participants::closed_reason.eq(change.closed_reason.map(ClosedReason::as_str)),
        participants::updated_at.eq(change.at),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(StoreError::Conflict(
            "the case's status was changed by someone else; read it again".into(),
        ));
    }
    record(conn, change)
}

/// A case's history, newest first.
pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<StatusChange>, StoreError> {
    let mut query = status_changes::table
        .filter(status_changes::participant_id.eq(participant_id))
        .select(StatusChange::as_select())
        .order(status_changes::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(status_changes::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |c| c.id))
}

/// A staff member's step of the case, as asked for.
#[derive(Debug, Clone)]
pub struct StaffStep {
    pub to: ParticipantStatus,
    pub closed_reason: Option<ClosedReason>,
    pub note: Option<String>,
    pub resume_on: Option<chrono::NaiveDate>,
}

/// Takes a staff member's step of the case, if the rules allow it from where the case is: the
/// status and its history row, and the plan reshaped in the same transaction (a pause falls due on
/// its resume date, a resume or a reopening starts the rhythm anew, a closure ends follow-up, the
/// phase follows the new status). `Ok(Err(_))` is a refusal: nothing was written.
pub fn take_staff_step(
    conn: &mut DbConnection,
    participant_id: i64,
    step: StaffStep,
    staff_id: i64,
    rules: &crate::domain::follow_up::Rules,
    now: NaiveDateTime,
) -> Result<Result<(StatusChange, Participant), Refusal>, StoreError> {
    let current_plan = follow_up::lock(conn, participant_id)?;
    let participant = participants_store::get(conn, participant_id)?;
    let from = ParticipantStatus::parse(&participant.status)
        .ok_or_else(|| StoreError::Internal(anyhow!("stored status {:?}", participant.status)))?;
    let closed_reason = match participant.closed_reason.as_deref() {
        None => None,
        Some(text) => Some(
            ClosedReason::parse(text)
                .ok_or_else(|| StoreError::Internal(anyhow!("stored closed reason {text:?}")))?,
        ),
    };
    let tz = follow_up::time_zone(&participant);
    let case = Case {
        status: from,
        closed_reason,
        outreach_attempts: contacts::outreach_attempts_since_reached(conn, participant_id)?,
        today: follow_up_rules::local_date(now, tz),
    };
    let asked = Step {
        to: step.to,
        closed_reason: step.closed_reason,
        has_note: step.note.is_some(),
        resume_on: step.resume_on,
    };
    if let Err(refusal) =
        case_status::check_staff_step(&case, &asked, rules.outreach_attempts_before_closing)
    {
        return Ok(Err(refusal));
    }
    let by = ChangedBy::Staff(staff_id);
    let recorded = apply(
        conn,
        &Change {
            participant_id,
            from: Some(from),
            to: step.to,
            closed_reason: step.closed_reason,
            note: step.note.clone(),
            by,
            at: now,
        },
    )?;
    let participant = participants_store::get(conn, participant_id)?;
    let jobs = jobs::dates(conn, participant_id)?;
    let mut draft = current_plan.draft()?;
    let plan = &mut draft.plan;
    if from == ParticipantStatus::Paused || from == ParticipantStatus::Closed {
        // A resume or a reopening: the rhythm starts again now, not from a contact long past.
        plan.paused_until = None;
        draft.pause_reason = None;
        plan.started_at = now;
    }
    if step.to == ParticipantStatus::Paused {
        plan.paused_until = step
            .resume_on
            .map(|date| follow_up_rules::start_of_day(date, tz));
        draft.pause_reason = step.note;
        // No contact is due during a pause, agreed or not.
        plan.next_contact_at = None;
    }
    let phase = follow_up_rules::phase_for_status(step.to, plan.phase, &jobs, tz, now);
    if phase != plan.phase {
        plan.phase = phase;
        plan.cadence_days = phase.default_cadence_days();
    }
    let ctx = follow_up::Context {
        participant: &participant,
        status: step.to,
        by,
        now,
        rules,
    };
    follow_up::save(conn, &current_plan, draft, &ctx)?;
    Ok(Ok((recorded, participant)))
}
