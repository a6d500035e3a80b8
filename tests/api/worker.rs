//! The dispatcher against a real database: claims under a lease, delivery to devices, retries
//! with backoff, gone devices, expiry, two dispatchers sharing one queue, and lease takeover.
//! The transport here is a scripted one (the providers' own transports are tested against a
//! local fake provider); everything else is the real worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};
use serde_json::json;

use crate::helpers::{TestApp, World};

/// Answers every push with the next scripted outcome (then `Delivered`), and counts pushes.
#[derive(Default)]
struct Scripted {
    script: Mutex<Vec<Outcome>>,
    sent: Mutex<Vec<(i64, PushMessage)>>,
}

#[async_trait::async_trait]
impl Transport for Scripted {
    fn name(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome {
        self.sent
            .lock()
            .unwrap()
            .push((target.device_id, message.clone()));
        let mut script = self.script.lock().unwrap();
        if script.is_empty() {
            Outcome::Delivered {
                provider_id: Some(format!("msg-{}", message.notification_id)),
            }
        } else {
            script.remove(0)
        }
    }
}

fn dispatcher(app: &TestApp, owner: &str, transport: Arc<Scripted>) -> Dispatcher {
    let config = DispatchConfig {
        batch: 50,
        lease: Duration::seconds(60),
        max_attempts: 3,
        backoff_base: Duration::seconds(10),
        ..DispatchConfig::default()
    };
    Dispatcher::new(
        app.db.clone(),
        owner.into(),
        vec![transport as Arc<dyn Transport>],
        None,
        config,
    )
}

#[derive(QueryableByName, Debug)]
pub(crate) struct Row {
    #[diesel(sql_type = BigInt)]
    pub(crate) id: i64,
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = Integer)]
    pub(crate) attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) last_error: Option<String>,
}

pub(crate) fn rows(app: &TestApp) -> Vec<Row> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("SELECT id, status, attempts, last_error FROM notifications ORDER BY id")
        .load(&mut *conn)
        .unwrap()
}

pub(crate) fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).execute(&mut *conn).unwrap();
}

/// A participant with a push device and an interview next week (two reminders in the outbox),
/// made due now: (participant token, device id).
pub(crate) async fn participant_with_due_reminders(
    app: &TestApp,
    specialist: &str,
    name: &str,
) -> (String, i64) {
    let (_, code) = app.enrol(specialist, name).await;
    let token = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let device = app
        .post(
            "/v1/me/devices",
            Some(&token),
            json!({ "platform": "fcm", "token": format!("fcm-token-{name}-{}", rand::random::<u32>()), "app_version": "1.0", "locale": "nb-NO" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let start = Utc::now() + Duration::days(7);
    app.post(
        "/v1/me/interviews",
        Some(&token),
        json!({ "employer": "Rema 1000", "role_title": "Butikkmedarbeider", "starts_at": start.to_rfc3339() }),
    )
    .await
    .ok();
    execute(
        app,
        "UPDATE notifications SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'",
    );
    (token, device)
}

pub(crate) const BUDGET: StdDuration = StdDuration::from_secs(10);

#[tokio::test]
async fn due_reminders_are_pushed_once_and_land_in_the_inbox() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (token, device) = participant_with_due_reminders(&app, &w.specialist, "Ola").await;
    let transport = Arc::new(Scripted::default());
    let worker = dispatcher(&app, "worker-a", transport.clone());

    let before = app
        .send(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    assert!(before.contains("ips_outbox_due 2\n"), "{before}");
    let report = worker.tick(BUDGET).await.unwrap();
    assert_eq!((report.claimed, report.sent), (2, 2));
    let after = app
        .send(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    assert!(
        after.contains("ips_outbox_due 0\n") && after.contains("ips_outbox_sent_last_hour 2\n"),
        "{after}"
    );
    let sent = transport.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(d, _)| *d == device));
    let (_, message) = &sent[0];
    assert_eq!(message.category, Some("INTERVIEW_REMINDER"));
    assert!(
        message.title.starts_with("Påminnelse: du har en avtale"),
        "{}",
        message.title
    );
    assert!(
        !message.body.contains("Rema"),
        "no employer on the lock screen by default: {}",
        message.body
    );
    assert!(message.collapse_key.starts_with("interview-"));
    assert!(message.expires_at.is_some());
    assert!(rows(&app)
        .iter()
        .all(|r| r.status == "sent" && r.attempts == 1));

    // Nothing is sent twice: a second tick finds nothing due.
    assert_eq!(worker.tick(BUDGET).await.unwrap().claimed, 0);
    assert_eq!(transport.sent.lock().unwrap().len(), 2);
    let inbox = app.get("/v1/me/notifications", &token).await.ok();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn transient_failures_back_off_and_then_give_up() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    participant_with_due_reminders(&app, &w.specialist, "Kari").await;
    execute(&app, "UPDATE notifications SET status = 'cancelled' WHERE id <> (SELECT MIN(id) FROM notifications)");
    let transport = Arc::new(Scripted::default());
    *transport.script.lock().unwrap() = vec![
        Outcome::Retry {
            after_seconds: Some(120),
            error: "429 Too Many Requests".into(),
        },
        Outcome::Retry {
            after_seconds: None,
            error: "503".into(),
        },
        Outcome::Retry {
            after_seconds: None,
            error: "503".into(),
        },
    ];
    let worker = dispatcher(&app, "worker-a", transport.clone());

    let first = worker.tick(BUDGET).await.unwrap();
    assert_eq!(first.retried, 1);
    let row = rows(&app)
        .into_iter()
        .find(|r| r.status != "cancelled")
        .unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.last_error.as_deref(), Some("429 Too Many Requests"));
    // Retry-After is honoured: not due again yet.
    assert_eq!(worker.tick(BUDGET).await.unwrap().claimed, 0);

    for _ in 0..2 {
        execute(&app, "UPDATE notifications SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'");
        worker.tick(BUDGET).await.unwrap();
    }
    let row = rows(&app).into_iter().find(|r| r.id == row.id).unwrap();
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("failed", 3),
        "gives up after max attempts: {row:?}"
    );
    assert!(row.last_error.unwrap().contains("gave up after 3 attempts"));
}

#[tokio::test]
async fn a_gone_device_is_disabled_and_an_expired_notification_is_dropped() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (token, device) = participant_with_due_reminders(&app, &w.specialist, "Per").await;
    let transport = Arc::new(Scripted::default());
    *transport.script.lock().unwrap() = vec![Outcome::Gone {
        error: "UNREGISTERED".into(),
    }];
    let worker = dispatcher(&app, "worker-a", transport.clone());
    execute(&app, "UPDATE notifications SET status = 'cancelled' WHERE id <> (SELECT MIN(id) FROM notifications)");

    worker.tick(BUDGET).await.unwrap();
    let devices = app.get("/v1/me/devices", &token).await.ok();
    let mine = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device)
        .unwrap()
        .clone();
    assert_eq!(mine["enabled"], false);
    assert_eq!(mine["disabled_reason"], "UNREGISTERED");

    // A notification past its expiry (its interview has begun) is not sent.
    execute(&app, "UPDATE notifications SET status = 'pending', next_attempt_at = '2000-01-01 00:00:00', expires_at = '2000-01-02 00:00:00'");
    let report = worker.tick(BUDGET).await.unwrap();
    assert_eq!(report.dropped, report.claimed);
    assert!(rows(&app).iter().all(|r| r.status == "cancelled"));
}

#[tokio::test]
async fn two_dispatchers_share_the_queue_without_sending_anything_twice() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    for i in 0..15 {
        participant_with_due_reminders(&app, &w.specialist, &format!("P{i}")).await;
    }
    let (a, b) = (Arc::new(Scripted::default()), Arc::new(Scripted::default()));
    let (first, second) = (
        dispatcher(&app, "worker-a", a.clone()),
        dispatcher(&app, "worker-b", b.clone()),
    );
    let (ra, rb) = tokio::join!(first.tick(BUDGET), second.tick(BUDGET));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 30);
    let mut pushes: HashMap<i64, usize> = HashMap::new();
    for (_, m) in a
        .sent
        .lock()
        .unwrap()
        .iter()
        .chain(b.sent.lock().unwrap().iter())
    {
        *pushes.entry(m.notification_id).or_default() += 1;
    }
    assert_eq!(pushes.len(), 30, "none lost");
    assert!(pushes.values().all(|n| *n == 1), "none sent twice");
}

#[tokio::test]
async fn a_dead_workers_claims_are_taken_over_after_the_lease_and_its_late_result_is_ignored() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    participant_with_due_reminders(&app, &w.specialist, "Eva").await;
    // A worker claims everything and dies (its lease already over).
    let claimed = app
        .db
        .write(|conn| {
            ips_core::store::outbox::claim_due(
                conn,
                "dead-worker",
                ips_core::store::now() - Duration::seconds(120),
                Duration::seconds(60),
                10,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let transport = Arc::new(Scripted::default());
    let survivor = dispatcher(&app, "worker-b", transport.clone());
    assert_eq!(survivor.tick(BUDGET).await.unwrap().sent, 2);
    assert!(rows(&app)
        .iter()
        .all(|r| r.status == "sent" && r.attempts == 2));
    // The dead worker's late answer changes nothing.
    let late = app
        .db
        .write(move |conn| {
            ips_core::store::outbox::settle(
                conn,
                claimed[0].id,
                "dead-worker",
                &ips_core::store::outbox::Settled::Failed {
                    error: "late".into(),
                },
                ips_core::store::now(),
            )
        })
        .await
        .unwrap();
    assert!(!late);
    assert!(rows(&app).iter().all(|r| r.status == "sent"));
}

#[tokio::test]
async fn a_stopping_worker_gives_back_what_it_holds() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    participant_with_due_reminders(&app, &w.specialist, "Ida").await;
    let transport = Arc::new(Scripted::default());
    let worker = dispatcher(&app, "worker-a", transport);
    let owner = worker.owner().to_owned();
    app.db
        .write(move |conn| {
            ips_core::store::outbox::claim_due(
                conn,
                &owner,
                ips_core::store::now(),
                Duration::seconds(60),
                10,
            )
        })
        .await
        .unwrap();
    assert!(rows(&app).iter().all(|r| r.status == "in_flight"));
    assert_eq!(worker.release().await.unwrap(), 2);
    assert!(rows(&app)
        .iter()
        .all(|r| r.status == "pending" && r.attempts == 0));
}

#[tokio::test]
async fn a_new_message_is_pushed_after_a_hold_once_per_half_hour_and_not_if_read_first() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, code) = app.enrol(&w.specialist, "Siri").await;
    let token = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app.get("/v1/me", &token).await.ok();
    let pid = me["id"].as_i64().unwrap();
    app.post(
        "/v1/me/devices",
        Some(&token),
        json!({ "platform": "fcm", "token": "fcm-siri", "app_version": "1.0", "locale": "nb-NO" }),
    )
    .await
    .ok();
    for text in ["Hei Siri!", "Har du tid i morgen?"] {
        app.post(
            &format!("/v1/participants/{pid}/messages"),
            Some(&w.specialist),
            json!({ "body": text }),
        )
        .await
        .ok();
    }
    let queued: Vec<Row> = rows(&app);
    assert_eq!(
        queued.len(),
        1,
        "one push for the thread within half an hour"
    );
    let transport = Arc::new(Scripted::default());
    let worker = dispatcher(&app, "worker-a", transport.clone());
    assert_eq!(
        worker.tick(BUDGET).await.unwrap().claimed,
        0,
        "held back for a while"
    );

    execute(
        &app,
        "UPDATE notifications SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'",
    );
    assert_eq!(worker.tick(BUDGET).await.unwrap().sent, 1);
    let sent = transport.sent.lock().unwrap().clone();
    assert_eq!(
        sent[0].1.title,
        "Du har en ny melding fra jobbspesialisten din"
    );
    assert!(
        !sent[0].1.body.contains("Siri") && !sent[0].1.body.contains("tid"),
        "no message text on the lock screen"
    );

    // Half an hour later: a new message, but read in the app before the hold ends -> no push.
    execute(
        &app,
        "UPDATE notifications SET created_at = '2000-01-01 00:00:00'",
    );
    let message = app
        .post(
            &format!("/v1/participants/{pid}/messages"),
            Some(&w.specialist),
            json!({ "body": "Ring meg" }),
        )
        .await
        .ok();
    app.post(
        "/v1/me/messages/read",
        Some(&token),
        json!({ "up_to_id": message["id"] }),
    )
    .await;
    execute(
        &app,
        "UPDATE notifications SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'",
    );
    let report = worker.tick(BUDGET).await.unwrap();
    assert_eq!((report.claimed, report.dropped), (1, 1));
    assert_eq!(transport.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_push_in_doubt_after_a_crash_is_not_sent_again() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, device) = participant_with_due_reminders(&app, &w.specialist, "Nils").await;
    // A worker claims, records that it is pushing to the device, and is killed before it hears back.
    let claimed = app
        .db
        .write(move |conn| {
            let at = ips_core::store::now() - Duration::seconds(120);
            let claimed = ips_core::store::outbox::claim_due(
                conn,
                "killed-worker",
                at,
                Duration::seconds(60),
                1,
            )?;
            let planned = ips_core::store::outbox::Planned {
                notification_id: claimed[0].id,
                device_id: device,
                platform: "fcm",
            };
            ips_core::store::outbox::begin_attempts(conn, "killed-worker", &[planned], at)?;
            Ok(claimed)
        })
        .await
        .unwrap();
    let transport = Arc::new(Scripted::default());
    let survivor = dispatcher(&app, "worker-b", transport.clone());
    let report = survivor.tick(BUDGET).await.unwrap();
    assert_eq!(report.sent, 2);
    let pushed: Vec<i64> = transport
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.notification_id)
        .collect();
    assert!(
        !pushed.contains(&claimed[0].id),
        "the in-doubt push is not repeated"
    );
    assert_eq!(pushed.len(), 1, "the other reminder is pushed as usual");
    #[derive(QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = Text)]
        outcome: String,
    }
    let mut conn = app.db.get().unwrap();
    let outcomes: Vec<Outcome> = diesel::sql_query(format!(
        "SELECT outcome FROM deliveries WHERE notification_id = {}",
        claimed[0].id
    ))
    .load(&mut *conn)
    .unwrap();
    assert_eq!(
        outcomes
            .iter()
            .map(|o| o.outcome.as_str())
            .collect::<Vec<_>>(),
        vec!["in_doubt"]
    );
}

#[tokio::test]
async fn a_specialists_alert_reaches_their_own_phone_without_naming_anyone() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (token, _) = participant_with_due_reminders(&app, &w.specialist, "Oda").await;
    let staff_device = app
        .post("/v1/staff/me/devices", Some(&w.specialist), json!({ "platform": "fcm", "token": "fcm-specialist", "app_version": "2.0", "locale": "nb-NO" }))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let interviews = app.get("/v1/me/interviews", &token).await.ok();
    let id = interviews["items"][0]["id"].as_i64().unwrap();
    app.post(
        &format!("/v1/me/interviews/{id}/cancel"),
        Some(&token),
        json!({}),
    )
    .await
    .ok();

    let transport = Arc::new(Scripted::default());
    let worker = dispatcher(&app, "worker-a", transport.clone());
    worker.tick(BUDGET).await.unwrap();
    let sent = transport.sent.lock().unwrap().clone();
    let to_staff: Vec<_> = sent
        .iter()
        .filter(|(device, _)| *device == staff_device)
        .collect();
    assert_eq!(
        to_staff.len(),
        1,
        "the cancellation reaches the specialist's phone"
    );
    let message = &to_staff[0].1;
    assert!(
        !message.title.contains("Oda") && !message.body.contains("Oda"),
        "no name on a staff lock screen: {message:?}"
    );
    assert!(!message.body.contains("Rema"));
    // And it is in the specialist's inbox, where the name may be read.
    let inbox = app
        .get("/v1/staff/me/notifications", &w.specialist)
        .await
        .ok();
    assert!(
        inbox["items"][0]["title"].as_str().unwrap().contains("Oda"),
        "{inbox}"
    );
}
