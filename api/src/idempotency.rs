//! `Idempotency-Key` on POSTs that a phone may retry on a flaky network.
//!
//! The first request with a key creates its record and stores its answer in the same transaction;
//! a retry with the same key and the same body gets that answer again (same status and body, with
//! `Idempotent-Replayed: true`) and creates nothing. The same key with another body, method or path is
//! a client bug and is refused (422 naming `Idempotency-Key`). The header is optional.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use ips_core::store::idempotency::{self, RequestFingerprint, StoredResponse, KEY_TAKEN};
use ips_core::store::now;
use ips_core::store::sessions::Subject;
use ips_core::{Db, DbConnection, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use validator::Validate;

use crate::input::{decode, read_json_bytes};
use crate::problem::ApiError;

pub const HEADER: &str = "Idempotency-Key";
/// `Idempotent-Replayed` (header names are lower case on the wire in HTTP/2, and actix wants them so).
const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LENGTH: usize = 255;

/// A request's idempotency key and what identifies the request it was first sent with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: RequestFingerprint,
}

/// A validated JSON body and the request's `Idempotency-Key`, if it sent one.
pub struct Idempotent<T> {
    pub body: T,
    pub key: Option<IdempotencyKey>,
}

/// The header's value: 1 to 255 printable ASCII characters, sent at most once.
fn key_from_headers(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid(HEADER, "must be sent once"));
    }
    let key = value.to_str().unwrap_or_default();
    let printable = key.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if key.is_empty() || key.len() > MAX_KEY_LENGTH || !printable {
        return Err(ApiError::invalid(
            HEADER,
            "must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

impl<T> FromRequest for Idempotent<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = key_from_headers(req);
        let method = req.method().as_str().to_owned();
        let path = req.path().to_owned();
        let bytes = read_json_bytes(req, payload);
        Box::pin(async move {
            let key = key?;
            let bytes = bytes.await?;
            let body = decode::<T>(&bytes)?;
            let key = key.map(|key| IdempotencyKey {
                key,
                fingerprint: RequestFingerprint {
                    method,
                    path,
                    request_hash: idempotency::request_hash(&bytes),
                },
            });
            Ok(Idempotent { body, key })
        })
    }
}

enum Outcome {
    Created(String),
    Stored(StoredResponse),
}

/// What [`run_once`] did: created the record (its view as JSON), or found the answer stored for
/// an earlier request with the same key.
pub enum Once {
    Created(StatusCode, String),
    Replayed(StatusCode, String),
}

impl Once {
    /// The JSON body, fresh or replayed.
    pub fn body(&self) -> &str {
        match self {
            Once::Created(_, body) | Once::Replayed(_, body) => body,
        }
    }

    /// The answer: 201 with the new record (or the status asked of [`run_once_as`]), or the stored
    /// answer marked `Idempotent-Replayed`.
    pub fn respond(self) -> HttpResponse {
        match self {
            Once::Created(status, body) => json_response(status, body),
            Once::Replayed(status, body) => {
                let mut response = json_response(status, body);
                response.headers_mut().insert(
                    header::HeaderName::from_static(REPLAYED_HEADER),
                    header::HeaderValue::from_static("true"),
                );
                response
            }
        }
    }
}

/// Runs `create` (which writes the record and returns its view) at most once per key: answers 201
/// with the view, or replays the answer stored for an earlier request with the same key.
/// `subject` is the caller; keys of different callers never meet.
pub async fn create_once<V, F>(
    db: &Db,
    subject: Subject,
    key: Option<IdempotencyKey>,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    V: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<Result<V, ApiError>, StoreError> + Send + 'static,
{
    run_once(db, subject, key, create).await.map(Once::respond)
}

/// [`create_once`] for handlers that add headers of their own to the answer.
pub async fn run_once<V, F>(
    db: &Db,
    subject: Subject,
    key: Option<IdempotencyKey>,
    create: F,
) -> Result<Once, ApiError>
where
    V: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<Result<V, ApiError>, StoreError> + Send + 'static,
{
    run_once_as(db, subject, key, StatusCode::CREATED, create).await
}

/// [`run_once`] for a `create` whose writes are all one statement on PostgreSQL (its other
/// statements only read): without a key there is nothing to store with it, so it runs without a
/// transaction around it there ([`Db::write_atomic`]), two round trips fewer. With a key, the
/// stored answer must commit with the record, so it runs in a transaction as [`run_once`] does.
pub async fn run_once_atomic<V, F>(
    db: &Db,
    subject: Subject,
    key: Option<IdempotencyKey>,
    create: F,
) -> Result<Once, ApiError>
where
    V: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<Result<V, ApiError>, StoreError> + Send + 'static,
{
    if key.is_some() {
        return run_once(db, subject, key, create).await;
    }
    let created = db
        .write_atomic(move |conn| {
            Ok(match create(conn)? {
                Ok(view) => Ok(body_of(&view)?),
                Err(refused) => Err(refused),
            })
        })
        .await?;
    Ok(Once::Created(StatusCode::CREATED, created?))
}

/// [`run_once`] for a POST that changes a record rather than creating one: the first answer is
/// `status` (say 200), and a retry replays it.
pub async fn run_once_as<V, F>(
    db: &Db,
    subject: Subject,
    key: Option<IdempotencyKey>,
    status: StatusCode,
    create: F,
) -> Result<Once, ApiError>
where
    V: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<Result<V, ApiError>, StoreError> + Send + 'static,
{
    let in_transaction = key.clone();
    let result = db
        .write(move |conn| {
            if let Some(k) = &in_transaction {
                if let Some(stored) = idempotency::find(conn, subject, &k.key)? {
                    return Ok(Ok(Outcome::Stored(stored)));
                }
            }
            let view = match create(conn)? {
                Ok(view) => view,
                Err(refused) => return Ok(Err(refused)),
            };
            let body = body_of(&view)?;
            if let Some(k) = &in_transaction {
                idempotency::save(
                    conn,
                    subject,
                    &k.key,
                    &k.fingerprint,
                    i32::from(status.as_u16()),
                    &body,
                    now(),
                )?;
            }
            Ok(Ok(Outcome::Created(body)))
        })
        .await;
    let outcome = match (result, &key) {
        (Ok(outcome), _) => outcome?,
        // Two requests with one key at once: the other committed first (and this one's record was
        // rolled back with its transaction), so answer with what the other stored.
        (Err(StoreError::Conflict(what)), Some(k)) if what == KEY_TAKEN => {
            let name = k.key.clone();
            let stored = db
                .run(move |conn| idempotency::find(conn, subject, &name))
                .await?
                .ok_or_else(|| ApiError::Conflict("the request is already in progress".into()))?;
            Outcome::Stored(stored)
        }
        (Err(e), _) => return Err(e.into()),
    };
    match outcome {
        Outcome::Created(body) => Ok(Once::Created(status, body)),
        Outcome::Stored(stored) => {
            let same = key.as_ref().is_some_and(|k| stored.answers(&k.fingerprint));
            if !same {
                return Err(ApiError::invalid(
                    HEADER,
                    "was already used for a different request",
                ));
            }
            let status = u16::try_from(stored.response_status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!(
                        "stored idempotent response has status {}",
                        stored.response_status
                    ))
                })?;
            Ok(Once::Replayed(status, stored.response_body))
        }
    }
}

/// The answer's JSON body, as stored for a retry.
fn body_of<V: Serialize>(view: &V) -> Result<String, StoreError> {
    serde_json::to_string(view).map_err(|e| StoreError::Internal(anyhow::Error::new(e)))
}

fn json_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn key_of(value: &str) -> Result<Option<String>, ApiError> {
        key_from_headers(
            &TestRequest::default()
                .insert_header((HEADER, value))
                .to_http_request(),
        )
    }

    #[test]
    fn keys_are_short_printable_ascii() {
        assert_eq!(key_of("a").ok().flatten().as_deref(), Some("a"));
        assert!(key_of(&"k".repeat(255)).is_ok());
        assert!(key_of(&"k".repeat(256)).is_err());
        assert!(key_of("").is_err());
        assert!(key_of("tab\there").is_err());
        assert!(matches!(
            key_from_headers(&TestRequest::default().to_http_request()),
            Ok(None)
        ));
    }
}
