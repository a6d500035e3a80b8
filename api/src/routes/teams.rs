//! Teams: administrators create and edit them; staff read their own.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ips_core::domain::Role;
use ips_core::store::{now, teams};
use serde::Deserialize;
use validator::Validate;

use super::views::TeamView;
use crate::auth::StaffCaller;
use crate::input::{not_blank, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    name: String,
    #[validate(length(min = 3, max = 40, message = "must be 3 to 40 characters"))]
    phone: Option<String>,
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    email: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    caller: StaffCaller,
    body: Body<NewTeam>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let NewTeam { name, phone, email } = body.0;
    let team = state
        .db
        .write(move |conn| {
            let at = now();
            teams::create(
                conn,
                teams::NewTeam {
                    name: name.trim().to_owned(),
                    phone,
                    email,
                    created_at: at,
                    updated_at: at,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/teams/{}", team.id)))
        .json(TeamView::from(team)))
}

/// Administrators see every team; other staff only their own.
pub async fn list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let only = match caller.role {
        Role::Admin => None,
        _ => Some(caller.team_id.unwrap_or(-1)),
    };
    let teams = state
        .db
        .run(move |conn| teams::list(conn, only, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(teams, TeamView::from)))
}

pub async fn get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if caller.role != Role::Admin && caller.team_id != Some(id) {
        return Err(ApiError::NotFound);
    }
    let team = state.db.run(move |conn| teams::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(TeamView::from(team)))
}

/// `null` clears an optional field; an absent field stays as it is.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::staff::double_option")]
    #[validate(length(min = 3, max = 40, message = "must be 3 to 40 characters"))]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::staff::double_option")]
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    email: Option<Option<String>>,
}

pub async fn update(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
    body: Body<TeamPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let TeamPatch { name, phone, email } = body.0;
    let team = state
        .db
        .write(move |conn| {
            let changes = teams::TeamChanges {
                name: name.map(|n| n.trim().to_owned()),
                phone,
                email,
                updated_at: Some(now()),
            };
            teams::update(conn, id, changes)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TeamView::from(team)))
}
