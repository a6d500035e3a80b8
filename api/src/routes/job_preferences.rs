//! Job preferences (IPS principle 7): the participant keeps them in the app, their specialist
//! sees and may edit them. One versioned document per participant, replaced whole by `PUT`,
//! guarded by `ETag`/`If-Match`; every version is kept for the fidelity item "vocational
//! profile kept current". Staff reads and writes are audited.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::job_preferences::JobPreferences;
use ips_core::store::audit::{Actor, Entry};
use ips_core::store::job_preferences::{self, Change, Current, Editor};
use ips_core::store::participants::{self, Caseload};
use ips_core::store::{now, utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationErrors};

use super::caseload_access::{CaseloadAccess, CASELOAD_ROLES};
use crate::auth::{request_id, ParticipantCaller, StaffCaller};
use crate::input::{invalid, outcome, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::preconditions::{etag, if_match};
use crate::problem::ApiError;
use crate::state::AppState;

/// The document as a client sends it; its rules are `JobPreferences::violations` in core.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct JobPreferencesInput(JobPreferences);

impl Validate for JobPreferencesInput {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for violation in self.0.violations() {
            errors.add(violation.field, invalid(violation.message));
        }
        outcome(errors)
    }
}

#[derive(Debug, Serialize)]
struct EditorView {
    kind: &'static str,
    id: i64,
}

impl From<Editor> for EditorView {
    fn from(e: Editor) -> Self {
        EditorView {
            kind: e.kind(),
            id: e.id(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct JobPreferencesView {
    #[serde(flatten)]
    preferences: JobPreferences,
    version: i32,
    updated_at: Option<DateTime<Utc>>,
    updated_by: Option<EditorView>,
}

#[derive(Debug, Serialize)]
pub(super) struct ChangeView {
    id: i64,
    version: i32,
    changed_at: DateTime<Utc>,
    changed_by: EditorView,
    changed_fields: Vec<String>,
    preferences: JobPreferences,
}

impl From<Current> for JobPreferencesView {
    fn from(current: Current) -> Self {
        JobPreferencesView {
            preferences: current.preferences,
            version: current.version,
            updated_at: current.updated_at.map(utc),
            updated_by: current.updated_by.map(EditorView::from),
        }
    }
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        ChangeView {
            id: c.id,
            version: c.version,
            changed_at: utc(c.changed_at),
            changed_by: c.changed_by.into(),
            changed_fields: c.changed_fields,
            preferences: c.preferences,
        }
    }
}

/// The document with its version as a strong `ETag`, for the client's next `If-Match`.
fn respond(current: Current) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(current.version)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(JobPreferencesView::from(current))
}

/// Saves a new version with its history row and audit entry, all or none. `caseload` is
/// checked first for staff (outside it: 404); a stale `If-Match` writes nothing and is 412.
async fn save(
    state: web::Data<AppState>,
    req: &HttpRequest,
    participant_id: i64,
    caseload: Option<Caseload>,
    editor: Editor,
    actor: Actor,
    doc: JobPreferences,
) -> Result<HttpResponse, ApiError> {
    let precondition = if_match(req);
    let doc = doc.normalised();
    let request_id = request_id(req);
    // The save writes its history row and audit entry in the same statement on PostgreSQL, so
    // it needs no transaction there; the caseload check before it is a read.
    let saved = state
        .db
        .write_atomic(move |conn| {
            if let Some(caseload) = caseload {
                participants::get_in_caseload(conn, participant_id, caseload)?;
            }
            let entry = Entry::new(actor, "job_preferences.updated").participant(participant_id);
            job_preferences::save(
                conn,
                participant_id,
                &precondition,
                &doc,
                editor,
                now(),
                &entry,
                request_id.as_deref(),
            )
        })
        .await?;
    saved.map(respond).ok_or(ApiError::PreconditionFailed)
}

pub async fn get_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let current = state
        .db
        .run(move |conn| job_preferences::get(conn, id))
        .await?;
    Ok(respond(current))
}

pub async fn put_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    body: Body<JobPreferencesInput>,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    save(
        state,
        &req,
        id,
        None,
        Editor::Participant(id),
        Actor::Participant(id),
        body.0 .0,
    )
    .await
}

pub async fn get_for(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let current = access
        .read(&state.db, id, "job_preferences.read", move |conn, _| {
            job_preferences::get(conn, id)
        })
        .await?;
    Ok(respond(current))
}

pub async fn put_for(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<JobPreferencesInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    save(
        state,
        &req,
        path.into_inner(),
        Some(caller.caseload()),
        Editor::Staff(caller.id),
        caller.actor(),
        body.0 .0,
    )
    .await
}

/// Every saved version, newest first, with who saved it and which fields it changed.
pub async fn history(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let changes = access
        .read(
            &state.db,
            id,
            "job_preferences.history_read",
            move |conn, _| job_preferences::history(conn, id, page.after, page.limit),
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(changes, ChangeView::from)))
}
