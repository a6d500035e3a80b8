//! The notification inbox: what was sent to the caller, newest first, with read state, for the
//! participant's app (`/v1/me/notifications`) and for staff (`/v1/staff/me/notifications`).
//!
//! The words are made here from the message catalogue, in the reader's language, for the inside
//! of the app: they may name the role and the employer. Staff reads that name a participant are
//! audited, and name them only while the participant is in the reader's caseload.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::notices::{render, Surface};
use ips_core::domain::Language;
use ips_core::store::audit::{self, Entry};
use ips_core::store::inbox::{self, InboxItem};
use ips_core::store::notifications::{self, Recipient};
use ips_core::store::{now, participants, utc};
use serde::Serialize;

use crate::auth::{request_id, ParticipantCaller, StaffCaller};
use crate::input::parse_query;
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct SubjectView {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
}

#[derive(Debug, Serialize)]
struct NotificationView {
    id: i64,
    kind: String,
    title: String,
    body: String,
    subject: Option<SubjectView>,
    sent_at: Option<DateTime<Utc>>,
    read_at: Option<DateTime<Utc>>,
}

impl NotificationView {
    fn new(item: InboxItem, language: Language) -> Self {
        let words = render(language, Surface::InApp, &item.notice);
        let n = item.notification;
        Self {
            id: n.id,
            subject: n
                .subject_type
                .zip(n.subject_id)
                .map(|(kind, id)| SubjectView { kind, id }),
            kind: n.kind,
            title: words.title,
            body: words.body,
            sent_at: n.sent_at.map(utc),
            read_at: n.read_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
struct UnreadView {
    unread_count: i64,
}

/// Staff have no stored language: the request's `Accept-Language`, else Norwegian.
fn staff_language(req: &HttpRequest) -> Language {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or(Language::Nb)
}

async fn mark_read(
    state: &AppState,
    recipient: Recipient,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| notifications::mark_read(conn, recipient, id, now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn mark_all_read(state: &AppState, recipient: Recipient) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| notifications::mark_all_read(conn, recipient, now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn unread(state: &AppState, recipient: Recipient) -> Result<HttpResponse, ApiError> {
    let unread_count = state
        .db
        .run(move |conn| notifications::unread_count(conn, recipient))
        .await?;
    Ok(HttpResponse::Ok().json(UnreadView { unread_count }))
}

// --- the participant's inbox ---

pub async fn list_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let id = caller.id;
    let (found, language) = state
        .db
        .run(move |conn| {
            let me = participants::get(conn, id)?;
            let language = Language::parse(&me.preferred_language).unwrap_or(Language::Nb);
            Ok((
                inbox::for_participant(conn, &me, page.after, page.limit)?,
                language,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, |item| {
        NotificationView::new(item, language)
    })))
}

pub async fn read_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark_read(&state, Recipient::Participant(caller.id), path.into_inner()).await
}

pub async fn read_all_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    mark_all_read(&state, Recipient::Participant(caller.id)).await
}

pub async fn unread_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    unread(&state, Recipient::Participant(caller.id)).await
}

// --- a staff member's inbox ---

pub async fn list_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let language = staff_language(&req);
    let (id, caseload, actor, request_id) = (
        caller.id,
        caller.caseload(),
        caller.actor(),
        request_id(&req),
    );
    let found = state
        .db
        .write(move |conn| {
            let found = inbox::for_staff(conn, id, caseload, page.after, page.limit)?;
            // Showing a participant's name and interview is a staff read of their data.
            let entries: Vec<Entry> = found
                .items
                .iter()
                .filter_map(|item| {
                    item.names_participant.map(|pid| {
                        Entry::new(actor, "notification.listed")
                            .participant(pid)
                            .subject("notification", item.notification.id)
                    })
                })
                .collect();
            audit::record(conn, &entries, request_id.as_deref(), now())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, |item| {
        NotificationView::new(item, language)
    })))
}

pub async fn read_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark_read(&state, Recipient::Staff(caller.id), path.into_inner()).await
}

pub async fn read_all_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
) -> Result<HttpResponse, ApiError> {
    mark_all_read(&state, Recipient::Staff(caller.id)).await
}

pub async fn unread_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
) -> Result<HttpResponse, ApiError> {
    unread(&state, Recipient::Staff(caller.id)).await
}
