//! The test harness: a real app on a random port against a fresh database, and an HTTP client.
//!
//! The backend comes from `IPS_TEST_DATABASE`: `sqlite` (the default; a new file in a temp
//! directory per test) or `postgres` (a new database per test on `IPS_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`, dropped when the test ends).

use std::net::TcpListener;

use diesel::{Connection, PgConnection, RunQueryDsl};
use ips_core::domain::{password, Role};
use ips_core::store::staff;
use ips_core::{Config, Db};
use rand::Rng;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::contract_check;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub fn backend() -> TestBackend {
    match std::env::var("IPS_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") => TestBackend::Postgres,
        _ => TestBackend::Sqlite,
    }
}

fn postgres_admin_url() -> String {
    std::env::var("IPS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database for one test; dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn new() -> Self {
        match backend() {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("ips.db").display());
                TestDatabase {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            TestBackend::Postgres => {
                let name = format!("ips_test_{:016x}", rand::thread_rng().gen::<u64>());
                let admin = postgres_admin_url();
                let mut conn = PgConnection::establish(&admin)
                    .expect("PostgreSQL for tests (IPS_TEST_POSTGRES_URL)");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin);
                TestDatabase {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// The URL of this database reached through another host:port (a test proxy).
    pub fn url_via(&self, port: u16) -> String {
        let name = self
            .pg_name
            .as_deref()
            .expect("only PostgreSQL databases can be proxied");
        format!("postgres://postgres@127.0.0.1:{port}/{name}")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    /// Kept so the database lives (and is dropped) with the app.
    _database: TestDatabase,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    // Stop the server's worker threads with the test, not at the end of the test binary.
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json body with this status, and returns its `type` slug.
    pub fn assert_problem(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type: {}",
            self.text
        );
        assert_eq!(
            self.body["status"],
            json!(status),
            "problem status field: {}",
            self.text
        );
        assert!(
            self.body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "problem title: {}",
            self.text
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "problem detail: {}",
            self.text
        );
        let kind = self.body["type"].as_str().expect("problem type").to_owned();
        kind.strip_prefix("urn:ips:problem:")
            .expect("problem type prefix")
            .to_owned()
    }

    /// The fields named in a 422's `errors` list (each once, though a field may fail several rules).
    pub fn invalid_fields(&self) -> Vec<String> {
        assert_eq!(self.assert_problem(422), "validation");
        self.body["errors"]
            .as_array()
            .expect("errors list")
            .iter()
            .map(|e| {
                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
                e["field"].as_str().expect("field").to_owned()
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.text
        );
        self.body
    }
}

/// Sends a request (built on any client), reads the answer, and fails the test unless the answer
/// is one openapi.yaml promises for that method and path (`contract_check`).
pub async fn run(request: reqwest::RequestBuilder) -> Reply {
    try_run(request).await.expect("request sent")
}

/// As [`run`], but a request that could not be sent or answered is an error, not a panic.
pub async fn try_run(request: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
    let (client, request) = request.build_split();
    let request = request.expect("a well-formed request");
    let method = request.method().clone();
    let url = request.url().clone();
    let response = client.execute(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    contract_check::assert_conforms(&contract_check::Exchange {
        method: &method,
        url: &url,
        status,
        headers: &headers,
        text: &text,
    });
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Reply {
        status,
        headers,
        body,
        text,
    })
}

/// Sends `method path` on `client` to the app at `address` (this one or another process), with a
/// bearer token and a JSON body when given, through [`run`], so the answer is held to openapi.yaml.
pub async fn send_to(
    client: &reqwest::Client,
    address: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = client.request(method, format!("{address}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    run(request).await
}

pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.database_url = SecretString::from(database_url.to_owned());
    config.database_pool_size = 4;
    config.http_workers = 1;
    config.shutdown_timeout_seconds = 1;
    config
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let database = TestDatabase::new();
        Self::spawn_on(database, None, adjust).await
    }

    /// Spawns against `database`, connecting through `via_url` when given (a proxy).
    pub async fn spawn_on(
        database: TestDatabase,
        via_url: Option<String>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let url = via_url.unwrap_or_else(|| database.url.clone());
        let mut config = test_config(&url);
        adjust(&mut config);
        let db =
            Db::connect(&url, config.database_pool_size).expect("connect to the test database");
        db.migrate().expect("migrate the test database");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let state = ips_api::AppState::new(db.clone(), config);
        let running = ips_api::build_server(listener, state).expect("build the server");
        let address = format!("http://127.0.0.1:{}", running.port);
        tokio::spawn(running.server);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            address,
            client,
            db,
            _database: database,
            handle: running.handle,
        }
    }

    /// The URL of this app's database, for other processes (`ips work`) to share it.
    pub fn database_url(&self) -> String {
        self._database.url.clone()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        send_to(&self.client, &self.address, method, path, token, body).await
    }

    /// Sends a request built on `self.client` (any method, headers or body), reads the answer,
    /// and holds it to openapi.yaml. Every response a test looks at comes through here or [`run`].
    pub async fn run(&self, request: reqwest::RequestBuilder) -> Reply {
        run(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// The first administrator, made as an operator would (`ips admin create-staff`).
    pub async fn create_admin(&self, email: &str) -> i64 {
        let email = email.to_owned();
        let hash = password::hash(PASSWORD).expect("hash");
        self.db
            .write(move |conn| {
                staff::create_active(conn, email, "Admin".into(), Role::Admin, None, hash)
            })
            .await
            .expect("create admin")
            .id
    }

    /// Logs in and returns the token response.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/v1/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn access_token(&self, email: &str) -> String {
        let body = self.login(email, PASSWORD).await.ok();
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// An administrator's access token (creating the admin first).
    pub async fn admin(&self) -> String {
        self.create_admin("admin@example.no").await;
        self.access_token("admin@example.no").await
    }

    pub async fn create_team(&self, admin: &str, name: &str) -> i64 {
        let body = self
            .post(
                "/v1/teams",
                Some(admin),
                json!({ "name": name, "phone": "+47 22 00 00 00" }),
            )
            .await
            .ok();
        body["id"].as_i64().expect("team id")
    }

    /// Creates a staff member through the API and logs them in: (id, access token).
    pub async fn staff_member(
        &self,
        admin: &str,
        email: &str,
        role: &str,
        team: Option<i64>,
    ) -> (i64, String) {
        let body = self
            .post(
                "/v1/staff",
                Some(admin),
                json!({ "email": email, "name": format!("Staff {email}"), "role": role, "team_id": team, "password": PASSWORD }),
            )
            .await
            .ok();
        let id = body["id"].as_i64().expect("staff id");
        (id, self.access_token(email).await)
    }

    /// Enrols a participant as `specialist` and signs their app in: (participant id, access token).
    pub async fn participant(&self, specialist: &str, name: &str) -> (i64, String) {
        let (id, code) = self.enrol(specialist, name).await;
        let tokens = self
            .post("/v1/auth/enrol", None, json!({ "code": code }))
            .await
            .ok();
        (
            id,
            tokens["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
        )
    }

    /// Enrols a participant as `specialist`: (participant id, enrolment code).
    pub async fn enrol(&self, specialist: &str, name: &str) -> (i64, String) {
        let body = self
            .post(
                "/v1/participants",
                Some(specialist),
                json!({ "display_name": name }),
            )
            .await
            .ok();
        let id = body["participant"]["id"].as_i64().expect("participant id");
        let code = body["enrolment_code"]["code"]
            .as_str()
            .expect("code")
            .to_owned();
        (id, code)
    }
}

/// A typical world: an admin, one team with a supervisor and two specialists, and a second team
/// with its own specialist.
pub struct World {
    pub admin: String,
    pub team: i64,
    pub other_team: i64,
    pub supervisor: String,
    pub specialist: String,
    pub specialist_id: i64,
    pub colleague: String,
    pub colleague_id: i64,
    pub outsider: String,
}

impl World {
    pub async fn build(app: &TestApp) -> World {
        let admin = app.admin().await;
        let team = app.create_team(&admin, "IPS Oslo Øst").await;
        let other_team = app.create_team(&admin, "IPS Bergen").await;
        let (_, supervisor) = app
            .staff_member(&admin, "sup@example.no", "supervisor", Some(team))
            .await;
        let (specialist_id, specialist) = app
            .staff_member(&admin, "spec@example.no", "specialist", Some(team))
            .await;
        let (colleague_id, colleague) = app
            .staff_member(&admin, "col@example.no", "specialist", Some(team))
            .await;
        let (_, outsider) = app
            .staff_member(&admin, "out@example.no", "specialist", Some(other_team))
            .await;
        World {
            admin,
            team,
            other_team,
            supervisor,
            specialist,
            specialist_id,
            colleague,
            colleague_id,
            outsider,
        }
    }
}
