//! Jobs, for the participant's app (`/v1/me/jobs`: they may record their own start and end) and
//! for the staff of their caseload (`/v1/participants/{id}/jobs`). A start moves the case into
//! work and shapes the follow-up plan (fidelity item 23); the end of the last current job moves
//! it back to job seeking and asks for a contact within 3 days. Staff access and the participant's
//! own changes are audited (`super::asker`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use ips_core::domain::jobs::{hours_problem, EndReason};
use ips_core::store::jobs::{self, Job, JobChanges, NewJob};
use ips_core::store::{now, utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationErrors};

use super::asker::{Asker, Resource};
use super::follow_up::refused;
use super::staff::double_option;
use crate::auth::{ParticipantCaller, StaffCaller};
use crate::idempotency::{run_once, run_once_as, Idempotent};
use crate::input::{invalid, not_blank, outcome, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

/// Jobs on both sides: `/v1/me/jobs`, `/v1/participants/{id}/jobs`.
const JOBS: Resource = Resource {
    segment: "jobs",
    subject: "job",
};

fn hours(value: f64) -> Result<(), validator::ValidationError> {
    match hours_problem(value) {
        None => Ok(()),
        Some(why) => Err(invalid(why)),
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewJobBody {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    employer: String,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    role_title: String,
    #[validate(custom(function = "hours"))]
    hours_per_week: f64,
    /// Ordinary, paid, open to anyone (IPS principle 3; fidelity item 21).
    competitive: bool,
    /// The participant's local date of the first working day.
    start_date: NaiveDate,
}

/// Corrections; an absent field stays. The end fields are corrected only on an ended job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    #[serde(default, deserialize_with = "crate::input::not_null")]
    employer: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    role_title: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    hours_per_week: Option<f64>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    competitive: Option<bool>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    start_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    end_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    end_reason: Option<EndReason>,
    #[serde(default, deserialize_with = "double_option")]
    end_note: Option<Option<String>>,
}

fn check_text(errors: &mut ValidationErrors, field: &'static str, text: &str, max: usize) {
    let length = text.chars().count();
    if length == 0 || length > max || text.trim().is_empty() {
        errors.add(
            field,
            invalid(format!("must be 1 to {max} characters, not blank")),
        );
    }
}

impl Validate for JobPatch {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(employer) = &self.employer {
            check_text(&mut errors, "employer", employer, 200);
        }
        if let Some(role) = &self.role_title {
            check_text(&mut errors, "role_title", role, 200);
        }
        if let Some(value) = self.hours_per_week {
            if let Err(e) = hours(value) {
                errors.add("hours_per_week", e);
            }
        }
        if let Some(Some(note)) = &self.end_note {
            check_text(&mut errors, "end_note", note, 1000);
        }
        outcome(errors)
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct JobEndBody {
    /// The participant's local date of the last working day.
    end_date: NaiveDate,
    reason: EndReason,
    #[validate(
        length(min = 1, max = 1000, message = "must be 1 to 1000 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct RecordedBy {
    kind: String,
    id: i64,
}

#[derive(Debug, Serialize)]
pub struct JobView {
    id: i64,
    participant_id: i64,
    employer: String,
    role_title: String,
    hours_per_week: f64,
    competitive: bool,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    end_reason: Option<String>,
    end_note: Option<String>,
    /// Not ended yet.
    current: bool,
    recorded_by: RecordedBy,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        JobView {
            current: j.end_date.is_none(),
            id: j.id,
            participant_id: j.participant_id,
            employer: j.employer,
            role_title: j.role_title,
            hours_per_week: j.hours_per_week,
            competitive: j.competitive,
            start_date: j.start_date,
            end_date: j.end_date,
            end_reason: j.end_reason,
            end_note: j.end_note,
            recorded_by: RecordedBy {
                kind: j.recorded_by_kind,
                id: j.recorded_by_id,
            },
            created_at: utc(j.created_at),
            updated_at: utc(j.updated_at),
        }
    }
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned())
}

async fn list(state: &AppState, asker: Asker, req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(req)?.check()?;
    let found = state
        .db
        .write(move |conn| {
            asker.participant(conn)?;
            let found = jobs::list(conn, asker.participant_id(), page.after, page.limit)?;
            asker.audit_read(conn, "jobs.listed", None)?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, JobView::from)))
}

/// Records a job start; a retry with the same `Idempotency-Key` gets the first answer again.
async fn create(
    state: &AppState,
    asker: Asker,
    input: Idempotent<NewJobBody>,
) -> Result<HttpResponse, ApiError> {
    let location_of = asker.clone();
    let rules = state.config.follow_up_rules();
    let body = input.body;
    let once = run_once(&state.db, asker.subject(), input.key, move |conn| {
        asker.participant(conn)?;
        let at = now();
        let by = asker.by();
        let new = NewJob {
            participant_id: asker.participant_id(),
            employer: body.employer.trim().to_owned(),
            role_title: body.role_title.trim().to_owned(),
            hours_per_week: body.hours_per_week,
            competitive: body.competitive,
            start_date: body.start_date,
            recorded_by_kind: by.kind().to_owned(),
            recorded_by_id: by.id().unwrap_or_default(),
            created_at: at,
            updated_at: at,
        };
        let job = match jobs::record_start(conn, new, by, &rules, at)? {
            Ok(job) => job,
            Err(refusal) => return Ok(Err(refused(refusal))),
        };
        asker.audit_change(conn, "job.recorded", Some(job.id))?;
        Ok(Ok(JobView::from(job)))
    })
    .await?;
    let created: serde_json::Value = serde_json::from_str(once.body()).unwrap_or_default();
    let mut response = once.respond();
    if let Some(id) = created["id"].as_i64() {
        if let Ok(value) = header::HeaderValue::from_str(&location_of.location(id)) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    Ok(response)
}

/// Records a job's end; a retry with the same `Idempotency-Key` gets the first answer again.
async fn end(
    state: &AppState,
    asker: Asker,
    id: i64,
    input: Idempotent<JobEndBody>,
) -> Result<HttpResponse, ApiError> {
    let rules = state.config.follow_up_rules();
    let JobEndBody {
        end_date,
        reason,
        note,
    } = input.body;
    let once = run_once_as(
        &state.db,
        asker.subject(),
        input.key,
        StatusCode::OK,
        move |conn| {
            asker.participant(conn)?;
            let at = now();
            let ended = jobs::record_end(
                conn,
                asker.participant_id(),
                id,
                end_date,
                reason,
                trimmed(note),
                asker.by(),
                &rules,
                at,
            )?;
            let job = match ended {
                Ok(job) => job,
                Err(refusal) => return Ok(Err(refused(refusal))),
            };
            asker.audit_change(conn, "job.ended", Some(job.id))?;
            Ok(Ok(JobView::from(job)))
        },
    )
    .await?;
    Ok(once.respond())
}

// --- the participant's routes ------------------------------------------------------------

pub async fn me_list(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, Asker::own(&caller, &req, JOBS), &req).await
}

pub async fn me_create(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    input: Idempotent<NewJobBody>,
) -> Result<HttpResponse, ApiError> {
    create(&state, Asker::own(&caller, &req, JOBS), input).await
}

pub async fn me_end(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Idempotent<JobEndBody>,
) -> Result<HttpResponse, ApiError> {
    end(
        &state,
        Asker::own(&caller, &req, JOBS),
        path.into_inner(),
        input,
    )
    .await
}

// --- the staff's routes ------------------------------------------------------------------

pub async fn staff_list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let asker = Asker::staff(caller, path.into_inner(), &req, JOBS)?;
    list(&state, asker, &req).await
}

pub async fn staff_create(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Idempotent<NewJobBody>,
) -> Result<HttpResponse, ApiError> {
    let asker = Asker::staff(caller, path.into_inner(), &req, JOBS)?;
    create(&state, asker, input).await
}

pub async fn staff_get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    let asker = Asker::staff(caller, participant, &req, JOBS)?;
    let job = state
        .db
        .write(move |conn| {
            asker.participant(conn)?;
            let job = jobs::get_of(conn, participant, id)?;
            asker.audit_read(conn, "job.read", Some(id))?;
            Ok(job)
        })
        .await?;
    Ok(HttpResponse::Ok().json(JobView::from(job)))
}

pub async fn staff_update(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Body<JobPatch>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    let asker = Asker::staff(caller, participant, &req, JOBS)?;
    let rules = state.config.follow_up_rules();
    let patch = body.0;
    let changes = JobChanges {
        employer: trimmed(patch.employer),
        role_title: trimmed(patch.role_title),
        hours_per_week: patch.hours_per_week,
        competitive: patch.competitive,
        start_date: patch.start_date,
        end_date: patch.end_date,
        end_reason: patch.end_reason.map(|r| r.as_str().to_owned()),
        end_note: patch.end_note.map(trimmed),
        updated_at: None,
    };
    let job = state
        .db
        .write(move |conn| {
            asker.participant(conn)?;
            let corrected =
                jobs::correct(conn, participant, id, changes, asker.by(), &rules, now())?;
            let job = match corrected {
                Ok(job) => job,
                Err(refusal) => return Ok(Err(refused(refusal))),
            };
            asker.audit_change(conn, "job.updated", Some(id))?;
            Ok(Ok(job))
        })
        .await??;
    Ok(HttpResponse::Ok().json(JobView::from(job)))
}

pub async fn staff_end(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    input: Idempotent<JobEndBody>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    let asker = Asker::staff(caller, participant, &req, JOBS)?;
    end(&state, asker, id, input).await
}
