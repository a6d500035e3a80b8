//! Liveness, readiness, metrics and the contract itself.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::problem::ApiError;
use crate::state::AppState;

/// The process is up and answering.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can reach its database; 503 while it cannot, 200 again once it can.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" })))
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(crate::OPENAPI_YAML)
}
