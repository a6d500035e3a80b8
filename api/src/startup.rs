//! Building the app and its server. `main` and the tests use the same function, so the tests
//! exercise exactly what runs in production, on a port of their choosing.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::problem::{rewrite_plain_errors, ApiError};
use crate::state::AppState;
use crate::telemetry::RequestSpan;
use crate::{metrics, routes, telemetry};

/// A built server: await `server` to run it; `handle` stops it; `port` is where it listens.
pub struct Running {
    pub port: u16,
    pub handle: ServerHandle,
    pub server: Server,
}

/// Builds the HTTP server on `listener`. It does not install signal handlers: the caller
/// decides when to stop (so the API and the worker in one process stop together).
pub fn build_server(listener: TcpListener, state: AppState) -> std::io::Result<Running> {
    let port = listener.local_addr()?.port();
    let config = state.config.clone();
    let data = web::Data::new(state);
    let body_limit = config.body_limit_bytes;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            // An id that is not a number names nothing: 404, like any other unknown id.
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
            .configure(routes::configure)
            .default_service(web::to(|_: HttpRequest| async {
                Err::<actix_web::HttpResponse, ApiError>(ApiError::NotFound)
            }))
            .wrap(ErrorHandlers::new().default_handler(rewrite_plain_errors))
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(telemetry::echo_request_id))
            .wrap(TracingLogger::<RequestSpan>::new())
    })
    .disable_signals()
    .shutdown_timeout(config.shutdown_timeout_seconds)
    .client_request_timeout(Duration::from_secs(10))
    .listen(listener)?;
    if config.http_workers > 0 {
        server = server.workers(config.http_workers);
    }
    let server = server.run();
    Ok(Running {
        port,
        handle: server.handle(),
        server,
    })
}
