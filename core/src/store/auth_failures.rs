//! Failed authentication attempts, counted per bucket over a sliding window.
//!
//! Kept in the database, not in process memory, so the limits hold across every API instance.
//! An attempt is counted when it is let through ([`admit`]), before its password or code is
//! checked, under a lock on its buckets: a burst of concurrent attempts, from many connections
//! or many instances, sees every attempt admitted before it, so no more than the limit get past
//! (checking first and counting after the slow password check let a whole burst through).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::StoreError;
use crate::db::DbConnection;
use crate::schema::auth_failures;

/// The first key of the PostgreSQL advisory locks on buckets (the two-key form, whose key space
/// does not overlap the one-key locks migrations take).
const BUCKET_LOCK_CLASS: i32 = 0x1b5c_0a7f;

/// A bucket is a hashed key, so neither e-mail addresses nor client addresses are stored.
pub fn bucket(kind: &str, key: &str) -> String {
    format!(
        "{kind}:{}",
        crate::domain::tokens::hash(&format!("{kind}:{key}"))
    )
}

/// A limit on one bucket: at most `max` failures within the window.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    pub bucket: &'a str,
    pub max: i64,
}

/// An attempt let past the limiter, already counted as a failure in each of its buckets.
#[derive(Debug, Clone)]
#[must_use = "a successful attempt must be forgiven"]
pub struct Admitted {
    buckets: Vec<String>,
    rows: Vec<i64>,
}

/// Lets one attempt through unless a bucket is at its limit, in which case the answer is how long
/// to wait. The attempt counts as a failure from now on; [`forgive`] takes it back when it
/// succeeds. Run inside a write transaction: the buckets stay locked until it ends.
pub fn admit(
    conn: &mut DbConnection,
    limits: &[Limit<'_>],
    window: Duration,
    now: NaiveDateTime,
) -> Result<Result<Admitted, Duration>, StoreError> {
    // A bucket at its limit stays there until its failures age out (only a success lowers it),
    // so a refusal needs no lock: the many attempts of a burst past the limit are refused side
    // by side, and only those that may be admitted queue for the lock.
    if let Some(wait) = over_limit(conn, limits, window, now)? {
        return Ok(Err(wait));
    }
    let mut buckets: Vec<&str> = limits.iter().map(|l| l.bucket).collect();
    lock(conn, &mut buckets)?;
    if let Some(wait) = over_limit(conn, limits, window, now)? {
        return Ok(Err(wait));
    }
    let mut rows = Vec::with_capacity(limits.len());
    for limit in limits {
        let id: i64 = diesel::insert_into(auth_failures::table)
            .values((
                auth_failures::bucket.eq(limit.bucket),
                auth_failures::failed_at.eq(now),
            ))
            .returning(auth_failures::id)
            .get_result(conn)?;
        rows.push(id);
    }
    let buckets = buckets.iter().map(|b| (*b).to_owned()).collect();
    Ok(Ok(Admitted { buckets, rows }))
}

/// The longest wait any of these buckets asks for, if one is at its limit.
fn over_limit(
    conn: &mut DbConnection,
    limits: &[Limit<'_>],
    window: Duration,
    now: NaiveDateTime,
) -> Result<Option<Duration>, StoreError> {
    let mut wait: Option<Duration> = None;
    for limit in limits {
        if let Some(w) = retry_after(conn, limit.bucket, limit.max, window, now)? {
            wait = Some(wait.map_or(w, |v| v.max(w)));
        }
    }
    Ok(wait)
}

/// Takes back the failures an admitted attempt was counted as: it succeeded. With `clear`, one
/// of its buckets, every earlier failure in that bucket is forgiven too (a login forgives the
/// account's, never the client's: an attacker with one valid account must not reset the limit
/// on guessing others). Run inside a write transaction.
pub fn forgive(
    conn: &mut DbConnection,
    attempt: Admitted,
    clear: Option<&str>,
) -> Result<(), StoreError> {
    // Under the buckets' locks, as admissions are: two successes deleting each other's rows in
    // different orders would otherwise deadlock.
    let mut buckets: Vec<&str> = attempt.buckets.iter().map(String::as_str).collect();
    lock(conn, &mut buckets)?;
    diesel::delete(auth_failures::table.filter(auth_failures::id.eq_any(&attempt.rows)))
        .execute(conn)?;
    if let Some(bucket) = clear.filter(|c| buckets.contains(c)) {
        diesel::delete(auth_failures::table.filter(auth_failures::bucket.eq(bucket)))
            .execute(conn)?;
    }
    Ok(())
}

/// Serialises the attempts on these buckets until the transaction ends. PostgreSQL: advisory
/// transaction locks, taken in one order so two attempts never wait on each other crosswise.
/// SQLite: nothing to do, its write transaction already excludes every other writer.
fn lock(conn: &mut DbConnection, buckets: &mut [&str]) -> Result<(), StoreError> {
    let DbConnection::Postgresql(pg) = conn else {
        return Ok(());
    };
    buckets.sort_unstable();
    for bucket in buckets.iter() {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<Integer, _>(BUCKET_LOCK_CLASS)
            .bind::<Text, _>(*bucket)
            .execute(pg)?;
    }
    Ok(())
}

/// When the bucket is over `max` failures in `window`: how long until the oldest one ages out.
fn retry_after(
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

pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(auth_failures::table.filter(auth_failures::failed_at.lt(before)))
            .execute(conn)?,
    )
}
