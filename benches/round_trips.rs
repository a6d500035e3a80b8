//! Database statements per API request: an exact count, unaffected by how busy the machine is.
//!
//! Starts the API in this process against a fresh database, signs in one participant with three
//! interviews (one past, two ahead, reminders planned) and saved job preferences, then sends the
//! requests of the load benchmark (`tools/bench/load.sh`) one at a time and counts what diesel
//! sends for each: every statement is one round trip to PostgreSQL (a statement prepared for the
//! first time on a connection is one more). Transaction control (`BEGIN`, `COMMIT`) and the pool's
//! connection check (`SELECT 1`) are counted apart, and so are statements diesel cannot keep
//! prepared (their SQL changes with their input, so PostgreSQL parses and plans them every time).
//! It measures twice: with the authentication cache as configured by default, where a token used
//! a moment ago costs no statement, and with it off (`IPS_AUTH_CACHE_SECONDS=0`), as for the first
//! request of a token.
//!
//!   cargo bench --bench round_trips                                   # SQLite in a temp directory
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench round_trips
//!   cargo test --release --bench round_trips                          # the same, built faster
//!
//! On PostgreSQL a fresh database is created next to the one named and dropped afterwards. The
//! counts do not depend on the build profile. It prints figures and asserts nothing.

#[path = "support/scratch.rs"]
mod scratch;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

use chrono::{Duration, Utc};
use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use ips_core::domain::{password, Role};
use ips_core::store::staff;
use ips_core::{Config, Db};
use secrecy::SecretString;
use serde_json::{json, Value};

/// Requests measured per scenario, after as many to warm the connections' statement caches.
const REQUESTS: usize = 20;
const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone)]
enum Event {
    /// A statement sent (its SQL, without the bind values).
    Statement(String),
    /// A statement prepared and kept in a connection's cache.
    Prepared(String),
}

static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());
/// The SQL of every statement any connection has kept prepared since the start.
static PREPARED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn record(event: Event) {
    if let Event::Prepared(sql) = &event {
        PREPARED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql.clone());
    }
    EVENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(event);
}

fn ever_prepared() -> BTreeSet<String> {
    PREPARED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn take_events() -> Vec<Event> {
    std::mem::take(&mut *EVENTS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Given to every connection this process opens.
struct Recorder;

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let text = query.to_string();
                let sql = text.split(" -- binds:").next().unwrap_or_default();
                record(Event::Statement(sql.trim().to_owned()));
            }
            InstrumentationEvent::CacheQuery { sql, .. } => {
                record(Event::Prepared(sql.trim().to_owned()))
            }
            _ => {}
        }
    }
}

fn main() -> anyhow::Result<()> {
    set_default_instrumentation(|| Some(Box::new(Recorder)))?;
    let scratch = scratch::Scratch::create("round_trips")?;
    let url = scratch.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(&url));
    drop(runtime);
    scratch.finish()?;
    result
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }
}

fn text(value: &Value, pointer: &str) -> anyhow::Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {pointer} in {value}"))
}

/// An admin, a team, a specialist and one participant signed in on their phone: the
/// participant's access token.
async fn seed(api: &Api, db: &Db) -> anyhow::Result<String> {
    let hash = password::hash(PASSWORD)?;
    db.write(move |conn| {
        staff::create_active(
            conn,
            "admin@example.no".into(),
            "Admin".into(),
            Role::Admin,
            None,
            hash,
        )
    })
    .await?;
    let login = |email: &'static str| async move {
        let body = api
            .post(
                "/v1/auth/login",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await?;
        text(&body, "/access_token")
    };
    let admin = login("admin@example.no").await?;
    let team = api
        .post("/v1/teams", Some(&admin), json!({ "name": "IPS Oslo" }))
        .await?;
    let team = team["id"].as_i64().unwrap_or_default();
    api.post(
        "/v1/staff",
        Some(&admin),
        json!({ "email": "spec@example.no", "name": "Specialist", "role": "specialist",
                "team_id": team, "password": PASSWORD }),
    )
    .await?;
    let specialist = login("spec@example.no").await?;
    let enrolled = api
        .post(
            "/v1/participants",
            Some(&specialist),
            json!({ "display_name": "Kari" }),
        )
        .await?;
    let code = text(&enrolled, "/enrolment_code/code")?;
    let tokens = api
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await?;
    let participant = text(&tokens, "/access_token")?;
    for days in [-2, 3, 5] {
        api.post(
            "/v1/me/interviews",
            Some(&participant),
            interview(Utc::now() + Duration::days(days)),
        )
        .await?;
    }
    Ok(participant)
}

fn interview(starts_at: chrono::DateTime<Utc>) -> Value {
    json!({
        "employer": "Kiwi",
        "role_title": "Butikkmedarbeider",
        "starts_at": starts_at.format("%Y-%m-%dT%H:00:00Z").to_string(),
        "duration_minutes": 45,
        "address": "Storgata 1, Oslo",
    })
}

fn preferences() -> Value {
    json!({
        "goal": "work", "desired_roles": ["Barista", "Lagermedarbeider"],
        "industries": ["Hospitality"], "interests": ["Coffee", "Cycling"],
        "skills": ["Customer service"], "experience": "Two summers at a café.",
        "hours_per_week_min": 10, "hours_per_week_max": 20,
        "preferred_times": ["morning", "daytime"], "locations": ["Oslo sentrum"],
        "max_commute_minutes": 40, "avoid": ["Night shifts"], "disclosure": "partial",
        "disclosure_notes": "May mention that I need regular breaks.",
        "notes": "Prefers small workplaces."
    })
}

#[derive(Clone, Copy)]
enum Scenario {
    ReadInterviews,
    SavePreferences,
    RecordInterview,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::ReadInterviews => "a) GET /v1/me/interviews?limit=20",
            Scenario::SavePreferences => "b) PUT /v1/me/job-preferences",
            Scenario::RecordInterview => "c) POST /v1/me/interviews",
        }
    }

    async fn send(self, api: &Api, token: &str, n: usize) -> anyhow::Result<()> {
        match self {
            Scenario::ReadInterviews => {
                api.send(
                    reqwest::Method::GET,
                    "/v1/me/interviews?limit=20",
                    Some(token),
                    None,
                )
                .await?;
            }
            Scenario::SavePreferences => {
                api.send(
                    reqwest::Method::PUT,
                    "/v1/me/job-preferences",
                    Some(token),
                    Some(preferences()),
                )
                .await?;
            }
            Scenario::RecordInterview => {
                let days = 2 + i64::try_from(n % 300).unwrap_or(0);
                let starts = Utc::now() + Duration::days(days);
                api.post("/v1/me/interviews", Some(token), interview(starts))
                    .await?;
            }
        }
        Ok(())
    }
}

/// What one kind of statement is, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Transaction,
    Ping,
    Query,
}

fn kind_of(sql: &str) -> Kind {
    let upper = sql.to_ascii_uppercase();
    if upper.starts_with("BEGIN") || upper == "COMMIT" || upper == "ROLLBACK" {
        Kind::Transaction
    } else if upper == "SELECT 1" {
        Kind::Ping
    } else {
        Kind::Query
    }
}

/// Starts the API on `db` with the benchmark's settings; `auth_cache_seconds` as given.
fn serve(
    db: &Db,
    url: &str,
    auth_cache_seconds: u64,
) -> anyhow::Result<(Api, actix_web::dev::ServerHandle)> {
    let mut config = Config::defaults();
    config.database_url = SecretString::from(url.to_owned());
    config.database_pool_size = 4;
    config.http_workers = 1;
    config.auth_cache_seconds = auth_cache_seconds;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let running = ips_api::build_server(listener, ips_api::AppState::new(db.clone(), config))?;
    let api = Api {
        base: format!("http://127.0.0.1:{}", running.port),
        client: reqwest::Client::new(),
    };
    let handle = running.handle.clone();
    tokio::spawn(running.server);
    Ok((api, handle))
}

async fn run(url: &str) -> anyhow::Result<()> {
    let db = Db::connect(url, 4)?;
    db.migrate()?;
    let defaults = Config::defaults().auth_cache_seconds;
    let (api, handle) = serve(&db, url, defaults)?;
    let (uncached, uncached_handle) = serve(&db, url, 0)?;
    let token = seed(&api, &db).await?;
    api.send(
        reqwest::Method::PUT,
        "/v1/me/job-preferences",
        Some(&token),
        Some(preferences()),
    )
    .await?;
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let cache = format!("IPS_AUTH_CACHE_SECONDS={defaults} (the default)");
    let listings = measure(&api, &token, backend, &cache).await?;
    measure(&uncached, &token, backend, "IPS_AUTH_CACHE_SECONDS=0").await?;
    for (name, events, prepared) in listings {
        println!("\n-- {name}: the statements of one request ({cache})");
        for event in events {
            if let Event::Statement(sql) = event {
                let mark = if kind_of(&sql) == Kind::Query && !prepared.contains(&sql) {
                    "  (not prepared)"
                } else {
                    ""
                };
                let short: String = sql.chars().take(150).collect();
                println!("   {short}{mark}");
            }
        }
    }
    handle.stop(false).await;
    uncached_handle.stop(false).await;
    Ok(())
}

type Listing = (&'static str, Vec<Event>, BTreeSet<String>);

/// Sends each scenario's requests and prints the statements of one; returns what each sent.
async fn measure(
    api: &Api,
    token: &str,
    backend: &str,
    cache: &str,
) -> anyhow::Result<Vec<Listing>> {
    println!("\n== statements per request ({backend}, {cache}; {REQUESTS} requests each, one at a time, after as many to warm up)");
    println!(
        "{:<36} {:>6} {:>6} {:>6} {:>7} {:>9} {:>8}",
        "scenario", "total", "query", "txn", "ping", "unprepd", "prepare"
    );
    let mut listings = Vec::new();
    for scenario in [
        Scenario::ReadInterviews,
        Scenario::SavePreferences,
        Scenario::RecordInterview,
    ] {
        for n in 0..REQUESTS {
            scenario.send(api, token, n).await?;
        }
        let mut last = Vec::new();
        for n in REQUESTS..2 * REQUESTS {
            // Whatever was prepared once stays prepared on its connection.
            let prepared = ever_prepared();
            let _ = take_events();
            scenario.send(api, token, n).await?;
            last = take_events();
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for event in &last {
                match event {
                    Event::Statement(sql) => {
                        *counts.entry("total").or_default() += 1;
                        let name = match kind_of(sql) {
                            Kind::Transaction => "txn",
                            Kind::Ping => "ping",
                            Kind::Query if prepared.contains(sql) => "query",
                            Kind::Query => {
                                *counts.entry("unprepared").or_default() += 1;
                                "query"
                            }
                        };
                        *counts.entry(name).or_default() += 1;
                    }
                    Event::Prepared(_) => *counts.entry("prepare").or_default() += 1,
                }
            }
            if n == 2 * REQUESTS - 1 {
                let get = |k: &str| counts.get(k).copied().unwrap_or(0);
                println!(
                    "{:<36} {:>6} {:>6} {:>6} {:>7} {:>9} {:>8}",
                    scenario.name(),
                    get("total"),
                    get("query"),
                    get("txn"),
                    get("ping"),
                    get("unprepared"),
                    get("prepare"),
                );
            }
        }
        listings.push((scenario.name(), last, ever_prepared()));
    }
    println!("(total = statements = round trips to the database; unprepd = statements whose SQL diesel cannot keep prepared; prepare = statements prepared during the request)");
    Ok(listings)
}
