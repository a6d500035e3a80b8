//! The worker's fault suite, judged by what the push provider itself received (the fake FCM of
//! `fake_fcm.rs` counts every send by notification and device token), not by what the workers
//! recorded:
//!
//! - a worker killed with SIGKILL mid-dispatch, ten times, while another runs (real `ips work`
//!   processes, PostgreSQL): nothing lost, nothing received twice;
//! - the database connection cut and restored mid-dispatch (a TCP proxy, PostgreSQL): the worker
//!   heals by itself, nothing lost, nothing received twice;
//! - the provider answering a seeded mix of 200, 429 with `Retry-After`, 500, timeouts and
//!   `UNREGISTERED` (both backends): every notification ends sent or failed, no retry comes
//!   before the provider's `Retry-After`, gone devices are disabled and left alone.
//!
//! FCM has no idempotency key, so a worker that dies after recording an attempt and before
//! hearing the answer leaves that push in doubt: it may or may not have reached the provider.
//! The worker that takes over does not send it again (at most once; the notification is in
//! the in-app inbox anyway). So "nothing lost" means: every push was received exactly once,
//! except the ones the workers marked `in_doubt`, each received once or not at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::Transport;
use serde_json::json;

use crate::fake_fcm::{Answered, FakeFcm, Mix, Mode, Received};
use crate::helpers::{backend, TestApp, TestBackend, TestDatabase, World};
use crate::tcp_proxy::Proxy;

const NOTIFICATIONS: i64 = 10_000;

/// A participant and their devices: (device id, push token).
pub(crate) struct Recipient {
    id: i64,
    devices: Vec<(i64, String)>,
}

/// `count` participants enrolled through the API, each with one FCM device, and every
/// `second_every`-th with a second device on a second session (a second phone).
pub(crate) async fn recipients(
    app: &TestApp,
    specialist: &str,
    tag: &str,
    count: usize,
    second_every: usize,
) -> Vec<Recipient> {
    let mut people = Vec::with_capacity(count);
    for i in 0..count {
        let (id, code) = app.enrol(specialist, &format!("{tag} {i}")).await;
        let session = sign_in(app, &code).await;
        let mut devices = vec![register(app, &session, &format!("{tag}-{i}-0")).await];
        if i % second_every == 0 {
            // The first code is spent: the second phone signs in with a new one.
            let code = app
                .send(
                    reqwest::Method::POST,
                    &format!("/v1/participants/{id}/enrolment-code"),
                    Some(specialist),
                    None,
                )
                .await
                .ok()["code"]
                .as_str()
                .unwrap()
                .to_owned();
            let session = sign_in(app, &code).await;
            devices.push(register(app, &session, &format!("{tag}-{i}-1")).await);
        }
        people.push(Recipient { id, devices });
    }
    people
}

async fn sign_in(app: &TestApp, code: &str) -> String {
    app.post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn register(app: &TestApp, session: &str, push_token: &str) -> (i64, String) {
    let id = app
        .post(
            "/v1/me/devices",
            Some(session),
            json!({ "platform": "fcm", "token": push_token, "app_version": "1.0", "locale": "nb-NO" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    (id, push_token.to_owned())
}

/// `count` announcements due a minute ago, spread evenly over `people`, in one statement.
pub(crate) fn insert_due(app: &TestApp, people: &[Recipient], count: i64, tag: &str) {
    let cases: String = people
        .iter()
        .enumerate()
        .map(|(i, p)| format!(" WHEN {i} THEN {}", p.id))
        .collect();
    let at = sql_time(Utc::now() - chrono::Duration::minutes(1));
    execute(
        app,
        &format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) \
             INSERT INTO notifications (recipient_kind, recipient_id, kind, dedupe_key, payload, due_at, status, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT 'participant', CASE n % {} {cases} END, 'announcement', '{tag}:' || n, '{{}}', {at}, 'pending', \
             0, {at}, {at}, {at} FROM g",
            people.len()
        ),
    );
    assert_eq!(
        count_of(app, "SELECT COUNT(*) AS n FROM notifications"),
        count
    );
}

/// A UTC instant as an SQL timestamp literal. PostgreSQL types a bare literal in a SELECT list
/// as text, so it is typed there; SQLite stores timestamps as text.
fn sql_time(at: chrono::DateTime<Utc>) -> String {
    let at = at.format("%Y-%m-%d %H:%M:%S");
    match backend() {
        TestBackend::Postgres => format!("TIMESTAMP '{at}'"),
        TestBackend::Sqlite => format!("'{at}'"),
    }
}

fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).execute(&mut *conn).unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(crate) fn count_of(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).load::<Count>(&mut *conn).unwrap()[0].n
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn ids(app: &TestApp, sql: &str) -> BTreeSet<i64> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql)
        .load::<Id>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

pub(crate) fn unsettled(app: &TestApp) -> i64 {
    count_of(
        app,
        "SELECT COUNT(*) AS n FROM notifications WHERE status IN ('pending', 'in_flight')",
    )
}

#[derive(QueryableByName, Debug)]
struct NotificationRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    recipient_id: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

fn notifications(app: &TestApp) -> Vec<NotificationRow> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("SELECT id, recipient_id, status, attempts FROM notifications ORDER BY id")
        .load(&mut *conn)
        .unwrap()
}

#[derive(QueryableByName)]
struct DeliveryRow {
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    device_id: Option<i64>,
    #[diesel(sql_type = Text)]
    outcome: String,
}

fn deliveries(app: &TestApp) -> Vec<DeliveryRow> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("SELECT notification_id, device_id, outcome FROM deliveries")
        .load(&mut *conn)
        .unwrap()
}

#[derive(QueryableByName)]
struct DeviceRow {
    #[diesel(sql_type = Text)]
    token: String,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = Nullable<Text>)]
    disabled_reason: Option<String>,
}

fn devices(app: &TestApp) -> HashMap<String, DeviceRow> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("SELECT token, enabled, disabled_reason FROM devices")
        .load::<DeviceRow>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|d| (d.token.clone(), d))
        .collect()
}

/// Waits (at most `limit`) until `done`; fails the test naming `what` if it never is.
pub(crate) async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many pushes the notifications in the outbox make: one per device of each recipient.
pub(crate) fn due_pushes(app: &TestApp, people: &[Recipient]) -> usize {
    let devices: HashMap<i64, usize> = people.iter().map(|p| (p.id, p.devices.len())).collect();
    notifications(app)
        .iter()
        .map(|n| devices.get(&n.recipient_id).copied().unwrap_or(0))
        .sum()
}

/// The provider's sends grouped by (notification, token).
fn by_push(sends: &[Received]) -> BTreeMap<(i64, String), Vec<&Received>> {
    let mut pushes: BTreeMap<(i64, String), Vec<&Received>> = BTreeMap::new();
    for s in sends {
        let id = s
            .notification_id
            .unwrap_or_else(|| panic!("a push without a notification id: {}", s.body));
        pushes.entry((id, s.token.clone())).or_default().push(s);
    }
    pushes
}

/// What a run with crashes or cuts left, checked against the provider's own count: every push
/// (notification x device of its recipient) received exactly once, or marked in doubt by a
/// worker that took the notification over and then received at most once. Returns the number
/// of pushes in doubt and how many of them the provider never received.
pub(crate) fn assert_each_push_once(
    app: &TestApp,
    people: &[Recipient],
    fake: &FakeFcm,
) -> (usize, usize) {
    let sends = fake.sends();
    let received = by_push(&sends);
    let twice: Vec<_> = received.iter().filter(|(_, r)| r.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "{} pushes received more than once, e.g. {:?}",
        twice.len(),
        twice.first().map(|(k, r)| (k, r.len()))
    );
    let rows = notifications(app);
    let not_sent: Vec<_> = rows.iter().filter(|n| n.status != "sent").collect();
    assert!(
        not_sent.is_empty(),
        "every notification ends sent: {} did not, e.g. {:?}",
        not_sent.len(),
        not_sent.first()
    );
    let tokens: HashMap<i64, &[(i64, String)]> = people
        .iter()
        .map(|p| (p.id, p.devices.as_slice()))
        .collect();
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for n in &rows {
        for (device, token) in tokens[&n.recipient_id] {
            expected.insert((n.id, token.clone()), *device);
        }
    }
    let unexpected: Vec<_> = received
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "pushes to a device not the recipient's: {unexpected:?}"
    );
    let records = deliveries(app);
    assert!(
        records.iter().all(|d| d.outcome != "attempting"),
        "no attempt is left unresolved"
    );
    let in_doubt: BTreeSet<(i64, i64)> = records
        .iter()
        .filter(|d| d.outcome == "in_doubt")
        .filter_map(|d| Some((d.notification_id, d.device_id?)))
        .collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, device)| !received.contains_key(*k) && !in_doubt.contains(&(k.0, **device)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} pushes neither received nor in doubt (lost), e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let doubt_lost = expected
        .iter()
        .filter(|(k, device)| in_doubt.contains(&(k.0, **device)) && !received.contains_key(*k))
        .count();
    (in_doubt.len(), doubt_lost)
}

/// The `ips work` processes of a test, each named by its `HOSTNAME` (which starts its lease
/// owner's name); every one still running is killed when this is dropped, a failed test too.
#[derive(Default)]
struct Workers {
    running: Vec<(String, Child)>,
}

impl Workers {
    fn start(&mut self, name: &str, database_url: &str, fake: &FakeFcm) {
        let child = Command::new(env!("CARGO_BIN_EXE_ips"))
            .arg("work")
            .env_remove("IPS_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("HOSTNAME", name)
            // libpq names its sessions after it, so the test can see when they are gone.
            .env("PGAPPNAME", name)
            .envs(fake.worker_env())
            .env("IPS_PUSH_LOG", "false")
            .env("IPS_LOG", "warn")
            .env("IPS_DISPATCH_INTERVAL_SECONDS", "1")
            .env("IPS_DISPATCH_LEASE_SECONDS", "30")
            .env("IPS_DISPATCH_BATCH", "100")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ips work");
        self.running.push((name.to_owned(), child));
    }

    /// SIGKILL: no chance to finish a send, record a result or give anything back.
    fn kill(&mut self, name: &str) {
        let at = self
            .running
            .iter()
            .position(|(n, _)| n == name)
            .expect("a running worker");
        let (_, mut child) = self.running.remove(at);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap the killed worker");
    }

    /// SIGTERM to every worker; each must stop cleanly within `limit`.
    async fn stop_all(&mut self, limit: Duration) {
        for (_, child) in &self.running {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("SIGTERM");
        }
        let deadline = Instant::now() + limit;
        while let Some((name, mut child)) = self.running.pop() {
            loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    assert!(status.success(), "{name} stopped with {status}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{name} did not stop within {limit:?} of SIGTERM");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How many notifications a worker (by its name's prefix) holds right now.
fn holding(app: &TestApp, name: &str) -> i64 {
    count_of(
        app,
        &format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE status = 'in_flight' AND lease_owner LIKE '{name}-%'"
        ),
    )
}

const ROUNDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_mid_dispatch_ten_times_lose_nothing_and_send_nothing_twice() {
    if backend() != TestBackend::Postgres {
        eprintln!("several worker processes share a queue only on PostgreSQL; this runs with IPS_TEST_DATABASE=postgres");
        return;
    }
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let people = recipients(&app, &w.specialist, "crash", 12, 4).await;
    insert_due(&app, &people, NOTIFICATIONS, "crash");
    let pushes = due_pushes(&app, &people);
    let fake = FakeFcm::start();
    // A provider's round trip paces the run (two workers, 64 pushes in flight each, at most
    // some 600 a second), so ten kills land while work remains however fast the workers are,
    // and each replacement is up and claiming before its turn to be killed.
    fake.set_latency(Duration::from_millis(200));
    let url = app.database_url();
    let mut workers = Workers::default();
    let mut slots = [String::from("crash-0-a"), String::from("crash-0-b")];
    for name in &slots {
        workers.start(name, &url, &fake);
    }
    let (mut held_at_kills, mut open_at_kills) = (Vec::new(), Vec::new());
    let mut left_open = BTreeSet::new();
    for round in 0..ROUNDS {
        // Kills spread over the run, the last while a sixth of it is still to go.
        let mark = pushes * (round + 1) / (ROUNDS + 2);
        wait_until(
            &format!("round {round}: {mark} pushes received"),
            Duration::from_secs(60),
            || fake.received() >= mark,
        )
        .await;
        let slot = round % 2;
        let victim = slots[slot].clone();
        wait_until(
            &format!("{victim} holds notifications"),
            Duration::from_secs(30),
            || holding(&app, &victim) > 0,
        )
        .await;
        workers.kill(&victim);
        // A session of the dead process may still commit what it had sent before it died;
        // once they are all gone, nothing more can change under its name.
        wait_until(
            &format!("{victim}'s database sessions end"),
            Duration::from_secs(20),
            || {
                count_of(
                    &app,
                    &format!("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = '{victim}'"),
                ) == 0
            },
        )
        .await;
        // The attempts it left open: these, and only these, end in doubt.
        let held = format!(
            "SELECT id FROM notifications WHERE status = 'in_flight' AND lease_owner LIKE '{victim}-%'"
        );
        held_at_kills.push(ids(&app, &held).len());
        let open = ids(
            &app,
            &format!(
                "SELECT id FROM deliveries WHERE outcome = 'attempting' AND notification_id IN ({held})"
            ),
        );
        open_at_kills.push(open.len());
        left_open.extend(open);
        // Its leases are expired now instead of after IPS_DISPATCH_LEASE_SECONDS (what waiting
        // would do, sooner; tests/api/worker_processes.rs waits out a real expiry), and the
        // survivors take over.
        execute(
            &app,
            &format!(
                "UPDATE notifications SET lease_expires_at = {} WHERE status = 'in_flight' AND lease_owner LIKE '{victim}-%'",
                sql_time(Utc::now() - chrono::Duration::seconds(1))
            ),
        );
        slots[slot] = format!("crash-{}-{}", round + 1, ["a", "b"][slot]);
        workers.start(&slots[slot], &url, &fake);
    }
    wait_until("the queue is drained", Duration::from_secs(120), || {
        unsettled(&app) == 0
    })
    .await;
    workers.stop_all(Duration::from_secs(20)).await;

    let (in_doubt, doubt_lost) = assert_each_push_once(&app, &people, &fake);
    assert_eq!(
        ids(&app, "SELECT id FROM deliveries WHERE outcome = 'in_doubt'"),
        left_open,
        "the pushes in doubt are exactly the attempts the killed workers left open"
    );
    eprintln!(
        "worker crashes: {ROUNDS} SIGKILLs, {NOTIFICATIONS} notifications, {pushes} pushes due, {} received, \
         {in_doubt} in doubt ({doubt_lost} of them never reached the provider); at each kill, notifications held \
         {held_at_kills:?} and attempts left open {open_at_kills:?}; {:.1} s",
        fake.received(),
        started.elapsed().as_secs_f64()
    );
}

const CUT_NOTIFICATIONS: i64 = 2_000;
/// Longer than a worker waits for a pooled connection (3 s), with room to spare on a busy
/// machine, so every write it had in hand fails.
const CUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_connection_cut_mid_dispatch_heals_without_a_restart() {
    if backend() != TestBackend::Postgres {
        eprintln!("the connection-cut test runs with IPS_TEST_DATABASE=postgres (a TCP proxy in front of SQLite's file makes no sense)");
        return;
    }
    let started = Instant::now();
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let database = TestDatabase::new();
    let via = database.url_via(proxy.port());
    // The API and the test's own queries go straight to the database; only the worker is cut off.
    let app = TestApp::spawn_on(database, None, |_| {}).await;
    let w = World::build(&app).await;
    let people = recipients(&app, &w.specialist, "cut", 6, 3).await;
    insert_due(&app, &people, CUT_NOTIFICATIONS, "cut");
    let pushes = due_pushes(&app, &people);
    let fake = FakeFcm::start();
    // A provider's round trip, so the run lasts long enough to be cut mid-way however fast the
    // worker is.
    fake.set_latency(Duration::from_millis(100));

    // The real worker loop (`ips work` without the process), on a pool through the proxy. A
    // lease shorter than the configuration allows (at least 30 s), so what the cut left claimed
    // is taken over within seconds; safe here, as the fake answers far within it.
    let mut config = crate::helpers::test_config(&via);
    config.fcm_credentials = fake.key_file.path().display().to_string();
    config.fcm_base_url = fake.base_url.clone();
    config.dispatch_interval_seconds = 1;
    config.dispatch_lease_seconds = 5;
    config.dispatch_batch = 100;
    let db = ips_core::Db::connect(&via, ips_core::Config::defaults().database_pool_size).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(ips_worker::run(db, config, stopped));

    // Mid-dispatch, for certain: the provider holds the pushes it receives, and once a few are
    // waiting for its answer the database goes away. The answers then come while it is away
    // (longer than a pooled connection is waited for), so the worker can record none of them.
    wait_until("a third is pushed", Duration::from_secs(60), || {
        fake.received() >= pushes / 3
    })
    .await;
    fake.close();
    wait_until(
        "pushes wait for the provider",
        Duration::from_secs(20),
        || fake.held() >= 4,
    )
    .await;
    proxy.cut();
    let (at_cut, held) = (fake.received(), fake.held());
    fake.open();
    tokio::time::sleep(CUT).await;
    let during_cut = fake.received() - at_cut;
    proxy.restore();
    wait_until(
        "the queue is drained after the restore",
        Duration::from_secs(60),
        || unsettled(&app) == 0,
    )
    .await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), worker)
        .await
        .expect("the worker stops")
        .unwrap()
        .unwrap();

    let taken_over = count_of(
        &app,
        "SELECT COUNT(*) AS n FROM notifications WHERE attempts > 1",
    );
    let (in_doubt, doubt_lost) = assert_each_push_once(&app, &people, &fake);
    // The held pushes reached the provider, whose answers the worker could not record: each is
    // in doubt, taken over after the restore and not sent again.
    assert!(
        in_doubt >= held,
        "{held} pushes answered during the cut, {in_doubt} in doubt"
    );
    assert!(taken_over > 0, "claims the cut left were taken over");
    eprintln!(
        "database cut: {CUT_NOTIFICATIONS} notifications, cut with {held} pushes awaiting an answer at {at_cut} received \
         ({during_cut} more during the {CUT:?} cut), {} received, {taken_over} taken over after the restore, {in_doubt} \
         in doubt ({doubt_lost} of them never reached the provider), {:.1} s",
        fake.received(),
        started.elapsed().as_secs_f64()
    );
}

const MAX_ATTEMPTS: i32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answering_a_seeded_mix_of_faults_gets_every_notification_settled() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let people = recipients(&app, &w.specialist, "mix", 30, 5).await;
    insert_due(&app, &people, NOTIFICATIONS, "mix");
    let fake = FakeFcm::start();
    let seed = std::env::var("IPS_TEST_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_123);
    let send_timeout = Duration::from_millis(400);
    fake.set_mode(Mode::Mix(Mix {
        seed,
        too_many_requests: 12,
        server_error: 12,
        timeout: 6,
        retry_after: 1..=2,
        hold: send_timeout * 3,
    }));
    // Three devices are gone: a participant's only phone, another's, and one of two phones.
    let gone: Vec<&str> = [1, 2, 5]
        .iter()
        .map(|&i| people[i].devices[0].1.as_str())
        .collect();
    for token in &gone {
        fake.mark_gone(token);
    }
    // The worker's own pool, as large as `ips work` has by default (the test app's is small).
    let db = ips_core::Db::connect(
        &app.database_url(),
        ips_core::Config::defaults().database_pool_size,
    )
    .unwrap();
    let dispatcher = Dispatcher::new(
        db,
        "worker-faults".into(),
        vec![Arc::new(fake.transport()) as Arc<dyn Transport>],
        None,
        DispatchConfig {
            batch: 500,
            lease: chrono::Duration::seconds(60),
            max_attempts: MAX_ATTEMPTS,
            // Short, so retries come within the test; Retry-After still has its say.
            backoff_base: chrono::Duration::milliseconds(200),
            backoff_max: chrono::Duration::seconds(1),
            send_timeout,
            ..DispatchConfig::default()
        },
    );

    let setup = started.elapsed();
    // One claimed batch per round, the round's number tagging the sends it caused.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut round = 0;
    while unsettled(&app) > 0 {
        assert!(Instant::now() < deadline, "timed out draining the queue");
        round += 1;
        fake.set_round(round);
        let report = dispatcher.tick(Duration::ZERO).await.unwrap();
        if report.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let sends = fake.sends();
    let pushes = by_push(&sends);
    let rows = notifications(&app);
    let statuses = rows
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, n| {
            *m.entry(n.status.as_str()).or_default() += 1;
            m
        });
    assert!(
        rows.iter()
            .all(|n| n.status == "sent" || n.status == "failed"),
        "every notification ends sent or failed: {statuses:?}"
    );

    // No retry before the provider's Retry-After, on any device.
    let mut waited = 0;
    for received in pushes.values() {
        for pair in received.windows(2) {
            if let Answered::TooManyRequests { retry_after } = pair[0].answered {
                let gap = pair[1].at - pair[0].at;
                assert!(
                    gap >= chrono::Duration::seconds(retry_after as i64),
                    "notification {:?} to {} came back {gap} after a 429 asking for {retry_after} s",
                    pair[0].notification_id,
                    pair[0].token
                );
                waited += 1;
            }
        }
    }
    assert!(waited > 0, "the mix had 429s that were retried");

    // Gone devices are disabled, and nothing is sent to them in a later round.
    let states = devices(&app);
    let mut gone_answers = 0;
    for token in &gone {
        let first = sends
            .iter()
            .filter(|s| s.token == *token && s.answered == Answered::Unregistered)
            .map(|s| s.round)
            .min()
            .unwrap_or_else(|| panic!("{token} was pushed to and answered UNREGISTERED"));
        let later = sends
            .iter()
            .filter(|s| s.token == *token && s.round > first)
            .count();
        assert_eq!(later, 0, "{token} pushed to after it was reported gone");
        gone_answers += sends.iter().filter(|s| s.token == *token).count();
        let state = &states[*token];
        assert!(!state.enabled, "{token} is disabled");
        assert!(state
            .disabled_reason
            .as_deref()
            .is_some_and(|r| r.contains("UNREGISTERED")));
    }
    let disabled = states.values().filter(|d| !d.enabled).count();
    assert_eq!(disabled, gone.len(), "only the gone devices are disabled");

    // Each notification's story, as the provider saw it, matches how it ended.
    let mut rounds_of: HashMap<i64, BTreeMap<u64, Vec<&Received>>> = HashMap::new();
    for s in &sends {
        let id = s.notification_id.unwrap();
        rounds_of
            .entry(id)
            .or_default()
            .entry(s.round)
            .or_default()
            .push(s);
    }
    let (mut timeouts_retried, mut delivered) = (0, 0);
    for n in &rows {
        let story = rounds_of.get(&n.id).cloned().unwrap_or_default();
        let accepted: Vec<u64> = story
            .iter()
            .filter(|(_, r)| r.iter().any(|s| s.answered == Answered::Accepted))
            .map(|(round, _)| *round)
            .collect();
        // Once accepted by the provider, never sent again.
        assert!(
            accepted.len() <= 1,
            "notification {} delivered in rounds {accepted:?}",
            n.id
        );
        if let Some(&at) = accepted.first() {
            assert_eq!(
                story.keys().last(),
                Some(&at),
                "notification {} sent after it was delivered",
                n.id
            );
        }
        let last = story.values().last();
        let transient = |s: &&Received| {
            matches!(
                s.answered,
                Answered::TooManyRequests { .. } | Answered::ServerError | Answered::Held
            )
        };
        match n.status.as_str() {
            "sent" => {
                // Delivered to a device, or every device it was sent to is gone.
                let all_gone =
                    last.is_none_or(|r| r.iter().all(|s| s.answered == Answered::Unregistered));
                assert!(
                    !accepted.is_empty() || all_gone,
                    "notification {} is sent but the provider accepted none of it: {:?}",
                    n.id,
                    last
                );
                delivered += usize::from(!accepted.is_empty());
            }
            _ => {
                // Failed only after every attempt met a transient fault (on the devices not gone).
                assert_eq!(n.attempts, MAX_ATTEMPTS, "notification {}", n.id);
                assert_eq!(
                    story.len(),
                    MAX_ATTEMPTS as usize,
                    "notification {} pushed in each attempt",
                    n.id
                );
                assert!(
                    last.is_some_and(|r| r.iter().any(transient)
                        && r.iter()
                            .all(|s| transient(s) || s.answered == Answered::Unregistered)),
                    "notification {} failed, last answered {:?}",
                    n.id,
                    last
                );
            }
        }
        // Every transient answer short of the last attempt was followed by another attempt.
        for (round, answers) in &story {
            if answers.iter().all(transient) && Some(round) != story.keys().last() {
                timeouts_retried += answers
                    .iter()
                    .filter(|s| s.answered == Answered::Held)
                    .count();
            }
        }
    }
    assert!(timeouts_retried > 0, "timed-out pushes were retried");

    // The workers' record of attempts agrees with the provider's count, push by push.
    let token_of: HashMap<i64, &str> = people
        .iter()
        .flat_map(|p| p.devices.iter().map(|(d, t)| (*d, t.as_str())))
        .collect();
    let mut recorded: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for d in deliveries(&app) {
        let token = token_of[&d.device_id.unwrap()].to_owned();
        *recorded.entry((d.notification_id, token)).or_default() += 1;
    }
    let counted: BTreeMap<(i64, String), usize> =
        pushes.iter().map(|(k, r)| (k.clone(), r.len())).collect();
    assert!(
        recorded == counted,
        "the deliveries recorded match the sends received"
    );

    let answers = sends
        .iter()
        .fold(BTreeMap::<String, usize>::new(), |mut m, s| {
            let kind = match s.answered {
                Answered::TooManyRequests { .. } => "429".to_owned(),
                ref other => format!("{other:?}"),
            };
            *m.entry(kind).or_default() += 1;
            m
        });
    eprintln!(
        "provider faults (seed {seed}): {NOTIFICATIONS} notifications in {round} rounds, {} sends {answers:?}; \
         {statuses:?}, {delivered} delivered, {waited} retries after a 429 all waited, {timeouts_retried} timeouts \
         retried, {} gone devices disabled after {gone_answers} sends to them, {:.1} s ({:.1} s setting up)",
        sends.len(),
        gone.len(),
        started.elapsed().as_secs_f64(),
        setup.as_secs_f64()
    );
}
