//! The follow-up plan (IPS principle 6: follow-up without end) and the case's status: the staff of
//! the caseload read and change the plan (`ETag`/`If-Match`) and step the case through its state
//! machine with a history; the participant sees only their next agreed contact and who their
//! specialist is. Every staff read and change is audited.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use ips_core::domain::case_status::Refusal;
use ips_core::domain::follow_up::{Phase, MAX_CADENCE_DAYS, MIN_CADENCE_DAYS};
use ips_core::domain::{ClosedReason, ParticipantStatus};
use ips_core::store::audit::{self, Entry};
use ips_core::store::follow_up::{self, Context, PlanChanges, PlanRow, Updated};
use ips_core::store::status_changes::{self, ChangedBy, StaffStep, StatusChange};
use ips_core::store::{now, participants, staff, utc};
use ips_core::StoreError;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationErrors};

use super::caseload_access::{CaseloadAccess, CASELOAD_ROLES};
use super::staff::double_option;
use crate::auth::{request_id, ParticipantCaller, StaffCaller};
use crate::input::{invalid, not_blank, outcome, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::preconditions::{etag, if_match};
use crate::problem::ApiError;
use crate::state::AppState;

/// An agreed contact is a date ahead; a year is as far as anyone plans one.
const AGREED_CONTACT_DAYS_AHEAD: i64 = 366;

/// Who last changed something: a staff member, the participant, or the product (`id` null).
#[derive(Debug, Serialize)]
pub struct ChangedByView {
    kind: &'static str,
    id: Option<i64>,
}

impl From<ChangedBy> for ChangedByView {
    fn from(by: ChangedBy) -> Self {
        ChangedByView {
            kind: by.kind(),
            id: by.id(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    participant_id: i64,
    phase: String,
    cadence_days: i32,
    next_contact_at: Option<DateTime<Utc>>,
    last_contact_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    paused_until: Option<DateTime<Utc>>,
    pause_reason: Option<String>,
    started_at: DateTime<Utc>,
    version: i32,
    updated_at: DateTime<Utc>,
    updated_by: ChangedByView,
}

impl TryFrom<PlanRow> for PlanView {
    type Error = StoreError;

    fn try_from(row: PlanRow) -> Result<Self, StoreError> {
        Ok(PlanView {
            updated_by: row.updated_by()?.into(),
            participant_id: row.participant_id,
            phase: row.phase,
            cadence_days: row.cadence_days,
            next_contact_at: row.next_contact_at.map(utc),
            last_contact_at: row.last_contact_at.map(utc),
            due_at: row.due_at.map(utc),
            paused_until: row.paused_until.map(utc),
            pause_reason: row.pause_reason,
            started_at: utc(row.started_at),
            version: row.version,
            updated_at: utc(row.updated_at),
        })
    }
}

fn respond_plan(view: PlanView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(view)
}

/// The status step's refusal as the API's problem: 409 with the reason, or 422 naming the field.
pub fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Conflict(why) => ApiError::Conflict(why),
        Refusal::Invalid { field, message } => ApiError::invalid(field, &message),
    }
}

/// The participant's status as stored (a value the CHECK constraint allows).
pub fn status_of(participant: &participants::Participant) -> Result<ParticipantStatus, ApiError> {
    ParticipantStatus::parse(&participant.status).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "stored participant status {:?}",
            participant.status
        ))
    })
}

pub async fn get_plan(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let view = access
        .read(&state.db, id, "follow_up_plan.read", move |conn, _| {
            PlanView::try_from(follow_up::get(conn, id)?)
        })
        .await?;
    Ok(respond_plan(view))
}

/// What staff may change on a plan. An absent field stays; `next_contact_at: null` drops the
/// agreed contact.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    #[serde(default, deserialize_with = "crate::input::not_null")]
    phase: Option<Phase>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    cadence_days: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    next_contact_at: Option<Option<DateTime<Utc>>>,
}

impl Validate for PlanPatch {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(days) = self.cadence_days {
            if !(MIN_CADENCE_DAYS..=MAX_CADENCE_DAYS).contains(&days) {
                errors.add("cadence_days", invalid("must be from 1 to 366 days"));
            }
        }
        if let Some(Some(at)) = self.next_contact_at {
            if let Some(why) = agreed_contact_problem(at) {
                errors.add("next_contact_at", invalid(why));
            }
        }
        outcome(errors)
    }
}

/// An agreed contact lies ahead, within a year.
pub fn agreed_contact_problem(at: DateTime<Utc>) -> Option<&'static str> {
    let now = Utc::now();
    if at <= now {
        Some("must be ahead: a contact still to come")
    } else if at > now + Duration::days(AGREED_CONTACT_DAYS_AHEAD) {
        Some("must be within a year")
    } else {
        None
    }
}

pub async fn patch_plan(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<PlanPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    let id = path.into_inner();
    let precondition = if_match(&req);
    let PlanPatch {
        phase,
        cadence_days,
        next_contact_at,
    } = body.0;
    // An empty change writes nothing and is audited as the read it is.
    let action = if phase.is_none() && cadence_days.is_none() && next_contact_at.is_none() {
        "follow_up_plan.read"
    } else {
        "follow_up_plan.updated"
    };
    let changes = PlanChanges {
        phase,
        cadence_days,
        next_contact_at: next_contact_at.map(|a| a.map(|t| t.naive_utc())),
    };
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let rules = state.config.follow_up_rules();
    let staff_id = caller.id;
    let view = state
        .db
        .write(move |conn| {
            let participant = participants::get_in_caseload(conn, id, caseload)?;
            let status = match status_of(&participant) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let at = now();
            let ctx = Context {
                participant: &participant,
                status,
                by: ChangedBy::Staff(staff_id),
                now: at,
                rules: &rules,
            };
            let saved = match follow_up::update(conn, &precondition, changes, &ctx)? {
                Updated::Saved(plan) => plan,
                Updated::Stale => return Ok(Err(ApiError::PreconditionFailed)),
                Updated::Refused(why) => return Ok(Err(ApiError::Conflict(why))),
            };
            audit::record(
                conn,
                &[Entry::new(actor, action).participant(id)],
                request_id.as_deref(),
                at,
            )?;
            Ok(Ok(PlanView::try_from(saved)?))
        })
        .await??;
    Ok(respond_plan(view))
}

#[derive(Debug, Serialize)]
pub struct StatusChangeView {
    id: i64,
    from_status: Option<String>,
    to_status: String,
    closed_reason: Option<String>,
    note: Option<String>,
    changed_at: DateTime<Utc>,
    changed_by: ChangedByView,
}

impl TryFrom<StatusChange> for StatusChangeView {
    type Error = StoreError;

    fn try_from(c: StatusChange) -> Result<Self, StoreError> {
        Ok(StatusChangeView {
            changed_by: ChangedBy::from_parts(&c.changed_by_kind, c.changed_by_id)?.into(),
            id: c.id,
            from_status: c.from_status,
            to_status: c.to_status,
            closed_reason: c.closed_reason,
            note: c.note,
            changed_at: utc(c.changed_at),
        })
    }
}

/// A step of the case. What each step needs (a reason to close; a reason, as `note`, and a
/// resume date to pause) is checked by the state machine in core, which names the field.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct StatusStep {
    to: ParticipantStatus,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    closed_reason: Option<ClosedReason>,
    #[validate(
        length(min = 1, max = 500, message = "must be 1 to 500 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    note: Option<String>,
    /// The participant's local date the pause ends.
    #[serde(default, deserialize_with = "crate::input::not_null")]
    resume_on: Option<NaiveDate>,
}

pub async fn change_status(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<StatusStep>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    let id = path.into_inner();
    let StatusStep {
        to,
        closed_reason,
        note,
        resume_on,
    } = body.0;
    let step = StaffStep {
        to,
        closed_reason,
        note: note.map(|n| n.trim().to_owned()),
        resume_on,
    };
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let rules = state.config.follow_up_rules();
    let staff_id = caller.id;
    let view = state
        .db
        .write(move |conn| {
            participants::get_in_caseload(conn, id, caseload)?;
            let at = now();
            let (change, _) =
                match status_changes::take_staff_step(conn, id, step, staff_id, &rules, at)? {
                    Ok(done) => done,
                    Err(refusal) => return Ok(Err(refused(refusal))),
                };
            audit::record(
                conn,
                &[Entry::new(actor, "participant.status_changed")
                    .participant(id)
                    .subject("status_change", change.id)],
                request_id.as_deref(),
                at,
            )?;
            Ok(Ok(StatusChangeView::try_from(change)?))
        })
        .await??;
    Ok(HttpResponse::Created().json(view))
}

/// The case's history, newest first.
pub async fn status_history(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let page = access
        .read(&state.db, id, "status_history.read", move |conn, _| {
            let found = status_changes::list(conn, id, page.after, page.limit)?;
            let items = found
                .items
                .into_iter()
                .map(StatusChangeView::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ips_core::store::Page {
                items,
                next_after: found.next_after,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(page, |v| v)))
}

#[derive(Debug, Serialize)]
struct SpecialistView {
    id: i64,
    name: String,
    phone: Option<String>,
    email: String,
    working_hours: Option<String>,
}

/// What the participant sees of their follow-up: the next contact they agreed with their
/// specialist, if any, and who that specialist is. Nothing of the log or the plan's workings.
#[derive(Debug, Serialize)]
struct MyFollowUpView {
    next_contact_at: Option<DateTime<Utc>>,
    specialist: SpecialistView,
}

pub async fn get_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let (plan, specialist) = state
        .db
        .run(move |conn| {
            let me = participants::get(conn, id)?;
            Ok((
                follow_up::get(conn, id)?,
                staff::get(conn, me.specialist_id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(MyFollowUpView {
            next_contact_at: plan.next_contact_at.map(utc),
            specialist: SpecialistView {
                id: specialist.id,
                name: specialist.name,
                phone: specialist.phone,
                email: specialist.email,
                working_hours: specialist.working_hours,
            },
        }))
}
