//! The message thread between a participant and their team, from both sides.
//!
//! Participants reach their own thread under `/v1/me/messages`; the specialist of the caseload and
//! the team's supervisor reach it under `/v1/participants/{id}/messages`, every action audited.
//! Each side marks the other side's messages read, which gives read receipts both ways.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::SenderKind;
use ips_core::store::alerts;
use ips_core::store::messages::{self, NewMessage, ThreadMessage, Unread};
use ips_core::store::sessions::Subject;
use ips_core::store::{now, utc};
use ips_core::{DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::caseload_access::CaseloadAccess;
use crate::auth::{ParticipantCaller, StaffCaller};
use crate::idempotency::{create_once, Idempotent};
use crate::input::{not_blank, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    #[validate(
        length(min = 1, max = 4000, message = "must be 1 to 4000 characters"),
        custom(function = "not_blank")
    )]
    body: String,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    /// The newest message the reader has seen; the other side's messages up to it are read.
    #[validate(range(min = 1, message = "must be a message id"))]
    up_to_id: i64,
}

#[derive(Debug, Serialize)]
struct SenderView {
    kind: &'static str,
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
pub(super) struct MessageView {
    id: i64,
    sender: SenderView,
    body: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl From<ThreadMessage> for MessageView {
    fn from(m: ThreadMessage) -> Self {
        Self {
            sender: SenderView {
                kind: m.sender_kind().as_str(),
                id: m.sender_id(),
                name: m.sender_name,
            },
            id: m.message.id,
            body: m.message.body,
            created_at: utc(m.message.created_at),
            read_at: m.message.read_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
struct UnreadView {
    unread_count: i64,
    latest_message_at: Option<DateTime<Utc>>,
}

impl From<Unread> for UnreadView {
    fn from(u: Unread) -> Self {
        Self {
            unread_count: u.count,
            latest_message_at: u.latest_message_at.map(utc),
        }
    }
}

/// Marks the other side's messages read up to `up_to_id`, which must be a message of this thread
/// (an id from another thread is refused exactly like one that does not exist).
fn mark_read(
    conn: &mut DbConnection,
    participant_id: i64,
    reader: SenderKind,
    up_to_id: i64,
) -> Result<Result<(), ApiError>, StoreError> {
    if !messages::in_thread(conn, participant_id, up_to_id)? {
        return Ok(Err(ApiError::invalid(
            "up_to_id",
            "is not a message in this conversation",
        )));
    }
    messages::mark_read(conn, participant_id, reader, up_to_id, now())?;
    Ok(Ok(()))
}

// --- the participant's side ---

pub async fn list_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let id = caller.id;
    let found = state
        .db
        .run(move |conn| messages::list(conn, id, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, MessageView::from)))
}

pub async fn send_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    input: Idempotent<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let body = input.body.body;
    let (working_hours, answer_within) = (
        state.config.working_hours(),
        chrono::Duration::hours(state.config.alert_message_working_hours),
    );
    create_once(
        &state.db,
        Subject::Participant(id),
        input.key,
        move |conn| {
            let at = now();
            let sent = messages::create(conn, NewMessage::from_participant(id, body, at))?;
            // The specialist is alerted if no one answers within the working hours allowed.
            let due = working_hours.add(at.and_utc(), answer_within).naive_utc();
            messages::expect_answer(conn, id, sent.message.id, due)?;
            Ok(Ok(MessageView::from(sent)))
        },
    )
    .await
}

pub async fn mark_mine_read(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    input: Body<ReadUpTo>,
) -> Result<HttpResponse, ApiError> {
    let (id, up_to_id) = (caller.id, input.0.up_to_id);
    state
        .db
        .write(move |conn| mark_read(conn, id, SenderKind::Participant, up_to_id))
        .await??;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn unread_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let unread = state
        .db
        .run(move |conn| messages::unread(conn, id, SenderKind::Participant))
        .await?;
    Ok(HttpResponse::Ok().json(UnreadView::from(unread)))
}

// --- the staff's side: the specialist of the caseload and the team's supervisor ---

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
        .read(&state.db, id, "messages.listed", move |conn, _| {
            messages::list(conn, id, page.after, page.limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, MessageView::from)))
}

/// A participant's phone buzzes at most once per half hour for one thread.
const PUSH_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

pub async fn send_to_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Idempotent<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    // Checked before the key is looked at, so a retry after losing access is a 404 like any other.
    let check = access.clone();
    state.db.run(move |conn| check.reach(conn, id)).await?;
    let (staff_id, body) = (caller.id, input.body.body);
    let hold = chrono::Duration::seconds(state.config.message_push_hold_seconds);
    create_once(
        &state.db,
        Subject::Staff(staff_id),
        input.key,
        move |conn| {
            access.reach(conn, id)?;
            let at = now();
            let sent = messages::create(conn, NewMessage::from_staff(id, staff_id, body, at))?;
            messages::announce_to_participant(conn, id, sent.message.id, hold, PUSH_WINDOW, at)?;
            // An answer stops the thread's answer clock and ends its "unanswered" alert.
            messages::answered(conn, id)?;
            alerts::resolve_gone_for_participant(conn, id, at)?;
            access.record(conn, "message.sent", id, Some(("message", sent.message.id)))?;
            Ok(Ok(MessageView::from(sent)))
        },
    )
    .await
}

pub async fn mark_read_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    input: Body<ReadUpTo>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let (id, up_to_id) = (path.into_inner(), input.0.up_to_id);
    state
        .db
        .write(move |conn| {
            access.reach(conn, id)?;
            if let Err(refused) = mark_read(conn, id, SenderKind::Staff, up_to_id)? {
                return Ok(Err(refused));
            }
            access.record(
                conn,
                "messages.marked_read",
                id,
                Some(("message", up_to_id)),
            )?;
            Ok(Ok(()))
        })
        .await??;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn unread_for_participant(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let access = CaseloadAccess::of(&caller, &req)?;
    let id = path.into_inner();
    let unread = access
        .read(&state.db, id, "messages.unread_read", move |conn, _| {
            messages::unread(conn, id, SenderKind::Staff)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UnreadView::from(unread)))
}
