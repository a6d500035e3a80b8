//! Dispatch throughput: seeds N due notifications (default 100,000) for enrolled participants
//! with one device each, drains them with the real dispatcher through a no-op transport, and
//! prints notifications per second and the p50/p99 lateness (sent minus due).
//!
//!   cargo bench --bench dispatch                      # SQLite in a temp directory
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench dispatch
//!   BENCH_NOTIFICATIONS=20000 cargo bench --bench dispatch
//!   BENCH_WORKERS=4 cargo bench --bench dispatch      # four dispatchers sharing the queue
//!
//! On PostgreSQL a fresh database is created next to the one named and dropped afterwards.
//! It prints figures and asserts nothing about them.

#[path = "support/scratch.rs"]
mod scratch;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use diesel::sql_types::{BigInt, Double};
use diesel::{QueryableByName, RunQueryDsl};
use ips_core::domain::password;
use ips_core::domain::{Platform, Role};
use ips_core::store::devices::{self, Registration};
use ips_core::store::participants::{self, NewParticipant};
use ips_core::store::sessions::{self, Lifetimes, Subject};
use ips_core::store::{now, staff, teams};
use ips_core::Db;
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};

/// Accepts every push at once: the figure is the dispatcher's and the database's, not a provider's.
struct Noop;

#[async_trait::async_trait]
impl Transport for Noop {
    fn name(&self) -> &'static str {
        "fcm"
    }
    async fn send(&self, _: &Target, _: &PushMessage) -> Outcome {
        Outcome::Delivered { provider_id: None }
    }
}

#[derive(QueryableByName)]
struct Lateness {
    #[diesel(sql_type = Double)]
    seconds: f64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const PARTICIPANTS: i64 = 100;

fn main() -> anyhow::Result<()> {
    let total: i64 = std::env::var("BENCH_NOTIFICATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scratch = scratch::Scratch::create("dispatch")?;
    let url = scratch.url.clone();
    let db = Db::connect(&url, 16)?;
    db.migrate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(db.clone(), total));
    drop(db);
    scratch.finish()?;
    result
}

async fn run(db: Db, total: i64) -> anyhow::Result<()> {
    let backend = format!("{:?}", db.backend());
    let seeded = Instant::now();
    db.write(move |conn| {
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
                    .map_err(ips_core::StoreError::Internal)?,
                active: true,
                created_at: at,
                updated_at: at,
            },
        )?;
        let lifetimes = Lifetimes {
            access: Duration::minutes(15),
            staff_idle: Duration::days(1),
            participant_idle: Duration::days(1),
        };
        for i in 0..PARTICIPANTS {
            let p = participants::create(
                conn,
                NewParticipant {
                    team_id: team.id,
                    specialist_id: specialist.id,
                    display_name: format!("P{i}"),
                    preferred_language: "nb".into(),
                    time_zone: "Europe/Oslo".into(),
                    birth_year: None,
                    status: "job_seeking".into(),
                    enrolled_at: at,
                    created_by: specialist.id,
                    updated_at: at,
                },
            )?;
            let session = sessions::create(conn, Subject::Participant(p.id), None, &lifetimes, at)?;
            devices::register(
                conn,
                Subject::Participant(p.id),
                session.session_id,
                Registration {
                    platform: Platform::Fcm,
                    token: format!("bench-token-{i}"),
                    app_version: "1".into(),
                    locale: "nb".into(),
                },
                at,
            )?;
        }
        Ok(())
    })
    .await?;
    let seed_sql = |backend: &str| {
        let series = if backend == "Postgres" {
            format!("SELECT g FROM generate_series(1, {total}) g")
        } else {
            format!("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {total}) SELECT g FROM s")
        };
        format!(
            "INSERT INTO notifications (recipient_kind, recipient_id, kind, dedupe_key, payload, due_at, status, attempts, \
             next_attempt_at, created_at, updated_at) \
             SELECT 'participant', 1 + (g % {PARTICIPANTS}), 'announcement', 'bench:' || g, '{{}}', ?, 'pending', 0, ?, ?, ? FROM ({series}) AS seq"
        )
    };
    let sql = seed_sql(&backend);
    db.write(move |conn| {
        let at = now();
        let sql = if matches!(conn, ips_core::DbConnection::Postgresql(_)) {
            let mut n = 0;
            sql.chars().fold(String::new(), |mut out, c| {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
                out
            })
        } else {
            sql
        };
        use diesel::sql_types::Timestamp;
        ips_core::per_backend!(conn, |c| diesel::sql_query(sql.clone())
            .bind::<Timestamp, _>(at)
            .bind::<Timestamp, _>(at)
            .bind::<Timestamp, _>(at)
            .bind::<Timestamp, _>(at)
            .execute(c))?;
        Ok(())
    })
    .await?;
    println!("backend {backend}: seeded {total} due notifications for {PARTICIPANTS} participants in {:.1} s", seeded.elapsed().as_secs_f64());

    // Several dispatchers with their own names share the queue as several `ips work`
    // processes would: they claim disjoint batches (SKIP LOCKED on PostgreSQL).
    let workers: usize = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let config = DispatchConfig {
        batch: 1000,
        concurrency: 64,
        ..DispatchConfig::default()
    };
    let started = Instant::now();
    let mut drains = Vec::with_capacity(workers);
    for n in 0..workers {
        let dispatcher = Dispatcher::new(
            db.clone(),
            format!("bench-{n}"),
            vec![Arc::new(Noop) as Arc<dyn Transport>],
            None,
            config.clone(),
        );
        drains.push(tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let report = dispatcher.tick(StdDuration::from_secs(3600)).await?;
                sent += report.sent;
                if report.claimed == 0 {
                    return Ok::<usize, ips_core::StoreError>(sent);
                }
            }
        }));
    }
    let mut sent = 0;
    for drain in drains {
        sent += drain.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (latenesses, remaining) = db
        .run(|conn| {
            let expr = if matches!(conn, ips_core::DbConnection::Postgresql(_)) {
                "EXTRACT(EPOCH FROM (sent_at - due_at))::float8"
            } else {
                "(julianday(sent_at) - julianday(due_at)) * 86400.0"
            };
            let rows: Vec<Lateness> = diesel::sql_query(format!(
                "SELECT {expr} AS seconds FROM notifications WHERE status = 'sent' ORDER BY 1"
            ))
            .load(conn)
            .map_err(ips_core::StoreError::from)?;
            let left: Vec<Count> =
                diesel::sql_query("SELECT COUNT(*) AS n FROM notifications WHERE status <> 'sent'")
                    .load(conn)
                    .map_err(ips_core::StoreError::from)?;
            Ok((
                rows.into_iter().map(|r| r.seconds).collect::<Vec<_>>(),
                left[0].n,
            ))
        })
        .await?;
    let pct = |p: f64| {
        latenesses
            .get(((latenesses.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "backend {backend}: {workers} dispatcher(s) sent {sent} in {elapsed:.1} s = {:.0} notifications/s (no-op transport); lateness p50 {:.2} s, p99 {:.2} s; {remaining} not sent",
        sent as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
