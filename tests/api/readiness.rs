//! Readiness follows the database: 503 while the connection is cut, 200 again once it is
//! restored, with no restart. The cut is made by a TCP proxy the test controls (PostgreSQL).

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::helpers::{backend, TestApp, TestBackend, TestDatabase};
use crate::tcp_proxy::Proxy;

async fn wait_for_status(
    app: &TestApp,
    path: &str,
    status: u16,
    within: Duration,
) -> crate::helpers::Reply {
    let deadline = Instant::now() + within;
    loop {
        let reply = app.send(Method::GET, path, None, None).await;
        if reply.status.as_u16() == status || Instant::now() > deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_drops_and_recovers_with_the_database() {
    if backend() != TestBackend::Postgres {
        eprintln!("the connection-cut test runs with IPS_TEST_DATABASE=postgres");
        return;
    }
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let database = TestDatabase::new();
    let via = database.url_via(proxy.port());
    let app = TestApp::spawn_on(database, Some(via), |_| {}).await;
    let admin = app.admin().await;
    assert_eq!(
        wait_for_status(&app, "/health/ready", 200, Duration::from_secs(5))
            .await
            .status,
        200
    );

    proxy.cut();
    let down = wait_for_status(&app, "/health/ready", 503, Duration::from_secs(20)).await;
    assert_eq!(down.assert_problem(503), "unavailable");
    assert!(down.header("retry-after").is_some());
    // Requests that need the database say so clearly, and liveness is unaffected.
    let request = app.get("/v1/staff/me", &admin).await;
    assert_eq!(request.assert_problem(503), "unavailable");
    assert_eq!(
        app.send(Method::GET, "/health/live", None, None)
            .await
            .status,
        200
    );

    proxy.restore();
    let up = wait_for_status(&app, "/health/ready", 200, Duration::from_secs(20)).await;
    assert_eq!(up.status, 200, "{}", up.text);
    assert_eq!(app.get("/v1/staff/me", &admin).await.status, 200);
}
