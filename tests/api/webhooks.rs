//! Webhooks end to end: endpoints registered through the API, events written by the real HTTP
//! actions that cause them, and the real webhook sender POSTing them to a local receiver that
//! records each request and answers as the test tells it. Signatures are checked here with the
//! secret, independently of the product's own signing code.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use ips_worker::backoff::Backoff;
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};
use ips_worker::scans::{AlertScanner, ScanConfig};
use ips_worker::webhooks::{WebhookConfig, WebhookSender};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::follow_up::count;
use crate::helpers::{Reply, TestApp, World};
use crate::worker::execute;

const BUDGET: StdDuration = StdDuration::from_secs(10);

const ALL_TYPES: [&str; 9] = [
    "alert.raised",
    "alert.resolved",
    "interview.created",
    "interview.changed",
    "interview.cancelled",
    "participant.enrolled",
    "participant.withdrawn",
    "reminder.delivered",
    "reminder.failed",
];

// --- the receiver ---------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn event_id(&self) -> &str {
        self.header("webhook-id")
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    retry_after: Option<&'static str>,
    delay: StdDuration,
}

impl Answer {
    fn status(status: u16) -> Self {
        Answer {
            status,
            retry_after: None,
            delay: StdDuration::ZERO,
        }
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Answers for the next requests, in order; 200 once they run out.
    script: Mutex<VecDeque<Answer>>,
    /// Every request waits this long before answering (a slow receiver).
    delay: Mutex<StdDuration>,
}

struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

async fn receive(
    state: web::Data<Arc<ReceiverState>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let answer = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::status(200));
    let wait = answer.delay.max(*state.delay.lock().unwrap());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(answer.status).unwrap());
    if let Some(after) = answer.retry_after {
        response.insert_header(("Retry-After", after));
    }
    response.body("a body the product must not store")
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState::default());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/ips"),
            state,
            handle,
        }
    }

    fn answer(&self, answers: &[Answer]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(answers.iter().cloned());
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

// --- helpers ----------------------------------------------------------------------------------

/// An app that accepts the receiver's plain-http URL.
async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.webhooks_allow_http = true).await
}

/// Retries come at once here (no backoff), so a test can tick again straight away.
fn sender(app: &TestApp, owner: &str) -> WebhookSender {
    sender_with(app, owner, 100)
}

fn sender_with(app: &TestApp, owner: &str, batch: i64) -> WebhookSender {
    let config = WebhookConfig {
        batch,
        max_attempts: 3,
        backoff: Backoff {
            base: Duration::zero(),
            factor: 4,
            max: Duration::zero(),
        },
        timeout: StdDuration::from_secs(5),
        ..WebhookConfig::default()
    };
    WebhookSender::new(app.db.clone(), owner.into(), config).unwrap()
}

async fn send_due(app: &TestApp) {
    sender(app, "webhooks-test").tick(BUDGET).await.unwrap();
}

/// Registers an endpoint: (its id, its secret).
async fn register(app: &TestApp, admin: &str, url: &str, types: &[&str]) -> (i64, String) {
    let created = app
        .post(
            "/v1/webhook-endpoints",
            Some(admin),
            json!({ "url": url, "event_types": types, "description": "Case management" }),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let body = created.body;
    (
        body["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: i64, query: &str) -> Value {
    app.get(
        &format!("/v1/webhook-endpoints/{endpoint}/deliveries?{query}"),
        admin,
    )
    .await
    .ok()
}

async fn ping(app: &TestApp, admin: &str, endpoint: i64) -> Value {
    let reply = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/ping"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 202, "{}", reply.text);
    reply.body
}

/// Checks the request's Standard Webhooks signature with `secret`, computed here from scratch.
fn assert_signed(secret: &str, r: &Received) {
    let (id, timestamp) = (r.header("webhook-id"), r.header("webhook-timestamp"));
    assert!(id.starts_with("evt_"), "webhook-id {id:?}");
    let sent_at: i64 = timestamp.parse().expect("a unix timestamp");
    assert!(
        (Utc::now().timestamp() - sent_at).abs() < 60,
        "fresh timestamp"
    );
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert!(
        r.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected),
        "signature {:?} does not match {expected}",
        r.header("webhook-signature")
    );
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r
        .header("user-agent")
        .starts_with("IPS-Companion-Webhooks/"));
    assert_eq!(r.json()["id"], json!(id), "the body's id is the header's");
    assert!(
        r.body.starts_with(&format!(r#"{{"id":"{id}","type":""#)),
        "id and type first: {}",
        r.body
    );
}

/// Makes the pending reminders with these ids due now.
fn make_due(app: &TestApp, ids: &[i64]) {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    execute(
        app,
        &format!(
            "UPDATE notifications SET next_attempt_at = '2000-01-01 00:00:00' WHERE id IN ({list})"
        ),
    );
}

fn pending_reminders(app: &TestApp) -> Vec<i64> {
    let mut conn = app.db.get().unwrap();
    let rows: Vec<crate::worker::Row> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT id, status, attempts, last_error FROM notifications \
             WHERE kind = 'interview_reminder' AND status = 'pending' ORDER BY id",
        ),
        &mut *conn,
    )
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

/// Answers every push with one outcome.
struct FixedTransport(Outcome);

#[async_trait::async_trait]
impl Transport for FixedTransport {
    fn name(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, _target: &Target, _message: &PushMessage) -> Outcome {
        self.0.clone()
    }
}

async fn dispatch(app: &TestApp, outcome: Outcome) {
    Dispatcher::new(
        app.db.clone(),
        "webhooks-dispatch".into(),
        vec![Arc::new(FixedTransport(outcome)) as Arc<dyn Transport>],
        None,
        DispatchConfig::default(),
    )
    .tick(BUDGET)
    .await
    .unwrap();
}

async fn scan(app: &TestApp) {
    AlertScanner::new(app.db.clone(), ScanConfig::default())
        .tick(BUDGET)
        .await
        .unwrap();
}

// --- registration -----------------------------------------------------------------------------

#[tokio::test]
async fn an_endpoint_is_registered_with_its_secret_shown_once_and_bad_input_is_refused() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let url = "https://hooks.example.org/ips";
    let created = app
        .post(
            "/v1/webhook-endpoints",
            Some(&w.admin),
            json!({ "url": url, "event_types": ["alert.raised", "alert.resolved", "alert.raised"], "description": "Case management" }),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/webhook-endpoints/{id}").as_str())
    );
    let secret = created.body["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{secret}"
    );
    assert_eq!(created.body["status"], "active");
    assert_eq!(
        created.body["event_types"],
        json!(["alert.raised", "alert.resolved"])
    );

    let read = app
        .get(&format!("/v1/webhook-endpoints/{id}"), &w.admin)
        .await
        .ok();
    assert!(
        read.get("secret").is_none(),
        "the secret is shown once: {read}"
    );
    assert!(!read.to_string().contains(secret));
    let listed = app.get("/v1/webhook-endpoints", &w.admin).await.ok();
    assert_eq!(listed["items"][0]["id"], json!(id));
    assert!(!listed.to_string().contains(secret));

    // Every bad input is a 422 naming its field.
    let bad = |body: Value| {
        let app = &app;
        let admin = w.admin.clone();
        async move {
            app.post("/v1/webhook-endpoints", Some(&admin), body)
                .await
                .invalid_fields()
        }
    };
    let types = json!(["alert.raised"]);
    assert_eq!(
        bad(json!({ "url": "http://hooks.example.org/ips", "event_types": types })).await,
        ["url"],
        "plain http is refused by default"
    );
    for url in [
        "not a url",
        "hooks.example.org/ips",
        "ftp://hooks.example.org/ips",
        "https://user:password@hooks.example.org/ips",
        "",
    ] {
        assert_eq!(
            bad(json!({ "url": url, "event_types": types })).await,
            ["url"],
            "{url}"
        );
    }
    assert_eq!(
        bad(json!({ "url": url, "event_types": ["alert.exploded"] })).await,
        ["event_types"]
    );
    assert_eq!(
        bad(json!({ "url": url, "event_types": ["ping"] })).await,
        ["event_types"],
        "ping is sent on request, not subscribed to"
    );
    assert_eq!(
        bad(json!({ "url": url, "event_types": [] })).await,
        ["event_types"]
    );
    assert_eq!(bad(json!({ "url": url })).await, ["event_types"]);
    assert_eq!(
        bad(json!({ "url": url, "event_types": types, "status": "disabled" })).await,
        ["status"]
    );
    assert_eq!(
        bad(json!({ "url": url, "event_types": types, "description": "x".repeat(501) })).await,
        ["description"]
    );
    assert_eq!(
        bad(json!({ "url": url, "event_types": types, "secret": "whsec_mine" })).await,
        ["secret"],
        "the server makes the secret"
    );
    assert_eq!(
        bad(json!({ "url": "http://x", "event_types": [] })).await,
        ["event_types", "url"],
        "every problem at once"
    );
    let patched = app
        .patch(
            &format!("/v1/webhook-endpoints/{id}"),
            &w.admin,
            json!({ "url": "http://hooks.example.org/ips" }),
        )
        .await;
    assert_eq!(patched.invalid_fields(), ["url"]);
    let rotated = app
        .post(
            &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
            Some(&w.admin),
            json!({ "overlap_seconds": -1 }),
        )
        .await;
    assert_eq!(rotated.invalid_fields(), ["overlap_seconds"]);
    let filtered = app
        .get(
            &format!("/v1/webhook-endpoints/{id}/deliveries?status=lost"),
            &w.admin,
        )
        .await;
    assert_eq!(filtered.invalid_fields(), ["status"]);

    // Updates: the URL, the types, pausing.
    let updated = app
        .patch(
            &format!("/v1/webhook-endpoints/{id}"),
            &w.admin,
            json!({ "url": "https://hooks.example.org/v2", "event_types": ["interview.created"], "status": "paused" }),
        )
        .await
        .ok();
    assert_eq!(updated["url"], "https://hooks.example.org/v2");
    assert_eq!(updated["event_types"], json!(["interview.created"]));
    assert_eq!(updated["status"], "paused");

    // Only administrators: every other caller is refused, an unknown endpoint is 404.
    let (_, participant) = app.participant(&w.specialist, "Ola Nordmann").await;
    for token in [&w.specialist, &w.supervisor, &participant] {
        app.get("/v1/webhook-endpoints", token)
            .await
            .assert_problem(403);
        app.post(
            "/v1/webhook-endpoints",
            Some(token),
            json!({ "url": url, "event_types": types }),
        )
        .await
        .assert_problem(403);
        app.delete(&format!("/v1/webhook-endpoints/{id}"), token)
            .await
            .assert_problem(403);
    }
    app.send(Method::GET, "/v1/webhook-endpoints", None, None)
        .await
        .assert_problem(401);
    app.get("/v1/webhook-endpoints/999999", &w.admin)
        .await
        .assert_problem(404);
    app.post(
        "/v1/webhook-endpoints/999999/deliveries/1/redeliver",
        Some(&w.admin),
        json!({}),
    )
    .await
    .assert_problem(404);

    let deleted = app
        .delete(&format!("/v1/webhook-endpoints/{id}"), &w.admin)
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    app.get(&format!("/v1/webhook-endpoints/{id}"), &w.admin)
        .await
        .assert_problem(404);
}

// --- every event type, from its real action ---------------------------------------------------

/// `null` is no value for the fields the contract does not make nullable (it was read as "left out").
#[tokio::test]
async fn null_is_refused_where_an_endpoint_field_is_not_nullable() {
    let app = app().await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/v1/webhook-endpoints",
            Some(&admin),
            json!({ "url": "https://hooks.example.org/ips", "event_types": ["alert.raised"], "status": null }),
        )
        .await;
    assert_eq!(created.invalid_fields(), ["status"]);
    let (id, _) = register(
        &app,
        &admin,
        "https://hooks.example.org/ips",
        &["alert.raised"],
    )
    .await;
    let patched = app
        .patch(
            &format!("/v1/webhook-endpoints/{id}"),
            &admin,
            json!({ "url": null }),
        )
        .await;
    assert_eq!(patched.invalid_fields(), ["url"]);
    let rotated = app
        .post(
            &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
            Some(&admin),
            json!({ "overlap_seconds": null }),
        )
        .await;
    assert_eq!(rotated.invalid_fields(), ["overlap_seconds"]);
}

#[tokio::test]
async fn every_event_type_arrives_once_signed_with_ids_and_no_names_or_text() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&app, &w.admin, &receiver.url, &ALL_TYPES).await;

    // participant.enrolled
    let (pid, token) = app.participant(&w.specialist, "Ola Nordmann").await;
    app.post(
        "/v1/me/devices",
        Some(&token),
        json!({ "platform": "fcm", "token": format!("fcm-{}", rand::random::<u64>()), "app_version": "1.0", "locale": "nb-NO" }),
    )
    .await
    .ok();

    // interview.created, .changed, .cancelled (by the specialist)
    let start = Utc::now() + Duration::days(7);
    let interview = app
        .post(
            &format!("/v1/participants/{pid}/interviews"),
            Some(&w.specialist),
            json!({ "employer": "Rema 1000", "role_title": "Butikkmedarbeider", "starts_at": start.to_rfc3339(), "notes": "Ta med CV", "address": "Storgata 1" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let interview_path = format!("/v1/participants/{pid}/interviews/{interview}");
    app.patch(
        &interview_path,
        &w.specialist,
        json!({ "notes": "Spør om turnus", "starts_at": (start + Duration::hours(1)).to_rfc3339() }),
    )
    .await
    .ok();
    app.post(
        &format!("{interview_path}/cancel"),
        Some(&w.specialist),
        json!({ "reason": "Stillingen er besatt" }),
    )
    .await
    .ok();

    // reminder.delivered and reminder.failed: the participant's own interview's reminders,
    // one pushed and one refused by the provider.
    app.post(
        "/v1/me/interviews",
        Some(&token),
        json!({ "employer": "Kiwi Grünerløkka", "role_title": "Lager", "starts_at": start.to_rfc3339() }),
    )
    .await
    .ok();
    let reminders = pending_reminders(&app);
    assert!(reminders.len() >= 2, "two reminders planned: {reminders:?}");
    make_due(&app, &reminders[..1]);
    dispatch(&app, Outcome::Delivered { provider_id: None }).await;
    make_due(&app, &reminders[1..2]);
    dispatch(
        &app,
        Outcome::Failed {
            error: "INVALID_ARGUMENT".into(),
        },
    )
    .await;

    // alert.raised by the scan, alert.resolved by its cause going away.
    let request = app
        .post(
            "/v1/me/contact-requests",
            Some(&token),
            json!({ "kind": "call_me", "note": "Ring meg etter skolen" }),
        )
        .await;
    let request = request.ok()["id"].as_i64().unwrap();
    scan(&app).await;
    app.patch(
        &format!("/v1/participants/{pid}/contact-requests/{request}"),
        &w.specialist,
        json!({ "status": "handled" }),
    )
    .await
    .ok();

    // participant.withdrawn, then its alert raised by the scan and resolved by the specialist.
    app.post(
        "/v1/me/withdraw",
        Some(&token),
        json!({ "reason": "Jeg har fått jobb selv" }),
    )
    .await
    .ok();
    scan(&app).await;
    let alerts = app
        .get("/v1/alerts?kind=participant_withdrew", &w.specialist)
        .await
        .ok();
    let alert = alerts["items"][0]["id"].as_i64().unwrap();
    app.post(
        &format!("/v1/alerts/{alert}/resolve"),
        Some(&w.specialist),
        json!({ "note": "Snakket med Ola" }),
    )
    .await
    .ok();

    send_due(&app).await;
    let received = receiver.received();
    let mut by_type: HashMap<String, Vec<Value>> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for r in &received {
        assert_signed(&secret, r);
        assert!(ids.insert(r.event_id().to_owned()), "each event once");
        for text in [
            "Ola",
            "Nordmann",
            "Rema",
            "Butikkmedarbeider",
            "Kiwi",
            "Lager",
            "Ta med CV",
            "Storgata",
            "turnus",
            "besatt",
            "Ring meg",
            "fått jobb",
            "Snakket",
            "example.no",
            "Staff ",
            "INVALID_ARGUMENT",
        ] {
            assert!(!r.body.contains(text), "{text:?} in {}", r.body);
        }
        let body = r.json();
        assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
        by_type
            .entry(body["type"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["data"].clone());
    }
    let count = |t: &str| by_type.get(t).map_or(0, Vec::len);
    for t in ALL_TYPES {
        assert!(count(t) >= 1, "{t} arrived: {:?}", by_type.keys());
    }
    assert_eq!(count("participant.enrolled"), 1);
    assert_eq!(count("participant.withdrawn"), 1);
    assert_eq!(count("interview.created"), 2);
    assert_eq!(count("interview.cancelled"), 1);
    assert_eq!(count("reminder.delivered"), 1);
    assert_eq!(count("reminder.failed"), 1);
    assert_eq!(count("alert.raised"), 2);
    assert_eq!(count("alert.resolved"), 2);

    let enrolled = &by_type["participant.enrolled"][0];
    assert_eq!(enrolled["participant_id"], json!(pid));
    assert_eq!(enrolled["specialist_id"], json!(w.specialist_id));
    assert_eq!(enrolled["team_id"], json!(w.team));
    let cancelled = &by_type["interview.cancelled"][0];
    assert_eq!(cancelled["interview_id"], json!(interview));
    assert_eq!(cancelled["status"], "cancelled");
    let changed = &by_type["interview.changed"][0];
    assert_eq!(changed["interview_id"], json!(interview));
    assert_eq!(changed["sequence"], json!(1));
    let raised: Vec<&str> = by_type["alert.raised"]
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(raised.contains(&"request_waiting") && raised.contains(&"participant_withdrew"));
    let resolutions: Vec<&str> = by_type["alert.resolved"]
        .iter()
        .map(|d| d["resolution"].as_str().unwrap())
        .collect();
    assert!(
        resolutions.contains(&"cause_gone") && resolutions.contains(&"by_staff"),
        "{resolutions:?}"
    );
    let delivered = &by_type["reminder.delivered"][0];
    assert_eq!(delivered["participant_id"], json!(pid));
    assert_eq!(delivered["status"], "sent");
    assert_eq!(by_type["reminder.failed"][0]["status"], "failed");
    assert_eq!(
        by_type["participant.withdrawn"][0]["participant_id"],
        json!(pid)
    );

    // Everything delivered, and listed so.
    let listed = deliveries(&app, &w.admin, endpoint, "limit=200").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), received.len());
    assert!(items.iter().all(|d| d["status"] == "delivered"));
    send_due(&app).await;
    assert_eq!(
        receiver.received().len(),
        received.len(),
        "nothing sent twice"
    );
}

// --- retries, Retry-After, 410, pausing, redelivery --------------------------------------------

#[tokio::test]
async fn an_endpoint_answering_500_then_200_gets_the_same_event_twice_and_ends_delivered() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) =
        register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    receiver.answer(&[Answer::status(500)]);
    app.enrol(&w.specialist, "Kari Hansen").await;

    send_due(&app).await;
    let first = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(first["status"], "pending", "{first}");
    assert_eq!(first["last_status_code"], 500);
    assert!(first["next_attempt_at"].is_string());
    assert_eq!(first["attempts"].as_array().unwrap().len(), 1);

    tokio::time::sleep(StdDuration::from_millis(5)).await;
    send_due(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].event_id(), received[1].event_id());
    assert_eq!(
        received[0].body, received[1].body,
        "the same body each time"
    );
    for r in &received {
        assert_signed(&secret, r);
    }
    let done = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(done["status"], "delivered");
    assert_eq!(done["event_id"], json!(received[0].event_id()));
    assert!(done["delivered_at"].is_string());
    let attempts = done["attempts"].as_array().unwrap();
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(200)]);
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    assert!(
        !done.to_string().contains("must not store"),
        "no response body kept"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_attempts_run_out() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    receiver.answer(&[Answer {
        status: 429,
        retry_after: Some("120"),
        delay: StdDuration::ZERO,
    }]);
    app.enrol(&w.specialist, "Kari Hansen").await;
    send_due(&app).await;
    let delivery = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    let next: chrono::DateTime<Utc> = delivery["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        next >= Utc::now() + Duration::seconds(110),
        "not before Retry-After: {next}"
    );
    send_due(&app).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing sent before the asked time"
    );

    // Once the time has come, it is sent again; with 503s it gives up after 3 attempts.
    receiver.answer(&[Answer::status(503), Answer::status(503)]);
    for _ in 0..3 {
        execute(
            &app,
            "UPDATE webhook_deliveries SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'",
        );
        send_due(&app).await;
    }
    assert_eq!(receiver.received().len(), 3);
    let failed = deliveries(&app, &w.admin, endpoint, "status=failed").await["items"][0].clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["last_status_code"], 503);
    assert_eq!(failed["attempts"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn gone_disables_the_endpoint_until_an_administrator_resumes_it() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    receiver.answer(&[Answer::status(410)]);
    app.enrol(&w.specialist, "Kari Hansen").await;
    send_due(&app).await;
    let path = format!("/v1/webhook-endpoints/{endpoint}");
    let disabled = app.get(&path, &w.admin).await.ok();
    assert_eq!(disabled["status"], "disabled");
    assert!(disabled["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("410"));
    let failed = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(failed["status"], "failed");

    // A disabled endpoint gets no new events.
    app.enrol(&w.specialist, "Per Olsen").await;
    send_due(&app).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        deliveries(&app, &w.admin, endpoint, "").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let resumed = app
        .patch(&path, &w.admin, json!({ "status": "active" }))
        .await
        .ok();
    assert_eq!(resumed["status"], "active");
    assert!(resumed["disabled_reason"].is_null());
    app.enrol(&w.specialist, "Eva Berg").await;
    send_due(&app).await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn a_paused_endpoint_gets_nothing_until_it_is_resumed() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    let path = format!("/v1/webhook-endpoints/{endpoint}");
    app.patch(&path, &w.admin, json!({ "status": "paused" }))
        .await
        .ok();
    app.enrol(&w.specialist, "Kari Hansen").await;
    let pinged = ping(&app, &w.admin, endpoint).await;
    assert_eq!(pinged["status"], "pending");
    assert_eq!(pinged["event_type"], "ping");
    send_due(&app).await;
    assert!(
        receiver.received().is_empty(),
        "a paused endpoint gets nothing"
    );

    // Resumed: the ping held meanwhile goes out; the enrolment while paused was never queued.
    app.patch(&path, &w.admin, json!({ "status": "active" }))
        .await
        .ok();
    send_due(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["type"], "ping");
    assert_eq!(received[0].json()["data"]["endpoint_id"], json!(endpoint));
}

/// A new interview's event is written in the same statement as the interview on PostgreSQL
/// (`store::interviews::create`): it must reach every active endpoint that subscribes to it, the
/// same event to each, and no other endpoint.
#[tokio::test]
async fn a_new_interview_reaches_every_active_subscriber_and_no_other_endpoint() {
    let app = app().await;
    let w = World::build(&app).await;
    let (first, second, paused, other) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    register(&app, &w.admin, &first.url, &["interview.created"]).await;
    register(
        &app,
        &w.admin,
        &second.url,
        &["interview.created", "interview.changed"],
    )
    .await;
    let (held, _) = register(&app, &w.admin, &paused.url, &["interview.created"]).await;
    app.patch(
        &format!("/v1/webhook-endpoints/{held}"),
        &w.admin,
        json!({ "status": "paused" }),
    )
    .await
    .ok();
    register(&app, &w.admin, &other.url, &["interview.changed"]).await;
    let (pid, token) = app.participant(&w.specialist, "Ola Nordmann").await;

    let start = Utc::now() + Duration::days(3);
    let created = app
        .post(
            "/v1/me/interviews",
            Some(&token),
            json!({ "employer": "Kiwi", "role_title": "Lager", "starts_at": start.to_rfc3339() }),
        )
        .await
        .ok();
    send_due(&app).await;

    let (to_first, to_second) = (first.received(), second.received());
    assert_eq!(to_first.len(), 1, "one event to the first subscriber");
    assert_eq!(to_second.len(), 1, "one event to the second subscriber");
    assert_eq!(
        to_first[0].event_id(),
        to_second[0].event_id(),
        "the same event to both"
    );
    let event = to_first[0].json();
    assert_eq!(event["type"], "interview.created");
    assert_eq!(event["data"]["interview_id"], created["id"]);
    assert_eq!(event["data"]["participant_id"], json!(pid));
    assert_eq!(event["data"]["sequence"], json!(0));
    assert!(
        paused.received().is_empty(),
        "a paused endpoint gets nothing"
    );
    assert!(
        other.received().is_empty(),
        "nor one that does not subscribe to it"
    );
}

#[tokio::test]
async fn redelivery_sends_the_same_event_id_again_and_the_list_shows_every_attempt() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) =
        register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    app.enrol(&w.specialist, "Kari Hansen").await;
    send_due(&app).await;
    let delivery = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(delivery["status"], "delivered");
    let id = delivery["id"].as_i64().unwrap();

    let again = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/deliveries/{id}/redeliver"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 202, "{}", again.text);
    assert_eq!(again.body["status"], "pending");
    assert_eq!(again.body["event_id"], delivery["event_id"]);
    send_due(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].event_id(), received[1].event_id());
    assert_signed(&secret, &received[1]);
    let listed = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(listed["status"], "delivered");
    assert_eq!(listed["attempts"].as_array().unwrap().len(), 2);

    // Another endpoint's delivery is not found through this one.
    let (other, _) = register(&app, &w.admin, &receiver.url, &["alert.raised"]).await;
    app.post(
        &format!("/v1/webhook-endpoints/{other}/deliveries/{id}/redeliver"),
        Some(&w.admin),
        json!({}),
    )
    .await
    .assert_problem(404);
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_a_page_at_a_time_and_filtered_by_status() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    let mut pinged = Vec::new();
    for _ in 0..3 {
        pinged.push(ping(&app, &w.admin, endpoint).await["id"].as_i64().unwrap());
    }
    receiver.answer(&[
        Answer::status(200),
        Answer::status(200),
        Answer::status(500),
    ]);
    send_due(&app).await;

    let first = deliveries(&app, &w.admin, endpoint, "limit=2").await;
    let ids: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [pinged[2], pinged[1]]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = deliveries(
        &app,
        &w.admin,
        endpoint,
        &format!("limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(second["items"][0]["id"], json!(pinged[0]));
    assert!(second["next_cursor"].is_null());

    let pending = deliveries(&app, &w.admin, endpoint, "status=pending").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    let both = deliveries(&app, &w.admin, endpoint, "status=pending,delivered").await;
    assert_eq!(both["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn two_workers_never_deliver_one_delivery_twice_at_once() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    *receiver.state.delay.lock().unwrap() = StdDuration::from_millis(30);
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    for _ in 0..24 {
        ping(&app, &w.admin, endpoint).await;
    }
    let (a, b) = (
        sender_with(&app, "worker-a", 4),
        sender_with(&app, "worker-b", 4),
    );
    let (x, y) = tokio::join!(a.tick(BUDGET), b.tick(BUDGET));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.delivered + y.delivered, 24, "{x:?} {y:?}");
    assert_eq!(x.lost_leases + y.lost_leases, 0);
    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().map(Received::event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (24, 24), "each once");
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_old_one_during_the_overlap() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, old) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    let rotated = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            Some(&w.admin),
            json!({ "overlap_seconds": 3600 }),
        )
        .await
        .ok();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_string());
    ping(&app, &w.admin, endpoint).await;
    send_due(&app).await;
    let first = &receiver.received()[0];
    assert_eq!(first.header("webhook-signature").split(' ').count(), 2);
    assert_signed(&new, first);
    assert_signed(&old, first);

    // Without an overlap the old secret ends at once (an empty POST body is allowed).
    let reply: Reply = app
        .send(
            Method::POST,
            &format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            Some(&w.admin),
            None,
        )
        .await;
    let newer = reply.ok()["secret"].as_str().unwrap().to_owned();
    let reply = app
        .post(
            &format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"),
            Some(&w.admin),
            json!({ "overlap_seconds": 0 }),
        )
        .await
        .ok();
    let newest = reply["secret"].as_str().unwrap().to_owned();
    assert!(reply["previous_secret_expires_at"].is_null());
    assert_ne!(newer, newest);
    ping(&app, &w.admin, endpoint).await;
    send_due(&app).await;
    let second = &receiver.received()[1];
    assert_eq!(second.header("webhook-signature").split(' ').count(), 1);
    assert_signed(&newest, second);
}

#[tokio::test]
async fn the_webhook_queue_is_in_the_metrics() {
    let app = app().await;
    let w = World::build(&app).await;
    let (endpoint, _) = register(
        &app,
        &w.admin,
        "https://hooks.example.org/ips",
        &["alert.raised"],
    )
    .await;
    ping(&app, &w.admin, endpoint).await;
    let metrics = app.send(Method::GET, "/metrics", None, None).await.text;
    assert!(metrics.contains("ips_webhooks_due 1"), "{metrics}");
    assert!(metrics.contains("ips_webhooks_failed 0"));
}

#[tokio::test]
async fn a_stopped_workers_claim_is_taken_over_and_its_late_result_is_not_recorded() {
    use ips_core::store::now;
    use ips_core::store::webhook_deliveries::{self, Settled};

    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    ping(&app, &w.admin, endpoint).await;
    execute(
        &app,
        "UPDATE webhook_deliveries SET next_attempt_at = '2000-01-01 00:00:00'",
    );
    // A worker claimed it ten minutes ago with a one-minute lease, and stopped.
    let claimed = app
        .db
        .write(|conn| {
            webhook_deliveries::claim_due(
                conn,
                "stopped-worker",
                now() - Duration::minutes(10),
                Duration::minutes(1),
                10,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let delivery = claimed[0].delivery_id;
    let held = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(held["status"], "in_flight");
    app.post(
        &format!("/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}/redeliver"),
        Some(&w.admin),
        json!({}),
    )
    .await
    .assert_problem(409);

    send_due(&app).await;
    assert_eq!(receiver.received().len(), 1, "taken over and sent");
    let job = claimed[0].clone();
    let kept = app
        .db
        .write(move |conn| {
            webhook_deliveries::settle(conn, &job, "stopped-worker", None, &Settled::Failed, now())
        })
        .await
        .unwrap();
    assert!(!kept, "the lost lease's result is not recorded");
    let done = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(done["status"], "delivered");
    assert_eq!(done["attempts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_stopping_sender_gives_back_what_it_holds() {
    use ips_core::store::now;
    use ips_core::store::webhook_deliveries;

    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    ping(&app, &w.admin, endpoint).await;
    let stopping = sender(&app, "stopping-sender");
    let claimed = app
        .db
        .write(|conn| {
            webhook_deliveries::claim_due(conn, "stopping-sender", now(), Duration::minutes(1), 10)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(stopping.release().await.unwrap(), 1);
    let given_back = deliveries(&app, &w.admin, endpoint, "").await["items"][0].clone();
    assert_eq!(given_back["status"], "pending");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE attempts = 0 AND lease_owner IS NULL AND lease_expires_at IS NULL"
        ),
        1,
        "the claim that was never attempted is not counted"
    );
    assert_eq!(
        stopping.release().await.unwrap(),
        0,
        "nothing is held any more"
    );
    send_due(&app).await;
    assert_eq!(receiver.received().len(), 1, "another sender sends it");
}

#[tokio::test]
async fn housekeeping_deletes_deliveries_finished_a_month_ago() {
    let app = app().await;
    let w = World::build(&app).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &w.admin, &receiver.url, &["participant.enrolled"]).await;
    ping(&app, &w.admin, endpoint).await;
    send_due(&app).await;
    app.patch(
        &format!("/v1/webhook-endpoints/{endpoint}"),
        &w.admin,
        json!({ "status": "paused" }),
    )
    .await
    .ok();
    ping(&app, &w.admin, endpoint).await;
    let later = ips_core::store::now() + Duration::days(31);
    let swept = app
        .db
        .write(move |conn| ips_core::store::housekeeping::sweep(conn, later, None))
        .await
        .unwrap();
    assert_eq!(swept.webhook_deliveries, 1);
    let left = deliveries(&app, &w.admin, endpoint, "").await;
    let left = left["items"].as_array().unwrap();
    assert_eq!(left.len(), 1, "the pending one stays");
    assert_eq!(left[0]["status"], "pending");
}
