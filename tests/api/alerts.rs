//! Alerts to specialists, end to end: each kind raised by the worker's scan exactly once (scanned
//! again and again, and by two scanners at once), delivered through the real dispatcher to the
//! specialist's phone (generic words, no name) and into their inbox (with the name and the alert's
//! id), and resolved by its cause through the HTTP API. Then what staff do with an alert
//! (acknowledge, snooze and its return, resolve), every bad input, and the attacker's side.
//!
//! Time passes by moving the causes' own times back in the database (an interview that ended
//! hours ago, a message's answer deadline), so the scans and the dispatcher run at the real now.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use ips_core::schema::{alerts, follow_up_plans, messages, notifications, participants};
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};
use ips_worker::scans::{AlertScanner, ScanConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{TestApp, World};

const BUDGET: StdDuration = StdDuration::from_secs(10);

/// Accepts every push and keeps it, with the device it went to.
#[derive(Default)]
struct Recording {
    sent: Mutex<Vec<(i64, PushMessage)>>,
}

#[async_trait::async_trait]
impl Transport for Recording {
    fn name(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome {
        self.sent
            .lock()
            .unwrap()
            .push((target.device_id, message.clone()));
        Outcome::Delivered { provider_id: None }
    }
}

impl Recording {
    fn to_device(&self, device: i64) -> Vec<PushMessage> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, _)| *d == device)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

fn scanner(app: &TestApp) -> AlertScanner {
    AlertScanner::new(app.db.clone(), ScanConfig::default())
}

/// Scans as a fleet of workers would: once, then two scanners at the same moment, then once
/// more. Returns how many alerts were raised (or delivered again) in all.
async fn scan_repeatedly(app: &TestApp) -> usize {
    scan_repeatedly_at(app, ips_core::store::now()).await
}

/// The same, as of `at` (a scan that ran a while ago).
async fn scan_repeatedly_at(app: &TestApp, at: NaiveDateTime) -> usize {
    let (a, b) = (scanner(app), scanner(app));
    let mut raised = a.scan_at(at, BUDGET).await.unwrap().raised();
    let (x, y) = tokio::join!(a.scan_at(at, BUDGET), b.scan_at(at, BUDGET));
    raised += x.unwrap().raised() + y.unwrap().raised();
    raised += b.scan_at(at, BUDGET).await.unwrap().raised();
    raised
}

/// Delivers everything due through the real dispatcher.
async fn dispatch(app: &TestApp, transport: &Arc<Recording>) {
    let dispatcher = Dispatcher::new(
        app.db.clone(),
        "alerts-test".into(),
        vec![transport.clone() as Arc<dyn Transport>],
        None,
        DispatchConfig::default(),
    );
    dispatcher.tick(BUDGET).await.unwrap();
}

fn db(app: &TestApp) -> ips_core::db::PooledConnection {
    app.db.get().unwrap()
}

/// A while ago, at the precision both backends store.
fn ago(d: Duration) -> NaiveDateTime {
    ips_core::store::now() - d
}

/// The world, one participant of the specialist signed in on their phone, and the specialist's
/// own phone.
struct Setup {
    app: TestApp,
    w: World,
    pid: i64,
    token: String,
    specialist_device: i64,
}

async fn setup(name: &str) -> Setup {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, token) = app.participant(&w.specialist, name).await;
    let specialist_device = app
        .post(
            "/v1/staff/me/devices",
            Some(&w.specialist),
            json!({ "platform": "fcm", "token": format!("fcm-specialist-{}", rand::random::<u64>()), "app_version": "2.0", "locale": "nb-NO" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    Setup {
        app,
        w,
        pid,
        token,
        specialist_device,
    }
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page = app.get(&format!("/v1/alerts?{query}"), token).await.ok();
    page["items"].as_array().unwrap().clone()
}

/// The participant's alerts of one kind, as their specialist sees them.
async fn alerts_of(s: &Setup, kind: &str) -> Vec<Value> {
    list(
        &s.app,
        &s.w.specialist,
        &format!("participant_id={}&kind={kind}", s.pid),
    )
    .await
}

/// The same, only those still to do.
async fn active_alerts_of(s: &Setup, kind: &str) -> Vec<Value> {
    list(
        &s.app,
        &s.w.specialist,
        &format!(
            "participant_id={}&kind={kind}&status=open,acknowledged,snoozed",
            s.pid
        ),
    )
    .await
}

async fn alert(s: &Setup, id: i64) -> Value {
    s.app
        .get(&format!("/v1/alerts/{id}"), &s.w.specialist)
        .await
        .ok()
}

/// Exactly one alert of `kind` for the participant still to do, open, about `subject` (type, id)
/// if given.
async fn the_one_alert(s: &Setup, kind: &str, subject: Option<(&str, i64)>) -> Value {
    let found = active_alerts_of(s, kind).await;
    assert_eq!(found.len(), 1, "one {kind} alert: {found:?}");
    let a = found[0].clone();
    assert_eq!(a["status"], "open", "{a}");
    assert_eq!(a["participant"]["id"], s.pid);
    assert_eq!(a["raised_for"], s.w.specialist_id);
    match subject {
        Some((kind, id)) => assert_eq!(a["subject"], json!({ "type": kind, "id": id }), "{a}"),
        None => assert!(a["subject"].is_null(), "{a}"),
    }
    a
}

/// The alert reached the specialist's phone once, in words that name nobody, with its id for
/// the app; and their inbox, where the participant is named.
async fn assert_delivered(s: &Setup, transport: &Arc<Recording>, alert: &Value, name: &str) {
    let id = alert["id"].as_i64().unwrap();
    dispatch(&s.app, transport).await;
    let pushes: Vec<PushMessage> = transport
        .to_device(s.specialist_device)
        .into_iter()
        .filter(|m| m.data.get("alert_id") == Some(&id.to_string()))
        .collect();
    assert_eq!(pushes.len(), 1, "one push for alert {id}: {pushes:?}");
    let push = &pushes[0];
    assert_eq!(push.data.get("kind").map(String::as_str), Some("alert"));
    assert_eq!(push.collapse_key, format!("alert-{id}"));
    let first_name = name.split(' ').next().unwrap();
    assert!(
        !push.title.contains(first_name) && !push.body.contains(first_name),
        "no name on a staff lock screen: {push:?}"
    );
    let inbox = s
        .app
        .get("/v1/staff/me/notifications", &s.w.specialist)
        .await
        .ok();
    let entry = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["subject"] == json!({ "type": "alert", "id": id }))
        .unwrap_or_else(|| panic!("alert {id} in the inbox: {inbox}"))
        .clone();
    assert_eq!(entry["kind"], "alert");
    assert!(
        entry["title"].as_str().unwrap().contains(name),
        "the inbox names the participant: {entry}"
    );
}

fn assert_resolved_by_cause(a: &Value) {
    assert_eq!(a["status"], "resolved", "{a}");
    assert_eq!(a["resolution"], "cause_gone", "{a}");
    assert!(
        a["resolved_by"].is_null() && a["resolved_at"].is_string(),
        "{a}"
    );
}

// --- each kind: raised once, delivered, resolved by its cause -----------------------------------

#[tokio::test]
async fn a_waiting_request_is_alerted_once_delivered_and_resolved_by_handling_it() {
    let s = setup("Ola Nordmann").await;
    let transport = Arc::new(Recording::default());
    let request = s
        .app
        .post(
            "/v1/me/contact-requests",
            Some(&s.token),
            json!({ "kind": "call_me" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let a = the_one_alert(&s, "request_waiting", Some(("contact_request", request))).await;
    assert_delivered(&s, &transport, &a, "Ola Nordmann").await;
    let push = &transport.to_device(s.specialist_device)[0];
    assert_eq!(push.title, "En forespørsel venter");

    s.app
        .patch(
            &format!("/v1/participants/{}/contact-requests/{request}", s.pid),
            &s.w.specialist,
            json!({ "status": "handled" }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a["id"].as_i64().unwrap()).await);
    assert_eq!(scan_repeatedly(&s.app).await, 0, "nothing raised again");
    assert_eq!(alerts_of(&s, "request_waiting").await.len(), 1);
}

#[tokio::test]
async fn an_interview_without_outcome_is_alerted_and_resolved_by_its_outcome_a_new_time_or_a_cancellation(
) {
    let s = setup("Kari Hansen").await;
    let transport = Arc::new(Recording::default());
    let record = |hours_ago: i64, employer: &'static str| {
        let (app, token) = (&s.app, s.token.clone());
        async move {
            let start = Utc::now() - Duration::hours(hours_ago);
            app.post(
                "/v1/me/interviews",
                Some(&token),
                json!({ "employer": employer, "role_title": "Lagermedarbeider", "starts_at": start.to_rfc3339(), "duration_minutes": 60 }),
            )
            .await
            .ok()["id"]
            .as_i64()
            .unwrap()
        }
    };
    // Ended five hours ago (past the four hours' grace), and one that ended an hour ago (not yet).
    let first = record(6, "Posten").await;
    let recent = record(2, "Bring").await;
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let a = the_one_alert(&s, "interview_without_outcome", Some(("interview", first))).await;
    assert_delivered(&s, &transport, &a, "Kari Hansen").await;
    let inbox = s
        .app
        .get("/v1/staff/me/notifications", &s.w.specialist)
        .await
        .ok();
    assert!(
        inbox["items"][0]["body"]
            .as_str()
            .unwrap()
            .contains("Lagermedarbeider hos Posten"),
        "{inbox}"
    );

    // The outcome is recorded: the alert goes by itself.
    s.app
        .post(
            &format!("/v1/participants/{}/interviews/{first}/outcome", s.pid),
            Some(&s.w.specialist),
            json!({ "outcome": "waiting" }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a["id"].as_i64().unwrap()).await);

    // Moved ahead: this occurrence is gone. Moved back into the past: a new one.
    let moved = record(7, "Kiwi").await;
    scan_repeatedly(&s.app).await;
    let a2 = the_one_alert(&s, "interview_without_outcome", Some(("interview", moved))).await;
    let ahead = Utc::now() + Duration::days(2);
    s.app
        .patch(
            &format!("/v1/participants/{}/interviews/{moved}", s.pid),
            &s.w.specialist,
            json!({ "starts_at": ahead.to_rfc3339() }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a2["id"].as_i64().unwrap()).await);
    assert_eq!(scan_repeatedly(&s.app).await, 0);
    let back = Utc::now() - Duration::hours(9);
    s.app
        .patch(
            &format!("/v1/me/interviews/{moved}"),
            &s.token,
            json!({ "starts_at": back.to_rfc3339() }),
        )
        .await
        .ok();
    assert_eq!(
        scan_repeatedly(&s.app).await,
        1,
        "a new time is a new occurrence"
    );
    let a3 = the_one_alert(&s, "interview_without_outcome", Some(("interview", moved))).await;
    assert_ne!(a3["id"], a2["id"]);

    // Cancelled: gone too.
    s.app
        .post(
            &format!("/v1/participants/{}/interviews/{moved}/cancel", s.pid),
            Some(&s.w.specialist),
            json!({}),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a3["id"].as_i64().unwrap()).await);

    // The recent interview passes its grace later, and is alerted then.
    let mut conn = db(&s.app);
    diesel::update(ips_core::schema::interviews::table.find(recent))
        .set((
            ips_core::schema::interviews::starts_at.eq(ago(Duration::hours(6))),
            ips_core::schema::interviews::ends_at.eq(ago(Duration::hours(5))),
        ))
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    the_one_alert(&s, "interview_without_outcome", Some(("interview", recent))).await;
}

fn answer_due(app: &TestApp, message: i64) -> Option<NaiveDateTime> {
    messages::table
        .find(message)
        .select(messages::answer_due_at)
        .first(&mut *db(app))
        .unwrap()
}

#[tokio::test]
async fn an_unanswered_message_is_alerted_after_the_working_hours_and_resolved_by_an_answer() {
    let s = setup("Per Olsen").await;
    let transport = Arc::new(Recording::default());
    let send = |text: &'static str| {
        let (app, token) = (&s.app, s.token.clone());
        async move {
            app.post("/v1/me/messages", Some(&token), json!({ "body": text }))
                .await
                .ok()["id"]
                .as_i64()
                .unwrap()
        }
    };
    let first = send("Hei, kan du ringe meg?").await;
    let second = send("Det gjelder intervjuet.").await;
    // Only the first message of the waiting stretch carries the deadline, working hours ahead.
    let due = answer_due(&s.app, first).expect("the first message waits for an answer");
    assert!(due > Utc::now().naive_utc(), "{due}");
    assert!(due <= (Utc::now() + Duration::days(4)).naive_utc(), "{due}");
    assert_eq!(answer_due(&s.app, second), None);
    assert_eq!(scan_repeatedly(&s.app).await, 0, "not due yet");

    diesel::update(messages::table.find(first))
        .set(messages::answer_due_at.eq(ago(Duration::minutes(1))))
        .execute(&mut *db(&s.app))
        .unwrap();
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let a = the_one_alert(&s, "message_unanswered", Some(("message", first))).await;
    assert_delivered(&s, &transport, &a, "Per Olsen").await;

    s.app
        .post(
            &format!("/v1/participants/{}/messages", s.pid),
            Some(&s.w.specialist),
            json!({ "body": "Jeg ringer deg i ettermiddag." }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a["id"].as_i64().unwrap()).await);
    assert_eq!(answer_due(&s.app, first), None);

    // After the answer, the next message starts a new clock.
    let third = send("Takk!").await;
    assert!(answer_due(&s.app, third).is_some());
    // And an answer before the deadline means no alert at all.
    s.app
        .post(
            &format!("/v1/participants/{}/messages", s.pid),
            Some(&s.w.specialist),
            json!({ "body": "Bare hyggelig." }),
        )
        .await
        .ok();
    assert_eq!(answer_due(&s.app, third), None);
    assert_eq!(scan_repeatedly(&s.app).await, 0);
}

#[tokio::test]
async fn a_withdrawal_is_alerted_once_and_stays_until_staff_resolve_it() {
    let s = setup("Eva Berg").await;
    let transport = Arc::new(Recording::default());
    s.app
        .post("/v1/me/withdraw", Some(&s.token), json!({}))
        .await
        .ok();
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let a = the_one_alert(&s, "participant_withdrew", None).await;
    assert_delivered(&s, &transport, &a, "Eva Berg").await;
    assert_eq!(scan_repeatedly(&s.app).await, 0);
    let id = a["id"].as_i64().unwrap();
    assert_eq!(
        alert(&s, id).await["status"],
        "open",
        "it never goes by itself"
    );

    let resolved = s
        .app
        .post(
            &format!("/v1/alerts/{id}/resolve"),
            Some(&s.w.specialist),
            json!({ "note": "Snakket med Eva; hun vil ta kontakt igjen senere." }),
        )
        .await
        .ok();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "by_staff");
    assert_eq!(resolved["resolved_by"], s.w.specialist_id);
    assert_eq!(
        resolved["resolution_note"],
        "Snakket med Eva; hun vil ta kontakt igjen senere."
    );
}

/// Moves the scanner's columns of the participant's plan (made with the enrolment), as time
/// passing would: due at `due`, the scan's check at `check` and stage, the employer watch at
/// `employer`.
fn set_plan(
    app: &TestApp,
    pid: i64,
    due: Option<NaiveDateTime>,
    check: Option<(NaiveDateTime, &str)>,
    employer: Option<NaiveDateTime>,
) {
    let changed = diesel::update(follow_up_plans::table.find(pid))
        .set((
            follow_up_plans::due_at.eq(due),
            follow_up_plans::follow_up_check_at.eq(check.map(|c| c.0)),
            follow_up_plans::follow_up_check_stage.eq(check.map(|c| c.1)),
            follow_up_plans::employer_check_at.eq(employer),
        ))
        .execute(&mut *db(app))
        .unwrap();
    assert_eq!(changed, 1, "the enrolment made a plan");
}

#[tokio::test]
async fn a_follow_up_falls_due_then_overdue_each_once_and_goes_when_the_due_time_moves() {
    let s = setup("Jonas Lie").await;
    let transport = Arc::new(Recording::default());
    // The plan fell due half an hour ago; its lead time began a day before. A scan an hour ago
    // saw it coming up; the scan now sees it overdue.
    let due = ago(Duration::minutes(30));
    set_plan(
        &s.app,
        s.pid,
        Some(due),
        Some((due - Duration::hours(24), "due")),
        None,
    );
    assert_eq!(scan_repeatedly_at(&s.app, ago(Duration::hours(1))).await, 1);
    let due_alert = the_one_alert(&s, "follow_up_due", None).await;
    assert_eq!(
        due_alert["cause_at"]
            .as_str()
            .map(|t| t.starts_with(&due.format("%Y-%m-%dT%H:%M:%S").to_string())),
        Some(true),
        "{due_alert}"
    );
    let check: (Option<NaiveDateTime>, Option<String>) = follow_up_plans::table
        .find(s.pid)
        .select((
            follow_up_plans::follow_up_check_at,
            follow_up_plans::follow_up_check_stage,
        ))
        .first(&mut *db(&s.app))
        .unwrap();
    assert_eq!(
        check,
        (Some(due), Some("overdue".into())),
        "the check moves to the due time"
    );
    assert_delivered(&s, &transport, &due_alert, "Jonas Lie").await;

    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let overdue = the_one_alert(&s, "follow_up_overdue", None).await;
    let superseded = alert(&s, due_alert["id"].as_i64().unwrap()).await;
    assert_eq!(superseded["status"], "resolved");
    assert_eq!(superseded["resolution"], "superseded");
    assert_delivered(&s, &transport, &overdue, "Jonas Lie").await;
    let check: Option<NaiveDateTime> = follow_up_plans::table
        .find(s.pid)
        .select(follow_up_plans::follow_up_check_at)
        .first(&mut *db(&s.app))
        .unwrap();
    assert_eq!(check, None, "nothing more to look at until the plan moves");

    // A contact that reached the participant moves the due time: the overdue alert goes.
    s.app
        .post(
            &format!("/v1/participants/{}/contacts", s.pid),
            Some(&s.w.specialist),
            json!({ "channel": "meeting", "note": "Snakket om CV-en" }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, overdue["id"].as_i64().unwrap()).await);
    let plan = s
        .app
        .get(
            &format!("/v1/participants/{}/follow-up-plan", s.pid),
            &s.w.specialist,
        )
        .await
        .ok();
    assert!(
        plan["due_at"].as_str().is_some_and(|d| d > "2026"),
        "{plan}"
    );
    assert_eq!(
        scan_repeatedly(&s.app).await,
        0,
        "the new due time is a week ahead"
    );
}

#[tokio::test]
async fn a_closed_case_ends_its_follow_up_alerts_and_a_withdrawal_is_alerted() {
    let s = setup("Nora Dahl").await;
    let due = ago(Duration::minutes(10));
    set_plan(
        &s.app,
        s.pid,
        Some(due),
        Some((due, "overdue")),
        Some(ago(Duration::minutes(1))),
    );
    assert_eq!(scan_repeatedly(&s.app).await, 2);
    let overdue = the_one_alert(&s, "follow_up_overdue", None).await;
    let employer = the_one_alert(&s, "no_employer_contact", None).await;
    // The specialist closes the case: both causes are gone at once.
    s.app
        .post(
            &format!("/v1/participants/{}/status", s.pid),
            Some(&s.w.specialist),
            json!({ "to": "closed", "closed_reason": "moved" }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, overdue["id"].as_i64().unwrap()).await);
    assert_resolved_by_cause(&alert(&s, employer["id"].as_i64().unwrap()).await);
    assert_eq!(scan_repeatedly(&s.app).await, 0);

    // Another participant withdraws with an overdue follow-up: it goes, and the withdrawal is
    // alerted.
    let (other, other_token) = s.app.participant(&s.w.specialist, "Rolf Ek").await;
    set_plan(&s.app, other, Some(due), Some((due, "overdue")), None);
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let found = list(&s.app, &s.w.specialist, &format!("participant_id={other}")).await;
    assert_eq!(found.len(), 1);
    s.app
        .post("/v1/me/withdraw", Some(&other_token), json!({}))
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, found[0]["id"].as_i64().unwrap()).await);
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let withdrew = list(
        &s.app,
        &s.w.specialist,
        &format!("participant_id={other}&kind=participant_withdrew&status=open"),
    )
    .await;
    assert_eq!(withdrew.len(), 1);
}

#[tokio::test]
async fn no_employer_contact_is_alerted_once_and_goes_with_the_first_employer_contact() {
    let s = setup("Ali Khan").await;
    let transport = Arc::new(Recording::default());
    set_plan(&s.app, s.pid, None, None, Some(ago(Duration::minutes(1))));
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let a = the_one_alert(&s, "no_employer_contact", None).await;
    assert_delivered(&s, &transport, &a, "Ali Khan").await;
    let watch: Option<NaiveDateTime> = follow_up_plans::table
        .find(s.pid)
        .select(follow_up_plans::employer_check_at)
        .first(&mut *db(&s.app))
        .unwrap();
    assert_eq!(watch, None, "the watch ends with its alert");

    s.app
        .post(
            "/v1/employer-contacts",
            Some(&s.w.specialist),
            json!({ "participant_id": s.pid, "employer": "Rema 1000", "channel": "meeting" }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, a["id"].as_i64().unwrap()).await);

    // A watch that comes due after an employer contact was logged raises nothing.
    set_plan(&s.app, s.pid, None, None, Some(ago(Duration::minutes(1))));
    assert_eq!(scan_repeatedly(&s.app).await, 0);

    // The same through the participant's own log (`party: employer`) for another participant.
    let (other, _) = s.app.participant(&s.w.specialist, "Kim Ruud").await;
    set_plan(&s.app, other, None, None, Some(ago(Duration::minutes(1))));
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let found = list(&s.app, &s.w.specialist, &format!("participant_id={other}")).await;
    s.app
        .post(
            &format!("/v1/participants/{other}/contacts"),
            Some(&s.w.specialist),
            json!({ "party": "employer", "employer": "Coop", "channel": "phone", "reached": false }),
        )
        .await
        .ok();
    assert_resolved_by_cause(&alert(&s, found[0]["id"].as_i64().unwrap()).await);
}

// --- what staff do with an alert ------------------------------------------------------------------

/// A participant with a waiting request, scanned: the alert's id.
async fn raised_request_alert(s: &Setup) -> i64 {
    s.app
        .post(
            "/v1/me/contact-requests",
            Some(&s.token),
            json!({ "kind": "benefits_counselling" }),
        )
        .await
        .ok();
    scanner(&s.app).tick(BUDGET).await.unwrap();
    let found = alerts_of(s, "request_waiting").await;
    found[0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn acknowledge_snooze_and_its_return_and_resolve() {
    let s = setup("Siri Moe").await;
    let transport = Arc::new(Recording::default());
    let id = raised_request_alert(&s).await;
    dispatch(&s.app, &transport).await;
    assert_eq!(transport.to_device(s.specialist_device).len(), 1);
    let path = |step: &str| format!("/v1/alerts/{id}/{step}");

    let acked = s
        .app
        .post(&path("acknowledge"), Some(&s.w.specialist), json!({}))
        .await
        .ok();
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], s.w.specialist_id);
    let again = s
        .app
        .post(&path("acknowledge"), Some(&s.w.specialist), json!({}))
        .await
        .ok();
    assert_eq!(
        again["acknowledged_at"], acked["acknowledged_at"],
        "acknowledging twice changes nothing"
    );

    let until = Utc::now() + Duration::hours(3);
    let snoozed = s
        .app
        .post(
            &path("snooze"),
            Some(&s.w.specialist),
            json!({ "until": until.to_rfc3339() }),
        )
        .await
        .ok();
    assert_eq!(snoozed["status"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());
    assert_eq!(
        list(&s.app, &s.w.specialist, "status=snoozed").await.len(),
        1
    );
    assert!(list(&s.app, &s.w.specialist, "status=open,acknowledged")
        .await
        .is_empty());
    assert_eq!(scan_repeatedly(&s.app).await, 0, "asleep until its time");

    // Its time comes: open again, and delivered again, once.
    diesel::update(alerts::table.find(id))
        .set(alerts::snoozed_until.eq(ago(Duration::minutes(1))))
        .execute(&mut *db(&s.app))
        .unwrap();
    assert_eq!(scan_repeatedly(&s.app).await, 1);
    let woken = alert(&s, id).await;
    assert_eq!(woken["status"], "open");
    assert!(woken["snoozed_until"].is_null());
    dispatch(&s.app, &transport).await;
    let pushes = transport.to_device(s.specialist_device);
    assert_eq!(pushes.len(), 2, "delivered again: {pushes:?}");
    assert_eq!(pushes[1].collapse_key, format!("alert-{id}"));
    assert_eq!(pushes[1].title, "En forespørsel venter");

    // Snoozed and then resolved by staff: nothing comes back, nothing more is pushed.
    s.app
        .post(
            &path("snooze"),
            Some(&s.w.specialist),
            json!({ "until": (Utc::now() + Duration::days(30) - Duration::minutes(1)).to_rfc3339() }),
        )
        .await
        .ok();
    let resolved = s
        .app
        .send(Method::POST, &path("resolve"), Some(&s.w.specialist), None)
        .await
        .ok();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "by_staff");
    assert!(resolved["resolution_note"].is_null() && resolved["snoozed_until"].is_null());
    assert_eq!(scan_repeatedly(&s.app).await, 0);
    dispatch(&s.app, &transport).await;
    assert_eq!(transport.to_device(s.specialist_device).len(), 2);

    // A resolved alert cannot be acknowledged, snoozed or resolved again.
    for (step, body) in [
        ("acknowledge", json!({})),
        (
            "snooze",
            json!({ "until": (Utc::now() + Duration::hours(1)).to_rfc3339() }),
        ),
        ("resolve", json!({})),
    ] {
        let reply = s.app.post(&path(step), Some(&s.w.specialist), body).await;
        assert_eq!(reply.assert_problem(409), "conflict", "{step}");
    }
}

#[tokio::test]
async fn an_alert_that_is_seen_before_it_is_pushed_is_not_pushed() {
    let s = setup("Liv Strand").await;
    let transport = Arc::new(Recording::default());
    let id = raised_request_alert(&s).await;
    s.app
        .post(
            &format!("/v1/alerts/{id}/acknowledge"),
            Some(&s.w.specialist),
            json!({}),
        )
        .await
        .ok();
    dispatch(&s.app, &transport).await;
    assert!(transport.to_device(s.specialist_device).is_empty());
}

#[tokio::test]
async fn alerts_go_to_the_participants_current_specialist() {
    let s = setup("Tor Vik").await;
    // Reassigned to the colleague (the caseload's own route does this; here the row is moved).
    diesel::update(participants::table.find(s.pid))
        .set(participants::specialist_id.eq(s.w.colleague_id))
        .execute(&mut *db(&s.app))
        .unwrap();
    let id = raised_request_alert_as(&s, &s.w.colleague).await;
    let recipient: Vec<(String, i64)> = notifications::table
        .filter(notifications::subject_type.eq("alert"))
        .filter(notifications::subject_id.eq(id))
        .select((notifications::recipient_kind, notifications::recipient_id))
        .load(&mut *db(&s.app))
        .unwrap();
    assert_eq!(recipient, vec![("staff".to_owned(), s.w.colleague_id)]);
    let found = list(&s.app, &s.w.colleague, "").await;
    assert_eq!(found[0]["raised_for"], s.w.colleague_id);
    // The former specialist no longer sees it.
    s.app
        .get(&format!("/v1/alerts/{id}"), &s.w.specialist)
        .await
        .assert_problem(404);
}

async fn raised_request_alert_as(s: &Setup, staff: &str) -> i64 {
    s.app
        .post(
            "/v1/me/contact-requests",
            Some(&s.token),
            json!({ "kind": "call_me" }),
        )
        .await
        .ok();
    scanner(&s.app).tick(BUDGET).await.unwrap();
    list(&s.app, staff, "kind=request_waiting").await[0]["id"]
        .as_i64()
        .unwrap()
}

// --- bad input ---------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let s = setup("Mia Lund").await;
    let id = raised_request_alert(&s).await;
    let snooze = format!("/v1/alerts/{id}/snooze");
    let spec = Some(s.w.specialist.as_str());
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    for (body, field) in [
        (
            json!({ "until": (Utc::now() - Duration::minutes(1)).to_rfc3339() }),
            "until",
        ),
        (
            json!({ "until": (Utc::now() + Duration::days(31)).to_rfc3339() }),
            "until",
        ),
        (json!({ "until": "tomorrow" }), "until"),
        (json!({ "until": null }), "until"),
        (json!({}), "until"),
        (json!({ "until": future, "reason": "later" }), ""),
    ] {
        let reply = s.app.post(&snooze, spec, body.clone()).await;
        let fields = reply.invalid_fields();
        assert!(
            field.is_empty() || fields == vec![field.to_owned()],
            "{body}: {fields:?}"
        );
    }
    let resolve = format!("/v1/alerts/{id}/resolve");
    for body in [
        json!({ "note": "" }),
        json!({ "note": "   " }),
        json!({ "note": "x".repeat(1001) }),
        json!({ "note": 7 }),
        json!({ "why": "done" }),
    ] {
        s.app.post(&resolve, spec, body).await.invalid_fields();
    }
    // Not JSON, and not JSON at all.
    let raw = |path: String, content_type: &'static str, body: &'static str| {
        let (app, token) = (&s.app, s.w.specialist.clone());
        async move {
            let request = app
                .client
                .post(format!("{}{path}", app.address))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body);
            app.run(request).await
        }
    };
    raw(snooze.clone(), "application/json", "{\"until\":")
        .await
        .assert_problem(400);
    raw(snooze.clone(), "text/plain", "tomorrow")
        .await
        .assert_problem(415);
    raw(resolve.clone(), "application/json", "[")
        .await
        .assert_problem(400);

    // Ids that are not numbers, or name no alert.
    for path in [
        "/v1/alerts/abc".to_owned(),
        "/v1/alerts/99999999".to_owned(),
        "/v1/alerts/99999999999999999999999".to_owned(),
        "/v1/alerts/-1/acknowledge".to_owned(),
    ] {
        let reply = s
            .app
            .send(
                if path.ends_with("acknowledge") {
                    Method::POST
                } else {
                    Method::GET
                },
                &path,
                spec,
                None,
            )
            .await;
        reply.assert_problem(404);
    }
    s.app
        .post(
            "/v1/alerts/99999999/snooze",
            spec,
            json!({ "until": future }),
        )
        .await
        .assert_problem(404);
    s.app
        .send(Method::DELETE, &format!("/v1/alerts/{id}"), spec, None)
        .await
        .assert_problem(405);

    // The list's parameters.
    for query in [
        "status=sleeping",
        "status=open,nope",
        "kind=everything",
        "participant_id=abc",
        "limit=0",
        "limit=201",
        "cursor=not-a-cursor",
        "colour=red",
    ] {
        let reply = s
            .app
            .get(&format!("/v1/alerts?{query}"), &s.w.specialist)
            .await;
        assert_eq!(reply.assert_problem(422), "validation", "{query}");
    }
    // A specialist does not look at another specialist's caseload.
    let reply = s
        .app
        .get(
            &format!("/v1/alerts?specialist_id={}", s.w.colleague_id),
            &s.w.specialist,
        )
        .await;
    assert_eq!(reply.invalid_fields(), vec!["specialist_id"]);

    let unchanged = alert(&s, id).await;
    assert_eq!(unchanged["status"], "open", "{unchanged}");
    assert!(unchanged["snoozed_until"].is_null() && unchanged["resolution_note"].is_null());
}

#[tokio::test]
async fn the_list_filters_and_pages() {
    let s = setup("Ida Nilsen").await;
    let (other, other_token) = s.app.participant(&s.w.specialist, "Ole Brun").await;
    let (colleagues, colleague_token) = s.app.participant(&s.w.colleague, "Geir Aas").await;
    for token in [&s.token, &other_token, &colleague_token] {
        for kind in ["call_me", "benefits_counselling"] {
            s.app
                .post(
                    "/v1/me/contact-requests",
                    Some(token),
                    json!({ "kind": kind }),
                )
                .await
                .ok();
        }
    }
    s.app
        .post("/v1/me/withdraw", Some(&other_token), json!({}))
        .await
        .ok();
    scanner(&s.app).tick(BUDGET).await.unwrap();

    let mine = list(&s.app, &s.w.specialist, "").await;
    assert_eq!(
        mine.len(),
        5,
        "two requests each and a withdrawal: {mine:?}"
    );
    assert!(
        mine.windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()),
        "newest first"
    );
    assert!(mine.iter().all(|a| a["participant"]["id"] != colleagues));
    assert_eq!(
        list(&s.app, &s.w.specialist, "kind=participant_withdrew")
            .await
            .len(),
        1
    );
    assert_eq!(
        list(&s.app, &s.w.specialist, &format!("participant_id={other}"))
            .await
            .len(),
        3
    );
    assert!(list(
        &s.app,
        &s.w.specialist,
        &format!("participant_id={colleagues}")
    )
    .await
    .is_empty());
    assert_eq!(
        list(
            &s.app,
            &s.w.specialist,
            "kind=request_waiting,participant_withdrew&status=open"
        )
        .await
        .len(),
        5
    );
    assert!(list(&s.app, &s.w.specialist, "status=resolved")
        .await
        .is_empty());
    assert_eq!(
        list(
            &s.app,
            &s.w.specialist,
            &format!("specialist_id={}", s.w.specialist_id)
        )
        .await
        .len(),
        5
    );

    // The supervisor sees the team, and one specialist's caseload when asked.
    assert_eq!(list(&s.app, &s.w.supervisor, "").await.len(), 7);
    let colleague_only = list(
        &s.app,
        &s.w.supervisor,
        &format!("specialist_id={}", s.w.colleague_id),
    )
    .await;
    assert_eq!(colleague_only.len(), 2);
    assert!(colleague_only
        .iter()
        .all(|a| a["participant"]["id"] == colleagues));

    // Pages of two, in order, each alert once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/alerts?limit=2&cursor={c}"),
            None => "/v1/alerts?limit=2".to_owned(),
        };
        let page = s.app.get(&query, &s.w.specialist).await.ok();
        for a in page["items"].as_array().unwrap() {
            seen.push(a["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let all: Vec<i64> = mine.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(seen, all);
}

// --- the attacker's side -------------------------------------------------------------------------

#[tokio::test]
async fn only_the_caseload_reaches_an_alert() {
    let s = setup("Anna Holm").await;
    let id = raised_request_alert(&s).await;
    let (_, other_supervisor) = s
        .app
        .staff_member(
            &s.w.admin,
            "sup2@example.no",
            "supervisor",
            Some(s.w.other_team),
        )
        .await;
    let until = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let calls: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "", None),
        (Method::POST, "/acknowledge", None),
        (Method::POST, "/snooze", Some(json!({ "until": until }))),
        (Method::POST, "/resolve", Some(json!({ "note": "done" }))),
    ];
    let nobody = 900_000_123;
    let callers: Vec<(&str, Option<&str>, u16)> = vec![
        ("anonymous", None, 401),
        ("the participant", Some(&s.token), 403),
        ("an administrator", Some(&s.w.admin), 403),
        ("a colleague in the team", Some(&s.w.colleague), 404),
        ("a specialist of another team", Some(&s.w.outsider), 404),
        ("another team's supervisor", Some(&other_supervisor), 404),
    ];
    for (who, token, status) in &callers {
        for (method, step, body) in &calls {
            let path = format!("/v1/alerts/{id}{step}");
            let real = s
                .app
                .send(method.clone(), &path, *token, body.clone())
                .await;
            assert_eq!(
                real.status.as_u16(),
                *status,
                "{who} {method} {path}: {}",
                real.text
            );
            real.assert_problem(*status);
            let missing = format!("/v1/alerts/{nobody}{step}");
            let none = s
                .app
                .send(method.clone(), &missing, *token, body.clone())
                .await;
            assert_eq!(
                (real.status, real.text.as_str()),
                (none.status, none.text.as_str()),
                "{who}: the answer tells whether the alert exists"
            );
        }
        let listed = s.app.send(Method::GET, "/v1/alerts", *token, None).await;
        if listed.status.is_success() {
            assert!(
                !listed.text.contains("Anna") && !listed.text.contains(&format!("\"id\":{id},")),
                "{who} lists another caseload's alert: {}",
                listed.text
            );
        } else {
            assert_eq!(listed.status.as_u16(), *status, "{who}: {}", listed.text);
        }
    }
    // Nothing any of them did changed the alert; its own specialist and supervisor reach it.
    let unchanged = alert(&s, id).await;
    assert_eq!(unchanged["status"], "open");
    let seen = s
        .app
        .get(&format!("/v1/alerts/{id}"), &s.w.supervisor)
        .await
        .ok();
    assert_eq!(seen["participant"]["display_name"], "Anna Holm");
    let acked = s
        .app
        .post(
            &format!("/v1/alerts/{id}/acknowledge"),
            Some(&s.w.supervisor),
            json!({}),
        )
        .await
        .ok();
    assert_eq!(acked["status"], "acknowledged");

    // Every read and change by staff is in the participant's audit trail.
    let trail = s
        .app
        .get(
            &format!("/v1/participants/{}/audit-events?limit=200", s.pid),
            &s.w.supervisor,
        )
        .await
        .ok();
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("alert"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in ["alerts.listed", "alert.read", "alert.acknowledged"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(
        !actions.contains(&"alert.resolved"),
        "no refused call was audited as done"
    );
}
