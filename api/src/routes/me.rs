//! The participant's own records, for the companion app.

use actix_web::{web, HttpRequest, HttpResponse};
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::{now, participants};
use ips_core::StoreError;
use serde::Deserialize;
use validator::Validate;

use super::views::ParticipantView;
use crate::auth::{request_id, ParticipantCaller};
use crate::input::Body;
use crate::problem::ApiError;
use crate::state::AppState;

pub async fn get(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let me = state
        .db
        .run(move |conn| participants::get(conn, id))
        .await?;
    Ok(HttpResponse::Ok().json(ParticipantView::from(me)))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// In the participant's own words, if they want to say why; never required.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    reason: Option<String>,
}

/// The participant leaves the programme (IPS: their own wish decides, and no one has to agree).
/// Their case closes, every session and push device of theirs ends in the same transaction, and
/// the specialist still sees the closed case. Nothing is erased here (see the README).
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    body: Body<Withdrawal>,
) -> Result<HttpResponse, ApiError> {
    let note = body
        .0
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let (id, request_id) = (caller.id, request_id(&req));
    let withdrawn = state
        .db
        .write(move |conn| {
            let at = now();
            let withdrawn = match participants::withdraw(conn, id, note, at) {
                Ok(p) => p,
                // A concurrent withdrawal got there first: this token died with it.
                Err(StoreError::NotFound) => {
                    return Ok(Err(ApiError::Unauthenticated(
                        "The access token is not valid or has expired.",
                    )))
                }
                Err(e) => return Err(e),
            };
            let entry = Entry::new(Actor::Participant(id), "participant.withdrew")
                .participant(id)
                .subject("participant", id);
            audit::record(conn, &[entry], request_id.as_deref(), at)?;
            Ok(Ok(withdrawn))
        })
        .await??;
    Ok(HttpResponse::Ok().json(ParticipantView::from(withdrawn)))
}
