//! "Please call me" and benefits-counselling requests (IPS principle 4): the participant asks,
//! the specialist of the caseload or the team's supervisor handles. Staff actions are audited.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::{ContactRequestKind, ContactRequestStatus};
use ips_core::store::alerts;
use ips_core::store::audit::{self, Entry};
use ips_core::store::contact_requests::{self, ContactRequestWithHandler, NewContactRequest};
use ips_core::store::sessions::Subject;
use ips_core::store::{now, participants, utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::caseload_access::{CaseloadAccess, CASELOAD_ROLES};
use crate::auth::{request_id, ParticipantCaller, StaffCaller};
use crate::idempotency::{create_once, Idempotent};
use crate::input::{not_blank, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    kind: ContactRequestKind,
    /// Free text such as "weekdays after 15".
    #[validate(
        length(max = 200, message = "must be at most 200 characters"),
        custom(function = "not_blank")
    )]
    preferred_time: Option<String>,
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "not_blank")
    )]
    note: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RequestChange {
    status: ContactRequestStatus,
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "not_blank")
    )]
    response_note: Option<String>,
}

#[derive(Debug, Serialize)]
struct HandlerView {
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
pub struct ContactRequestView {
    id: i64,
    kind: String,
    preferred_time: Option<String>,
    note: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
    handled_at: Option<DateTime<Utc>>,
    handled_by: Option<HandlerView>,
    response_note: Option<String>,
    /// The interview an "I need to talk" request is about.
    interview_id: Option<i64>,
}

impl From<ContactRequestWithHandler> for ContactRequestView {
    fn from(r: ContactRequestWithHandler) -> Self {
        let handled_by = r
            .request
            .handled_by_staff_id
            .zip(r.handled_by_name)
            .map(|(id, name)| HandlerView { id, name });
        let r = r.request;
        Self {
            id: r.id,
            kind: r.kind,
            preferred_time: r.preferred_time,
            note: r.note,
            status: r.status,
            created_at: utc(r.created_at),
            handled_at: r.handled_at.map(utc),
            handled_by,
            response_note: r.response_note,
            interview_id: r.interview_id,
        }
    }
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned())
}

// --- the participant's side ---

pub async fn create_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    input: Idempotent<NewRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let NewRequestBody {
        kind,
        preferred_time,
        note,
    } = input.body;
    create_once(
        &state.db,
        Subject::Participant(id),
        input.key,
        move |conn| {
            let created = contact_requests::create(
                conn,
                NewContactRequest {
                    participant_id: id,
                    kind: kind.as_str().to_owned(),
                    preferred_time: trimmed(preferred_time),
                    note: trimmed(note),
                    status: ContactRequestStatus::Open.as_str().to_owned(),
                    created_at: now(),
                    interview_id: None,
                },
            )?;
            Ok(Ok(ContactRequestView::from(created)))
        },
    )
    .await
}

pub async fn list_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let id = caller.id;
    let found = state
        .db
        .run(move |conn| contact_requests::list(conn, id, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, ContactRequestView::from)))
}

// --- the staff's side ---

pub async fn list_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let found = access
        .read(&state.db, id, "contact_requests.listed", move |conn, _| {
            contact_requests::list(conn, id, page.after, page.limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, ContactRequestView::from)))
}

/// Handles a request (`status: handled`, with an optional answer). A handled request cannot be
/// reopened or handled again (409); `status: open` on an open request changes nothing.
pub async fn update_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    input: Body<RequestChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    let (id, request) = path.into_inner();
    let RequestChange {
        status,
        response_note,
    } = input.0;
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let staff_id = caller.id;
    let updated = state
        .db
        .write(move |conn| {
            participants::get_in_caseload(conn, id, caseload)?;
            let (updated, action) = match status {
                ContactRequestStatus::Handled => {
                    let handled = contact_requests::handle(
                        conn,
                        id,
                        request,
                        staff_id,
                        trimmed(response_note),
                        now(),
                    )?;
                    // A handled request ends its "request waiting" alert.
                    alerts::resolve_gone_for_participant(conn, id, now())?;
                    (handled, "contact_request.handled")
                }
                ContactRequestStatus::Open => {
                    let current = contact_requests::get(conn, id, request)?;
                    if current.request.status != ContactRequestStatus::Open.as_str() {
                        return Ok(Err(ApiError::Conflict(
                            "a handled request cannot be reopened".into(),
                        )));
                    }
                    if response_note.is_some() {
                        return Ok(Err(ApiError::invalid(
                            "response_note",
                            "is only given when the request is handled",
                        )));
                    }
                    (current, "contact_request.read")
                }
            };
            audit::record(
                conn,
                &[Entry::new(actor, action)
                    .participant(id)
                    .subject("contact_request", request)],
                request_id.as_deref(),
                now(),
            )?;
            Ok(Ok(updated))
        })
        .await??;
    Ok(HttpResponse::Ok().json(ContactRequestView::from(updated)))
}
