//! Push devices: a participant's app (and a staff member's phone) registers its push token for
//! the session it is logged in with. The whole token is never shown again, only its end.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::domain::device::{is_app_version, is_locale, is_push_token, token_hint};
use ips_core::domain::Platform;
use ips_core::store::devices::{self, Device, DeviceChanges, Registered, Registration};
use ips_core::store::sessions::Subject;
use ips_core::store::{now, utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::auth::{ParticipantCaller, StaffCaller};
use crate::input::{parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

fn valid_push_token(token: &str) -> Result<(), ValidationError> {
    if is_push_token(token) {
        Ok(())
    } else {
        Err(ValidationError::new("token")
            .with_message("must be 1 to 4096 printable ASCII characters without spaces".into()))
    }
}

fn valid_app_version(version: &str) -> Result<(), ValidationError> {
    if is_app_version(version) {
        Ok(())
    } else {
        Err(ValidationError::new("app_version")
            .with_message("must be 1 to 50 visible characters".into()))
    }
}

fn valid_locale(tag: &str) -> Result<(), ValidationError> {
    if is_locale(tag) {
        Ok(())
    } else {
        Err(ValidationError::new("locale")
            .with_message("must be a language tag such as nb-NO (at most 35 characters)".into()))
    }
}

fn valid_platform(name: &str) -> Result<(), ValidationError> {
    match Platform::parse(name) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("platform").with_message("must be apns or fcm".into())),
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    #[validate(custom(function = "valid_platform"))]
    platform: String,
    #[validate(custom(function = "valid_push_token"))]
    token: String,
    #[validate(custom(function = "valid_app_version"))]
    app_version: String,
    #[validate(custom(function = "valid_locale"))]
    locale: String,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    #[validate(custom(function = "valid_push_token"))]
    token: Option<String>,
    #[validate(custom(function = "valid_app_version"))]
    app_version: Option<String>,
    #[validate(custom(function = "valid_locale"))]
    locale: Option<String>,
}

/// A device as its owner sees it: the token only as its last characters.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub id: i64,
    pub platform: String,
    pub token_hint: String,
    pub app_version: String,
    pub locale: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub session_id: Option<i64>,
    pub current: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_registered_at: DateTime<Utc>,
}

impl DeviceView {
    pub(super) fn new(d: Device, current_session: i64) -> Self {
        Self {
            id: d.id,
            platform: d.platform,
            token_hint: token_hint(&d.token),
            app_version: d.app_version,
            locale: d.locale,
            enabled: d.enabled,
            disabled_reason: d.disabled_reason,
            current: d.session_id == Some(current_session),
            session_id: d.session_id,
            created_at: utc(d.created_at),
            updated_at: utc(d.updated_at),
            last_registered_at: utc(d.last_registered_at),
        }
    }
}

/// The path a device is read at, for the `Location` of a new one.
fn location(owner: Subject, id: i64) -> String {
    match owner {
        Subject::Participant(_) => format!("/v1/me/devices/{id}"),
        Subject::Staff(_) => format!("/v1/staff/me/devices/{id}"),
    }
}

async fn register(
    state: web::Data<AppState>,
    owner: Subject,
    session_id: i64,
    body: NewDevice,
) -> Result<HttpResponse, ApiError> {
    let NewDevice {
        platform,
        token,
        app_version,
        locale,
    } = body;
    let platform = Platform::parse(&platform)
        .ok_or_else(|| ApiError::invalid("platform", "must be apns or fcm"))?;
    let registration = Registration {
        platform,
        token,
        app_version: app_version.trim().to_owned(),
        locale,
    };
    let (device, outcome) = state
        .db
        .write(move |conn| devices::register(conn, owner, session_id, registration, now()))
        .await?;
    let view = DeviceView::new(device, session_id);
    Ok(match outcome {
        Registered::Created => HttpResponse::Created()
            .insert_header((header::LOCATION, location(owner, view.id)))
            .json(view),
        Registered::Updated => HttpResponse::Ok().json(view),
    })
}

async fn list(
    state: web::Data<AppState>,
    owner: Subject,
    session_id: i64,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(req)?.check()?;
    let found = state
        .db
        .run(move |conn| devices::list_own(conn, owner, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, |d| DeviceView::new(d, session_id))))
}

async fn get(
    state: web::Data<AppState>,
    owner: Subject,
    session_id: i64,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    let device = state
        .db
        .run(move |conn| devices::get_own(conn, owner, id))
        .await?;
    Ok(HttpResponse::Ok().json(DeviceView::new(device, session_id)))
}

async fn delete(
    state: web::Data<AppState>,
    owner: Subject,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| devices::delete_own(conn, owner, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The participant's app registers its push token for this session (201 new, 200 taken over).
pub async fn register_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    body: Body<NewDevice>,
) -> Result<HttpResponse, ApiError> {
    register(
        state,
        Subject::Participant(caller.id),
        caller.session_id,
        body.0,
    )
    .await
}

pub async fn list_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(
        state,
        Subject::Participant(caller.id),
        caller.session_id,
        &req,
    )
    .await
}

pub async fn get_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    get(
        state,
        Subject::Participant(caller.id),
        caller.session_id,
        path.into_inner(),
    )
    .await
}

/// A new token after the provider rotated it, or a new app version or locale.
pub async fn update_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
    body: Body<DevicePatch>,
) -> Result<HttpResponse, ApiError> {
    let DevicePatch {
        token,
        app_version,
        locale,
    } = body.0;
    let changes = DeviceChanges {
        token,
        app_version: app_version.map(|v| v.trim().to_owned()),
        locale,
    };
    let (owner, id, session_id) = (
        Subject::Participant(caller.id),
        path.into_inner(),
        caller.session_id,
    );
    let device = state
        .db
        .write(move |conn| devices::update_own(conn, owner, id, changes, now()))
        .await?;
    Ok(HttpResponse::Ok().json(DeviceView::new(device, session_id)))
}

pub async fn delete_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    delete(state, Subject::Participant(caller.id), path.into_inner()).await
}

/// A staff member's phone registers its push token, for alerts (any staff role).
pub async fn register_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    body: Body<NewDevice>,
) -> Result<HttpResponse, ApiError> {
    register(state, Subject::Staff(caller.id), caller.session_id, body.0).await
}

pub async fn list_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(state, Subject::Staff(caller.id), caller.session_id, &req).await
}

pub async fn get_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    get(
        state,
        Subject::Staff(caller.id),
        caller.session_id,
        path.into_inner(),
    )
    .await
}

pub async fn delete_staff(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    delete(state, Subject::Staff(caller.id), path.into_inner()).await
}
