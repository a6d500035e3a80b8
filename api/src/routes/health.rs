//! Liveness, readiness, metrics and the contract itself.

use actix_web::{web, HttpResponse};
use serde_json::json;

use ips_core::store::{now, outbox, webhook_deliveries};

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

/// Request metrics of this process, and the notification and webhook queues as the database
/// has them (shared by every worker, so any API instance reports the same queues). When the
/// database cannot be reached the queue lines are left out rather than failing the scrape.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render();
    let queue = state.db.run(|conn| outbox::stats(conn, now())).await;
    match queue {
        Ok(q) => {
            for (name, help, value) in [
                (
                    "ips_outbox_due",
                    "Notifications due and waiting for a worker",
                    q.due,
                ),
                (
                    "ips_outbox_in_flight",
                    "Notifications claimed by a worker and being sent",
                    q.in_flight,
                ),
                (
                    "ips_outbox_pending",
                    "Notifications not yet sent (due or later), retries included",
                    q.pending,
                ),
                (
                    "ips_outbox_retrying",
                    "Pending notifications that failed at least once",
                    q.retrying,
                ),
                ("ips_outbox_failed", "Notifications given up", q.failed),
                (
                    "ips_outbox_sent_last_hour",
                    "Notifications sent in the last hour",
                    q.sent_last_hour,
                ),
                (
                    "ips_outbox_oldest_due_seconds",
                    "How long the oldest due notification has waited",
                    q.oldest_due_seconds,
                ),
            ] {
                body.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue metrics unavailable"),
    }
    match state
        .db
        .run(|conn| webhook_deliveries::stats(conn, now()))
        .await
    {
        Ok(q) => {
            for (name, help, value) in [
                (
                    "ips_webhooks_due",
                    "Webhook deliveries due and waiting for a worker",
                    q.due,
                ),
                (
                    "ips_webhooks_in_flight",
                    "Webhook deliveries claimed by a worker and being sent",
                    q.in_flight,
                ),
                (
                    "ips_webhooks_pending",
                    "Webhook deliveries not yet delivered (due, later or held by a paused endpoint)",
                    q.pending,
                ),
                ("ips_webhooks_failed", "Webhook deliveries given up", q.failed),
                (
                    "ips_webhooks_delivered_last_hour",
                    "Webhook deliveries delivered in the last hour",
                    q.delivered_last_hour,
                ),
                (
                    "ips_webhooks_oldest_due_seconds",
                    "How long the oldest due webhook delivery has waited",
                    q.oldest_due_seconds,
                ),
            ] {
                body.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "webhook queue metrics unavailable"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(crate::OPENAPI_YAML)
}
