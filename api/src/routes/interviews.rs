//! Job interviews, for the participant's app (`/v1/me/interviews`) and for the staff of their
//! caseload (`/v1/participants/{id}/interviews`). Both sides share one implementation; only who
//! is asking differs (`super::asker`, which also says what is audited). Every change rewrites the
//! interview's reminders in the same transaction.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use ips_core::domain::interviews::{self as rules, Action, Outcome, Status};
use ips_core::domain::Language;
use ips_core::domain::{ContactRequestKind, ContactRequestStatus};
use ips_core::store::alerts;
use ips_core::store::contact_requests::{self, NewContactRequest};
use ips_core::store::interviews::{
    self, Interview, InterviewChanges, ListPosition, NewInterview, ReminderSettings,
};
use ips_core::store::notifications::{self, NewNotification, Recipient};
use ips_core::store::participants::{self, Participant};
use ips_core::store::{now, utc};
use ips_core::{DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use super::asker::{Asker, Resource};
use super::contact_requests::ContactRequestView;
use super::participants::iana_time_zone;
use super::staff::double_option;
use crate::auth::{ParticipantCaller, StaffCaller};
use crate::idempotency::{run_once_atomic, Idempotent};
use crate::input::{not_blank, parse_query, Body, OptionalBody};
use crate::preconditions::{etag, if_match};
use crate::problem::ApiError;
use crate::state::AppState;
use ips_core::store::job_preferences::Precondition;

/// Interviews on both sides: `/v1/me/interviews`, `/v1/participants/{id}/interviews`.
const INTERVIEWS: Resource = Resource {
    segment: "interviews",
    subject: "interview",
};

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    text: String,
    #[serde(default)]
    done: bool,
}

/// A web link that is also a URI (RFC 3986), because the contract hands it back as one
/// (`format: uri`): `http` or `https`, a host of letters, digits, dots and hyphens, an optional
/// port, then a path, query and fragment of URI characters with well-formed `%XX` escapes.
/// openapi.yaml's `pattern` for `video_link` says the same.
fn https_link(link: &str) -> Result<(), ValidationError> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"));
    let ok = link.len() > 10
        && rest.is_some_and(|rest| {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            let port_ok = port.is_none_or(|p| {
                (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
            });
            let (before, fragment) = match tail.split_once('#') {
                Some((before, fragment)) => (before, Some(fragment)),
                None => (tail, None),
            };
            host_ok && port_ok && uri_characters(before) && fragment.is_none_or(uri_characters)
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("url").with_message("must be a web link (https://...)".into()))
    }
}

/// Only characters a URI's path, query or fragment may hold (RFC 3986 `pchar`, `/` and `?`), and
/// every `%` followed by two hexadecimal digits.
fn uri_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// An interview may be recorded up to a year after it happened (to log its outcome) and up to
/// two years ahead.
fn plausible_start(at: &DateTime<Utc>) -> Result<(), ValidationError> {
    let now = Utc::now();
    if *at < now - Duration::days(366) || *at > now + Duration::days(731) {
        return Err(ValidationError::new("starts_at")
            .with_message("must be within a year back and two years ahead".into()));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewInterviewBody {
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
    #[validate(custom(function = "plausible_start"))]
    starts_at: DateTime<Utc>,
    #[validate(
        length(max = 64, message = "must be at most 64 characters"),
        custom(function = "iana_time_zone")
    )]
    time_zone: Option<String>,
    #[validate(range(min = 5, max = 600, message = "must be 5 to 600 minutes"))]
    duration_minutes: Option<i64>,
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    address: Option<String>,
    #[validate(
        length(max = 2000, message = "must be at most 2000 characters"),
        custom(function = "https_link")
    )]
    video_link: Option<String>,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    contact_person: Option<String>,
    specialist_attends: Option<bool>,
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    notes: Option<String>,
    #[validate(length(max = 20, message = "must have at most 20 items"), nested)]
    checklist: Option<Vec<ChecklistItem>>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterviewPatch {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    employer: Option<String>,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    role_title: Option<String>,
    #[validate(custom(function = "plausible_start"))]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    starts_at: Option<DateTime<Utc>>,
    #[validate(
        length(max = 64, message = "must be at most 64 characters"),
        custom(function = "iana_time_zone")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    time_zone: Option<String>,
    #[validate(range(min = 5, max = 600, message = "must be 5 to 600 minutes"))]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    duration_minutes: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(
        length(max = 2000, message = "must be at most 2000 characters"),
        custom(function = "https_link")
    )]
    video_link: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    contact_person: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    specialist_attends: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    notes: Option<Option<String>>,
    #[validate(length(max = 20, message = "must have at most 20 items"), nested)]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    checklist: Option<Vec<ChecklistItem>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    debrief: Option<Option<String>>,
}

impl InterviewPatch {
    /// Whether the patch changes nothing but (possibly) the time fields.
    fn is_empty_besides_time(&self) -> bool {
        self.employer.is_none()
            && self.role_title.is_none()
            && self.address.is_none()
            && self.video_link.is_none()
            && self.contact_person.is_none()
            && self.specialist_attends.is_none()
            && self.notes.is_none()
            && self.checklist.is_none()
            && self.debrief.is_none()
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    outcome: Outcome,
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    debrief: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CreatedBy {
    kind: String,
    id: i64,
}

/// An interview as both sides see it. Its instants are written by `json_time`, as chrono would
/// write them, for the interview list's sake (the most frequent read).
#[derive(Debug, Serialize)]
pub struct InterviewView {
    id: i64,
    participant_id: i64,
    employer: String,
    role_title: String,
    #[serde(serialize_with = "crate::json_time::rfc3339")]
    starts_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::json_time::rfc3339")]
    ends_at: DateTime<Utc>,
    duration_minutes: i64,
    time_zone: String,
    address: Option<String>,
    video_link: Option<String>,
    contact_person: Option<String>,
    specialist_attends: bool,
    notes: Option<String>,
    checklist: Vec<ChecklistItem>,
    debrief: Option<String>,
    cancel_reason: Option<String>,
    status: String,
    outcome: Option<String>,
    sequence: i32,
    #[serde(serialize_with = "crate::json_time::rfc3339_list")]
    reminders: Vec<DateTime<Utc>>,
    created_by: CreatedBy,
    #[serde(serialize_with = "crate::json_time::rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::json_time::rfc3339")]
    updated_at: DateTime<Utc>,
}

impl InterviewView {
    pub(super) fn new(i: Interview, reminders: Vec<DateTime<Utc>>) -> Self {
        Self {
            duration_minutes: (i.ends_at - i.starts_at).num_minutes(),
            checklist: serde_json::from_str(&i.checklist).unwrap_or_default(),
            id: i.id,
            participant_id: i.participant_id,
            employer: i.employer,
            role_title: i.role_title,
            starts_at: utc(i.starts_at),
            ends_at: utc(i.ends_at),
            time_zone: i.time_zone,
            address: i.address,
            video_link: i.video_link,
            contact_person: i.contact_person,
            specialist_attends: i.specialist_attends,
            notes: i.notes,
            debrief: i.debrief,
            cancel_reason: i.cancel_reason,
            status: i.status,
            outcome: i.outcome,
            sequence: i.sequence,
            reminders,
            created_by: CreatedBy {
                kind: i.created_by_kind,
                id: i.created_by_id,
            },
            created_at: utc(i.created_at),
            updated_at: utc(i.updated_at),
        }
    }
}

fn with_etag(builder: &mut actix_web::HttpResponseBuilder, view: InterviewView) -> HttpResponse {
    // The interview's sequence grows with every change: it is the version.
    builder
        .insert_header((header::ETAG, etag(view.sequence)))
        .json(view)
}

fn checklist_json(items: &[ChecklistItem]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn view(conn: &mut DbConnection, interview: Interview) -> Result<InterviewView, StoreError> {
    let reminders = interviews::pending_reminders(conn, interview.id)?;
    Ok(InterviewView::new(interview, reminders))
}

fn transition(
    interview: &Interview,
    action: Action,
    at: NaiveDateTime,
) -> Result<Status, ApiError> {
    let status = Status::parse(&interview.status)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored interview status")))?;
    let outcome = interview.outcome.as_deref().and_then(Outcome::parse);
    rules::apply(status, outcome, action, interview.starts_at <= at)
        .map_err(|why| ApiError::Conflict(why.to_owned()))
}

/// A new interview for a participant who has withdrawn: nothing is recorded.
fn withdrawn() -> ApiError {
    ApiError::Conflict("the participant has withdrawn".into())
}

/// Records an interview. A phone's retry with the same `Idempotency-Key` gets the first answer
/// again and records nothing more.
async fn create(
    state: &AppState,
    asker: Asker,
    input: Idempotent<NewInterviewBody>,
) -> Result<HttpResponse, ApiError> {
    let location_of = asker.clone();
    let subject = asker.subject();
    let body = input.body;
    let (audit, request_id) = asker.audit_entry("interview.created");
    // The interview, its reminders, its audit entry and its webhook event are one statement on
    // PostgreSQL (`interviews::create`); the participant is only read before it.
    let once = run_once_atomic(&state.db, subject, input.key, move |conn| {
        let participant = asker.participant(conn)?;
        if participant.withdrawn_at.is_some() {
            return Ok(Err(withdrawn()));
        }
        let at = now();
        let starts_at = body.starts_at.naive_utc();
        let (kind, by) = asker.created_by();
        let new = NewInterview {
            participant_id: participant.id,
            employer: body.employer.trim().to_owned(),
            role_title: body.role_title.trim().to_owned(),
            starts_at,
            ends_at: starts_at + Duration::minutes(body.duration_minutes.unwrap_or(60)),
            time_zone: body
                .time_zone
                .unwrap_or_else(|| participant.time_zone.clone()),
            address: body.address,
            video_link: body.video_link,
            contact_person: body.contact_person,
            specialist_attends: body.specialist_attends.unwrap_or(false),
            notes: body.notes,
            checklist: checklist_json(&body.checklist.unwrap_or_default()),
            status: Status::Scheduled.as_str().to_owned(),
            sequence: 0,
            created_by_kind: kind.to_owned(),
            created_by_id: by,
            created_at: at,
            updated_at: at,
        };
        let settings = ReminderSettings::of(&participant);
        let created = interviews::create(conn, new, &settings, &audit, request_id.as_deref())?;
        Ok(match created {
            Some(c) => Ok(InterviewView::new(
                c.interview,
                c.reminders.into_iter().map(utc).collect(),
            )),
            // They withdrew after the read above.
            None => Err(withdrawn()),
        })
    })
    .await?;
    // The headers follow from the body, so a replayed answer carries them too.
    let created: serde_json::Value = serde_json::from_str(once.body()).unwrap_or_default();
    let (id, sequence) = (created["id"].as_i64(), created["sequence"].as_i64());
    let mut response = once.respond();
    if let (Some(id), Some(sequence)) = (id, sequence.and_then(|s| i32::try_from(s).ok())) {
        let headers = response.headers_mut();
        if let Ok(value) = header::HeaderValue::from_str(&location_of.location(id)) {
            headers.insert(header::LOCATION, value);
        }
        if let Ok(value) = header::HeaderValue::from_str(&etag(sequence)) {
            headers.insert(header::ETAG, value);
        }
    }
    Ok(response)
}

async fn get(state: &AppState, asker: Asker, id: i64) -> Result<HttpResponse, ApiError> {
    let view = state
        .db
        .write(move |conn| {
            let participant = asker.participant(conn)?;
            let interview = interviews::get_of(conn, participant.id, id)?;
            asker.audit_read(conn, "interview.read", Some(id))?;
            view(conn, interview)
        })
        .await?;
    Ok(with_etag(&mut HttpResponse::Ok(), view))
}

async fn update(
    state: &AppState,
    asker: Asker,
    id: i64,
    expected: Precondition,
    patch: InterviewPatch,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .db
        .write(move |conn| {
            let participant = asker.participant(conn)?;
            let current = interviews::get_of(conn, participant.id, id)?;
            if !expected.allows(current.sequence) {
                return Ok(Err(ApiError::PreconditionFailed));
            }
            let at = now();
            let starts_at = patch
                .starts_at
                .map(|s| s.naive_utc())
                .unwrap_or(current.starts_at);
            let duration = patch
                .duration_minutes
                .map(Duration::minutes)
                .unwrap_or(current.ends_at - current.starts_at);
            // Only a different time is a reschedule; the same time sent again changes nothing.
            let moves = starts_at != current.starts_at || starts_at + duration != current.ends_at;
            let only_time_fields = patch.is_empty_besides_time();
            let time_zone = patch.time_zone.filter(|z| *z != current.time_zone);
            if !moves && time_zone.is_none() && only_time_fields {
                return Ok(Ok(view(conn, current)?));
            }
            let action = if moves {
                Action::Reschedule
            } else {
                Action::Edit
            };
            let status = match transition(&current, action, at) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            if patch.debrief.is_some() && current.starts_at > at {
                return Ok(Err(ApiError::invalid(
                    "debrief",
                    "can be written once the interview has started",
                )));
            }
            let changes = InterviewChanges {
                employer: patch.employer.map(|e| e.trim().to_owned()),
                role_title: patch.role_title.map(|r| r.trim().to_owned()),
                starts_at: moves.then_some(starts_at),
                ends_at: moves.then_some(starts_at + duration),
                time_zone,
                address: patch.address,
                video_link: patch.video_link,
                contact_person: patch.contact_person,
                specialist_attends: patch.specialist_attends,
                notes: patch.notes,
                checklist: patch.checklist.as_deref().map(checklist_json),
                debrief: patch.debrief,
                status: Some(status.as_str().to_owned()),
                outcome: None,
                cancel_reason: None,
                sequence: Some(current.sequence + 1),
                updated_at: Some(at),
                outcome_alerted_at: moves.then_some(None),
            };
            let updated = interviews::update(conn, id, changes)?;
            if moves {
                interviews::replan_reminders(
                    conn,
                    &updated,
                    &ReminderSettings::of(&participant),
                    false,
                    at,
                )?;
                // A new time ends the "no outcome" alert of the old one.
                alerts::resolve_gone_for_participant(conn, participant.id, at)?;
            }
            asker.audit_change(conn, "interview.updated", Some(id))?;
            Ok(Ok(view(conn, updated)?))
        })
        .await??;
    Ok(with_etag(&mut HttpResponse::Ok(), view))
}

/// Confirm, cancel or record the outcome: one state-machine step, reminders rewritten to match.
async fn act(
    state: &AppState,
    asker: Asker,
    id: i64,
    action: Action,
    note: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let audit_action = match action {
        Action::Confirm => "interview.confirmed",
        Action::Cancel => "interview.cancelled",
        Action::RecordOutcome(_) => "interview.outcome_recorded",
        Action::Reschedule | Action::Edit => "interview.updated",
    };
    let view = state
        .db
        .write(move |conn| {
            let participant = asker.participant(conn)?;
            let current = interviews::get_of(conn, participant.id, id)?;
            let at = now();
            let status = match transition(&current, action, at) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            // Confirming twice does one thing: nothing changes, nothing is sent again.
            if action == Action::Confirm && current.status == Status::Confirmed.as_str() {
                return Ok(Ok(view(conn, current)?));
            }
            let (outcome, debrief, cancel_reason) = match action {
                Action::RecordOutcome(o) => (Some(Some(o.as_str().to_owned())), note.clone().map(Some), None),
                Action::Cancel => (None, None, Some(note.clone())),
                _ => (None, None, None),
            };
            let changes = InterviewChanges {
                status: Some(status.as_str().to_owned()),
                outcome,
                debrief,
                cancel_reason,
                sequence: Some(current.sequence + 1),
                updated_at: Some(at),
                ..Default::default()
            };
            let updated = interviews::update(conn, id, changes)?;
            // After a confirmation only the last reminder stays: one timely reminder, no nagging.
            interviews::replan_reminders(conn, &updated, &ReminderSettings::of(&participant), action == Action::Confirm, at)?;
            // An outcome or a cancellation ends a "no outcome" alert.
            if matches!(action, Action::RecordOutcome(_) | Action::Cancel) {
                alerts::resolve_gone_for_participant(conn, participant.id, at)?;
            }
            // A cancellation always reaches the other side: the participant's goes to their
            // specialist, the specialist's to the participant.
            if action == Action::Cancel {
                let recipient = match asker.as_participant() {
                    Some(_) => Recipient::Staff(participant.specialist_id),
                    None => Recipient::Participant(participant.id),
                };
                notifications::enqueue(
                    conn,
                    &NewNotification {
                        recipient,
                        kind: interviews::CANCELLED_KIND,
                        dedupe_key: format!("interview:{id}:cancelled"),
                        subject: Some(("interview", id)),
                        payload: serde_json::json!({ "interview_id": id, "participant_id": participant.id }),
                        due_at: at,
                        expires_at: None,
                    },
                    at,
                )?;
            }
            asker.audit_change(conn, audit_action, Some(id))?;
            Ok(Ok(view(conn, updated)?))
        })
        .await??;
    Ok(with_etag(&mut HttpResponse::Ok(), view))
}

/// The list's cursor: where the last page ended, in the upcoming or the past part.
fn encode_position(position: ListPosition) -> String {
    let (phase, at, id) = match position {
        ListPosition::Upcoming { starts_at, id } => ("u", starts_at, id),
        ListPosition::Past { starts_at, id } => ("p", starts_at, id),
        ListPosition::PastFromStart => ("p0", NaiveDateTime::default(), 0),
    };
    URL_SAFE_NO_PAD.encode(format!(
        "i1:{phase}:{}:{id}",
        at.and_utc().timestamp_micros()
    ))
}

fn decode_position(cursor: &str) -> Option<ListPosition> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.strip_prefix("i1:")?.split(':');
    let phase = parts.next()?;
    let starts_at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?.naive_utc();
    let id = parts.next()?.parse().ok()?;
    match phase {
        "u" => Some(ListPosition::Upcoming { starts_at, id }),
        "p" => Some(ListPosition::Past { starts_at, id }),
        "p0" => Some(ListPosition::PastFromStart),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct InterviewPage {
    items: Vec<InterviewView>,
    next_cursor: Option<String>,
}

async fn list(state: &AppState, asker: Asker, req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = parse_query::<ListQuery>(req)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let after = match &query.cursor {
        None => None,
        Some(c) => Some(
            decode_position(c)
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API issued"))?,
        ),
    };
    let page = match asker.as_participant() {
        // A participant's own list writes nothing, and is one statement: no transaction.
        Some(id) => {
            state
                .db
                .run(move |conn| page_of(conn, id, after, limit))
                .await?
        }
        // Staff reading a participant's interviews is audited, so theirs is a write.
        None => {
            state
                .db
                .write(move |conn| {
                    let participant = asker.participant(conn)?;
                    asker.audit_read(conn, "interview.listed", None)?;
                    page_of(conn, participant.id, after, limit)
                })
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(page))
}

/// One page of a participant's interviews with their pending reminders (one statement).
fn page_of(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<ListPosition>,
    limit: i64,
) -> Result<InterviewPage, StoreError> {
    let (found, next) = interviews::list(conn, participant_id, after, limit, now())?;
    let items = found
        .into_iter()
        .map(|listed| {
            let reminders = listed.reminders.into_iter().map(utc).collect();
            InterviewView::new(listed.interview, reminders)
        })
        .collect();
    Ok(InterviewPage {
        items,
        next_cursor: next.map(encode_position),
    })
}

fn language_of(participant: &Participant) -> Language {
    Language::parse(&participant.preferred_language).unwrap_or(Language::Nb)
}

/// The calendar event for an interview, generic unless details are allowed.
pub fn calendar_event(
    interview: &Interview,
    language: Language,
    details: bool,
) -> ips_core::domain::ical::Event {
    use ips_core::domain::texts::{render, Text};
    let summary = if details {
        render(
            language,
            Text::InterviewTitle {
                role: &interview.role_title,
                employer: &interview.employer,
            },
        )
    } else {
        render(language, Text::AppointmentTitle)
    };
    ips_core::domain::ical::Event {
        interview_id: interview.id,
        sequence: interview.sequence,
        starts_at: utc(interview.starts_at),
        ends_at: utc(interview.ends_at),
        cancelled: interview.status == Status::Cancelled.as_str(),
        confirmed: interview.status == Status::Confirmed.as_str(),
        updated_at: utc(interview.updated_at),
        summary,
        description: None,
        location: if details {
            interview.address.clone()
        } else {
            None
        },
        url: if details {
            interview.video_link.clone()
        } else {
            None
        },
        alarm_text: render(language, Text::AlarmTwoHours),
    }
}

pub fn calendar_response(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(body)
}

// --- the participant's routes -------------------------------------------------------------

pub async fn me_list(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, Asker::own(&caller, &req, INTERVIEWS), &req).await
}

pub async fn me_create(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    input: Idempotent<NewInterviewBody>,
) -> Result<HttpResponse, ApiError> {
    create(&state, Asker::own(&caller, &req, INTERVIEWS), input).await
}

pub async fn me_get(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    get(
        &state,
        Asker::own(&caller, &req, INTERVIEWS),
        path.into_inner(),
    )
    .await
}

pub async fn me_update(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<InterviewPatch>,
) -> Result<HttpResponse, ApiError> {
    update(
        &state,
        Asker::own(&caller, &req, INTERVIEWS),
        path.into_inner(),
        if_match(&req),
        body.0,
    )
    .await
}

pub async fn me_confirm(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    act(
        &state,
        Asker::own(&caller, &req, INTERVIEWS),
        path.into_inner(),
        Action::Confirm,
        None,
    )
    .await
}

pub async fn me_cancel(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: OptionalBody<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    act(
        &state,
        Asker::own(&caller, &req, INTERVIEWS),
        path.into_inner(),
        Action::Cancel,
        body.0.and_then(|b| b.reason),
    )
    .await
}

pub async fn me_outcome(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<OutcomeBody>,
) -> Result<HttpResponse, ApiError> {
    let OutcomeBody { outcome, debrief } = body.0;
    act(
        &state,
        Asker::own(&caller, &req, INTERVIEWS),
        path.into_inner(),
        Action::RecordOutcome(outcome),
        debrief,
    )
    .await
}

/// One interview as an `.ics` file; a cancelled one says `METHOD:CANCEL` so calendars remove it.
pub async fn me_ics(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    use ips_core::domain::ical::{calendar, Method};
    let (participant_id, id) = (caller.id, path.into_inner());
    let (interview, participant) = state
        .db
        .run(move |conn| {
            Ok((
                interviews::get_of(conn, participant_id, id)?,
                participants::get(conn, participant_id)?,
            ))
        })
        .await?;
    let language = language_of(&participant);
    let method = if interview.status == Status::Cancelled.as_str() {
        Method::Cancel
    } else {
        Method::Publish
    };
    let body = calendar(
        &[calendar_event(
            &interview,
            language,
            participant.lock_screen_previews,
        )],
        method,
        &ips_core::domain::texts::render(language, ips_core::domain::texts::Text::CalendarName),
    );
    Ok(calendar_response(body))
}

/// "I need to talk" about an interview, straight from its reminder: a call-me request to the
/// specialist that names the interview, and a notice to them. Pressing it again while the first
/// request is still open answers with that request (200) instead of making another.
pub async fn me_need_to_talk(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (participant_id, id) = (caller.id, path.into_inner());
    let (created, view) = state
        .db
        .write(move |conn| {
            let participant = participants::get(conn, participant_id)?;
            let interview = interviews::get_of(conn, participant_id, id)?;
            if let Some(open) =
                contact_requests::open_about_interview(conn, participant_id, interview.id)?
            {
                return Ok((false, ContactRequestView::from(open)));
            }
            let at = now();
            let request = contact_requests::create(
                conn,
                NewContactRequest {
                    participant_id,
                    kind: ContactRequestKind::CallMe.as_str().to_owned(),
                    preferred_time: None,
                    note: None,
                    status: ContactRequestStatus::Open.as_str().to_owned(),
                    created_at: at,
                    interview_id: Some(interview.id),
                },
            )?;
            notifications::enqueue(
                conn,
                &NewNotification {
                    recipient: Recipient::Staff(participant.specialist_id),
                    kind: "need_to_talk",
                    dedupe_key: format!("contact_request:{}:need_to_talk", request.request.id),
                    subject: Some(("contact_request", request.request.id)),
                    payload: serde_json::json!({
                        "contact_request_id": request.request.id,
                        "interview_id": interview.id,
                        "participant_id": participant_id,
                    }),
                    due_at: at,
                    expires_at: None,
                },
                at,
            )?;
            Ok((true, ContactRequestView::from(request)))
        })
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(view))
}

// --- the staff's routes ---------------------------------------------------------------------

pub async fn staff_list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let asker = Asker::staff(caller, path.into_inner(), &req, INTERVIEWS)?;
    list(&state, asker, &req).await
}

pub async fn staff_create(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Idempotent<NewInterviewBody>,
) -> Result<HttpResponse, ApiError> {
    let asker = Asker::staff(caller, path.into_inner(), &req, INTERVIEWS)?;
    create(&state, asker, input).await
}

pub async fn staff_get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    get(
        &state,
        Asker::staff(caller, participant, &req, INTERVIEWS)?,
        id,
    )
    .await
}

pub async fn staff_update(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Body<InterviewPatch>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    let expected = if_match(&req);
    update(
        &state,
        Asker::staff(caller, participant, &req, INTERVIEWS)?,
        id,
        expected,
        body.0,
    )
    .await
}

pub async fn staff_cancel(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: OptionalBody<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    act(
        &state,
        Asker::staff(caller, participant, &req, INTERVIEWS)?,
        id,
        Action::Cancel,
        body.0.and_then(|b| b.reason),
    )
    .await
}

pub async fn staff_outcome(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Body<OutcomeBody>,
) -> Result<HttpResponse, ApiError> {
    let (participant, id) = path.into_inner();
    let OutcomeBody { outcome, debrief } = body.0;
    act(
        &state,
        Asker::staff(caller, participant, &req, INTERVIEWS)?,
        id,
        Action::RecordOutcome(outcome),
        debrief,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cursors_round_trip() {
        let at = DateTime::from_timestamp_micros(1_780_000_000_123_456)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        for p in [
            ListPosition::Upcoming {
                starts_at: at,
                id: 4,
            },
            ListPosition::Past {
                starts_at: at,
                id: 9,
            },
            ListPosition::PastFromStart,
        ] {
            assert_eq!(decode_position(&encode_position(p)), Some(p));
        }
        assert_eq!(decode_position("junk"), None);
    }
}
