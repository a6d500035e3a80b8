//! Staff accounts. Administrators create and edit them; supervisors see their team; everyone
//! sees themselves.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ips_core::domain::{password, Role};
use ips_core::store::sessions::{self, RevokeReason, Subject};
use ips_core::store::{now, staff, teams};
use serde::{Deserialize, Deserializer};
use validator::{Validate, ValidationError};

use super::views::StaffView;
use crate::auth::StaffCaller;
use crate::input::{not_blank, parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`) in a PATCH body.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

pub fn strong_password(candidate: &str) -> Result<(), ValidationError> {
    match password::weakness(candidate) {
        None => Ok(()),
        Some(why) => Err(ValidationError::new("password").with_message(why.into())),
    }
}

fn role_from(text: &str) -> Result<Role, ApiError> {
    Role::parse(text)
        .ok_or_else(|| ApiError::invalid("role", "must be one of specialist, supervisor, admin"))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    email: String,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    name: String,
    role: String,
    team_id: Option<i64>,
    #[validate(length(min = 3, max = 40, message = "must be 3 to 40 characters"))]
    phone: Option<String>,
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    working_hours: Option<String>,
    #[validate(custom(function = "strong_password"))]
    password: String,
}

/// Specialists and supervisors belong to a team; an administrator may stand outside one.
fn check_team_for_role(role: Role, team_id: Option<i64>) -> Result<(), ApiError> {
    if role != Role::Admin && team_id.is_none() {
        return Err(ApiError::invalid(
            "team_id",
            "is required for specialists and supervisors",
        ));
    }
    Ok(())
}

pub async fn create(
    state: web::Data<AppState>,
    caller: StaffCaller,
    body: Body<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let NewStaff {
        email,
        name,
        role,
        team_id,
        phone,
        working_hours,
        password: given,
    } = body.0;
    let role = role_from(&role)?;
    check_team_for_role(role, team_id)?;
    let password_hash = web::block(move || password::hash(&given))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing failed: {e}")))??;
    let member = state
        .db
        .write(move |conn| {
            if let Some(team) = team_id {
                if !teams::exists(conn, team)? {
                    return Ok(Err(ApiError::invalid("team_id", "is not a team")));
                }
            }
            let at = now();
            let new = staff::NewStaff {
                email,
                name: name.trim().to_owned(),
                role: role.as_str().to_owned(),
                team_id,
                phone,
                working_hours,
                password_hash,
                active: true,
                created_at: at,
                updated_at: at,
            };
            Ok(Ok(staff::create(conn, new)?))
        })
        .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/staff/{}", member.id)))
        .json(StaffView::from(member)))
}

/// Administrators list everyone; supervisors their team; specialists may not list staff.
pub async fn list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Supervisor])?;
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let team = match caller.role {
        Role::Admin => None,
        _ => Some(caller.team_id.unwrap_or(-1)),
    };
    let members = state
        .db
        .run(move |conn| staff::list(conn, team, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(members, StaffView::from)))
}

pub async fn me(state: web::Data<AppState>, caller: StaffCaller) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let member = state.db.run(move |conn| staff::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(StaffView::from(member)))
}

/// Whether `caller` may see staff member `member` (in team `member_team`).
fn can_see(caller: &StaffCaller, member: i64, member_team: Option<i64>) -> bool {
    match caller.role {
        Role::Admin => true,
        Role::Supervisor => {
            member == caller.id || (member_team.is_some() && member_team == caller.team_id)
        }
        Role::Specialist => member == caller.id,
    }
}

pub async fn get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let member = state.db.run(move |conn| staff::get(conn, id)).await?;
    if !can_see(&caller, member.id, member.team_id) {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok().json(StaffView::from(member)))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "not_blank")
    )]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 3, max = 40, message = "must be 3 to 40 characters"))]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    working_hours: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    active: Option<bool>,
}

/// Administrators edit accounts. Deactivating one ends all its sessions at once; the last
/// active administrator cannot be demoted or deactivated.
pub async fn update(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
    body: Body<StaffPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let StaffPatch {
        name,
        role,
        team_id,
        phone,
        working_hours,
        active,
    } = body.0;
    let role = role.as_deref().map(role_from).transpose()?;
    let member = state
        .db
        .write(move |conn| {
            let current = staff::get(conn, id)?;
            let new_role = role.or(current.role()).unwrap_or(Role::Specialist);
            let new_team = team_id.unwrap_or(current.team_id);
            if let Err(e) = check_team_for_role(new_role, new_team) {
                return Ok(Err(e));
            }
            if let Some(team) = team_id.flatten() {
                if !teams::exists(conn, team)? {
                    return Ok(Err(ApiError::invalid("team_id", "is not a team")));
                }
            }
            let stays_admin = new_role == Role::Admin && active.unwrap_or(current.active);
            if current.role() == Some(Role::Admin)
                && current.active
                && !stays_admin
                && staff::count_active_admins(conn)? <= 1
            {
                return Ok(Err(ApiError::Conflict(
                    "the last active administrator cannot be demoted or deactivated".into(),
                )));
            }
            let at = now();
            let changes = staff::StaffChanges {
                name: name.map(|n| n.trim().to_owned()),
                role: role.map(|r| r.as_str().to_owned()),
                team_id,
                phone,
                working_hours,
                active,
                updated_at: Some(at),
                ..Default::default()
            };
            let updated = staff::update(conn, id, changes)?;
            if active == Some(false) {
                sessions::revoke_all(conn, Subject::Staff(id), RevokeReason::StaffDeactivated, at)?;
            }
            Ok(Ok(updated))
        })
        .await??;
    // Their role, team or standing may have changed: their next request reads it again.
    state.auth_cache.forget_subject(Subject::Staff(id));
    Ok(HttpResponse::Ok().json(StaffView::from(member)))
}
