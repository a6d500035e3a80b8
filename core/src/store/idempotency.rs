//! Stored answers to POSTs made with an `Idempotency-Key`, so that a phone retrying on a flaky
//! network gets the first answer again instead of creating a second record.
//!
//! The caller writes the key and the answer in the same transaction as the record it created:
//! either both exist or neither does. Keys are scoped to their caller (participant or staff member).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use sha2::{Digest, Sha256};

use super::sessions::Subject;
use super::StoreError;
use crate::db::DbConnection;
use crate::schema::idempotency_keys;

/// The conflict `save` reports when another request stored the same key first (two retries in
/// flight at once); the caller then reads that request's answer with `find`.
pub const KEY_TAKEN: &str = "idempotency key already stored";

/// How a request is recognised as the same one again: method, path and the SHA-256 of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFingerprint {
    pub method: String,
    pub path: String,
    pub request_hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    pub method: String,
    pub path: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
}

impl StoredResponse {
    /// Whether this answer belongs to the request described by `fingerprint`.
    pub fn answers(&self, fingerprint: &RequestFingerprint) -> bool {
        self.method == fingerprint.method
            && self.path == fingerprint.path
            && self.request_hash == fingerprint.request_hash
    }
}

/// SHA-256 of a request body, in hex.
pub fn request_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn subject_parts(subject: Subject) -> (&'static str, i64) {
    match subject {
        Subject::Participant(id) => ("participant", id),
        Subject::Staff(id) => ("staff", id),
    }
}

pub fn find(
    conn: &mut DbConnection,
    subject: Subject,
    key: &str,
) -> Result<Option<StoredResponse>, StoreError> {
    let (kind, id) = subject_parts(subject);
    Ok(idempotency_keys::table
        .filter(idempotency_keys::subject_kind.eq(kind))
        .filter(idempotency_keys::subject_id.eq(id))
        .filter(idempotency_keys::key.eq(key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()?)
}

/// Stores the answer given to the first request with this key. A key already stored is
/// `Conflict(KEY_TAKEN)`; on PostgreSQL that also ends the transaction, so the caller must retry
/// outside it.
pub fn save(
    conn: &mut DbConnection,
    subject: Subject,
    key: &str,
    fingerprint: &RequestFingerprint,
    response_status: i32,
    response_body: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let (kind, id) = subject_parts(subject);
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::subject_kind.eq(kind),
            idempotency_keys::subject_id.eq(id),
            idempotency_keys::key.eq(key),
            idempotency_keys::method.eq(&fingerprint.method),
            idempotency_keys::path.eq(&fingerprint.path),
            idempotency_keys::request_hash.eq(&fingerprint.request_hash),
            idempotency_keys::response_status.eq(response_status),
            idempotency_keys::response_body.eq(response_body),
            idempotency_keys::created_at.eq(at),
        ))
        .execute(conn)
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict(KEY_TAKEN.into())
            }
            other => other.into(),
        })?;
    Ok(())
}

pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn)?,
    )
}
