//! Jobs: each start a participant makes, and its end. What a job does to the case and the plan
//! (the status step, the follow-up shaping) is `store::follow_up`'s; this module holds the rows.

use anyhow::anyhow;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;

use super::follow_up::{self, PlanRow};
use super::participants::{self, Participant};
use super::status_changes::{self, Change, ChangedBy};
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::case_status::{self, Refusal};
use crate::domain::follow_up::{self as rules, JobDates, Phase, Rules};
use crate::domain::jobs::{end_date_problem, start_date_problem, EndReason};
use crate::domain::ParticipantStatus;
use crate::schema::jobs;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub participant_id: i64,
    pub employer: String,
    pub role_title: String,
    pub hours_per_week: f64,
    pub competitive: bool,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub end_note: Option<String>,
    pub recorded_by_kind: String,
    pub recorded_by_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub participant_id: i64,
    pub employer: String,
    pub role_title: String,
    pub hours_per_week: f64,
    pub competitive: bool,
    pub start_date: NaiveDate,
    pub recorded_by_kind: String,
    pub recorded_by_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Corrections to a job; `None` leaves a field as it is. The end fields apply to an ended job
/// only (a job is ended by [`end`], and never "un-ended").
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = jobs)]
pub struct JobChanges {
    pub employer: Option<String>,
    pub role_title: Option<String>,
    pub hours_per_week: Option<f64>,
    pub competitive: Option<bool>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub end_note: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn create(conn: &mut DbConnection, new: NewJob) -> Result<Job, StoreError> {
    let id: i64 = diesel::insert_into(jobs::table)
        .values(&new)
        .returning(jobs::id)
        .get_result(conn)?;
    get_of(conn, new.participant_id, id)
}

/// One of this participant's jobs; another participant's is `NotFound`, like a missing one.
pub fn get_of(conn: &mut DbConnection, participant_id: i64, id: i64) -> Result<Job, StoreError> {
    Ok(jobs::table
        .filter(jobs::id.eq(id))
        .filter(jobs::participant_id.eq(participant_id))
        .select(Job::as_select())
        .first(conn)?)
}

/// A participant's jobs, the most recently recorded first.
pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Job>, StoreError> {
    let mut query = jobs::table
        .filter(jobs::participant_id.eq(participant_id))
        .select(Job::as_select())
        .order(jobs::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(jobs::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |j| j.id))
}

pub fn update(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
    changes: &JobChanges,
) -> Result<Job, StoreError> {
    diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::participant_id.eq(participant_id)),
    )
    .set(changes)
    .execute(conn)?;
    get_of(conn, participant_id, id)
}

/// Records a job's end. Only a job still current is ended: two ends racing cannot both succeed,
/// and an ended job is a conflict.
pub fn end(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
    end_date: NaiveDate,
    reason: EndReason,
    note: Option<String>,
    at: NaiveDateTime,
) -> Result<Job, StoreError> {
    let changed = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::participant_id.eq(participant_id))
            .filter(jobs::end_date.is_null()),
    )
    .set((
        jobs::end_date.eq(end_date),
        jobs::end_reason.eq(reason.as_str()),
        jobs::end_note.eq(note),
        jobs::updated_at.eq(at),
    ))
    .execute(conn)?;
    if changed != 1 {
        // Tell a missing job (404) from an ended one (409).
        get_of(conn, participant_id, id)?;
        return Err(StoreError::Conflict("the job has already ended".into()));
    }
    get_of(conn, participant_id, id)
}

/// How many of the participant's jobs are current (not ended).
pub fn current_count(conn: &mut DbConnection, participant_id: i64) -> Result<i64, StoreError> {
    Ok(jobs::table
        .filter(jobs::participant_id.eq(participant_id))
        .filter(jobs::end_date.is_null())
        .count()
        .get_result(conn)?)
}

/// The dates that shape the participant's plan: the newest current job's start, and the latest
/// end of an ended job.
pub fn dates(conn: &mut DbConnection, participant_id: i64) -> Result<JobDates, StoreError> {
    let current_start: Option<NaiveDate> = jobs::table
        .filter(jobs::participant_id.eq(participant_id))
        .filter(jobs::end_date.is_null())
        .select(max(jobs::start_date))
        .first(conn)?;
    let last_end: Option<NaiveDate> = jobs::table
        .filter(jobs::participant_id.eq(participant_id))
        .select(max(jobs::end_date))
        .first(conn)?;
    Ok(JobDates {
        current_start,
        last_end,
    })
}

// --- what a job does to the case and its plan ----------------------------------------------

/// What every job change starts from: the plan (locked), the participant, their status and
/// their local date.
struct Begun {
    plan: PlanRow,
    participant: Participant,
    status: ParticipantStatus,
    today: NaiveDate,
}

/// Loads what every job change needs. A withdrawn participant's jobs are not changed any more.
fn begin(
    conn: &mut DbConnection,
    participant_id: i64,
    now: NaiveDateTime,
) -> Result<Result<Begun, Refusal>, StoreError> {
    let plan = follow_up::lock(conn, participant_id)?;
    let participant = participants::get(conn, participant_id)?;
    if participant.withdrawn_at.is_some() {
        return Ok(Err(Refusal::Conflict(
            "the participant has withdrawn".into(),
        )));
    }
    let status = ParticipantStatus::parse(&participant.status)
        .ok_or_else(|| StoreError::Internal(anyhow!("stored status {:?}", participant.status)))?;
    let today = rules::local_date(now, follow_up::time_zone(&participant));
    Ok(Ok(Begun {
        plan,
        participant,
        status,
        today,
    }))
}

/// Records a job start: the case moves into work (from referred, job seeking or a pause, which
/// ends), and the plan is shaped as fidelity item 23 asks (by the start, within 3 days after it,
/// weekly in the first month, then monthly), keeping an agreed contact only if it comes earlier.
pub fn record_start(
    conn: &mut DbConnection,
    new: NewJob,
    by: ChangedBy,
    follow_up_rules: &Rules,
    now: NaiveDateTime,
) -> Result<Result<Job, Refusal>, StoreError> {
    let participant_id = new.participant_id;
    let Begun {
        plan,
        status,
        today,
        ..
    } = match begin(conn, participant_id, now)? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if status == ParticipantStatus::Closed {
        return Ok(Err(Refusal::Conflict(
            "the case is closed; reopen it to record a job".into(),
        )));
    }
    if let Some(why) = start_date_problem(new.start_date, today) {
        return Ok(Err(Refusal::Invalid {
            field: "start_date",
            message: why.into(),
        }));
    }
    let job = create(conn, new)?;
    let mut new_status = status;
    if let Some(to) = case_status::after_job_start(status) {
        status_changes::apply(
            conn,
            &Change {
                participant_id,
                from: Some(status),
                to,
                closed_reason: None,
                note: Some(format!(
                    "job {} recorded, starting {}",
                    job.id, job.start_date
                )),
                by,
                at: now,
            },
        )?;
        new_status = to;
    }
    let participant = participants::get(conn, participant_id)?;
    let tz = follow_up::time_zone(&participant);
    let dates = dates(conn, participant_id)?;
    let mut draft = plan.draft()?;
    if status == ParticipantStatus::Paused {
        draft.plan.paused_until = None;
        draft.pause_reason = None;
        draft.plan.started_at = now;
    }
    let start = dates.current_start.unwrap_or(job.start_date);
    let phase = rules::job_phase(start, tz, now);
    draft.plan.phase = phase;
    draft.plan.cadence_days = phase.default_cadence_days();
    let deadline = rules::fidelity_deadline(&draft.plan, &dates, tz, now);
    draft.plan.next_contact_at = rules::keep_agreement(draft.plan.next_contact_at, deadline);
    let ctx = follow_up::Context {
        participant: &participant,
        status: new_status,
        by,
        now,
        rules: follow_up_rules,
    };
    follow_up::save(conn, &plan, draft, &ctx)?;
    Ok(Ok(job))
}

/// Corrects a job's details. A changed start or end date reshapes the plan: a current job's new
/// start sets the job phase the dates say (it may go back, say to before the start).
pub fn correct(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
    changes: JobChanges,
    by: ChangedBy,
    follow_up_rules: &Rules,
    now: NaiveDateTime,
) -> Result<Result<Job, Refusal>, StoreError> {
    let Begun {
        plan,
        participant,
        status,
        today,
    } = match begin(conn, participant_id, now)? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let before = get_of(conn, participant_id, id)?;
    let ending = changes.end_date.is_some() || changes.end_reason.is_some();
    if before.end_date.is_none() && (ending || changes.end_note.is_some()) {
        let field = if changes.end_date.is_some() {
            "end_date"
        } else if changes.end_reason.is_some() {
            "end_reason"
        } else {
            "end_note"
        };
        return Ok(Err(Refusal::Invalid {
            field,
            message: "is only corrected on an ended job; end a job with POST .../end".into(),
        }));
    }
    let start = changes.start_date.unwrap_or(before.start_date);
    if changes.start_date.is_some() {
        if let Some(why) = start_date_problem(start, today) {
            return Ok(Err(Refusal::Invalid {
                field: "start_date",
                message: why.into(),
            }));
        }
    }
    if let Some(end) = changes.end_date.or(before.end_date) {
        if let Some(why) = end_date_problem(end, start, today) {
            let field = if changes.end_date.is_some() {
                "end_date"
            } else {
                "start_date"
            };
            return Ok(Err(Refusal::Invalid {
                field,
                message: why.into(),
            }));
        }
    }
    let dates_change = changes.start_date.is_some_and(|d| d != before.start_date)
        || changes.end_date.is_some_and(|d| Some(d) != before.end_date);
    let job = update(
        conn,
        participant_id,
        id,
        &JobChanges {
            updated_at: Some(now),
            ..changes
        },
    )?;
    if dates_change {
        let tz = follow_up::time_zone(&participant);
        let dates = dates(conn, participant_id)?;
        let mut draft = plan.draft()?;
        if draft.plan.phase.follows_a_job_start() && job.end_date.is_none() {
            if let Some(current) = dates.current_start {
                let phase = rules::job_phase(current, tz, now);
                if phase != draft.plan.phase {
                    draft.plan.phase = phase;
                    draft.plan.cadence_days = phase.default_cadence_days();
                }
                draft.advance = false;
            }
        }
        let ctx = follow_up::Context {
            participant: &participant,
            status,
            by,
            now,
            rules: follow_up_rules,
        };
        follow_up::save(conn, &plan, draft, &ctx)?;
    }
    Ok(Ok(job))
}

/// Records a job's end. The end of the last current job moves the case from work back to job
/// seeking and shapes the plan for a job loss: a contact within 3 days, then weekly job search.
#[expect(
    clippy::too_many_arguments,
    reason = "the end's three fields travel with the job's and the change's identity"
)]
pub fn record_end(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
    end_date: NaiveDate,
    reason: EndReason,
    note: Option<String>,
    by: ChangedBy,
    follow_up_rules: &Rules,
    now: NaiveDateTime,
) -> Result<Result<Job, Refusal>, StoreError> {
    let Begun {
        plan,
        participant,
        status,
        today,
    } = match begin(conn, participant_id, now)? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let before = get_of(conn, participant_id, id)?;
    if before.end_date.is_some() {
        return Ok(Err(Refusal::Conflict("the job has already ended".into())));
    }
    if let Some(why) = end_date_problem(end_date, before.start_date, today) {
        return Ok(Err(Refusal::Invalid {
            field: "end_date",
            message: why.into(),
        }));
    }
    let job = end(conn, participant_id, id, end_date, reason, note, now)?;
    let mut new_status = status;
    let mut draft = plan.draft()?;
    if current_count(conn, participant_id)? == 0 && status != ParticipantStatus::Closed {
        if let Some(to) = case_status::after_last_job_end(status) {
            status_changes::apply(
                conn,
                &Change {
                    participant_id,
                    from: Some(status),
                    to,
                    closed_reason: None,
                    note: Some(format!("job {} ended {}", job.id, end_date)),
                    by,
                    at: now,
                },
            )?;
            new_status = to;
        }
        let tz = follow_up::time_zone(&participant);
        let dates = dates(conn, participant_id)?;
        draft.plan.phase = Phase::AfterJobLoss;
        draft.plan.cadence_days = Phase::AfterJobLoss.default_cadence_days();
        let deadline = rules::fidelity_deadline(&draft.plan, &dates, tz, now);
        draft.plan.next_contact_at = rules::keep_agreement(draft.plan.next_contact_at, deadline);
    }
    let participant = participants::get(conn, participant_id)?;
    let ctx = follow_up::Context {
        participant: &participant,
        status: new_status,
        by,
        now,
        rules: follow_up_rules,
    };
    follow_up::save(conn, &plan, draft, &ctx)?;
    Ok(Ok(job))
}
