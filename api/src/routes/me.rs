//! The participant's own records, for the companion app.

use actix_web::{web, HttpResponse};
use ips_core::store::{participants, staff, teams};
use serde::Serialize;

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

#[derive(Debug, Serialize)]
struct SpecialistContact {
    id: i64,
    name: String,
    role: String,
    phone: Option<String>,
    email: String,
    working_hours: Option<String>,
}

#[derive(Debug, Serialize)]
struct TeamContact {
    id: i64,
    name: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize)]
struct ContactCard {
    specialist: SpecialistContact,
    team: TeamContact,
}

/// Who the participant's team is and how to reach them (IPS principle 2: the team is visible to
/// the participant as contacts).
pub async fn team(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let (specialist, team) = state
        .db
        .run(move |conn| {
            let me = participants::get(conn, id)?;
            Ok((
                staff::get(conn, me.specialist_id)?,
                teams::get(conn, me.team_id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactCard {
        specialist: SpecialistContact {
            id: specialist.id,
            name: specialist.name,
            role: specialist.role,
            phone: specialist.phone,
            email: specialist.email,
            working_hours: specialist.working_hours,
        },
        team: TeamContact {
            id: team.id,
            name: team.name,
            phone: team.phone,
            email: team.email,
        },
    }))
}
