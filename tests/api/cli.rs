//! The `ips` binary: configuration errors, the first admin, and a clean stop on SIGTERM.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{self, TestApp, TestDatabase, PASSWORD};

fn ips() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ips"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("IPS_CONFIG")
        .env("IPS_LOG", "warn");
    command
}

#[test]
fn a_bad_database_url_is_one_clear_line() {
    for (url, expected) in [
        ("mysql://localhost/ips", "DATABASE_URL must start with"),
        (
            "postgres://nobody@127.0.0.1:1/ips",
            "cannot connect to the database",
        ),
        (
            "sqlite:///nonexistent-dir/for/sure/ips.db",
            "cannot connect to the database",
        ),
    ] {
        let out = ips()
            .arg("migrate")
            .env("DATABASE_URL", url)
            .output()
            .expect("run ips");
        assert!(!out.status.success(), "{url} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line for {url}: {stderr}"
        );
        assert!(stderr.contains(expected), "{url}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_bad_setting_is_named() {
    let out = ips()
        .arg("migrate")
        .env("IPS_ACCESS_TOKEN_TTL_SECONDS", "-5")
        .output()
        .expect("run ips");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("IPS_ACCESS_TOKEN_TTL_SECONDS"));
}

#[tokio::test]
async fn the_first_admin_is_created_from_stdin_and_can_log_in() {
    let database = TestDatabase::new();
    let mut child = ips()
        .args([
            "admin",
            "create-staff",
            "--email",
            "first@example.no",
            "--name",
            "First Admin",
            "--role",
            "admin",
        ])
        .env("DATABASE_URL", &database.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ips admin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin first@example.no"));

    let app = TestApp::spawn_on(database, None, |_| {}).await;
    assert_eq!(app.login("first@example.no", PASSWORD).await.status, 200);
}

#[test]
fn a_weak_password_from_stdin_is_refused() {
    let database = TestDatabase::new();
    let mut child = ips()
        .args([
            "admin",
            "create-staff",
            "--email",
            "a@example.no",
            "--name",
            "A",
            "--role",
            "admin",
        ])
        .env("DATABASE_URL", &database.url)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"short\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let database = TestDatabase::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = ips()
        .env("DATABASE_URL", &database.url)
        .env("IPS_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ips");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "ips did not start listening");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "ips did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the real binary at trace level through a login, a refresh, an enrolment and a failed
/// login, and checks that no password, token or enrolment code reaches its log.
#[tokio::test]
async fn no_secret_reaches_the_log() {
    let database = TestDatabase::new();
    let mut admin = ips()
        .args([
            "admin",
            "create-staff",
            "--email",
            "admin@example.no",
            "--name",
            "Admin",
            "--role",
            "admin",
        ])
        .env("DATABASE_URL", &database.url)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run ips admin");
    admin
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(admin.wait().expect("wait").success());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = ips()
        .env("DATABASE_URL", &database.url)
        .env("IPS_BIND", format!("127.0.0.1:{port}"))
        .env("IPS_LOG", "trace")
        .env("IPS_LOG_FORMAT", "json")
        .stdout(log.reopen().expect("log"))
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("run ips");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "ips did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    helpers::run(client.get(format!("{base}/health/live")))
        .await
        .ok();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { helpers::run(request).await.body }
    };
    let login = post(
        "/v1/auth/login",
        None,
        serde_json::json!({ "email": "admin@example.no", "password": PASSWORD }),
    )
    .await;
    let refreshed = post(
        "/v1/auth/refresh",
        None,
        serde_json::json!({ "refresh_token": login["refresh_token"] }),
    )
    .await;
    let admin_token = refreshed["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let team = post(
        "/v1/teams",
        Some(&admin_token),
        serde_json::json!({ "name": "T" }),
    )
    .await;
    post(
        "/v1/staff",
        Some(&admin_token),
        serde_json::json!({ "email": "s@example.no", "name": "S", "role": "specialist", "team_id": team["id"], "password": PASSWORD }),
    )
    .await;
    let specialist = post(
        "/v1/auth/login",
        None,
        serde_json::json!({ "email": "s@example.no", "password": PASSWORD }),
    )
    .await;
    let specialist_token = specialist["access_token"].as_str().expect("token");
    let enrolled = post(
        "/v1/participants",
        Some(specialist_token),
        serde_json::json!({ "display_name": "P" }),
    )
    .await;
    let code = enrolled["enrolment_code"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let device = post("/v1/auth/enrol", None, serde_json::json!({ "code": code })).await;
    post(
        "/v1/auth/login",
        None,
        serde_json::json!({ "email": "admin@example.no", "password": "a wrong guess at it" }),
    )
    .await;

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    child.wait().expect("wait");
    let written = std::fs::read_to_string(log.path()).expect("read log");
    assert!(
        written.contains("request done"),
        "the log has request lines: {written}"
    );
    assert!(
        written.contains("/v1/participants") && written.contains("201"),
        "a request's last line names its route and status: {written}"
    );
    let secrets = [
        PASSWORD.to_owned(),
        "a wrong guess at it".to_owned(),
        login["access_token"].as_str().expect("t").to_owned(),
        login["refresh_token"].as_str().expect("t").to_owned(),
        refreshed["refresh_token"].as_str().expect("t").to_owned(),
        admin_token,
        specialist_token.to_owned(),
        code.clone(),
        code.replace('-', ""),
        device["access_token"].as_str().expect("t").to_owned(),
        device["refresh_token"].as_str().expect("t").to_owned(),
    ];
    for secret in secrets {
        assert!(
            !written.contains(&secret),
            "the log must not contain {secret}"
        );
    }
}
