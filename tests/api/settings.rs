//! The participant's profile and notification settings: `GET`/`PATCH /v1/me`, and the specialist's view.

use serde_json::{json, Value};

use crate::helpers::{TestApp, World};

/// Enrols a participant with `specialist` and signs their phone in: (id, access token).
async fn phone(app: &TestApp, specialist: &str, name: &str) -> (i64, String) {
    let (id, code) = app.enrol(specialist, name).await;
    let tokens = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok();
    (id, tokens["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn new_participants_have_the_default_settings() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let expected = json!({
        "quiet_hours": { "start": "22:00", "end": "08:00" },
        "reminder_offsets_minutes": [1440, 120],
        "lock_screen_previews": false
    });
    let me = app.get("/v1/me", &token).await.ok();
    assert_eq!(me["settings"], expected);
    let seen = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(seen["settings"], expected);
    let listed = app.get("/v1/participants", &w.specialist).await.ok();
    assert_eq!(listed["items"][0]["settings"], expected);
}

#[tokio::test]
async fn each_setting_is_changed_by_the_participant_and_seen_by_the_specialist() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let before = app.get("/v1/me", &token).await.ok();

    // One field at a time: each changes only itself.
    let steps: Vec<(Value, &str, Value)> = vec![
        (
            json!({ "display_name": "  Ola N.  " }),
            "/display_name",
            json!("Ola N."),
        ),
        (
            json!({ "preferred_language": "en" }),
            "/preferred_language",
            json!("en"),
        ),
        (
            json!({ "time_zone": "America/New_York" }),
            "/time_zone",
            json!("America/New_York"),
        ),
        (
            json!({ "quiet_hours": { "start": "23:30", "end": "06:45" } }),
            "/settings/quiet_hours",
            json!({ "start": "23:30", "end": "06:45" }),
        ),
        (
            json!({ "reminder_offsets_minutes": [30, 10080, 5, 720] }),
            "/settings/reminder_offsets_minutes",
            json!([10080, 720, 30, 5]),
        ),
        (
            json!({ "lock_screen_previews": true }),
            "/settings/lock_screen_previews",
            json!(true),
        ),
    ];
    let mut expected = before.clone();
    for (patch, pointer, value) in steps {
        *expected.pointer_mut(pointer).unwrap() = value.clone();
        let reply = app.patch("/v1/me", &token, patch.clone()).await.ok();
        assert_eq!(reply.pointer(pointer), Some(&value), "{patch}");
        let mine = app.get("/v1/me", &token).await.ok();
        let theirs = app
            .get(&format!("/v1/participants/{id}"), &w.specialist)
            .await
            .ok();
        for seen in [&reply, &mine, &theirs] {
            let mut seen = seen.clone();
            seen["updated_at"] = expected["updated_at"].clone();
            assert_eq!(seen, expected, "after {patch}");
        }
    }

    // A daytime window (not crossing midnight) is as good as a nightly one; an empty patch
    // changes nothing.
    let day = app
        .patch(
            "/v1/me",
            &token,
            json!({ "quiet_hours": { "start": "00:00", "end": "23:59" } }),
        )
        .await
        .ok();
    assert_eq!(
        day["settings"]["quiet_hours"],
        json!({ "start": "00:00", "end": "23:59" })
    );
    let same = app.patch("/v1/me", &token, json!({})).await.ok();
    assert_eq!(same["settings"], day["settings"]);
    assert_eq!(same["display_name"], "Ola N.");

    // The participant's own changes are in their audit trail.
    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    let own = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "participant.settings_updated")
        .collect::<Vec<_>>();
    assert_eq!(own.len(), 8);
    assert_eq!(own[0]["actor_kind"], "participant");
    assert_eq!(own[0]["actor_id"], id);
}

#[tokio::test]
async fn every_settings_rule_is_refused_with_its_field() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, token) = phone(&app, &w.specialist, "Ola").await;
    let before = app.get("/v1/me", &token).await.ok();

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({ "display_name": "" }), vec!["display_name"]),
        (json!({ "display_name": "   " }), vec!["display_name"]),
        (
            json!({ "display_name": "x".repeat(101) }),
            vec!["display_name"],
        ),
        (json!({ "display_name": 7 }), vec!["display_name"]),
        (
            json!({ "preferred_language": "sv" }),
            vec!["preferred_language"],
        ),
        (json!({ "time_zone": "Mars/Olympus" }), vec!["time_zone"]),
        (
            json!({ "time_zone": "Europe/".repeat(10) }),
            vec!["time_zone"],
        ),
        (
            json!({ "quiet_hours": { "start": "7:30", "end": "08:00" } }),
            vec!["quiet_hours.start"],
        ),
        (
            json!({ "quiet_hours": { "start": "22:00", "end": "24:00" } }),
            vec!["quiet_hours.end"],
        ),
        (
            json!({ "quiet_hours": { "start": "22:60", "end": "08:00:00" } }),
            vec!["quiet_hours.end", "quiet_hours.start"],
        ),
        (
            json!({ "quiet_hours": { "start": "22:00", "end": "22:00" } }),
            vec!["quiet_hours.end"],
        ),
        (
            json!({ "quiet_hours": { "start": "22:00" } }),
            vec!["quiet_hours.end"],
        ),
        (
            json!({ "quiet_hours": { "start": "22:00", "end": "08:00", "days": [] } }),
            vec!["quiet_hours.days"],
        ),
        (
            json!({ "reminder_offsets_minutes": [] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [10, 20, 30, 40, 50, 60] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [4] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [10081] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [-60] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [60, 60] }),
            vec!["reminder_offsets_minutes"],
        ),
        (
            json!({ "reminder_offsets_minutes": [1.5] }),
            vec!["reminder_offsets_minutes[0]"],
        ),
        (
            json!({ "lock_screen_previews": "yes" }),
            vec!["lock_screen_previews"],
        ),
        (
            json!({ "display_name": "", "preferred_language": "de", "time_zone": "Nowhere", "reminder_offsets_minutes": [1] }),
            vec![
                "display_name",
                "preferred_language",
                "reminder_offsets_minutes",
                "time_zone",
            ],
        ),
    ];
    for (patch, fields) in cases {
        let reply = app.patch("/v1/me", &token, patch.clone()).await;
        assert_eq!(reply.invalid_fields(), fields, "{patch}");
    }
    // Not a participant's to change, whatever the spelling.
    for patch in [
        json!({ "status": "in_work" }),
        json!({ "specialist_id": 1 }),
        json!({ "birth_year": 1990 }),
    ] {
        assert_eq!(
            app.patch("/v1/me", &token, patch).await.assert_problem(422),
            "validation"
        );
    }
    assert_eq!(app.get("/v1/me", &token).await.ok(), before);
}

#[tokio::test]
async fn only_participants_patch_themselves() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (a, token_a) = phone(&app, &w.specialist, "A").await;
    let (_, token_b) = phone(&app, &w.specialist, "B").await;
    for staff in [&w.specialist, &w.supervisor, &w.admin] {
        let reply = app
            .patch("/v1/me", staff, json!({ "lock_screen_previews": true }))
            .await;
        assert_eq!(reply.assert_problem(403), "forbidden");
    }
    // B changes only B; A is untouched.
    app.patch(
        "/v1/me",
        &token_b,
        json!({ "display_name": "Bee", "lock_screen_previews": true }),
    )
    .await
    .ok();
    let a_now = app.get("/v1/me", &token_a).await.ok();
    assert_eq!(a_now["id"], a);
    assert_eq!(a_now["display_name"], "A");
    assert_eq!(a_now["settings"]["lock_screen_previews"], false);
    assert_eq!(
        app.send(reqwest::Method::PATCH, "/v1/me", None, Some(json!({})))
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}
