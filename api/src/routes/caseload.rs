//! The caseload view by urgency, the team's specialists at a glance, and reassignment.
//! Every participant shown is audited, as in `GET /v1/participants`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::caseload::{CASELOAD_TARGET, PHASES};
use ips_core::domain::{ParticipantStatus, Role};
use ips_core::store::audit::{self, Entry};
use ips_core::store::caseload::{self, Row, SpecialistLoad, StatusFilter};
use ips_core::store::reassignments::{self, Reassigned, Refusal};
use ips_core::store::{now, participants, utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::views::ParticipantView;
use crate::auth::{request_id, StaffCaller};
use crate::input::{parse_query, Body};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

/// How many rows one view answers by default, and at most. A specialist's caseload is 20-40
/// people and a team's a few hundred: the default shows every urgent case of a team, the most a
/// large team whole; past that, filter (by specialist, status, phase).
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseloadQuery {
    status: Option<String>,
    include_closed: Option<bool>,
    phase: Option<String>,
    has_open_alerts: Option<bool>,
    overdue: Option<bool>,
    specialist_id: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct RowView {
    id: i64,
    display_name: String,
    status: String,
    specialist_id: i64,
    specialist_name: String,
    phase: Option<String>,
    due_at: Option<DateTime<Utc>>,
    overdue: bool,
    open_alerts: i64,
    most_urgent_alert: Option<String>,
    next_interview_at: Option<DateTime<Utc>>,
    last_contact_at: Option<DateTime<Utc>>,
}

impl From<Row> for RowView {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            display_name: r.display_name,
            status: r.status,
            specialist_id: r.specialist_id,
            specialist_name: r.specialist_name,
            phase: r.phase,
            due_at: r.due_at.map(utc),
            overdue: r.overdue,
            open_alerts: r.open_alerts,
            most_urgent_alert: r.most_urgent_alert,
            next_interview_at: r.next_interview_at.map(utc),
            last_contact_at: r.last_contact_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
struct CaseloadView {
    items: Vec<RowView>,
    total: usize,
}

impl CaseloadQuery {
    fn check(self, caller: &StaffCaller) -> Result<caseload::Query, ApiError> {
        let mut errors = Vec::new();
        let status = match (self.status, self.include_closed) {
            (Some(status), _) => {
                if ParticipantStatus::parse(&status).is_none() {
                    errors.push(FieldError::new(
                        "status",
                        "must be referred, job_seeking, in_work, in_education, paused or closed",
                    ));
                }
                StatusFilter::Only(status)
            }
            (None, Some(true)) => StatusFilter::All,
            (None, _) => StatusFilter::Open,
        };
        if let Some(phase) = &self.phase {
            if !PHASES.contains(&phase.as_str()) {
                errors.push(FieldError::new(
                    "phase",
                    "must be job_search, before_job_start, new_job, established_job, education or after_job_loss",
                ));
            }
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new("limit", "must be between 1 and 500"));
        }
        if caller.role == Role::Specialist && self.specialist_id.is_some_and(|id| id != caller.id) {
            errors.push(FieldError::new(
                "specialist_id",
                "specialists see their own caseload; only supervisors choose a specialist",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(caseload::Query {
            caseload: caller.caseload(),
            specialist_id: self.specialist_id,
            status,
            phase: self.phase,
            has_open_alerts: self.has_open_alerts,
            overdue: self.overdue,
            limit: usize::try_from(limit).unwrap_or(0),
        })
    }
}

/// The caller's participants, most urgent first (a supervisor's: the team's).
pub async fn view(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Specialist, Role::Supervisor])?;
    let query = parse_query::<CaseloadQuery>(&req)?.check(&caller)?;
    let (actor, request_id) = (caller.actor(), request_id(&req));
    let found = state
        .db
        .write(move |conn| {
            let at = now();
            let found = caseload::view(conn, &query, at)?;
            let entries: Vec<Entry> = found
                .rows
                .iter()
                .map(|row| Entry::new(actor, "caseload.listed").participant(row.id))
                .collect();
            audit::record(conn, &entries, request_id.as_deref(), at)?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CaseloadView {
        total: found.total,
        items: found.rows.into_iter().map(RowView::from).collect(),
    }))
}

#[derive(Debug, Serialize)]
struct SpecialistView {
    id: i64,
    name: String,
    active: bool,
    active_participants: i64,
    caseload_target: i64,
    within_caseload_target: bool,
    open_alerts: i64,
    overdue_follow_ups: i64,
}

impl From<SpecialistLoad> for SpecialistView {
    fn from(s: SpecialistLoad) -> Self {
        Self {
            id: s.id,
            name: s.name,
            active: s.active,
            active_participants: s.active_participants,
            caseload_target: CASELOAD_TARGET,
            within_caseload_target: s.within_caseload_target,
            open_alerts: s.open_alerts,
            overdue_follow_ups: s.overdue_follow_ups,
        }
    }
}

#[derive(Debug, Serialize)]
struct SpecialistsView {
    items: Vec<SpecialistView>,
}

/// The supervisor's team: each specialist's caseload size against the fidelity target, open
/// alerts and overdue follow-ups. Counts only; no participant is named, so nothing is audited.
pub async fn specialists(
    state: web::Data<AppState>,
    caller: StaffCaller,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Supervisor])?;
    let team = caller
        .team_id
        .ok_or(ApiError::Forbidden("You are not in a team."))?;
    let found = state
        .db
        .run(move |conn| caseload::specialists(conn, team, now()))
        .await?;
    Ok(HttpResponse::Ok().json(SpecialistsView {
        items: found.into_iter().map(SpecialistView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    specialist_id: i64,
    /// Why, for the team's records (not shown to the participant).
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct ReassignmentView {
    id: i64,
    from_specialist_id: i64,
    to_specialist_id: i64,
    note: Option<String>,
    reassigned_by: i64,
    reassigned_at: DateTime<Utc>,
    alerts_moved: usize,
    participant_notified: bool,
}

#[derive(Debug, Serialize)]
struct ReassignedView {
    participant: ParticipantView,
    reassignment: ReassignmentView,
}

/// A supervisor gives a participant of their team another active specialist of the team.
pub async fn reassign(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<Reassign>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Supervisor])?;
    let id = path.into_inner();
    let Reassign {
        specialist_id,
        note,
    } = body.0;
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let by = caller.id;
    let done = state
        .db
        .write(move |conn| {
            let participant = participants::get_in_caseload(conn, id, caseload)?;
            let at = now();
            let reassigned =
                match reassignments::reassign(conn, &participant, specialist_id, by, note, at)? {
                    Ok(done) => done,
                    Err(refusal) => return Ok(Err(refusal)),
                };
            audit::record(
                conn,
                &[Entry::new(actor, "participant.reassigned")
                    .participant(id)
                    .subject("reassignment", reassigned.reassignment.id)],
                request_id.as_deref(),
                at,
            )?;
            let participant = participants::get(conn, id)?;
            Ok(Ok((participant, reassigned)))
        })
        .await?;
    let (participant, reassigned) = done.map_err(|refusal| match refusal {
        Refusal::NotAnActiveSpecialistOfTheTeam => ApiError::invalid(
            "specialist_id",
            "is not an active specialist of the participant's team",
        ),
        Refusal::AlreadyTheirs => {
            ApiError::Conflict("the participant already has this specialist".into())
        }
    })?;
    let Reassigned {
        reassignment: r,
        alerts_moved,
        participant_notified,
        ..
    } = reassigned;
    Ok(HttpResponse::Ok().json(ReassignedView {
        participant: participant.into(),
        reassignment: ReassignmentView {
            id: r.id,
            from_specialist_id: r.from_specialist_id,
            to_specialist_id: r.to_specialist_id,
            note: r.note,
            reassigned_by: r.reassigned_by,
            reassigned_at: utc(r.reassigned_at),
            alerts_moved,
            participant_notified,
        },
    }))
}
