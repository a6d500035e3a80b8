//! Alerts to specialists (docs/follow-up.md, "Alerts"): the caseload's alerts, and the three things
//! staff do with one: acknowledge it (seen, still to do), snooze it until a time (it comes back and
//! is delivered again), resolve it. A specialist sees the alerts of their caseload, a supervisor
//! their team's; an alert of another caseload is 404 like a missing one. Participants and
//! administrators are refused. Every read and change is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use ips_core::domain::alerts::{check_snooze, AlertKind, AlertStatus};
use ips_core::domain::Role;
use ips_core::store::alerts::{self, AlertFilter, AlertWithParticipant};
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::participants::Caseload;
use ips_core::store::{now, utc};
use ips_core::{DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::{request_id, StaffCaller};
use crate::input::{not_blank, parse_query, Body, OptionalBody};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

const STAFF_ROLES: &[Role] = &[Role::Specialist, Role::Supervisor];

/// `GET /v1/alerts` takes the page parameters and these filters; anything else is 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// One state or several, comma-separated (`open,acknowledged`).
    status: Option<String>,
    /// One kind or several, comma-separated.
    kind: Option<String>,
    participant_id: Option<i64>,
    /// Supervisors: the alerts of one specialist's caseload.
    specialist_id: Option<i64>,
}

/// A comma-separated list of known names; an unknown one is 422 naming the parameter.
fn names<T>(
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
    known: &str,
) -> Result<Vec<T>, ApiError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|name| {
            parse(name.trim())
                .ok_or_else(|| ApiError::invalid(field, &format!("must be one or more of {known}")))
        })
        .collect()
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    /// When the alert comes back: in the future, at most 30 days ahead.
    until: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[validate(
        length(min = 1, max = 1000, message = "must be 1 to 1000 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct ParticipantRef {
    id: i64,
    display_name: String,
}

#[derive(Debug, Serialize)]
struct SubjectView {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
}

#[derive(Debug, Serialize)]
struct AlertView {
    id: i64,
    kind: String,
    status: String,
    participant: ParticipantRef,
    /// The specialist it was raised for (the participant's specialist at the time).
    raised_for: i64,
    /// The interview, message or contact request it is about, for the kinds that have one.
    subject: Option<SubjectView>,
    cause_at: DateTime<Utc>,
    raised_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    acknowledged_by: Option<i64>,
    snoozed_until: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    resolved_by: Option<i64>,
    resolution: Option<String>,
    resolution_note: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<AlertWithParticipant> for AlertView {
    fn from(found: AlertWithParticipant) -> Self {
        let a = found.alert;
        Self {
            id: a.id,
            kind: a.kind,
            status: a.status,
            participant: ParticipantRef {
                id: a.participant_id,
                display_name: found.participant_name,
            },
            raised_for: a.staff_id,
            subject: a
                .subject_type
                .zip(a.subject_id)
                .map(|(kind, id)| SubjectView { kind, id }),
            cause_at: utc(a.cause_at),
            raised_at: utc(a.raised_at),
            acknowledged_at: a.acknowledged_at.map(utc),
            acknowledged_by: a.acknowledged_by,
            snoozed_until: a.snoozed_until.map(utc),
            resolved_at: a.resolved_at.map(utc),
            resolved_by: a.resolved_by,
            resolution: a.resolution,
            resolution_note: a.resolution_note,
            updated_at: utc(a.updated_at),
        }
    }
}

fn audited(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    found: &AlertWithParticipant,
    request_id: Option<&str>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &[Entry::new(actor, action)
            .participant(found.alert.participant_id)
            .subject(alerts::SUBJECT, found.alert.id)],
        request_id,
        now(),
    )
}

pub async fn list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(STAFF_ROLES)?;
    let query = parse_query::<ListQuery>(&req)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .check()?;
    let filter = AlertFilter {
        statuses: names(
            "status",
            query.status.as_deref(),
            AlertStatus::parse,
            "open, acknowledged, snoozed, resolved",
        )?,
        kinds: names(
            "kind",
            query.kind.as_deref(),
            AlertKind::parse,
            &AlertKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )?,
        participant_id: query.participant_id,
        specialist_id: query.specialist_id,
    };
    if let (Caseload::OfSpecialist(me), Some(other)) = (caller.caseload(), filter.specialist_id) {
        if me != other {
            return Err(ApiError::invalid(
                "specialist_id",
                "only supervisors look at another specialist's alerts",
            ));
        }
    }
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let found = state
        .db
        .write(move |conn| {
            let found = alerts::list(conn, caseload, &filter, page.after, page.limit)?;
            // One audited read per participant the page names.
            let mut seen = Vec::new();
            let entries: Vec<Entry> = found
                .items
                .iter()
                .filter(|a| {
                    let new = !seen.contains(&a.alert.participant_id);
                    seen.push(a.alert.participant_id);
                    new
                })
                .map(|a| Entry::new(actor, "alerts.listed").participant(a.alert.participant_id))
                .collect();
            audit::record(conn, &entries, request_id.as_deref(), now())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, AlertView::from)))
}

pub async fn get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(STAFF_ROLES)?;
    let id = path.into_inner();
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let found = state
        .db
        .write(move |conn| {
            let found = alerts::get_in_caseload(conn, id, caseload)?;
            audited(conn, actor, "alert.read", &found, request_id.as_deref())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AlertView::from(found)))
}

/// What staff do with an alert.
#[derive(Debug, Clone)]
enum Step {
    Acknowledge,
    Snooze(chrono::NaiveDateTime),
    Resolve(Option<String>),
}

async fn step(
    state: &AppState,
    caller: &StaffCaller,
    req: &HttpRequest,
    id: i64,
    step: Step,
) -> Result<HttpResponse, ApiError> {
    caller.require(STAFF_ROLES)?;
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(req));
    let staff_id = caller.id;
    let found = state
        .db
        .write(move |conn| {
            let found = alerts::get_in_caseload(conn, id, caseload)?;
            let at = now();
            let (alert, action) = match step {
                Step::Acknowledge => (
                    alerts::acknowledge(conn, id, staff_id, at)?,
                    "alert.acknowledged",
                ),
                Step::Snooze(until) => {
                    if let Err(e) = check_snooze(until, at) {
                        return Ok(Err(ApiError::invalid("until", e.message())));
                    }
                    (alerts::snooze(conn, id, until, at)?, "alert.snoozed")
                }
                Step::Resolve(note) => (
                    alerts::resolve_by_staff(conn, id, staff_id, note, at)?,
                    "alert.resolved",
                ),
            };
            let found = AlertWithParticipant {
                alert,
                participant_name: found.participant_name,
            };
            audited(conn, actor, action, &found, request_id.as_deref())?;
            Ok(Ok(found))
        })
        .await??;
    Ok(HttpResponse::Ok().json(AlertView::from(found)))
}

/// Seen, still to do. Acknowledging again changes nothing; a resolved alert is 409.
pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    step(&state, &caller, &req, path.into_inner(), Step::Acknowledge).await
}

/// Put off until `until`; it comes back open and is delivered again then.
pub async fn snooze(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Body<SnoozeBody>,
) -> Result<HttpResponse, ApiError> {
    let until = input.0.until.naive_utc().trunc_subsecs(6);
    step(
        &state,
        &caller,
        &req,
        path.into_inner(),
        Step::Snooze(until),
    )
    .await
}

/// Resolved by the caller, with an optional note; the body may be left out.
pub async fn resolve(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: OptionalBody<ResolveBody>,
) -> Result<HttpResponse, ApiError> {
    let note = input.0.and_then(|b| b.note).map(|n| n.trim().to_owned());
    step(
        &state,
        &caller,
        &req,
        path.into_inner(),
        Step::Resolve(note),
    )
    .await
}
