//! The alert scan at scale: seeds 100,000 and then 1,000,000 participants, each with a follow-up
//! plan, with the same 1,000 plans due each time, and prints how long a scan that raises their
//! alerts takes and how long an idle scan (nothing due) takes. A scan should cost what is due, not
//! the size of the caseload table: the two sizes should give about the same figures.
//!
//!   cargo bench --bench alert_scan                    # SQLite in a temp directory
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench alert_scan
//!   (IPS_BENCH_DATABASE_URL is read too)
//!   BENCH_PARTICIPANTS=100000,1000000 BENCH_DUE=1000 cargo bench --bench alert_scan
//!
//! Rows are seeded in bulk SQL (generate_series on PostgreSQL, a recursive CTE on SQLite); the
//! scan is the worker's own (`ips_worker::scans`). On PostgreSQL a fresh database is created next to
//! the one named and dropped afterwards. It prints figures and asserts nothing about them.

#[path = "support/scratch.rs"]
mod scratch;

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use ips_core::domain::password;
use ips_core::domain::Role;
use ips_core::store::{now, staff, teams};
use ips_core::{Db, DbConnection, StoreError};
use ips_worker::scans::{AlertScanner, ScanConfig};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<i64> = std::env::var("BENCH_PARTICIPANTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<i64>| !v.is_empty())
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let due: i64 = std::env::var("BENCH_DUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let scratch = scratch::Scratch::create("alerts")?;
    let url = scratch.url.clone();
    let db = Db::connect(&url, 4)?;
    db.migrate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(db.clone(), sizes, due));
    drop(db);
    scratch.finish()?;
    result
}

fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgresql(_))
}

/// A timestamp as an SQL literal both backends compare correctly with stored ones.
fn literal(at: NaiveDateTime) -> String {
    format!("'{}'", at.format("%Y-%m-%d %H:%M:%S%.6f"))
}

/// `at` plus `seconds` (an SQL expression), per backend.
fn plus_seconds(postgres: bool, at: NaiveDateTime, seconds: &str) -> String {
    if postgres {
        format!(
            "(TIMESTAMP {} + ({seconds}) * INTERVAL '1 second')",
            literal(at)
        )
    } else {
        format!(
            "strftime('%Y-%m-%d %H:%M:%f', {}, '+' || ({seconds}) || ' seconds')",
            literal(at)
        )
    }
}

/// The integers `from..=to` as a row source `g`.
fn series(postgres: bool, from: i64, to: i64) -> String {
    if postgres {
        format!("generate_series({from}, {to}) AS seq(g)")
    } else {
        format!(
            "(WITH RECURSIVE s(g) AS (SELECT {from} UNION ALL SELECT g + 1 FROM s WHERE g < {to}) SELECT g FROM s) AS seq"
        )
    }
}

fn count(conn: &mut DbConnection, sql: &str) -> Result<i64, StoreError> {
    let rows: Vec<Count> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.first().map(|c| c.n).unwrap_or(0))
}

/// Adds participants `from..=to`, each with a plan whose next check lies up to a week ahead and an
/// employer watch up to a month ahead: every one in the scan's indexes, none due.
fn seed(
    conn: &mut DbConnection,
    team: i64,
    specialist: i64,
    from: i64,
    to: i64,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let pg = is_postgres(conn);
    let stamp = literal(at);
    let before = count(conn, "SELECT COALESCE(MAX(id), 0) AS n FROM participants")?;
    diesel::sql_query(format!(
        "INSERT INTO participants (team_id, specialist_id, display_name, preferred_language, time_zone, status, \
         enrolled_at, created_by, updated_at) \
         SELECT {team}, {specialist}, 'Participant ' || g, 'nb', 'Europe/Oslo', 'job_seeking', {stamp}, {specialist}, {stamp} \
         FROM {}",
        series(pg, from, to)
    ))
    .execute(conn)?;
    let week = 7 * 24 * 3600;
    let month = 30 * 24 * 3600;
    diesel::sql_query(format!(
        "INSERT INTO follow_up_plans (participant_id, phase, cadence_days, due_at, follow_up_check_at, \
         follow_up_check_stage, employer_check_at, version, updated_at, updated_by_kind, started_at) \
         SELECT id, 'job_search', 7, {}, {}, 'due', {}, 1, {stamp}, 'system', {stamp} \
         FROM participants WHERE id > {before}",
        plus_seconds(pg, at, &format!("86400 + 60 + id % {week}")),
        plus_seconds(pg, at, &format!("60 + id % {week}")),
        plus_seconds(pg, at, &format!("60 + id % {month}")),
    ))
    .execute(conn)?;
    diesel::sql_query("ANALYZE").execute(conn)?;
    Ok(())
}

/// Makes `due` plans, spread over the whole table, fall due: their lead time began a minute ago.
fn make_due(
    conn: &mut DbConnection,
    total: i64,
    due: i64,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    let step = (total / due).max(1);
    Ok(diesel::sql_query(format!(
        "UPDATE follow_up_plans SET due_at = {}, follow_up_check_at = {}, follow_up_check_stage = 'due' \
         WHERE participant_id IN (SELECT id FROM participants WHERE id % {step} = 0 ORDER BY id LIMIT {due})",
        literal(at + Duration::hours(20)),
        literal(at - Duration::minutes(1)),
    ))
    .execute(conn)? as i64)
}

/// What the planner does with the follow-up scan's query (the same condition and order).
fn plan(conn: &mut DbConnection, at: NaiveDateTime) -> Result<String, StoreError> {
    let query = format!(
        "SELECT participant_id FROM follow_up_plans WHERE follow_up_check_at IS NOT NULL \
         AND follow_up_check_at <= {} ORDER BY follow_up_check_at LIMIT 500",
        literal(at)
    );
    let lines: Vec<String> = if is_postgres(conn) {
        diesel::sql_query(format!("EXPLAIN {query}"))
            .load::<PgPlanLine>(conn)?
            .into_iter()
            .map(|l| l.plan)
            .collect()
    } else {
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load::<SqlitePlanLine>(conn)?
            .into_iter()
            .map(|l| l.detail)
            .collect()
    };
    Ok(lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" / "))
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

async fn run(db: Db, sizes: Vec<i64>, due: i64) -> anyhow::Result<()> {
    let backend = format!("{:?}", db.backend());
    let (team, specialist) = db
        .write(|conn| {
            let at = now();
            let team = teams::create(
                conn,
                teams::NewTeam {
                    name: "Bench".into(),
                    phone: None,
                    email: None,
                    created_at: at,
                    updated_at: at,
                },
            )?;
            let specialist = staff::create(
                conn,
                staff::NewStaff {
                    email: "bench@example.no".into(),
                    name: "Bench".into(),
                    role: Role::Specialist.as_str().into(),
                    team_id: Some(team.id),
                    phone: None,
                    working_hours: None,
                    password_hash: password::hash("a bench password")
                        .map_err(StoreError::Internal)?,
                    active: true,
                    created_at: at,
                    updated_at: at,
                },
            )?;
            Ok((team.id, specialist.id))
        })
        .await?;
    let scanner = AlertScanner::new(db.clone(), ScanConfig::default());
    let budget = StdDuration::from_secs(3600);
    let mut seeded = 0;
    for size in sizes {
        if size <= seeded {
            continue;
        }
        let started = Instant::now();
        let (from, to, at) = (seeded + 1, size, now());
        db.write(move |conn| seed(conn, team, specialist, from, to, at))
            .await?;
        seeded = size;
        let marked = db.write(move |conn| make_due(conn, size, due, at)).await?;
        let (plans, query_plan) = db
            .run(move |conn| {
                Ok((
                    count(conn, "SELECT COUNT(*) AS n FROM follow_up_plans")?,
                    plan(conn, at)?,
                ))
            })
            .await?;
        println!(
            "backend {backend}: {plans} participants with a plan, {marked} due, seeded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        println!("backend {backend}: the follow-up scan's query plan: {query_plan}");

        let started = Instant::now();
        let report = scanner.tick(budget).await?;
        let raising = started.elapsed();
        let started = Instant::now();
        let idle = scanner.tick(budget).await?;
        let idle_time = started.elapsed();
        println!(
            "backend {backend}: {plans} participants: scan raising {} alerts ({} batches) {:.1} ms = {:.2} ms per alert; idle scan ({} raised) {:.2} ms",
            report.raised(),
            report.batches,
            raising.as_secs_f64() * 1000.0,
            raising.as_secs_f64() * 1000.0 / report.raised().max(1) as f64,
            idle.raised(),
            idle_time.as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}
