//! The participant's calendar feed: a secret URL an ordinary calendar app subscribes to. It
//! carries every upcoming interview (and cancelled ones, so calendars remove them); the
//! participant can replace or revoke the URL at any time.

use actix_web::{web, HttpResponse};
use chrono::Duration;
use ips_core::domain::ical::{calendar, Method};
use ips_core::domain::texts::{render, Text};
use ips_core::domain::tokens::{self, TokenKind};
use ips_core::domain::Language;
use ips_core::store::{interviews, now, participants};
use serde::Serialize;

use super::interviews::{calendar_event, calendar_response};
use crate::auth::ParticipantCaller;
use crate::problem::ApiError;
use crate::state::AppState;

/// Ended interviews stay in the feed this long, so yesterday's still shows.
const KEEP_PAST: Duration = Duration::days(30);

#[derive(Debug, Serialize)]
struct FeedView {
    url: String,
    path: String,
}

/// Creates the feed URL, or replaces it: the old URL stops working at once.
pub async fn create(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let token = tokens::generate(TokenKind::CalendarFeed);
    let hash = tokens::hash(&token);
    let id = caller.id;
    state
        .db
        .write(move |conn| participants::set_calendar_feed(conn, id, Some(hash), now()))
        .await?;
    let path = format!("/v1/calendar/{token}");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::LOCATION, path.clone()))
        .json(FeedView {
            // From configuration, never from request headers a client could forge.
            url: format!("{}{}", state.config.public_base(), path),
            path,
        }))
}

pub async fn revoke(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    state
        .db
        .write(move |conn| participants::set_calendar_feed(conn, id, None, now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The feed itself. The token in the path is the only credential; an unknown or revoked one is 404.
pub async fn feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    if !tokens::is_well_formed(TokenKind::CalendarFeed, &token) {
        return Err(ApiError::NotFound);
    }
    let hash = tokens::hash(&token);
    let (participant, found) = state
        .db
        .run(move |conn| {
            let Some(participant) = participants::by_calendar_feed(conn, &hash)? else {
                return Err(ips_core::StoreError::NotFound);
            };
            let found = interviews::for_calendar(conn, participant.id, now() - KEEP_PAST)?;
            Ok((participant, found))
        })
        .await?;
    let language = Language::parse(&participant.preferred_language).unwrap_or(Language::Nb);
    let events: Vec<_> = found
        .iter()
        .map(|i| calendar_event(i, language, participant.lock_screen_previews))
        .collect();
    Ok(calendar_response(calendar(
        &events,
        Method::Publish,
        &render(language, Text::CalendarName),
    )))
}
