//! Webhook endpoints (README, "Webhooks"): administrators register where integrations want
//! events, which types, and pause, change, delete them, rotate the signing secret, send a test
//! ping, look at the deliveries and send one again. Everyone else is refused (403). Every change
//! is audited.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use ips_core::domain::webhooks::EventType;
use ips_core::domain::Role;
use ips_core::store::audit::{self, Entry};
use ips_core::store::webhook_deliveries::{self, Delivery, STATUSES};
use ips_core::store::webhooks::{
    self, EndpointChanges, EndpointStatus, EndpointWithTypes, NewEndpoint,
};
use ips_core::store::{now, utc};
use ips_core::{DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::{request_id, StaffCaller};
use crate::input::{parse_query, Body, OptionalBody};
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

const SUBJECT: &str = "webhook_endpoint";
/// How long the previous secret stays valid after a rotation unless the request says otherwise.
const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 60 * 60;
const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 60 * 60;

#[derive(Debug, Serialize)]
pub struct EndpointView {
    id: i64,
    url: String,
    description: String,
    event_types: Vec<&'static str>,
    status: String,
    disabled_reason: Option<String>,
    /// Until when the secret before the last rotation is still signed with.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EndpointWithTypes> for EndpointView {
    fn from(e: EndpointWithTypes) -> Self {
        let at = now();
        let endpoint = e.endpoint;
        Self {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            event_types: e.event_types.iter().map(|t| t.as_str()).collect(),
            status: endpoint.status,
            disabled_reason: endpoint.disabled_reason,
            previous_secret_expires_at: endpoint
                .previous_secret_expires_at
                .filter(|until| *until > at)
                .map(utc),
            created_at: utc(endpoint.created_at),
            updated_at: utc(endpoint.updated_at),
        }
    }
}

/// An endpoint with its signing secret: only in the answers to creation and rotation.
#[derive(Debug, Serialize)]
struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointView,
    secret: String,
}

impl From<EndpointWithTypes> for EndpointWithSecret {
    fn from(e: EndpointWithTypes) -> Self {
        let secret = e.endpoint.secret.clone();
        Self {
            endpoint: EndpointView::from(e),
            secret,
        }
    }
}

#[derive(Debug, Serialize)]
struct AttemptView {
    attempted_at: DateTime<Utc>,
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
}

#[derive(Debug, Serialize)]
struct DeliveryView {
    id: i64,
    endpoint_id: i64,
    event_id: String,
    event_type: String,
    status: String,
    /// When the next attempt is due, while the delivery is pending.
    next_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    attempts: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let row = d.delivery;
        Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            next_attempt_at: (row.status == "pending").then(|| utc(row.next_attempt_at)),
            status: row.status,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: utc(row.created_at),
            delivered_at: row.delivered_at.map(utc),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempted_at: utc(a.attempted_at),
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointBody {
    url: String,
    event_types: Vec<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    status: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    #[serde(default, deserialize_with = "crate::input::not_null")]
    url: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    status: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Seconds the previous secret stays valid (0 ends it at once); default a day.
    #[validate(range(min = 0, max = 604_800, message = "must be from 0 to 604800"))]
    #[serde(default, deserialize_with = "crate::input::not_null")]
    overlap_seconds: Option<i64>,
}

/// Checks the fields every write shares, collecting every problem at once.
struct Checked {
    url: Option<String>,
    event_types: Option<Vec<EventType>>,
    description: Option<String>,
    status: Option<EndpointStatus>,
}

fn check_fields(
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Option<String>,
    status: Option<String>,
    allow_http: bool,
) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    let url = url.and_then(|u| match check_url(&u, allow_http) {
        Ok(()) => Some(u),
        Err(message) => {
            errors.push(FieldError::new("url", message));
            None
        }
    });
    let event_types = event_types.and_then(|names| {
        if names.is_empty() {
            errors.push(FieldError::new(
                "event_types",
                "must name at least one event type",
            ));
            return None;
        }
        let parsed: Option<Vec<EventType>> = names.iter().map(|n| EventType::parse(n)).collect();
        if parsed.is_none() {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            errors.push(FieldError::new(
                "event_types",
                format!("must be event types among {}", known.join(", ")),
            ));
        }
        parsed
    });
    let description = description.map(|d| d.trim().to_owned());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
    let status = status.and_then(|s| match s.as_str() {
        "active" => Some(EndpointStatus::Active),
        "paused" => Some(EndpointStatus::Paused),
        _ => {
            errors.push(FieldError::new("status", "must be active or paused"));
            None
        }
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Checked {
        url,
        event_types,
        description,
        status,
    })
}

/// An absolute `https://` URL with a host and no credentials in it; `http://` only where the
/// configuration allows it (development and tests).
fn check_url(text: &str, allow_http: bool) -> Result<(), &'static str> {
    if text.len() > 2000 {
        return Err("must be at most 2000 characters");
    }
    let url = url::Url::parse(text).map_err(|_| "must be an absolute https:// URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("must use https:// (plain http is refused)"),
        _ => return Err("must be an absolute https:// URL"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    Ok(())
}

/// Runs an administrator's change of an endpoint and its audit entry in one write transaction,
/// so no change is made unrecorded. `change` answers with the id of the endpoint it changed (a
/// new endpoint's is known only once it is created) and its result.
async fn audited_change<T, F>(
    state: &AppState,
    caller: &StaffCaller,
    req: &HttpRequest,
    action: &'static str,
    change: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<(i64, T), StoreError> + Send + 'static,
{
    let (actor, request_id) = (caller.actor(), request_id(req));
    let done = state
        .db
        .write(move |conn| {
            let (endpoint_id, done) = change(conn)?;
            audit::record(
                conn,
                &[Entry::new(actor, action).subject(SUBJECT, endpoint_id)],
                request_id.as_deref(),
                now(),
            )?;
            Ok(done)
        })
        .await?;
    Ok(done)
}

pub async fn create(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    body: Body<NewEndpointBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let NewEndpointBody {
        url,
        event_types,
        description,
        status,
    } = body.0;
    let checked = check_fields(
        Some(url),
        Some(event_types),
        description,
        status,
        state.config.webhooks_allow_http,
    )?;
    let new = NewEndpoint {
        url: checked.url.unwrap_or_default(),
        description: checked.description.unwrap_or_default(),
        status: checked.status.unwrap_or(EndpointStatus::Active),
        event_types: checked.event_types.unwrap_or_default(),
        created_by: caller.id,
    };
    let created = audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.created",
        move |conn| {
            let created = webhooks::create(conn, &new, now())?;
            Ok((created.endpoint.id, created))
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/webhook-endpoints/{}", created.endpoint.id),
        ))
        .json(EndpointWithSecret::from(created)))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let endpoints = state
        .db
        .run(move |conn| webhooks::list(conn, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(endpoints, EndpointView::from)))
}

pub async fn get(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let endpoint = state.db.run(move |conn| webhooks::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(EndpointView::from(endpoint)))
}

pub async fn update(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Body<EndpointPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let EndpointPatch {
        url,
        event_types,
        description,
        status,
    } = body.0;
    let checked = check_fields(
        url,
        event_types,
        description,
        status,
        state.config.webhooks_allow_http,
    )?;
    let changes = EndpointChanges {
        url: checked.url,
        description: checked.description,
        status: checked.status,
        event_types: checked.event_types,
    };
    let updated = audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.updated",
        move |conn| Ok((id, webhooks::update(conn, id, &changes, now())?)),
    )
    .await?;
    Ok(HttpResponse::Ok().json(EndpointView::from(updated)))
}

pub async fn delete(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.deleted",
        move |conn| Ok((id, webhooks::delete(conn, id)?)),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
    body: OptionalBody<RotateBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let overlap = body
        .0
        .and_then(|b| b.overlap_seconds)
        .unwrap_or(DEFAULT_OVERLAP_SECONDS)
        .clamp(0, MAX_OVERLAP_SECONDS);
    let rotated = audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.secret_rotated",
        move |conn| {
            let rotated = webhooks::rotate_secret(conn, id, Duration::seconds(overlap), now())?;
            Ok((id, rotated))
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(EndpointWithSecret::from(rotated)))
}

/// Queues a `ping` event for this endpoint alone; the worker sends it like any other.
pub async fn ping(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let delivery = audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.pinged",
        move |conn| {
            let delivery = webhooks::ping(conn, id, now())?;
            Ok((id, webhook_deliveries::get(conn, id, delivery)?))
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(delivery)))
}

/// `GET .../deliveries` takes the page parameters and a status filter; anything else is 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    /// One status or several, comma-separated (`pending,failed`).
    status: Option<String>,
}

pub async fn deliveries(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = path.into_inner();
    let query = parse_query::<DeliveryQuery>(&req)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .check()?;
    let statuses: Vec<String> = match query.status.as_deref() {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|s| {
                let s = s.trim();
                STATUSES.contains(&s).then(|| s.to_owned()).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        "must be one or more of pending, in_flight, delivered, failed",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let found = state
        .db
        .run(move |conn| webhook_deliveries::list(conn, id, &statuses, page.after, page.limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(found, DeliveryView::from)))
}

/// Sends a delivery's event again (same event id, same body); 409 while it is being attempted.
pub async fn redeliver(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let (id, delivery_id) = path.into_inner();
    let delivery = audited_change(
        &state,
        &caller,
        &req,
        "webhook_endpoint.redelivered",
        move |conn| {
            Ok((
                id,
                webhook_deliveries::redeliver(conn, id, delivery_id, now())?,
            ))
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(delivery)))
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn only_https_urls_with_a_host_and_no_credentials() {
        assert!(check_url("https://hooks.example.org/ips", false).is_ok());
        assert!(check_url("http://hooks.example.org/ips", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/ips", true).is_ok());
        assert!(check_url("ftp://hooks.example.org", true).is_err());
        assert!(check_url("hooks.example.org/ips", false).is_err());
        assert!(check_url("https://user:pw@hooks.example.org", false).is_err());
        assert!(check_url("https://hooks.example.org/#x", false).is_err());
        assert!(check_url("", false).is_err());
    }
}
