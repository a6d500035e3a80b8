//! The participant's own records, for the companion app.

use actix_web::{web, HttpResponse};
use ips_core::store::participants;

use super::views::ParticipantView;
use crate::auth::ParticipantCaller;
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
