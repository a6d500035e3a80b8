//! Enrolment and the staff's view of their caseload. Every staff read of a participant is audited.
//! An enrolment begins the case's status history and its follow-up plan in the same transaction.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, Utc};
use ips_core::domain::roles::is_time_zone;
use ips_core::domain::{Language, ParticipantStatus, Role};
use ips_core::store::audit::{self, AuditEvent, Entry};
use ips_core::store::participants::{self, NewParticipant};
use ips_core::store::status_changes::{self, Change, ChangedBy};
use ips_core::store::{enrolment_codes, follow_up, now, staff, utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use super::caseload_access::CaseloadAccess;
use super::views::{EnrolmentCodeView, ParticipantView};
use crate::auth::{request_id, StaffCaller};
use crate::input::{not_blank, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

pub fn iana_time_zone(name: &str) -> Result<(), ValidationError> {
    if is_time_zone(name) {
        Ok(())
    } else {
        Err(ValidationError::new("time_zone")
            .with_message("must be an IANA time zone such as Europe/Oslo".into()))
    }
}

pub fn language(code: &str) -> Result<(), ValidationError> {
    match Language::parse(code) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("language").with_message("must be nb or en".into())),
    }
}

/// IPS is open from age 16 (someone born this year minus 16 may still be 15 for a few
/// months, hence minus 15) and there is no upper age; a birth year only has to be plausible.
fn plausible_birth_year(year: i32) -> Result<(), ValidationError> {
    let this_year = Utc::now().year();
    if (1900..=this_year - 15).contains(&year) {
        Ok(())
    } else {
        Err(ValidationError::new("birth_year")
            .with_message("must be a plausible year of birth".into()))
    }
}

/// Enrolment asks for no diagnosis and no readiness: the participant's wish to work is enough
/// (IPS principle 1, zero exclusion).
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "not_blank")
    )]
    display_name: String,
    #[validate(custom(function = "language"))]
    preferred_language: Option<String>,
    #[validate(
        length(max = 64, message = "must be at most 64 characters"),
        custom(function = "iana_time_zone")
    )]
    time_zone: Option<String>,
    #[validate(custom(function = "plausible_birth_year"))]
    birth_year: Option<i32>,
    /// Supervisors name the specialist; a specialist enrols into their own caseload.
    specialist_id: Option<i64>,
}

#[derive(Debug, Serialize)]
struct EnrolledView {
    participant: ParticipantView,
    enrolment_code: EnrolmentCodeView,
}

pub async fn enrol(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    body: Body<Enrolment>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Specialist, Role::Supervisor])?;
    let Enrolment {
        display_name,
        preferred_language,
        time_zone,
        birth_year,
        specialist_id,
    } = body.0;
    let team_id = caller
        .team_id
        .ok_or(ApiError::Forbidden("You are not in a team."))?;
    let specialist_id = match (caller.role, specialist_id) {
        (Role::Specialist, None) => caller.id,
        (Role::Specialist, Some(id)) if id == caller.id => caller.id,
        (Role::Specialist, Some(_)) => {
            return Err(ApiError::invalid(
                "specialist_id",
                "specialists enrol into their own caseload",
            ))
        }
        (_, None) => {
            return Err(ApiError::invalid(
                "specialist_id",
                "is required when a supervisor enrols",
            ))
        }
        (_, Some(id)) => id,
    };
    let language = preferred_language
        .as_deref()
        .and_then(Language::parse)
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Language::from_accept_language)
        })
        .unwrap_or(Language::Nb);
    let ttl = Duration::hours(state.config.enrolment_code_ttl_hours);
    let request_id = request_id(&req);
    let actor = caller.actor();
    let rules = state.config.follow_up_rules();
    let created = state
        .db
        .write(move |conn| {
            let specialist = match staff::get(conn, specialist_id) {
                Ok(s) => s,
                Err(ips_core::StoreError::NotFound) => {
                    return Ok(Err(ApiError::invalid(
                        "specialist_id",
                        "is not a specialist in your team",
                    )))
                }
                Err(e) => return Err(e),
            };
            if specialist.role() != Some(Role::Specialist)
                || specialist.team_id != Some(team_id)
                || !specialist.active
            {
                return Ok(Err(ApiError::invalid(
                    "specialist_id",
                    "is not a specialist in your team",
                )));
            }
            let at = now();
            let participant = participants::create(
                conn,
                NewParticipant {
                    team_id,
                    specialist_id,
                    display_name: display_name.trim().to_owned(),
                    preferred_language: language.as_str().to_owned(),
                    time_zone: time_zone.unwrap_or_else(|| "Europe/Oslo".to_owned()),
                    birth_year,
                    status: ParticipantStatus::JobSeeking.as_str().to_owned(),
                    enrolled_at: at,
                    created_by: caller.id,
                    updated_at: at,
                },
            )?;
            // The case's history begins, and its follow-up plan with it (IPS principle 6).
            let by = ChangedBy::Staff(caller.id);
            status_changes::record(
                conn,
                &Change {
                    participant_id: participant.id,
                    from: None,
                    to: ParticipantStatus::JobSeeking,
                    closed_reason: None,
                    note: None,
                    by,
                    at,
                },
            )?;
            follow_up::create(
                conn,
                &follow_up::Context {
                    participant: &participant,
                    status: ParticipantStatus::JobSeeking,
                    by,
                    now: at,
                    rules: &rules,
                },
            )?;
            let code = enrolment_codes::issue(conn, participant.id, caller.id, ttl, at)?;
            let entries = [
                Entry::new(actor, "participant.enrolled")
                    .participant(participant.id)
                    .subject("participant", participant.id),
                Entry::new(actor, "enrolment_code.issued").participant(participant.id),
            ];
            audit::record(conn, &entries, request_id.as_deref(), at)?;
            Ok(Ok((participant, code)))
        })
        .await??;
    let (participant, code) = created;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/participants/{}", participant.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(EnrolledView {
            participant: participant.into(),
            enrolment_code: EnrolmentCodeView {
                code: code.code,
                expires_at: utc(code.expires_at),
            },
        }))
}

/// The caller's caseload (a supervisor's: the team's), each participant shown audited.
pub async fn list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Specialist, Role::Supervisor])?;
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let found = state
        .db
        .write(move |conn| {
            let found = participants::list_in_caseload(conn, caseload, page.after, page.limit)?;
            let entries: Vec<Entry> = found
                .items
                .iter()
                .map(|p| Entry::new(actor, "participant.listed").participant(p.id))
                .collect();
            audit::record(conn, &entries, request_id.as_deref(), now())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, ParticipantView::from)))
}

pub async fn get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let participant = access
        .read(&state.db, path.into_inner(), "participant.read", |_, p| {
            Ok(p)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ParticipantView::from(participant)))
}

/// A new code for a participant who lost theirs or whose code expired; earlier codes stop working.
pub async fn reissue_code(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Specialist, Role::Supervisor])?;
    let id = path.into_inner();
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let ttl = Duration::hours(state.config.enrolment_code_ttl_hours);
    let code = state
        .db
        .write(move |conn| {
            let participant = participants::get_in_caseload(conn, id, caseload)?;
            if participant.withdrawn_at.is_some() {
                return Ok(Err(ApiError::Conflict(
                    "the participant has withdrawn".into(),
                )));
            }
            let at = now();
            let code = enrolment_codes::issue(conn, id, caller.id, ttl, at)?;
            audit::record(
                conn,
                &[Entry::new(actor, "enrolment_code.issued").participant(id)],
                request_id.as_deref(),
                at,
            )?;
            Ok(Ok(code))
        })
        .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(EnrolmentCodeView {
            code: code.code,
            expires_at: utc(code.expires_at),
        }))
}

#[derive(Debug, Serialize)]
pub(super) struct AuditEventView {
    id: i64,
    occurred_at: chrono::DateTime<Utc>,
    actor_kind: String,
    actor_id: Option<i64>,
    action: String,
    subject_type: Option<String>,
    subject_id: Option<i64>,
    request_id: Option<String>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            id: e.id,
            occurred_at: utc(e.occurred_at),
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            action: e.action,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            request_id: e.request_id,
        }
    }
}

/// Who did what with this participant's data. Supervisors of the participant's team only:
/// the trail is for oversight, not for the specialist whose actions it records.
pub async fn audit_events(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Supervisor])?;
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let events = access
        .read(&state.db, id, "audit_trail.read", move |conn, _| {
            audit::list_for_participant(conn, id, page.after, page.limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(events, AuditEventView::from)))
}
