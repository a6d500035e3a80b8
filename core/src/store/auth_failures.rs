//! Failed authentication attempts, counted per bucket over a sliding window.
//!
//! Kept in the database, not in process memory, so the limits hold across every API instance.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::StoreError;
use crate::db::DbConnection;
use crate::schema::auth_failures;

/// A bucket is a hashed key, so neither e-mail addresses nor client addresses are stored.
pub fn bucket(kind: &str, key: &str) -> String {
    format!(
        "{kind}:{}",
        crate::domain::tokens::hash(&format!("{kind}:{key}"))
    )
}

/// When the bucket is over `max` failures in `window`: how long until the oldest one ages out.
pub fn retry_after(
    conn: &mut DbConnection,
    bucket: &str,
    max: i64,
    window: Duration,
    now: NaiveDateTime,
) -> Result<Option<Duration>, StoreError> {
    let since = now - window;
    let (count, oldest): (i64, Option<NaiveDateTime>) = auth_failures::table
        .filter(auth_failures::bucket.eq(bucket))
        .filter(auth_failures::failed_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(auth_failures::failed_at),
        ))
        .first(conn)?;
    if count < max {
        return Ok(None);
    }
    let wait = oldest.map_or(window, |o| o + window - now);
    Ok(Some(wait.max(Duration::seconds(1))))
}

pub fn record(
    conn: &mut DbConnection,
    buckets: &[&str],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let rows: Vec<_> = buckets
        .iter()
        .map(|b| {
            (
                auth_failures::bucket.eq(*b),
                auth_failures::failed_at.eq(now),
            )
        })
        .collect();
    crate::per_backend!(conn, |c| diesel::insert_into(auth_failures::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// A success forgives the account's earlier failures (not the client's: an attacker with one
/// valid account must not reset the limit on guessing others).
pub fn clear(conn: &mut DbConnection, bucket: &str) -> Result<(), StoreError> {
    diesel::delete(auth_failures::table.filter(auth_failures::bucket.eq(bucket))).execute(conn)?;
    Ok(())
}

pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(auth_failures::table.filter(auth_failures::failed_at.lt(before)))
            .execute(conn)?,
    )
}
