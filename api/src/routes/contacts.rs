//! The contact log: the staff of a participant's caseload log each contact they had or tried to
//! have (`/v1/participants/{id}/contacts`), and every specialist logs employer contacts for job
//! development, with or without a participant (`/v1/employer-contacts`, IPS principle 8). A
//! contact that reached the participant resets the plan's due time. Every access is audited.

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ips_core::domain::contacts::{contacted_at_problem, Channel, Location, Party};
use ips_core::domain::Role;
use ips_core::store::audit::{self, Entry};
use ips_core::store::contacts::{self, EmployerScope, LoggedContact, NewContact, Position};
use ips_core::store::participants::Caseload;
use ips_core::store::sessions::Subject;
use ips_core::store::{now, participants, utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationErrors};

use super::caseload_access::{CaseloadAccess, CASELOAD_ROLES};
use super::follow_up::{agreed_contact_problem, refused};
use crate::auth::{request_id, StaffCaller};
use crate::idempotency::{run_once, Idempotent};
use crate::input::{invalid, outcome, parse_query};
use crate::problem::ApiError;
use crate::state::AppState;

/// The fields every contact has, checked the same way on both routes.
fn check_common(
    errors: &mut ValidationErrors,
    employer: Option<&str>,
    duration_minutes: Option<i32>,
    note: Option<&str>,
    contacted_at: Option<DateTime<Utc>>,
) {
    if let Some(employer) = employer {
        let length = employer.chars().count();
        if !(1..=200).contains(&length) || employer.trim().is_empty() {
            errors.add(
                "employer",
                invalid("must be 1 to 200 characters, not blank"),
            );
        }
    }
    if let Some(minutes) = duration_minutes {
        if !(1..=1440).contains(&minutes) {
            errors.add(
                "duration_minutes",
                invalid("must be from 1 to 1440 minutes"),
            );
        }
    }
    if let Some(note) = note {
        let length = note.chars().count();
        if !(1..=1000).contains(&length) || note.trim().is_empty() {
            errors.add("note", invalid("must be 1 to 1000 characters, not blank"));
        }
    }
    if let Some(at) = contacted_at {
        if let Some(why) = contacted_at_problem(at.naive_utc(), Utc::now().naive_utc()) {
            errors.add("contacted_at", invalid(why));
        }
    }
}

/// A contact about the participant in the path: with them (the default), or with an employer
/// about them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContactBody {
    #[serde(default = "participant_party")]
    party: Party,
    channel: Channel,
    /// False for an outreach attempt that did not reach the person.
    #[serde(default = "reached_by_default")]
    reached: bool,
    /// Required when the contact was with an employer.
    #[serde(default, deserialize_with = "crate::input::not_null")]
    employer: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    location: Option<Location>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    duration_minutes: Option<i32>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    note: Option<String>,
    /// When it happened; now if left out.
    #[serde(default, deserialize_with = "crate::input::not_null")]
    contacted_at: Option<DateTime<Utc>>,
    /// The next contact agreed at this one.
    #[serde(default, deserialize_with = "crate::input::not_null")]
    next_contact_at: Option<DateTime<Utc>>,
}

fn participant_party() -> Party {
    Party::Participant
}

fn reached_by_default() -> bool {
    true
}

impl Validate for NewContactBody {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_common(
            &mut errors,
            self.employer.as_deref(),
            self.duration_minutes,
            self.note.as_deref(),
            self.contacted_at,
        );
        if self.party == Party::Employer && self.employer.is_none() {
            errors.add(
                "employer",
                invalid("is required for a contact with an employer"),
            );
        }
        if let Some(at) = self.next_contact_at {
            if let Some(why) = agreed_contact_problem(at) {
                errors.add("next_contact_at", invalid(why));
            }
        }
        outcome(errors)
    }
}

/// A job-development contact with an employer, about a participant of the caller's caseload or
/// about none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEmployerContactBody {
    participant_id: Option<i64>,
    employer: String,
    channel: Channel,
    #[serde(default = "reached_by_default")]
    reached: bool,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    location: Option<Location>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    duration_minutes: Option<i32>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    note: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    contacted_at: Option<DateTime<Utc>>,
}

impl Validate for NewEmployerContactBody {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_common(
            &mut errors,
            Some(&self.employer),
            self.duration_minutes,
            self.note.as_deref(),
            self.contacted_at,
        );
        outcome(errors)
    }
}

#[derive(Debug, Serialize)]
struct LoggedBy {
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
pub struct ContactView {
    id: i64,
    participant_id: Option<i64>,
    party: String,
    channel: String,
    reached: bool,
    employer: Option<String>,
    location: Option<String>,
    duration_minutes: Option<i32>,
    note: Option<String>,
    contacted_at: DateTime<Utc>,
    logged_by: LoggedBy,
    created_at: DateTime<Utc>,
}

impl From<LoggedContact> for ContactView {
    fn from(l: LoggedContact) -> Self {
        let c = l.contact;
        ContactView {
            id: c.id,
            participant_id: c.participant_id,
            party: c.party,
            channel: c.channel,
            reached: c.reached,
            employer: c.employer,
            location: c.location,
            duration_minutes: c.duration_minutes,
            note: c.note,
            contacted_at: utc(c.contacted_at),
            logged_by: LoggedBy {
                id: c.staff_id,
                name: l.staff_name,
            },
            created_at: utc(c.created_at),
        }
    }
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned())
}

/// The lists' cursor: the (contacted_at, id) where the last page ended.
fn encode(position: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "c1:{}:{}",
        position.contacted_at.and_utc().timestamp_micros(),
        position.id
    ))
}

fn decode(cursor: &str) -> Option<Position> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.strip_prefix("c1:")?.split_once(':')?;
    Some(Position {
        contacted_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc(),
        id: id.parse().ok()?,
    })
}

#[derive(Debug, Serialize)]
struct ContactPage {
    items: Vec<ContactView>,
    next_cursor: Option<String>,
}

fn page_of((items, next): (Vec<LoggedContact>, Option<Position>)) -> ContactPage {
    ContactPage {
        items: items.into_iter().map(ContactView::from).collect(),
        next_cursor: next.map(encode),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmployerListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    participant_id: Option<i64>,
}

fn checked_page(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<Position>), ApiError> {
    let limit = limit.unwrap_or(crate::pagination::DEFAULT_LIMIT);
    if !(1..=crate::pagination::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(
            decode(c)
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API issued"))?,
        ),
    };
    Ok((limit, after))
}

/// The participant's log, newest first (by when each contact happened).
pub async fn list_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let query = parse_query::<ListQuery>(&req)?;
    let (limit, after) = checked_page(query.limit, query.cursor.as_deref())?;
    let found = access
        .read(&state.db, id, "contacts.listed", move |conn, _| {
            contacts::list_for_participant(conn, id, after, limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page_of(found)))
}

/// Logs a contact about the participant; a retry with the same `Idempotency-Key` gets the first
/// answer again and logs nothing more.
pub async fn log_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Idempotent<NewContactBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    let id = path.into_inner();
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let rules = state.config.follow_up_rules();
    let staff_id = caller.id;
    let body = input.body;
    run_once(
        &state.db,
        Subject::Staff(staff_id),
        input.key,
        move |conn| {
            let participant = participants::get_in_caseload(conn, id, caseload)?;
            let at = now();
            let new = NewContact {
                staff_id,
                team_id: participant.team_id,
                participant_id: Some(id),
                party: body.party.as_str().to_owned(),
                channel: body.channel.as_str().to_owned(),
                reached: body.reached,
                employer: trimmed(body.employer),
                location: body.location.map(|l| l.as_str().to_owned()),
                duration_minutes: body.duration_minutes,
                note: trimmed(body.note),
                contacted_at: body.contacted_at.map_or(at, |t| t.naive_utc()),
                created_at: at,
            };
            let agreed = body.next_contact_at.map(|t| t.naive_utc());
            let logged = match contacts::log(conn, new, agreed, &rules, at)? {
                Ok(logged) => logged,
                Err(refusal) => return Ok(Err(refused(refusal))),
            };
            audit::record(
                conn,
                &[Entry::new(actor, "contact.logged")
                    .participant(id)
                    .subject("contact", logged.contact.id)],
                request_id.as_deref(),
                at,
            )?;
            Ok(Ok(ContactView::from(logged)))
        },
    )
    .await
    .map(|once| once.respond())
}

/// Whose employer contacts the caller sees.
fn employer_scope(caller: &StaffCaller) -> Result<EmployerScope, ApiError> {
    match (caller.role, caller.team_id) {
        (Role::Specialist, _) => Ok(EmployerScope::LoggedBy(caller.id)),
        (Role::Supervisor, Some(team)) => Ok(EmployerScope::Team(team)),
        _ => Err(ApiError::Forbidden("Your role does not allow this.")),
    }
}

/// The caller's employer contacts (a supervisor: the team's), newest first.
pub async fn list_employer(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    let scope = employer_scope(&caller)?;
    let query = parse_query::<EmployerListQuery>(&req)?;
    let (limit, after) = checked_page(query.limit, query.cursor.as_deref())?;
    let about = query.participant_id;
    let (actor, request_id) = (caller.actor(), request_id(&req));
    let found = state
        .db
        .write(move |conn| {
            let found = contacts::list_employer(conn, scope, about, after, limit)?;
            // One audited read per participant named on the page.
            let named: BTreeSet<i64> = found
                .0
                .iter()
                .filter_map(|c| c.contact.participant_id)
                .collect();
            let entries: Vec<Entry> = named
                .into_iter()
                .map(|p| Entry::new(actor, "employer_contacts.listed").participant(p))
                .collect();
            audit::record(conn, &entries, request_id.as_deref(), now())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page_of(found)))
}

/// Logs an employer contact. A participant it names must be in the caller's caseload (otherwise
/// 422 naming `participant_id`, the same for one that does not exist).
pub async fn log_employer(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    input: Idempotent<NewEmployerContactBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(CASELOAD_ROLES)?;
    employer_scope(&caller)?;
    let team_id = caller
        .team_id
        .ok_or(ApiError::Forbidden("You are not in a team."))?;
    let (caseload, actor, request_id) = (caller.caseload(), caller.actor(), request_id(&req));
    let rules = state.config.follow_up_rules();
    let staff_id = caller.id;
    let body = input.body;
    run_once(
        &state.db,
        Subject::Staff(staff_id),
        input.key,
        move |conn| {
            if let Some(id) = body.participant_id {
                if !in_caseload(conn, id, caseload)? {
                    return Ok(Err(ApiError::invalid(
                        "participant_id",
                        "is not a participant in your caseload",
                    )));
                }
            }
            let at = now();
            let new = NewContact {
                staff_id,
                team_id,
                participant_id: body.participant_id,
                party: Party::Employer.as_str().to_owned(),
                channel: body.channel.as_str().to_owned(),
                reached: body.reached,
                employer: Some(body.employer.trim().to_owned()),
                location: body.location.map(|l| l.as_str().to_owned()),
                duration_minutes: body.duration_minutes,
                note: trimmed(body.note),
                contacted_at: body.contacted_at.map_or(at, |t| t.naive_utc()),
                created_at: at,
            };
            let logged = match contacts::log(conn, new, None, &rules, at)? {
                Ok(logged) => logged,
                Err(refusal) => return Ok(Err(refused(refusal))),
            };
            if let Some(id) = logged.contact.participant_id {
                audit::record(
                    conn,
                    &[Entry::new(actor, "employer_contact.logged")
                        .participant(id)
                        .subject("contact", logged.contact.id)],
                    request_id.as_deref(),
                    at,
                )?;
            }
            Ok(Ok(ContactView::from(logged)))
        },
    )
    .await
    .map(|once| once.respond())
}

fn in_caseload(
    conn: &mut ips_core::DbConnection,
    id: i64,
    caseload: Caseload,
) -> Result<bool, ips_core::StoreError> {
    match participants::get_in_caseload(conn, id, caseload) {
        Ok(_) => Ok(true),
        Err(ips_core::StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let position = Position {
            contacted_at: DateTime::from_timestamp_micros(1_780_000_000_123_456)
                .map(|d| d.naive_utc())
                .unwrap_or_default(),
            id: 17,
        };
        assert_eq!(decode(&encode(position)), Some(position));
        assert_eq!(decode("junk"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("c1:x:1")), None);
    }
}
