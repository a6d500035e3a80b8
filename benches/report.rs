//! Team reports (and the caseload view) among many participants: seeds N participants (default
//! 100,000) with three years of status history, jobs, contacts, benefits requests, plans and alerts,
//! then times a team's report for a quarter and for a year, for a typical team of 200 and for one
//! large team of 10,000, and a supervisor's and a specialist's caseload view.
//!
//!   cargo bench --bench report                      # SQLite in a temp directory
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench report
//!   BENCH_PARTICIPANTS=20000 cargo bench --bench report
//!
//! On PostgreSQL a fresh database is created next to the one named and dropped afterwards
//! (`BENCH_KEEP=1` keeps it, and says its name, for looking at query plans). The
//! seed is plain multi-row INSERTs with literal values (the same text on both backends), then
//! ANALYZE, as a live database's statistics would be. It prints figures and asserts nothing.

#[path = "support/scratch.rs"]
mod scratch;

use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::RunQueryDsl;
use ips_core::domain::reports::Period;
use ips_core::store::caseload::{self, StatusFilter};
use ips_core::store::participants::Caseload;
use ips_core::store::{now, reports};
use ips_core::{Db, DbConnection, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TYPICAL_TEAM: i64 = 200;
const LARGE_TEAM: i64 = 10_000;
const PARTICIPANTS_PER_SPECIALIST: i64 = 20;

fn main() -> anyhow::Result<()> {
    let total: i64 = std::env::var("BENCH_PARTICIPANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scratch = scratch::Scratch::create("report")?;
    let url = scratch.url.clone();
    let db = Db::connect(&url, 4)?;
    db.migrate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(db.clone(), total));
    drop(db);
    scratch.finish()?;
    result
}

fn ts(at: NaiveDateTime) -> String {
    format!("'{}'", at.format("%Y-%m-%d %H:%M:%S"))
}

fn day(at: NaiveDate) -> String {
    format!("'{at}'")
}

/// Rows waiting to be inserted, written out in statements of 1,000.
struct Batch {
    head: &'static str,
    rows: Vec<String>,
}

impl Batch {
    fn new(head: &'static str) -> Self {
        Batch {
            head,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: String) {
        self.rows.push(row);
    }

    fn write(self, conn: &mut DbConnection) -> Result<usize, StoreError> {
        for chunk in self.rows.chunks(1000) {
            let sql = format!("INSERT INTO {} VALUES {}", self.head, chunk.join(","));
            diesel::sql_query(sql).execute(conn)?;
        }
        Ok(self.rows.len())
    }
}

/// Who the seed made, for the timings.
struct World {
    typical_team: i64,
    large_team: i64,
    typical_specialist: i64,
    rows: usize,
}

fn seed(conn: &mut DbConnection, total: i64) -> Result<World, StoreError> {
    let mut rng = StdRng::seed_from_u64(20_251_123);
    let first_day = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default();
    let seeded_at = now();
    let mut teams = Batch::new("teams (id, name, created_at, updated_at)");
    let mut staff = Batch::new(
        "staff (id, email, name, role, team_id, password_hash, active, created_at, updated_at)",
    );
    let mut people = Batch::new(
        "participants (id, team_id, specialist_id, display_name, preferred_language, time_zone, birth_year, \
         status, enrolled_at, created_by, updated_at, closed_reason)",
    );
    let mut history = Batch::new(
        "status_changes (participant_id, from_status, to_status, closed_reason, changed_at, changed_by_kind, changed_by_id)",
    );
    let mut plans = Batch::new(
        "follow_up_plans (participant_id, phase, cadence_days, last_contact_at, due_at, version, updated_at, updated_by_kind)",
    );
    let mut jobs = Batch::new(
        "jobs (participant_id, employer, role_title, hours_per_week, competitive, start_date, end_date, end_reason, \
         recorded_by_kind, recorded_by_id, created_at, updated_at)",
    );
    let mut contacts = Batch::new(
        "contacts (staff_id, team_id, participant_id, party, channel, reached, employer, contacted_at, created_at)",
    );
    let mut requests = Batch::new(
        "contact_requests (participant_id, kind, status, created_at, handled_at, handled_by_staff_id)",
    );
    let mut alerts = Batch::new(
        "alerts (participant_id, staff_id, kind, dedupe_key, cause_at, status, raised_at, updated_at)",
    );

    // Teams: one large team, then typical ones until the participants run out.
    let mut sizes = vec![LARGE_TEAM.min(total)];
    let mut left = total - sizes[0];
    while left > 0 {
        sizes.push(TYPICAL_TEAM.min(left));
        left -= TYPICAL_TEAM;
    }
    let (mut participant_id, mut staff_id) = (0i64, 0i64);
    let mut typical_specialist = 0;
    for (t, size) in sizes.iter().enumerate() {
        let team = t as i64 + 1;
        teams.push(format!(
            "({team}, 'Team {team}', {}, {})",
            ts(seeded_at),
            ts(seeded_at)
        ));
        let specialists: Vec<i64> = (0..(size / PARTICIPANTS_PER_SPECIALIST).max(1))
            .map(|_| {
                staff_id += 1;
                staff.push(format!(
                    "({staff_id}, 's{staff_id}@bench.no', 'Specialist {staff_id}', 'specialist', {team}, 'not-a-hash', TRUE, {}, {})",
                    ts(seeded_at),
                    ts(seeded_at)
                ));
                staff_id
            })
            .collect();
        if team == 2 {
            typical_specialist = specialists[0];
        }
        // Job development: about one face-to-face employer meeting per specialist per week.
        for s in &specialists {
            for _ in 0..150 {
                let at = first_day.and_hms_opt(9, 0, 0).unwrap_or_default()
                    + Duration::minutes(rng.gen_range(0..(3 * 365 * 24 * 60)));
                contacts.push(format!(
                    "({s}, {team}, NULL, 'employer', 'meeting', {}, 'Employer AS', {}, {})",
                    if rng.gen_bool(0.9) { "TRUE" } else { "FALSE" },
                    ts(at),
                    ts(at)
                ));
            }
        }
        for _ in 0..*size {
            participant_id += 1;
            let p = participant_id;
            let specialist = specialists[rng.gen_range(0..specialists.len())];
            let enrolled = first_day.and_hms_opt(8, 0, 0).unwrap_or_default()
                + Duration::minutes(rng.gen_range(0..(3 * 365 * 24 * 60)));
            let born = if rng.gen_bool(0.9) {
                rng.gen_range(1965..2009).to_string()
            } else {
                "NULL".into()
            };
            history.push(format!(
                "({p}, NULL, 'job_seeking', NULL, {}, 'staff', {specialist})",
                ts(enrolled)
            ));
            let mut status = "job_seeking";
            let mut closed_reason = "NULL".to_owned();
            let mut last = enrolled;
            // Half find a job, on average three months in; a third of those lose it again.
            if rng.gen_bool(0.5) {
                let start = enrolled + Duration::days(rng.gen_range(10..200));
                let ends = rng.gen_bool(0.33);
                let end = start + Duration::days(rng.gen_range(5..300));
                if start < seeded_at {
                    jobs.push(format!(
                        "({p}, 'Employer AS', 'Role', 20, {}, {}, {}, {}, 'staff', {specialist}, {}, {})",
                        if rng.gen_bool(0.9) { "TRUE" } else { "FALSE" },
                        day(start.date()),
                        if ends && end < seeded_at { day(end.date()) } else { "NULL".into() },
                        if ends && end < seeded_at { "'quit'" } else { "NULL" },
                        ts(start),
                        ts(start)
                    ));
                    history.push(format!(
                        "({p}, 'job_seeking', 'in_work', NULL, {}, 'staff', {specialist})",
                        ts(start)
                    ));
                    status = "in_work";
                    last = start;
                    if ends && end < seeded_at {
                        history.push(format!(
                            "({p}, 'in_work', 'job_seeking', NULL, {}, 'staff', {specialist})",
                            ts(end)
                        ));
                        status = "job_seeking";
                        last = end;
                    }
                }
            }
            // A fifth are closed, some time after their last change.
            if rng.gen_bool(0.2) {
                let at = last + Duration::days(rng.gen_range(1..120));
                if at < seeded_at {
                    let reason = [
                        "work",
                        "education",
                        "withdrew",
                        "moved",
                        "lost_contact",
                        "other",
                    ][rng.gen_range(0..6)];
                    history.push(format!(
                        "({p}, '{status}', 'closed', '{reason}', {}, 'staff', {specialist})",
                        ts(at)
                    ));
                    status = "closed";
                    closed_reason = format!("'{reason}'");
                }
            }
            people.push(format!(
                "({p}, {team}, {specialist}, 'Participant {p}', 'nb', 'Europe/Oslo', {born}, '{status}', {}, {specialist}, {}, {closed_reason})",
                ts(enrolled),
                ts(enrolled)
            ));
            // Follow-up contacts, a few employer contacts about them, now and then a benefits request.
            let mut latest = None;
            for _ in 0..rng.gen_range(2..8) {
                let at = enrolled + Duration::minutes(rng.gen_range(0..(365 * 24 * 60)));
                if at >= seeded_at {
                    continue;
                }
                let reached = rng.gen_bool(0.85);
                if reached {
                    latest = latest.max(Some(at));
                }
                contacts.push(format!(
                    "({specialist}, {team}, {p}, 'participant', 'phone', {}, NULL, {}, {})",
                    if reached { "TRUE" } else { "FALSE" },
                    ts(at),
                    ts(at)
                ));
            }
            for _ in 0..rng.gen_range(0..3) {
                let at = enrolled + Duration::minutes(rng.gen_range(0..(90 * 24 * 60)));
                if at < seeded_at {
                    contacts.push(format!(
                        "({specialist}, {team}, {p}, 'employer', '{}', TRUE, 'Employer AS', {}, {})",
                        if rng.gen_bool(0.6) { "meeting" } else { "phone" },
                        ts(at),
                        ts(at)
                    ));
                }
            }
            if rng.gen_bool(0.15) {
                let at = enrolled + Duration::days(rng.gen_range(1..60));
                if at < seeded_at {
                    requests.push(format!(
                        "({p}, 'benefits_counselling', 'handled', {}, {}, {specialist})",
                        ts(at),
                        ts(at + Duration::days(2))
                    ));
                }
            }
            if status != "closed" {
                let base = latest.unwrap_or(enrolled);
                plans.push(format!(
                    "({p}, 'job_search', 7, {}, {}, 1, {}, 'system')",
                    latest.map_or("NULL".into(), ts),
                    ts(base + Duration::days(7)),
                    ts(seeded_at)
                ));
                if rng.gen_bool(0.05) {
                    alerts.push(format!(
                        "({p}, {specialist}, 'follow_up_overdue', 'bench:{p}', {}, 'open', {}, {})",
                        ts(base),
                        ts(base),
                        ts(base)
                    ));
                }
            }
        }
    }
    let mut rows = 0;
    for batch in [
        teams, staff, people, history, plans, jobs, contacts, requests, alerts,
    ] {
        rows += batch.write(conn)?;
    }
    diesel::sql_query("ANALYZE").execute(conn)?;
    Ok(World {
        typical_team: 2.min(sizes.len() as i64),
        large_team: 1,
        typical_specialist,
        rows,
    })
}

/// Runs `f` five times and returns the fastest and the median, in milliseconds.
async fn time<T: Send + 'static>(
    db: &Db,
    f: impl Fn(&mut DbConnection) -> Result<T, StoreError> + Send + Sync + Clone + 'static,
) -> anyhow::Result<(f64, f64)> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let f = f.clone();
        let started = Instant::now();
        db.run(move |conn| f(conn)).await?;
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    runs.sort_by(f64::total_cmp);
    Ok((runs[0], runs[runs.len() / 2]))
}

async fn run(db: Db, total: i64) -> anyhow::Result<()> {
    let backend = format!("{:?}", db.backend());
    let started = Instant::now();
    let world = db
        .run(move |conn| ips_core::db::write_transaction(conn, |conn| seed(conn, total)))
        .await?;
    println!(
        "backend {backend}: seeded {total} participants ({} rows in all) in {:.1} s",
        world.rows,
        started.elapsed().as_secs_f64()
    );
    let zone = chrono_tz::Europe::Oslo;
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let quarter = Period::new(date(2025, 1, 1), date(2025, 3, 31), zone)
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let year = Period::new(date(2025, 1, 1), date(2025, 12, 31), zone)
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    for (label, team, size) in [
        ("a team of 200", world.typical_team, TYPICAL_TEAM),
        ("the team of 10,000", world.large_team, LARGE_TEAM),
    ] {
        for (span, period) in [("quarter", quarter), ("year", year)] {
            let (best, median) = time(&db, move |conn| {
                reports::team_report(conn, team, &period, now())
            })
            .await?;
            println!(
                "backend {backend}: report for {label} ({size} participants), one {span}: best {best:.1} ms, median {median:.1} ms"
            );
        }
    }
    let view = |caseload: Caseload| caseload::Query {
        caseload,
        specialist_id: None,
        status: StatusFilter::Open,
        phase: None,
        has_open_alerts: None,
        overdue: None,
        limit: 500,
    };
    for (label, query) in [
        (
            "a supervisor's caseload view (team of 200)",
            view(Caseload::OfTeam(world.typical_team)),
        ),
        (
            "a specialist's caseload view",
            view(Caseload::OfSpecialist(world.typical_specialist)),
        ),
        (
            "a supervisor's caseload view (team of 10,000, first 500)",
            view(Caseload::OfTeam(world.large_team)),
        ),
    ] {
        let (best, median) = time(&db, move |conn| caseload::view(conn, &query, now())).await?;
        println!("backend {backend}: {label}: best {best:.1} ms, median {median:.1} ms");
    }
    Ok(())
}
