//! The participant's data export: every section present with their own data, nobody else's, and
//! no token, hash or code anywhere in it.

use chrono::{Duration, Utc};
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{TestApp, World};

/// A participant's tokens and code: (id, access token, refresh token, enrolment code).
async fn participant(app: &TestApp, specialist: &str, name: &str) -> (i64, String, String, String) {
    let (id, code) = app.enrol(specialist, name).await;
    let tokens = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok();
    (
        id,
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
        code,
    )
}

/// Gives a participant something in every section; `tag` marks their own words.
async fn fill(app: &TestApp, token: &str, tag: &str, push_token: &str) {
    for roles in [vec!["Barista"], vec!["Barista", "Lager"]] {
        let saved = app
            .send(
                Method::PUT,
                "/v1/me/job-preferences",
                Some(token),
                Some(json!({ "goal": "work", "desired_roles": roles, "notes": format!("notes {tag}") })),
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.text);
    }
    app.post(
        "/v1/me/interviews",
        Some(token),
        json!({
            "employer": format!("Employer {tag}"),
            "role_title": "Barista",
            "starts_at": (Utc::now() + Duration::days(6)).to_rfc3339(),
        }),
    )
    .await
    .ok();
    app.post(
        "/v1/me/messages",
        Some(token),
        json!({ "body": format!("message {tag}") }),
    )
    .await
    .ok();
    app.post(
        "/v1/me/contact-requests",
        Some(token),
        json!({ "kind": "call_me", "note": format!("call {tag}") }),
    )
    .await
    .ok();
    app.post(
        "/v1/me/devices",
        Some(token),
        json!({ "platform": "fcm", "token": push_token, "app_version": "2.4.1", "locale": "nb-NO" }),
    )
    .await
    .ok();
}

#[derive(QueryableByName)]
struct Secret {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Every hash stored anywhere: none may appear in an export.
fn stored_hashes(app: &TestApp) -> Vec<String> {
    let mut conn = app.db.get().unwrap();
    let mut out = Vec::new();
    for query in [
        "SELECT access_token_hash AS value FROM sessions",
        "SELECT refresh_token_hash AS value FROM sessions",
        "SELECT code_hash AS value FROM enrolment_codes",
        "SELECT calendar_feed_token_hash AS value FROM participants WHERE calendar_feed_token_hash IS NOT NULL",
        "SELECT token_hash AS value FROM used_refresh_tokens",
    ] {
        let rows: Vec<Secret> = diesel::sql_query(query).load(&mut *conn).unwrap();
        out.extend(rows.into_iter().map(|r| r.value));
    }
    out
}

/// Every object key in the document, at any depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn list<'a>(doc: &'a Value, section: &str) -> &'a Vec<Value> {
    doc[section]
        .as_array()
        .unwrap_or_else(|| panic!("section {section} is a list: {doc}"))
}

#[tokio::test]
async fn the_export_holds_everything_about_the_participant_and_nothing_else() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (ola, ola_access, ola_refresh, ola_code) = participant(&app, &w.specialist, "Ola").await;
    let (kari, kari_access, _, _) = participant(&app, &w.specialist, "Kari Utenfor").await;
    let ola_push = "ola-push-token-0123456789-SECRET-OLA1";
    fill(&app, &ola_access, "OLA-ONLY", ola_push).await;
    fill(
        &app,
        &kari_access,
        "KARI-ONLY",
        "kari-push-token-0123456789-SECRET-KARI",
    )
    .await;
    // The specialist's side of the case: a job and a logged contact for each of them.
    for (id, tag) in [(ola, "OLA-ONLY"), (kari, "KARI-ONLY")] {
        let job = json!({
            "employer": format!("employer {tag}"), "role_title": "Lagermedarbeider",
            "hours_per_week": 15, "competitive": true, "start_date": "2026-01-05",
        });
        let recorded = app
            .post(
                &format!("/v1/participants/{id}/jobs"),
                Some(&w.specialist),
                job,
            )
            .await;
        assert_eq!(recorded.status, 201, "{}", recorded.text);
        let contact =
            json!({ "channel": "phone", "reached": true, "note": format!("contact {tag}") });
        let logged = app
            .post(
                &format!("/v1/participants/{id}/contacts"),
                Some(&w.specialist),
                contact,
            )
            .await;
        assert_eq!(logged.status, 201, "{}", logged.text);
    }
    let feed = app
        .send(
            Method::POST,
            "/v1/me/calendar-feed",
            Some(&ola_access),
            None,
        )
        .await
        .ok();
    let feed_path = feed["path"].as_str().unwrap().to_owned();
    // The specialist answers and reads Ola's record: audited, so it is in Ola's export.
    app.post(
        &format!("/v1/participants/{ola}/messages"),
        Some(&w.specialist),
        json!({ "body": "answer to OLA-ONLY" }),
    )
    .await
    .ok();
    app.get(&format!("/v1/participants/{ola}"), &w.specialist)
        .await
        .ok();

    let reply = app.get("/v1/me/export", &ola_access).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"ips-export-{ola}.json\"").as_str())
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let doc = reply.body.clone();
    let text = reply.text.clone();

    assert_eq!(doc["format_version"], 1);
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["profile"]["id"], ola);
    assert_eq!(doc["profile"]["display_name"], "Ola");
    assert!(doc["profile"]["settings"]["quiet_hours"]["start"].is_string());
    assert_eq!(doc["calendar_feed"], json!({ "active": true }));

    assert_eq!(doc["job_preferences"]["current"]["version"], 2);
    assert_eq!(
        doc["job_preferences"]["current"]["desired_roles"],
        json!(["Barista", "Lager"])
    );
    let history = list(&doc["job_preferences"], "history");
    assert_eq!(history.len(), 2, "the full history");
    assert_eq!(history[0]["changed_fields"], json!(["desired_roles"]));

    let interviews = list(&doc, "interviews");
    assert_eq!(interviews.len(), 1);
    assert_eq!(interviews[0]["employer"], "Employer OLA-ONLY");
    assert_eq!(interviews[0]["participant_id"], ola);
    assert!(
        !list(&interviews[0], "reminders").is_empty(),
        "pending reminder times"
    );

    let messages = list(&doc, "messages");
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().any(|m| m["body"] == "message OLA-ONLY"));
    assert!(messages.iter().any(|m| m["body"] == "answer to OLA-ONLY"));
    let requests = list(&doc, "contact_requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["note"], "call OLA-ONLY");

    assert_eq!(doc["follow_up_plan"]["participant_id"], ola);
    let history = list(&doc, "status_history");
    assert_eq!(
        history.last().unwrap()["from_status"],
        Value::Null,
        "the enrolment is the first step"
    );
    assert_eq!(history[0]["to_status"], "in_work", "the job moved the case");
    let jobs = list(&doc, "jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["employer"], "employer OLA-ONLY");
    let contacts = list(&doc, "contacts");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["note"], "contact OLA-ONLY");

    let devices = list(&doc, "devices");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["token_hint"], "RET-OLA1");
    let sessions = list(&doc, "sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["revoked_at"], Value::Null);
    let codes = list(&doc, "enrolment_codes");
    assert_eq!(codes.len(), 1);
    assert!(codes[0]["used_at"].is_string());

    let notifications = list(&doc, "notifications");
    assert!(notifications.len() >= 2, "the interview's reminders");
    assert!(notifications
        .iter()
        .all(
            |n| (n["kind"] == "interview_reminder" || n["kind"] == "new_message")
                && n["status"] == "pending"
        ));
    assert!(
        notifications.iter().any(|n| n["kind"] == "new_message"),
        "the specialist's message is announced"
    );
    let events = list(&doc, "audit_events");
    assert!(events.iter().any(|e| e["action"] == "participant.read"));
    assert!(events.iter().any(|e| e["action"] == "message.sent"));

    // Nothing of Kari's.
    assert!(!text.contains("KARI-ONLY"), "another participant's words");
    assert!(!text.contains("Kari Utenfor"));
    assert!(!text.contains("SECRET-KARI"));
    for interview in interviews {
        assert_eq!(interview["participant_id"], ola);
    }
    for event in events {
        assert_ne!(event["subject_id"], json!(kari));
    }

    // No token, hash or code anywhere.
    assert!(!text.contains(&ola_access));
    assert!(!text.contains(&ola_refresh));
    assert!(!text.contains(ola_push));
    assert!(!text.contains(&ola_code));
    assert!(!text.contains(&ola_code.replace('-', "")));
    let feed_token = feed_path.rsplit('/').next().unwrap();
    assert!(!text.contains(feed_token));
    for hash in stored_hashes(&app) {
        assert!(!text.contains(&hash), "a stored hash leaked");
    }
    let mut names = Vec::new();
    keys(&doc, &mut names);
    for name in &names {
        assert!(
            !name.contains("hash") && name != "token" && name != "code",
            "key {name} in the export"
        );
    }

    // The export itself is audited, by the participant.
    let again = app.get("/v1/me/export", &ola_access).await.ok();
    assert!(list(&again, "audit_events")
        .iter()
        .any(|e| e["action"] == "participant.exported"
            && e["actor_kind"] == "participant"
            && e["actor_id"] == ola));
}

#[tokio::test]
async fn only_a_participant_exports_and_only_themselves() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    app.get("/v1/me/export", &w.specialist)
        .await
        .assert_problem(403);
    app.send(Method::GET, "/v1/me/export", None, None)
        .await
        .assert_problem(401);
    let (kari, kari_access, _, _) = participant(&app, &w.specialist, "Kari").await;
    let doc = app.get("/v1/me/export", &kari_access).await.ok();
    assert_eq!(doc["profile"]["id"], kari);
    // A participant with nothing recorded yet still gets every section, empty.
    for section in [
        "interviews",
        "messages",
        "contact_requests",
        "jobs",
        "contacts",
        "devices",
        "notifications",
    ] {
        assert_eq!(list(&doc, section).len(), 0, "{section}");
    }
    assert_eq!(doc["job_preferences"]["current"]["version"], 0);
    assert_eq!(list(&doc["job_preferences"], "history").len(), 0);
    assert_eq!(doc["calendar_feed"]["active"], false);
    assert_eq!(list(&doc, "status_history").len(), 1, "the enrolment");
    assert_eq!(doc["follow_up_plan"]["phase"], "job_search");
}
