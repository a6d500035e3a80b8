//! Real `ips work` processes against one PostgreSQL: two of them drain a queue of 10,000 due
//! notifications together, one is killed with SIGKILL mid-batch, and after its lease expires the
//! other finishes: every notification pushed, none lost and none pushed twice, by the
//! deliveries the workers recorded.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;

use crate::helpers::{backend, TestApp, TestBackend, World};

const NOTIFICATIONS: i64 = 10_000;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).load::<Count>(&mut *conn).unwrap()[0].n
}

/// An `ips work` process, killed (SIGKILL) and reaped when dropped, so a test that fails leaves
/// no worker running.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(url: &str) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_ips"))
        .arg("work")
        .env_remove("IPS_CONFIG")
        .env("DATABASE_URL", url)
        .env("IPS_PUSH_LOG", "true")
        .env("IPS_LOG", "warn")
        .env("IPS_DISPATCH_LEASE_SECONDS", "30")
        .env("IPS_DISPATCH_BATCH", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ips work");
    Worker(child)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_drain_ten_thousand_and_survive_a_sigkill() {
    if backend() != TestBackend::Postgres {
        eprintln!("several worker processes share a queue only on PostgreSQL; this runs with IPS_TEST_DATABASE=postgres");
        return;
    }
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, code) = app.enrol(&w.specialist, "Load").await;
    let token = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/v1/me/devices",
        Some(&token),
        json!({ "platform": "fcm", "token": "fcm-load", "app_version": "1", "locale": "nb" }),
    )
    .await
    .ok();
    {
        let mut conn = app.db.get().unwrap();
        diesel::sql_query(format!(
            "INSERT INTO notifications (recipient_kind, recipient_id, kind, dedupe_key, payload, due_at, status, attempts, \
             next_attempt_at, created_at, updated_at) \
             SELECT 'participant', {pid}, 'announcement', 'load:' || g, '{{}}', now() - interval '1 minute', 'pending', 0, \
             now() - interval '1 minute', now(), now() FROM generate_series(1, {NOTIFICATIONS}) g"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    let url = app.database_url();
    let mut a = worker(&url);
    let mut b = worker(&url);
    let pushed = "SELECT COUNT(*) AS n FROM deliveries WHERE outcome IN ('delivered', 'in_doubt')";
    wait_until("a quarter is pushed", Duration::from_secs(120), || {
        count(&app, pushed) >= NOTIFICATIONS / 4
    });
    a.0.kill().expect("SIGKILL worker A");
    a.0.wait().expect("reap worker A");
    wait_until("the queue is drained", Duration::from_secs(240), || {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM notifications WHERE status IN ('pending', 'in_flight')",
        ) == 0
    });
    Command::new("kill")
        .args(["-TERM", &b.0.id().to_string()])
        .status()
        .expect("SIGTERM worker B");
    assert!(b.0.wait().expect("worker B exits").success());

    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM notifications WHERE status = 'sent'"
        ),
        NOTIFICATIONS,
        "none lost"
    );
    assert_eq!(
        count(&app, pushed),
        NOTIFICATIONS,
        "one push per notification"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM (SELECT notification_id FROM deliveries WHERE outcome IN ('delivered', 'in_doubt') GROUP BY notification_id HAVING COUNT(*) > 1) twice"),
        0,
        "none pushed twice"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM deliveries WHERE outcome = 'attempting'"
        ),
        0
    );
}
