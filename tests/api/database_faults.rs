//! The database connection cut in the middle of a stream of concurrent writes and reads
//! (PostgreSQL, through the test's TCP proxy), then restored.
//!
//! Proves: while the database is unreachable every answer is a 503 Problem with `Retry-After`,
//! never a 500 and never a hung request (the pool's checkout timeout bounds each one); after
//! the restore the app answers 2xx again by itself; and no write is partial. Each request that
//! was answered 2xx left all its rows (an interview, its reminders in the outbox, its audit row
//! and its idempotency record; a message and its audit row; a job-preferences version, its
//! history row and its audit row), and each that was answered 503 left all of them or none,
//! including those in flight at the cut, whose commit may have failed or succeeded unseen.
//! A retry with the same `Idempotency-Key` after the restore gives exactly one record.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use ips_core::Db;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{backend, Reply, TestApp, TestBackend, TestDatabase, World};
use crate::tcp_proxy::Proxy;

/// Concurrent clients writing through the cuts.
const CLIENTS: usize = 8;
/// Short cuts, to catch many requests in flight, some at their COMMIT.
const SHORT_CUTS: usize = 4;
const SHORT_CUT: Duration = Duration::from_millis(300);
/// The long cut: longer than two of the pool's checkout timeouts (3 s), so each client sends a
/// request after the cut that is answered before the restore.
const LONG_CUT: Duration = Duration::from_secs(7);
/// Time for the proxy's aborted links to close: a request sent later finds the database gone.
const SETTLE: Duration = Duration::from_millis(50);
/// No single request may take longer; one that does is hung.
const REQUEST_LIMIT: Duration = Duration::from_secs(15);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Queries the database directly, not through the proxy.
pub(crate) struct Direct(pub(crate) Db);

impl Direct {
    pub(crate) fn count(&self, sql: &str, text: &str) -> i64 {
        let mut conn = self.0.get().unwrap();
        diesel::sql_query(sql)
            .bind::<Text, _>(text)
            .load::<Count>(&mut *conn)
            .unwrap()[0]
            .n
    }

    pub(crate) fn ids(&self, sql: &str, text: &str) -> Vec<i64> {
        let mut conn = self.0.get().unwrap();
        diesel::sql_query(sql)
            .bind::<Text, _>(text)
            .load::<Id>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    pub(crate) fn number(&self, sql: &str) -> i64 {
        let mut conn = self.0.get().unwrap();
        diesel::sql_query(sql).load::<Count>(&mut *conn).unwrap()[0].n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Interview,
    Message,
    Preferences,
    Read,
}

/// One request of the stream and how it was answered.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) kind: Kind,
    /// The Idempotency-Key, also the marker written into the record.
    pub(crate) key: String,
    pub(crate) body: Value,
    pub(crate) sent: Instant,
    pub(crate) answered: Instant,
    pub(crate) status: u16,
}

/// What each kind of request sends, and how the stream is sent.
pub(crate) struct Targets {
    pub(crate) participant: i64,
    pub(crate) specialist: String,
    starts_at: String,
    /// How many clients send the stream (the last one saves job preferences).
    clients: usize,
    /// No single request may take longer; one that does is hung, and fails the test.
    limit: Duration,
}

impl Targets {
    /// A programme with one participant to write about, for `clients` clients whose requests
    /// each answer within `limit`.
    pub(crate) async fn seed(app: &TestApp, clients: usize, limit: Duration) -> Targets {
        let w = World::build(app).await;
        let (participant, _) = app.participant(&w.specialist, "Ola").await;
        // Five days ahead at 10:00 UTC: every default reminder falls in the future, outside
        // quiet hours.
        let starts_at = (Utc::now() + chrono::Duration::days(5))
            .with_hour(10)
            .and_then(|t| t.with_minute(0))
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap()
            .to_rfc3339();
        Targets {
            participant,
            specialist: w.specialist,
            starts_at,
            clients,
            limit,
        }
    }

    /// Records one interview before the stream: how many reminders a whole one has.
    pub(crate) async fn reminders_per_interview(&self, app: &TestApp, direct: &Direct) -> i64 {
        let (first, _) = self.request(app, Kind::Interview, "fault-baseline");
        let baseline = app.run(first).await.ok()["id"].as_i64().unwrap();
        let reminders = direct.number(&REMINDERS_OF.replace("{id}", &baseline.to_string()));
        assert!(reminders >= 1, "the baseline has reminders");
        reminders
    }

    fn request(&self, app: &TestApp, kind: Kind, key: &str) -> (reqwest::RequestBuilder, Value) {
        let base = format!("{}/v1/participants/{}", app.address, self.participant);
        let (method, url, body) = match kind {
            Kind::Interview => (
                Method::POST,
                format!("{base}/interviews"),
                json!({ "employer": key, "role_title": "Lagermedarbeider", "starts_at": self.starts_at }),
            ),
            Kind::Message => (
                Method::POST,
                format!("{base}/messages"),
                json!({ "body": key }),
            ),
            Kind::Preferences => (
                Method::PUT,
                format!("{base}/job-preferences"),
                json!({
                    "goal": "work", "desired_roles": [], "industries": [], "interests": [],
                    "skills": [], "experience": null, "hours_per_week_min": null,
                    "hours_per_week_max": null, "preferred_times": [], "locations": [],
                    "max_commute_minutes": null, "avoid": [], "disclosure": null,
                    "disclosure_notes": null, "notes": key
                }),
            ),
            Kind::Read => (Method::GET, format!("{base}/interviews"), Value::Null),
        };
        let mut request = app
            .client
            .request(method, url)
            .bearer_auth(&self.specialist)
            .timeout(self.limit);
        if kind == Kind::Interview || kind == Kind::Message {
            request = request.header("Idempotency-Key", key);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        (request, body)
    }

    /// Sends it again: the same key and the same body (both follow from the key).
    pub(crate) async fn retry(&self, app: &TestApp, attempt: &Attempt) -> Reply {
        let (request, body) = self.request(app, attempt.kind, &attempt.key);
        assert_eq!(body, attempt.body);
        app.run(request).await
    }
}

/// The statuses each kind may answer with, the database up or down.
fn allowed(kind: Kind, status: u16) -> bool {
    match kind {
        Kind::Interview | Kind::Message => matches!(status, 201 | 503),
        // Saves without If-Match racing each other may exhaust their retries: a 409 says so.
        Kind::Preferences => matches!(status, 200 | 409 | 503),
        Kind::Read => matches!(status, 200 | 503),
    }
}

/// One client: sends its share of the stream until told to stop.
pub(crate) async fn client(
    app: Arc<TestApp>,
    targets: Arc<Targets>,
    number: usize,
    stop: Arc<AtomicBool>,
) -> Vec<Attempt> {
    // The last client saves job preferences; the others alternate the rest.
    let kinds: &[Kind] = if number == targets.clients - 1 {
        &[Kind::Preferences, Kind::Read]
    } else {
        &[Kind::Interview, Kind::Message, Kind::Interview, Kind::Read]
    };
    let mut attempts = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let kind = kinds[i % kinds.len()];
        let key = format!("fault-{number}-{i}");
        let (request, body) = targets.request(&app, kind, &key);
        let sent = Instant::now();
        let reply = app.run(request).await;
        let status = reply.status.as_u16();
        assert!(
            allowed(kind, status),
            "{kind:?} {key} answered {status}: {}",
            reply.text
        );
        if status == 503 {
            assert_eq!(reply.assert_problem(503), "unavailable");
            assert!(
                reply.header("retry-after").is_some(),
                "503 without Retry-After"
            );
        }
        attempts.push(Attempt {
            kind,
            key,
            body,
            sent,
            answered: Instant::now(),
            status,
        });
        i += 1;
        // A short pause, so the pool is not a long queue when a cut comes.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    attempts
}

/// Counts an interview's reminders (`{id}` is the interview's id).
const REMINDERS_OF: &str =
    "SELECT COUNT(*) AS n FROM notifications WHERE subject_type = 'interview' AND subject_id = {id}";

/// Asserts that the record `attempt` names is whole if it exists (its companion rows all there,
/// and its idempotency record), and that no idempotency record is left without it; returns how
/// many exist (0 or 1). One check for every kind that takes an `Idempotency-Key`.
pub(crate) fn whole_or_absent(
    direct: &Direct,
    attempt: &Attempt,
    reminders_per_interview: i64,
) -> usize {
    // Where the record is found by its key, and each companion row count with the number a whole
    // record has (`{id}` is the record's id).
    let (find, parts): (&str, Vec<(&str, &str, i64)>) = match attempt.kind {
        Kind::Interview => (
            "SELECT id FROM interviews WHERE employer = $1",
            vec![
                ("reminders", REMINDERS_OF, reminders_per_interview),
                (
                    "audit row",
                    "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'interview.created' AND subject_id = {id}",
                    1,
                ),
            ],
        ),
        Kind::Message => (
            "SELECT id FROM messages WHERE body = $1",
            vec![(
                "audit row",
                "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'message.sent' AND subject_id = {id}",
                1,
            )],
        ),
        Kind::Preferences | Kind::Read => return 0,
    };
    let key = attempt.key.as_str();
    let kind = attempt.kind;
    let ids = direct.ids(find, key);
    assert!(ids.len() <= 1, "{} {kind:?} records for {key}", ids.len());
    let records = direct.count(
        "SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = $1",
        key,
    );
    let Some(&id) = ids.first() else {
        assert_eq!(
            records, 0,
            "an idempotency record without its {kind:?} ({key})"
        );
        return 0;
    };
    for (what, sql, whole) in parts {
        assert_eq!(
            direct.number(&sql.replace("{id}", &id.to_string())),
            whole,
            "{kind:?} {id} ({key}) is partial: its {what}"
        );
    }
    assert_eq!(
        records, 1,
        "{kind:?} {id} ({key}) has no idempotency record"
    );
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cut_mid_stream_answers_503_and_leaves_no_partial_writes() {
    if backend() != TestBackend::Postgres {
        eprintln!("the connection-cut test runs with IPS_TEST_DATABASE=postgres");
        return;
    }
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let database = TestDatabase::new();
    let direct = Direct(Db::connect(&database.url, 2).expect("direct connection"));
    let via = database.url_via(proxy.port());
    let app = Arc::new(TestApp::spawn_on(database, Some(via), |c| c.database_pool_size = 8).await);
    let targets = Arc::new(Targets::seed(&app, CLIENTS, REQUEST_LIMIT).await);
    let participant = targets.participant;
    let reminders_per_interview = targets.reminders_per_interview(&app, &direct).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(app.clone(), targets.clone(), n, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Short cuts first, each catching the requests in flight (some at their COMMIT), then a long
    // one, which requests queue through.
    let mut outages: Vec<(Instant, Instant)> = Vec::new();
    for down_for in [SHORT_CUT; SHORT_CUTS].into_iter().chain([LONG_CUT]) {
        proxy.cut();
        tokio::time::sleep(SETTLE).await;
        let cut_at = Instant::now();
        tokio::time::sleep(down_for - SETTLE).await;
        proxy.restore();
        outages.push((cut_at, Instant::now()));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let (first_cut, _) = outages[0];
    let (_, restored_at) = outages[outages.len() - 1];
    // Back by itself: the next connections the pool opens work.
    let back_after = back_by_itself(&app, &targets, restored_at, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, Ordering::SeqCst);
    let Seen {
        attempts,
        tally,
        slowest,
    } = gather(clients).await;
    let in_flight = attempts
        .iter()
        .filter(|a| {
            outages
                .iter()
                .any(|&(cut, _)| a.sent < cut && a.answered > cut)
        })
        .count();
    println!(
        "database cut {SHORT_CUTS} times for {:.2} s and once for {:.1} s: {} requests {tally:?}; \
         {in_flight} in flight at a cut; slowest answer {:.2} s; 2xx again {:.2} s after the last restore",
        SHORT_CUT.as_secs_f64(),
        LONG_CUT.as_secs_f64(),
        attempts.len(),
        slowest.as_secs_f64(),
        back_after.as_secs_f64()
    );

    // Sent after a cut and answered before its restore: the database was unreachable throughout,
    // so the answer is a 503. (One sent before may have finished with the database in time.)
    let during: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| {
            outages
                .iter()
                .any(|&(cut, restore)| a.sent > cut && a.answered < restore)
        })
        .collect();
    assert!(
        during.len() >= CLIENTS,
        "only {} answers came during the cuts",
        during.len()
    );
    for a in &during {
        assert_eq!(
            a.status, 503,
            "{:?} {} answered during a cut",
            a.kind, a.key
        );
    }
    assert!(
        attempts
            .iter()
            .any(|a| a.sent > restored_at && (200..300).contains(&a.status)),
        "the stream got no 2xx after the restore"
    );

    // No partial writes: a 2xx left its record whole, a 503 left it whole or absent.
    let committed_unseen = committed_behind_503s(&direct, &attempts, reminders_per_interview);
    // No reminder of an interview that does not exist, and no interview without its reminders.
    assert_eq!(
        direct.number(
            "SELECT COUNT(*) AS n FROM notifications n WHERE n.subject_type = 'interview' \
             AND NOT EXISTS (SELECT 1 FROM interviews i WHERE i.id = n.subject_id)"
        ),
        0,
        "reminders without their interview"
    );
    assert_eq!(
        direct.number(
            "SELECT COUNT(*) AS n FROM interviews i WHERE NOT EXISTS (SELECT 1 FROM notifications n \
             WHERE n.subject_type = 'interview' AND n.subject_id = i.id)"
        ),
        0,
        "interviews without their reminders"
    );
    // Job preferences: each saved version has its history row and its audit row, and there are
    // as many versions as saves answered 200, plus any whose 503 hid a commit.
    let version = direct.number(&format!(
        "SELECT COALESCE(MAX(version), 0)::bigint AS n FROM job_preferences WHERE participant_id = {participant}"
    ));
    let history = direct.number(&format!(
        "SELECT COUNT(*) AS n FROM job_preference_changes WHERE participant_id = {participant}"
    ));
    let audited = direct.number(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'job_preferences.updated' \
         AND participant_id = {participant}"
    ));
    let saved = tally.get(&(Kind::Preferences, 200)).copied().unwrap_or(0);
    let unknown = tally.get(&(Kind::Preferences, 503)).copied().unwrap_or(0);
    assert_eq!(
        (history, audited),
        (version, version),
        "job-preference versions are partial"
    );
    let version = usize::try_from(version).unwrap();
    assert!(
        (saved..=saved + unknown).contains(&version),
        "{version} versions for {saved} saves answered 200 and {unknown} answered 503"
    );

    // A phone retrying each 503 with its key gets exactly one record, made now or replayed.
    let mut replayed = 0;
    for a in attempts
        .iter()
        .filter(|a| a.status == 503 && matches!(a.kind, Kind::Interview | Kind::Message))
    {
        let reply = targets.retry(&app, a).await;
        assert_eq!(reply.status, 201, "retry of {}: {}", a.key, reply.text);
        if reply.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
        assert_eq!(whole_or_absent(&direct, a, reminders_per_interview), 1);
    }
    assert_eq!(
        replayed, committed_unseen,
        "a retry replays exactly the requests whose 503 hid a commit"
    );
    // And a retry of one answered 201 before the cut is replayed, not made again.
    let before = attempts
        .iter()
        .find(|a| a.kind == Kind::Interview && a.status == 201 && a.answered < first_cut)
        .expect("an interview made before the cut");
    let again = targets.retry(&app, before).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(whole_or_absent(&direct, before, reminders_per_interview), 1);
    println!(
        "{committed_unseen} requests answered 503 had committed (their retries were replayed)"
    );
}

/// What the stream's clients saw, once stopped: every attempt, their count by kind and status,
/// and the slowest answer.
pub(crate) struct Seen {
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) tally: BTreeMap<(Kind, u16), usize>,
    pub(crate) slowest: Duration,
}

/// Waits for the clients (already told to stop) and gathers what they saw.
pub(crate) async fn gather(clients: Vec<tokio::task::JoinHandle<Vec<Attempt>>>) -> Seen {
    let mut attempts = Vec::new();
    for handle in clients {
        attempts.extend(handle.await.expect("a client of the stream failed"));
    }
    let mut tally: BTreeMap<(Kind, u16), usize> = BTreeMap::new();
    for a in &attempts {
        *tally.entry((a.kind, a.status)).or_default() += 1;
    }
    let slowest = attempts
        .iter()
        .map(|a| a.answered - a.sent)
        .max()
        .unwrap_or_default();
    Seen {
        attempts,
        tally,
        slowest,
    }
}

/// No partial writes: asserts that each 201 left its record whole and each 503 left it whole or
/// absent; returns how many 503s hid a commit (their retries must be replayed).
pub(crate) fn committed_behind_503s(
    direct: &Direct,
    attempts: &[Attempt],
    reminders_per_interview: i64,
) -> usize {
    let mut committed = 0;
    for a in attempts {
        let found = whole_or_absent(direct, a, reminders_per_interview);
        if a.status == 201 {
            assert_eq!(
                found, 1,
                "{:?} {} answered 201 but is not stored",
                a.kind, a.key
            );
        }
        if a.status == 503 {
            committed += found;
        }
    }
    committed
}

/// Asks until the database answers again (every answer meanwhile a 503 Problem), failing after
/// `within`; returns how long after `since` it took.
pub(crate) async fn back_by_itself(
    app: &TestApp,
    targets: &Targets,
    since: Instant,
    within: Duration,
) -> Duration {
    let deadline = since + within;
    loop {
        let reply = app
            .send(Method::GET, "/v1/staff/me", Some(&targets.specialist), None)
            .await;
        if reply.status == 200 {
            return since.elapsed();
        }
        assert_eq!(reply.assert_problem(503), "unavailable");
        assert!(
            Instant::now() < deadline,
            "no 2xx within {within:?} of the database's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
