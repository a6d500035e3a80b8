//! Errors as RFC 9457 `application/problem+json`, for our own failures and for actix's.
//!
//! Each variant maps to one status and one problem `type`. Internal causes are logged with the
//! request id and never sent: a 500's body says only that something failed.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use ips_core::StoreError;
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:ips:problem:";

/// One invalid field of a request body or query.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The problem `type` slug and its human title.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Malformed(_) => ("malformed-request", "The request could not be read"),
            ApiError::Unauthenticated(_) => ("unauthenticated", "Authentication is required"),
            ApiError::InvalidCredentials => {
                ("invalid-credentials", "The credentials are not valid")
            }
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionFailed => ("precondition-failed", "The resource has changed"),
            ApiError::PayloadTooLarge => ("payload-too-large", "The request body is too large"),
            ApiError::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            ApiError::Validation(_) => ("validation", "The request is not valid"),
            ApiError::RateLimited(_) => ("rate-limited", "Too many attempts"),
            ApiError::Unavailable(_) => ("unavailable", "The service is temporarily unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Malformed(why) => why.clone(),
            ApiError::Unauthenticated(why) | ApiError::Forbidden(why) => (*why).to_owned(),
            ApiError::InvalidCredentials => {
                "The e-mail, password, code or token was not accepted.".into()
            }
            ApiError::NotFound => "There is no such resource.".into(),
            ApiError::MethodNotAllowed => "This resource does not support that method.".into(),
            ApiError::Conflict(why) => why.clone(),
            ApiError::PreconditionFailed => {
                "The resource was changed by someone else; fetch it again and retry.".into()
            }
            ApiError::PayloadTooLarge => "The request body exceeds the size limit.".into(),
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::Validation(errors) => format!("{} field(s) are not valid.", errors.len()),
            ApiError::RateLimited(seconds) => {
                format!("Too many failed attempts; try again in {seconds} seconds.")
            }
            ApiError::Unavailable(_) => "The database cannot be reached; try again shortly.".into(),
            ApiError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Unavailable(why) => ApiError::Unavailable(why),
            StoreError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    errors: Option<Vec<FieldError>>,
) -> HttpResponse {
    let problem = Problem {
        kind: format!("{TYPE_PREFIX}{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        errors,
    };
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(problem.body())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            _ => {}
        }
        let (slug, title) = self.kind();
        let errors = match self {
            ApiError::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        let mut response = problem_response(self.status_code(), slug, title, self.detail(), errors);
        let headers = response.headers_mut();
        match self {
            ApiError::RateLimited(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Unauthenticated(_) | ApiError::InvalidCredentials => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ips\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// Middleware hook: any error response that is not already problem+json (actix's own 404,
/// 405, payload and extractor errors) is rewritten as one, keeping its status and headers.
pub fn rewrite_plain_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(CONTENT_TYPE));
    if already {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (slug, title, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", "Not found", "There is no such resource."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "Method not allowed",
            "This resource does not support that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large",
            "The request body is too large",
            "The request body exceeds the size limit.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "Unsupported media type",
            "Send the body as application/json.",
        ),
        s if s.is_server_error() => (
            "internal",
            "Internal error",
            "Something went wrong on our side; it has been logged.",
        ),
        _ => (
            "malformed-request",
            "The request could not be read",
            "The request could not be read.",
        ),
    };
    let (req, old) = res.into_parts();
    let mut new = problem_response(status, slug, title, detail.to_owned(), None);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(req, new).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
