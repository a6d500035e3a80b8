//! A withdrawal ends the participant's sessions on every API instance, not only the one that
//! handled it: the in-process app and a real `ips serve` process share one database (the same
//! PostgreSQL database, or the same SQLite file). The instance that handled the withdrawal
//! refuses the token at once; the other must refuse it within `BOUND` (it authenticates each
//! request from the database, so today also at once; the bound leaves room for a short cache of
//! sessions, and the time measured is printed). The refresh token is refused on both, the push
//! devices are gone and the pending reminders cancelled.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::devices::{apns_token, device_body, participant, rows_of_participant};
use crate::helpers::{send_to, Reply, TestApp, World};

/// How soon the other instance must refuse a withdrawn participant's token.
const BOUND: Duration = Duration::from_secs(10);

/// A real `ips serve` process, stopped (SIGKILL) and reaped when dropped, also when a test fails.
struct Serve {
    child: Child,
    address: String,
    client: reqwest::Client,
}

impl Serve {
    async fn start(database_url: &str) -> Serve {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_ips"))
            .arg("serve")
            .env_remove("IPS_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("IPS_BIND", format!("127.0.0.1:{port}"))
            .env("IPS_HTTP_WORKERS", "1")
            .env("IPS_DATABASE_POOL_SIZE", "4")
            .env("IPS_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ips serve");
        let serve = Serve {
            child,
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "ips serve did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        serve
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        send_to(&self.client, &self.address, method, path, token, body).await
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One API instance as the test talks to it.
enum Instance<'a> {
    InProcess(&'a TestApp),
    Process(&'a Serve),
}

impl Instance<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        match self {
            Instance::InProcess(app) => app.send(method, path, token, body).await,
            Instance::Process(serve) => serve.send(method, path, token, body).await,
        }
    }

    async fn me(&self, token: &str) -> Reply {
        self.send(Method::GET, "/v1/me", Some(token), None).await
    }

    async fn refresh(&self, refresh: &str) -> Reply {
        self.send(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh })),
        )
        .await
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn pending_for(app: &TestApp, participant: i64) -> i64 {
    app.db
        .run(move |conn| {
            Ok(diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM notifications WHERE recipient_kind = 'participant' \
                 AND recipient_id = {participant} AND status = 'pending'"
            ))
            .load::<Count>(conn)?[0]
                .n)
        })
        .await
        .unwrap()
}

/// Withdraws on `here` and returns how long `there` took to refuse the same access token.
async fn withdraw_and_measure(
    app: &TestApp,
    w: &World,
    name: &str,
    here: Instance<'_>,
    there: Instance<'_>,
) -> Duration {
    let (id, token, refresh, _) = participant(app, &w.specialist, name).await;
    app.post(
        "/v1/me/devices",
        Some(&token),
        device_body(&apns_token(&format!("{:0>8}", name.to_uppercase()))),
    )
    .await
    .ok();
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    app.post(
        "/v1/me/interviews",
        Some(&token),
        json!({ "employer": "Rema 1000", "role_title": "Butikkmedarbeider", "starts_at": starts_at }),
    )
    .await
    .ok();
    assert!(
        pending_for(app, id).await > 0,
        "the interview has pending reminders"
    );
    // Both instances have served this token, so any cache either keeps is warm.
    for instance in [&here, &there] {
        assert_eq!(instance.me(&token).await.status, 200);
    }

    let withdrawn = here
        .send(
            Method::POST,
            "/v1/me/withdraw",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let at = Instant::now();
    assert_eq!(here.me(&token).await.assert_problem(401), "unauthenticated");
    let refused_after = loop {
        let reply = there.me(&token).await;
        if reply.status == 401 {
            assert_eq!(reply.assert_problem(401), "unauthenticated");
            break at.elapsed();
        }
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(at.elapsed() < BOUND, "still accepted after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for instance in [&here, &there] {
        assert_eq!(
            instance.refresh(&refresh).await.assert_problem(401),
            "invalid-credentials"
        );
    }
    assert_eq!(
        rows_of_participant(app, id).await,
        0,
        "push devices removed"
    );
    assert_eq!(pending_for(app, id).await, 0, "pending reminders cancelled");
    refused_after
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_participants_sessions_are_dead_on_every_instance() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let serve = Serve::start(&app.database_url()).await;

    let by_process = withdraw_and_measure(
        &app,
        &w,
        "Ola",
        Instance::InProcess(&app),
        Instance::Process(&serve),
    )
    .await;
    let by_app = withdraw_and_measure(
        &app,
        &w,
        "Kari",
        Instance::Process(&serve),
        Instance::InProcess(&app),
    )
    .await;
    println!(
        "a withdrawn participant's token refused by the other instance after {:.1} ms \
         (withdrawn in process, refused by ips serve) and {:.1} ms (the reverse)",
        by_process.as_secs_f64() * 1000.0,
        by_app.as_secs_f64() * 1000.0
    );
}
