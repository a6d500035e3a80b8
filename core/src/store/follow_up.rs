//! Follow-up plans: one per participant, made with the enrolment, with no end date.
//!
//! Every change to a plan goes through [`save`], which advances the phase as time has passed,
//! computes `due_at` with `domain::follow_up`, and, whenever `due_at` changes (is set, moved or
//! cleared), sets the scanner's first check with it (`domain::follow_up::first_check`): the alert
//! scanner finds plans through `follow_up_check_at` and `employer_check_at` alone, so these columns
//! must be right after every transaction that touches a plan. A plan whose due time did not change
//! keeps its check as the scanner left it.
//!
//! A transaction that changes a plan first takes it with [`lock`] (a row lock on PostgreSQL; on
//! SQLite the write transaction already holds the database), and changes the participant's row
//! after that, always in this order.

use anyhow::anyhow;
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use super::participants::Participant;
use super::status_changes::ChangedBy;
use super::StoreError;
use super::{alerts, jobs};
use crate::db::DbConnection;
use crate::domain::follow_up::{self as rules, JobDates, Phase, Plan, Rules};
use crate::domain::ParticipantStatus;
use crate::schema::follow_up_plans;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = follow_up_plans)]
pub struct PlanRow {
    pub participant_id: i64,
    pub phase: String,
    pub cadence_days: i32,
    pub next_contact_at: Option<NaiveDateTime>,
    pub last_contact_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub paused_until: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    pub follow_up_check_at: Option<NaiveDateTime>,
    pub follow_up_check_stage: Option<String>,
    pub employer_check_at: Option<NaiveDateTime>,
    pub version: i32,
    pub updated_at: NaiveDateTime,
    pub updated_by_kind: String,
    pub updated_by_id: Option<i64>,
    pub started_at: NaiveDateTime,
}

impl PlanRow {
    pub fn phase(&self) -> Result<Phase, StoreError> {
        Phase::parse(&self.phase)
            .ok_or_else(|| StoreError::Internal(anyhow!("stored follow-up phase {:?}", self.phase)))
    }

    pub fn updated_by(&self) -> Result<ChangedBy, StoreError> {
        ChangedBy::from_parts(&self.updated_by_kind, self.updated_by_id)
    }

    /// The plan as the rules see it, and the parts they do not, ready to be changed and saved.
    pub fn draft(&self) -> Result<Draft, StoreError> {
        Ok(Draft {
            plan: Plan {
                phase: self.phase()?,
                cadence_days: self.cadence_days,
                next_contact_at: self.next_contact_at,
                last_contact_at: self.last_contact_at,
                started_at: self.started_at,
                paused_until: self.paused_until,
            },
            pause_reason: self.pause_reason.clone(),
            employer_check_at: self.employer_check_at,
            advance: true,
        })
    }
}

/// A plan being changed: what the rules compute from, the pause's reason, the employer watch, and
/// whether the phase may advance with time (not when staff have just set it themselves).
#[derive(Debug, Clone)]
pub struct Draft {
    pub plan: Plan,
    pub pause_reason: Option<String>,
    pub employer_check_at: Option<NaiveDateTime>,
    pub advance: bool,
}

/// The circumstances of a change: whose plan, the case's status once the change is made, who
/// changes it, when, under which configured rules.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub participant: &'a Participant,
    pub status: ParticipantStatus,
    pub by: ChangedBy,
    pub now: NaiveDateTime,
    pub rules: &'a Rules,
}

impl Context<'_> {
    /// The participant's time zone (enrolment and settings accept only IANA names).
    pub fn tz(&self) -> Tz {
        time_zone(self.participant)
    }
}

/// The participant's time zone; a stored name this build does not know falls back to Oslo rather
/// than failing the participant's follow-up.
pub fn time_zone(participant: &Participant) -> Tz {
    participant
        .time_zone
        .parse::<Tz>()
        .unwrap_or(chrono_tz::Europe::Oslo)
}

/// Makes the plan of a participant just enrolled: job search, weekly, due a week after the
/// enrolment; the employer watch set the configured number of days after it.
pub fn create(conn: &mut DbConnection, ctx: &Context) -> Result<PlanRow, StoreError> {
    let participant = ctx.participant;
    let started_at = participant.enrolled_at;
    let plan = Plan {
        phase: Phase::JobSearch,
        cadence_days: Phase::JobSearch.default_cadence_days(),
        next_contact_at: None,
        last_contact_at: None,
        started_at,
        paused_until: None,
    };
    let closed = ctx.status == ParticipantStatus::Closed;
    let due = rules::due_at(&plan, &JobDates::default(), ctx.tz(), ctx.now, closed);
    let check = rules::first_check(due, ctx.rules.lead);
    diesel::insert_into(follow_up_plans::table)
        .values((
            follow_up_plans::participant_id.eq(participant.id),
            follow_up_plans::phase.eq(plan.phase.as_str()),
            follow_up_plans::cadence_days.eq(plan.cadence_days),
            follow_up_plans::due_at.eq(due),
            follow_up_plans::follow_up_check_at.eq(check.at),
            follow_up_plans::follow_up_check_stage.eq(check.stage.map(|s| s.as_str())),
            follow_up_plans::employer_check_at
                .eq((!closed).then(|| rules::employer_check_at(started_at, ctx.rules))),
            follow_up_plans::version.eq(1),
            follow_up_plans::updated_at.eq(ctx.now),
            follow_up_plans::updated_by_kind.eq(ctx.by.kind()),
            follow_up_plans::updated_by_id.eq(ctx.by.id()),
            follow_up_plans::started_at.eq(started_at),
        ))
        .execute(conn)?;
    get(conn, participant.id)
}

pub fn get(conn: &mut DbConnection, participant_id: i64) -> Result<PlanRow, StoreError> {
    Ok(follow_up_plans::table
        .find(participant_id)
        .select(PlanRow::as_select())
        .first(conn)?)
}

/// The plan, locked against other changes until this transaction ends (PostgreSQL; SQLite's write
/// transaction already excludes every other writer).
pub fn lock(conn: &mut DbConnection, participant_id: i64) -> Result<PlanRow, StoreError> {
    let row = match conn {
        DbConnection::Postgresql(pg) => follow_up_plans::table
            .find(participant_id)
            .select(PlanRow::as_select())
            .for_update()
            .first(pg)?,
        DbConnection::Sqlite(lite) => follow_up_plans::table
            .find(participant_id)
            .select(PlanRow::as_select())
            .first(lite)?,
    };
    Ok(row)
}

/// Writes `draft` over `current` as the next version: the phase advanced if time has moved it on,
/// `due_at` computed, the scanner's check reset when `due_at` changed, the employer watch and any
/// agreement or pause dropped once the case is closed.
pub fn save(
    conn: &mut DbConnection,
    current: &PlanRow,
    draft: Draft,
    ctx: &Context,
) -> Result<PlanRow, StoreError> {
    let tz = ctx.tz();
    let jobs = jobs::dates(conn, current.participant_id)?;
    let Draft {
        mut plan,
        mut pause_reason,
        mut employer_check_at,
        advance,
    } = draft;
    if advance {
        if let Some(next) = rules::advance(&plan, &jobs, tz, ctx.now) {
            plan.phase = next;
            plan.cadence_days = next.default_cadence_days();
        }
    }
    let closed = ctx.status == ParticipantStatus::Closed;
    if closed {
        plan.next_contact_at = None;
        plan.paused_until = None;
        pause_reason = None;
        employer_check_at = None;
    }
    let due = rules::due_at(&plan, &jobs, tz, ctx.now, closed);
    let (check_at, check_stage) = if due == current.due_at {
        (
            current.follow_up_check_at,
            current.follow_up_check_stage.clone(),
        )
    } else {
        let check = rules::first_check(due, ctx.rules.lead);
        (check.at, check.stage.map(|s| s.as_str().to_owned()))
    };
    let written = diesel::update(
        follow_up_plans::table
            .filter(follow_up_plans::participant_id.eq(current.participant_id))
            .filter(follow_up_plans::version.eq(current.version)),
    )
    .set((
        follow_up_plans::phase.eq(plan.phase.as_str()),
        follow_up_plans::cadence_days.eq(plan.cadence_days),
        follow_up_plans::next_contact_at.eq(plan.next_contact_at),
        follow_up_plans::last_contact_at.eq(plan.last_contact_at),
        follow_up_plans::due_at.eq(due),
        follow_up_plans::paused_until.eq(plan.paused_until),
        follow_up_plans::pause_reason.eq(pause_reason),
        follow_up_plans::follow_up_check_at.eq(check_at),
        follow_up_plans::follow_up_check_stage.eq(check_stage),
        follow_up_plans::employer_check_at.eq(employer_check_at),
        follow_up_plans::version.eq(current.version + 1),
        follow_up_plans::updated_at.eq(ctx.now),
        follow_up_plans::updated_by_kind.eq(ctx.by.kind()),
        follow_up_plans::updated_by_id.eq(ctx.by.id()),
        follow_up_plans::started_at.eq(plan.started_at),
    ))
    .execute(conn)?;
    if written != 1 {
        return Err(StoreError::Conflict(
            "the follow-up plan was changed by someone else; read it again".into(),
        ));
    }
    if due != current.due_at {
        // A moved or cleared due time (a contact, a new plan, a pause, a closure) ends the
        // follow-up alerts raised for the old one.
        alerts::resolve_gone_for_participant(conn, current.participant_id, ctx.now)?;
    }
    get(conn, current.participant_id)
}

/// Ends follow-up for a closed case: no due time, no checks, no employer watch, no agreement.
pub fn close(conn: &mut DbConnection, ctx: &Context) -> Result<PlanRow, StoreError> {
    let current = lock(conn, ctx.participant.id)?;
    let draft = current.draft()?;
    save(conn, &current, draft, ctx)
}

/// Ends the "no employer contact" watch: an employer contact about the participant was logged.
/// The plan's version stays: nothing a client reads of it changed.
pub fn end_employer_watch(conn: &mut DbConnection, participant_id: i64) -> Result<(), StoreError> {
    diesel::update(
        follow_up_plans::table
            .filter(follow_up_plans::participant_id.eq(participant_id))
            .filter(follow_up_plans::employer_check_at.is_not_null()),
    )
    .set(follow_up_plans::employer_check_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// What staff change on a plan; `None` leaves a field as it is (`Some(None)` clears the agreement).
#[derive(Debug, Clone, Default)]
pub struct PlanChanges {
    pub phase: Option<Phase>,
    pub cadence_days: Option<i32>,
    pub next_contact_at: Option<Option<NaiveDateTime>>,
}

/// What became of a change of the plan.
#[derive(Debug)]
pub enum Updated {
    Saved(PlanRow),
    /// The `If-Match` version is not the current one; nothing was written.
    Stale,
    /// The case's state does not allow it; the text says why.
    Refused(String),
}

/// Staff change the phase, cadence or agreed next contact. A new phase without a cadence takes the
/// phase's default cadence.
pub fn update(
    conn: &mut DbConnection,
    precondition: &super::job_preferences::Precondition,
    changes: PlanChanges,
    ctx: &Context,
) -> Result<Updated, StoreError> {
    let current = lock(conn, ctx.participant.id)?;
    if !precondition.allows(current.version) {
        return Ok(Updated::Stale);
    }
    if ctx.status == ParticipantStatus::Closed {
        return Ok(Updated::Refused(
            "the case is closed; reopen it to follow up again".into(),
        ));
    }
    let nothing = changes.phase.is_none()
        && changes.cadence_days.is_none()
        && changes.next_contact_at.is_none();
    if nothing {
        // An empty change writes nothing: no new version for the same plan.
        return Ok(Updated::Saved(current));
    }
    let mut draft = current.draft()?;
    if let (Some(until), Some(Some(_))) = (draft.plan.paused_until, changes.next_contact_at) {
        let resumes = rules::local_date(until, ctx.tz());
        return Ok(Updated::Refused(format!(
            "the case is paused until {resumes}; resume it before agreeing a contact"
        )));
    }
    if let Some(phase) = changes.phase {
        if phase != draft.plan.phase {
            draft.plan.cadence_days = phase.default_cadence_days();
        }
        draft.plan.phase = phase;
        // Staff chose the phase: time does not move it on in the same breath.
        draft.advance = false;
    }
    if let Some(days) = changes.cadence_days {
        draft.plan.cadence_days = days;
    }
    if let Some(agreed) = changes.next_contact_at {
        draft.plan.next_contact_at = agreed;
    }
    save(conn, &current, draft, ctx).map(Updated::Saved)
}
