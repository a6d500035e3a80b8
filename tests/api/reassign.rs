//! Reassignment: a supervisor gives a participant another specialist of the team. The old one loses
//! them at once, the alerts go along, the old one's pending pushes about them are cancelled, and
//! the participant is told who their new contact is.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};
use serde_json::json;

use crate::devices::{apns_token, device_body};
use crate::helpers::{TestApp, World};
use crate::seed;

/// Keeps every push it is given.
#[derive(Default)]
struct Captured(Mutex<Vec<PushMessage>>);

#[async_trait::async_trait]
impl Transport for Captured {
    fn name(&self) -> &'static str {
        "apns"
    }
    async fn send(&self, _: &Target, message: &PushMessage) -> Outcome {
        self.0.lock().unwrap().push(message.clone());
        Outcome::Delivered { provider_id: None }
    }
}

/// Delivers everything due through `transport`, as the worker would.
async fn deliver(app: &TestApp, transport: Arc<Captured>) {
    let dispatcher = Dispatcher::new(
        app.db.clone(),
        "test-worker".into(),
        vec![transport as Arc<dyn Transport>],
        None,
        DispatchConfig::default(),
    );
    dispatcher.tick(StdDuration::from_secs(10)).await.unwrap();
}

fn alert_owner(app: &TestApp, alert: i64) -> i64 {
    seed::count(
        app,
        &format!("SELECT staff_id AS id FROM alerts WHERE id = {alert}"),
    )
}

#[tokio::test]
async fn the_case_moves_with_its_alerts_and_the_participant_is_told() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola Nordmann").await;
    let (other, _) = app.participant(&w.specialist, "Kari").await;
    app.post(
        "/v1/me/devices",
        Some(&token),
        device_body(&apns_token("OLA00001")),
    )
    .await
    .ok();
    let open = seed::alert(&app, id, w.specialist_id, "follow_up_overdue", "open", None);
    let snoozed = seed::alert(
        &app,
        id,
        w.specialist_id,
        "message_unanswered",
        "snoozed",
        Some(&seed::now(chrono::Duration::days(1))),
    );
    let resolved = seed::alert(&app, id, w.specialist_id, "follow_up_due", "resolved", None);
    let others = seed::alert(&app, other, w.specialist_id, "follow_up_due", "open", None);
    // Pushes still to come to the old specialist: two about Ola (one is about an alert of theirs),
    // one about Kari.
    let push_about_alert =
        seed::pending_staff_notification(&app, w.specialist_id, "alert", ("alert", open));
    let push_about_ola =
        seed::pending_staff_notification(&app, w.specialist_id, "alert", ("participant", id));
    let push_about_kari =
        seed::pending_staff_notification(&app, w.specialist_id, "alert", ("alert", others));

    let reply = app
        .post(
            &format!("/v1/participants/{id}/reassign"),
            Some(&w.supervisor),
            json!({ "specialist_id": w.colleague_id, "note": "  Spec is on leave.  " }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["participant"]["id"], id);
    assert_eq!(reply.body["participant"]["specialist_id"], w.colleague_id);
    let r = &reply.body["reassignment"];
    assert_eq!(r["from_specialist_id"], w.specialist_id);
    assert_eq!(r["to_specialist_id"], w.colleague_id);
    assert_eq!(r["note"], "Spec is on leave.");
    assert_eq!(r["alerts_moved"], 2);
    assert_eq!(r["participant_notified"], true);
    assert!(r["reassigned_at"].as_str().unwrap().ends_with('Z'));

    // The old specialist lost Ola at once; the new one has them, with their alerts.
    app.get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .assert_problem(404);
    app.get(&format!("/v1/participants/{id}/interviews"), &w.specialist)
        .await
        .assert_problem(404);
    let old_view = app.get("/v1/caseload", &w.specialist).await;
    assert!(!old_view.text.contains("Ola"), "{}", old_view.text);
    let ola = app
        .get(&format!("/v1/participants/{id}"), &w.colleague)
        .await;
    assert_eq!(ola.status, 200, "{}", ola.text);
    let new_view = app.get("/v1/caseload", &w.colleague).await;
    let row = &new_view.body["items"][0];
    assert_eq!(row["display_name"], "Ola Nordmann");
    assert_eq!(
        row["open_alerts"], 1,
        "the snoozed alert moved too, still snoozed"
    );
    assert_eq!(row["most_urgent_alert"], "follow_up_overdue");
    assert_eq!(alert_owner(&app, open), w.colleague_id);
    assert_eq!(alert_owner(&app, snoozed), w.colleague_id);
    assert_eq!(
        alert_owner(&app, resolved),
        w.specialist_id,
        "history stays"
    );
    assert_eq!(alert_owner(&app, others), w.specialist_id);
    assert_eq!(
        seed::notification_status(&app, push_about_alert),
        "cancelled"
    );
    assert_eq!(seed::notification_status(&app, push_about_ola), "cancelled");
    assert_eq!(seed::notification_status(&app, push_about_kari), "pending");

    // The participant's lock screen says only that their contact changed; the app names them.
    let pushes = Arc::new(Captured::default());
    deliver(&app, pushes.clone()).await;
    let sent = pushes.0.lock().unwrap().clone();
    let told: Vec<&PushMessage> = sent
        .iter()
        .filter(|m| m.data.get("kind").map(String::as_str) == Some("specialist_changed"))
        .collect();
    assert_eq!(told.len(), 1, "{sent:?}");
    assert_eq!(told[0].title, "Du har fått en ny kontaktperson");
    assert_eq!(told[0].body, "Åpne appen for å se mer.");
    let inbox = app.get("/v1/me/notifications", &token).await.ok();
    let item = &inbox["items"][0];
    assert_eq!(item["kind"], "specialist_changed");
    assert_eq!(
        item["title"],
        "Din nye jobbspesialist er Staff col@example.no"
    );
    assert!(item["body"]
        .as_str()
        .unwrap()
        .starts_with("Staff col@example.no følger deg opp"));
    assert!(
        !inbox.to_string().contains("on leave"),
        "the note is the team's"
    );
    let team = app.get("/v1/me/team", &token).await.ok();
    assert_eq!(team["specialist"]["id"], w.colleague_id);
    assert_eq!(team["specialist"]["name"], "Staff col@example.no");

    // The trail shows who moved the case.
    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    let moved = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "participant.reassigned")
        .expect("an audit row");
    assert_eq!(moved["subject_type"], "reassignment");
    assert_eq!(moved["subject_id"], r["id"]);

    // Again to the same specialist: nothing to do.
    let again = app
        .post(
            &format!("/v1/participants/{id}/reassign"),
            Some(&w.supervisor),
            json!({ "specialist_id": w.colleague_id }),
        )
        .await;
    assert_eq!(again.assert_problem(409), "conflict");
    assert_eq!(
        seed::count(&app, "SELECT COUNT(*) AS id FROM reassignments"),
        1
    );
}

#[tokio::test]
async fn a_participant_who_withdrew_can_be_reassigned_but_is_not_written_to() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    app.post("/v1/me/withdraw", Some(&token), json!({}))
        .await
        .ok();
    let reply = app
        .post(
            &format!("/v1/participants/{id}/reassign"),
            Some(&w.supervisor),
            json!({ "specialist_id": w.colleague_id }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["reassignment"]["participant_notified"], false);
    assert_eq!(
        seed::count(
            &app,
            "SELECT COUNT(*) AS id FROM notifications WHERE kind = 'specialist_changed'"
        ),
        0
    );
}

#[tokio::test]
async fn a_new_specialist_must_be_an_active_specialist_of_the_team() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.participant(&w.specialist, "Ola").await;
    let alert = seed::alert(&app, id, w.specialist_id, "follow_up_overdue", "open", None);
    let outsider = seed::count(&app, "SELECT id FROM staff WHERE email = 'out@example.no'");
    let supervisor = seed::count(&app, "SELECT id FROM staff WHERE email = 'sup@example.no'");
    let admin = seed::count(
        &app,
        "SELECT id FROM staff WHERE email = 'admin@example.no'",
    );
    let (inactive, _) = app
        .staff_member(&w.admin, "left@example.no", "specialist", Some(w.team))
        .await;
    app.patch(
        &format!("/v1/staff/{inactive}"),
        &w.admin,
        json!({ "active": false }),
    )
    .await
    .ok();
    let path = format!("/v1/participants/{id}/reassign");
    for (target, what) in [
        (outsider, "a specialist of another team"),
        (inactive, "a deactivated specialist"),
        (supervisor, "a supervisor"),
        (admin, "an administrator"),
        (987_654_321, "an unknown id"),
    ] {
        let reply = app
            .post(
                &path,
                Some(&w.supervisor),
                json!({ "specialist_id": target }),
            )
            .await;
        assert_eq!(reply.invalid_fields(), ["specialist_id"], "{what}");
        // One answer for all of them.
        assert_eq!(
            reply.body["errors"][0]["message"],
            "is not an active specialist of the participant's team",
            "{what}"
        );
    }
    for (body, field) in [
        (json!({}), "specialist_id"),
        (json!({ "specialist_id": "12" }), "specialist_id"),
        (json!({ "specialist_id": w.colleague_id, "why": "x" }), ""),
        (
            json!({ "specialist_id": w.colleague_id, "note": "x".repeat(1001) }),
            "note",
        ),
    ] {
        let reply = app.post(&path, Some(&w.supervisor), body.clone()).await;
        assert_eq!(reply.assert_problem(422), "validation", "{body}");
        if !field.is_empty() {
            assert_eq!(reply.invalid_fields(), [field], "{body}");
        }
    }
    // Nothing moved.
    let ola = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(ola["specialist_id"], w.specialist_id);
    assert_eq!(alert_owner(&app, alert), w.specialist_id);
    assert_eq!(
        seed::count(&app, "SELECT COUNT(*) AS id FROM reassignments"),
        0
    );
    assert_eq!(
        seed::count(
            &app,
            "SELECT COUNT(*) AS id FROM notifications WHERE kind = 'specialist_changed'"
        ),
        0
    );
}

#[tokio::test]
async fn only_the_teams_supervisor_reassigns() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let (_, other_supervisor) = app
        .staff_member(
            &w.admin,
            "sup2@example.no",
            "supervisor",
            Some(w.other_team),
        )
        .await;
    let body = json!({ "specialist_id": w.colleague_id });
    let path = format!("/v1/participants/{id}/reassign");
    let nowhere = "/v1/participants/987654321/reassign";
    for (caller, status) in [
        (&w.specialist, 403),
        (&w.colleague, 403),
        (&w.outsider, 403),
        (&w.admin, 403),
        (&token, 403),
        (&other_supervisor, 404),
    ] {
        let real = app.post(&path, Some(caller), body.clone()).await;
        real.assert_problem(status);
        // The same answer as for a participant who does not exist: nothing tells them apart.
        let none = app.post(nowhere, Some(caller), body.clone()).await;
        assert_eq!((real.status, &real.text), (none.status, &none.text));
    }
    app.post(&path, None, body.clone())
        .await
        .assert_problem(401);
    let ola = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(ola["specialist_id"], w.specialist_id);
    assert_eq!(
        seed::count(&app, "SELECT COUNT(*) AS id FROM reassignments"),
        0
    );
}
