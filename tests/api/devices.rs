//! Push devices: registering, listing (the token masked), updating and removing them; a token
//! that moves to whoever registered it last; devices that end with their session.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use ips_core::schema::devices;
use serde_json::{json, Value};

use crate::helpers::{TestApp, World, PASSWORD};

/// An APNs-like token (64 hex digits) ending in a recognisable tail.
pub fn apns_token(tail: &str) -> String {
    format!("{}{tail}", "a1b2c3d4".repeat(8))[tail.len()..].to_owned()
}

pub fn device_body(token: &str) -> Value {
    json!({ "platform": "apns", "token": token, "app_version": "2.4.1 (318)", "locale": "nb-NO" })
}

/// A participant's device session from a fresh enrolment code: (access token, refresh token, session id).
pub async fn session_for(app: &TestApp, code: &str) -> (String, String, i64) {
    let body = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
        body["session_id"].as_i64().unwrap(),
    )
}

/// Another session for the same participant: the specialist issues a new code and the app enrols.
pub async fn another_session(
    app: &TestApp,
    specialist: &str,
    participant: i64,
) -> (String, String, i64) {
    let code = app
        .post(
            &format!("/v1/participants/{participant}/enrolment-code"),
            Some(specialist),
            json!({}),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    session_for(app, &code).await
}

/// Enrols a participant and logs their app in: (participant id, access token, refresh token, session id).
pub async fn participant(
    app: &TestApp,
    specialist: &str,
    name: &str,
) -> (i64, String, String, i64) {
    let (id, code) = app.enrol(specialist, name).await;
    let (access, refresh, session) = session_for(app, &code).await;
    (id, access, refresh, session)
}

/// The device rows as the database holds them: (session id, token), ordered by id.
pub async fn rows(app: &TestApp) -> Vec<(Option<i64>, String)> {
    app.db
        .run(|conn| {
            Ok(devices::table
                .order(devices::id)
                .select((devices::session_id, devices::token))
                .load(conn)?)
        })
        .await
        .unwrap()
}

pub async fn rows_of_participant(app: &TestApp, participant: i64) -> i64 {
    app.db
        .run(move |conn| {
            Ok(devices::table
                .filter(devices::participant_id.eq(participant))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap()
}

#[tokio::test]
async fn a_participant_registers_lists_updates_and_deletes_a_device() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me, _, session) = participant(&app, &w.specialist, "Ola").await;
    let token = apns_token("TAIL0001");

    let created = app
        .post("/v1/me/devices", Some(&me), device_body(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/me/devices/{id}").as_str())
    );
    assert!(
        !created.text.contains(&token),
        "the whole token is never shown"
    );
    let device = &created.body;
    assert_eq!(device["platform"], "apns");
    assert_eq!(device["token_hint"], "TAIL0001");
    assert_eq!(device["app_version"], "2.4.1 (318)");
    assert_eq!(device["locale"], "nb-NO");
    assert_eq!(device["enabled"], true);
    assert_eq!(device["disabled_reason"], Value::Null);
    assert_eq!(device["session_id"], session);
    assert_eq!(device["current"], true);
    assert!(device["last_registered_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // The app registers again at every start: the same row, 200, never a duplicate.
    let again = app
        .post("/v1/me/devices", Some(&me), device_body(&token))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["id"], id);

    let list = app.get("/v1/me/devices", &me).await;
    assert!(!list.text.contains(&token));
    let list = list.ok();
    assert_eq!(items(&list).len(), 1);
    assert_eq!(items(&list)[0]["token_hint"], "TAIL0001");
    assert_eq!(list["next_cursor"], Value::Null);
    assert_eq!(
        app.get(&format!("/v1/me/devices/{id}"), &me).await.ok()["id"],
        id
    );

    // A new version and locale, then a rotated token.
    let patched = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &me,
            json!({ "app_version": "2.5.0", "locale": "en_GB" }),
        )
        .await
        .ok();
    assert_eq!(patched["app_version"], "2.5.0");
    assert_eq!(patched["locale"], "en_GB");
    assert_eq!(patched["token_hint"], "TAIL0001");
    let rotated = apns_token("TAIL0002");
    let patched = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &me,
            json!({ "token": rotated }),
        )
        .await;
    assert!(!patched.text.contains(&rotated));
    let patched = patched.ok();
    assert_eq!(patched["token_hint"], "TAIL0002");
    assert_eq!(patched["app_version"], "2.5.0");
    assert_eq!(rows(&app).await, vec![(Some(session), rotated.clone())]);

    // A new token registered from the same session replaces the session's old one.
    let replaced = app
        .post(
            "/v1/me/devices",
            Some(&me),
            device_body(&apns_token("TAIL0003")),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["id"], id);
    assert_eq!(replaced.body["token_hint"], "TAIL0003");
    assert_eq!(rows(&app).await.len(), 1);

    let gone = app.delete(&format!("/v1/me/devices/{id}"), &me).await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        app.delete(&format!("/v1/me/devices/{id}"), &me)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get(&format!("/v1/me/devices/{id}"), &me)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert!(items(&app.get("/v1/me/devices", &me).await.ok()).is_empty());
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn a_token_moves_to_whoever_registers_it_last() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (first, first_token, _, _) = participant(&app, &w.specialist, "Ola").await;
    let (second, second_token, _, second_session) = participant(&app, &w.colleague, "Kari").await;
    let token = apns_token("HANDOVER");

    let id = app
        .post("/v1/me/devices", Some(&first_token), device_body(&token))
        .await
        .ok()["id"]
        .clone();
    // The phone changed hands: the second participant's app registers the same token.
    let moved = app
        .post(
            "/v1/me/devices",
            Some(&second_token),
            json!({ "platform": "fcm", "token": token, "app_version": "3.0", "locale": "en" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["id"], id);
    assert_eq!(moved.body["platform"], "fcm");
    assert_eq!(moved.body["session_id"], second_session);
    assert_eq!(
        rows(&app).await,
        vec![(Some(second_session), token.clone())]
    );
    assert!(items(&app.get("/v1/me/devices", &first_token).await.ok()).is_empty());
    assert_eq!(
        items(&app.get("/v1/me/devices", &second_token).await.ok()).len(),
        1
    );
    assert_eq!(rows_of_participant(&app, first).await, 0);
    assert_eq!(rows_of_participant(&app, second).await, 1);

    // A disabled device (the provider said the token was gone) is enabled again by a new registration.
    app.db
        .run(|conn| {
            Ok(diesel::update(devices::table)
                .set((
                    devices::enabled.eq(false),
                    devices::disabled_reason.eq("unregistered"),
                ))
                .execute(conn)?)
        })
        .await
        .unwrap();
    let listed = app.get("/v1/me/devices", &second_token).await.ok();
    assert_eq!(items(&listed)[0]["enabled"], false);
    assert_eq!(items(&listed)[0]["disabled_reason"], "unregistered");
    let again = app
        .post("/v1/me/devices", Some(&second_token), device_body(&token))
        .await
        .ok();
    assert_eq!(again["enabled"], true);
    assert_eq!(again["disabled_reason"], Value::Null);

    // Rotating a device's token onto a token another device holds leaves one row with it.
    let other = apns_token("OTHERONE");
    app.post("/v1/me/devices", Some(&first_token), device_body(&other))
        .await
        .ok();
    let rotated = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &second_token,
            json!({ "token": other }),
        )
        .await
        .ok();
    assert_eq!(rotated["token_hint"], "OTHERONE");
    assert_eq!(rows(&app).await, vec![(Some(second_session), other)]);

    // A staff member's phone that takes over the token takes it from the participant.
    let staff_device = app
        .post(
            "/v1/staff/me/devices",
            Some(&w.specialist),
            device_body(&apns_token("OTHERONE")),
        )
        .await;
    assert_eq!(staff_device.status, 200, "{}", staff_device.text);
    assert!(items(&app.get("/v1/me/devices", &second_token).await.ok()).is_empty());
    assert_eq!(
        items(&app.get("/v1/staff/me/devices", &w.specialist).await.ok()).len(),
        1
    );
}

#[tokio::test]
async fn staff_register_list_and_delete_their_own_phones() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let created = app
        .post(
            "/v1/staff/me/devices",
            Some(&w.specialist),
            device_body(&apns_token("STAFF001")),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/staff/me/devices/{id}").as_str())
    );
    assert_eq!(created.body["token_hint"], "STAFF001");
    assert_eq!(created.body["current"], true);
    let list = app.get("/v1/staff/me/devices", &w.specialist).await.ok();
    assert_eq!(items(&list).len(), 1);
    assert_eq!(
        app.get(&format!("/v1/staff/me/devices/{id}"), &w.specialist)
            .await
            .ok()["id"],
        id
    );

    // Another staff member's device is as unknown as a missing one.
    assert!(items(&app.get("/v1/staff/me/devices", &w.colleague).await.ok()).is_empty());
    assert_eq!(
        app.get(&format!("/v1/staff/me/devices/{id}"), &w.colleague)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.delete(&format!("/v1/staff/me/devices/{id}"), &w.colleague)
            .await
            .assert_problem(404),
        "not-found"
    );

    assert_eq!(
        app.delete(&format!("/v1/staff/me/devices/{id}"), &w.specialist)
            .await
            .status,
        204
    );
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn ending_a_session_removes_its_device() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, first, _, _) = participant(&app, &w.specialist, "Ola").await;
    let (second, _, second_session) = another_session(&app, &w.specialist, id).await;
    let (third, third_refresh, third_session) = another_session(&app, &w.specialist, id).await;
    for (token, tail) in [
        (&first, "PHONE001"),
        (&second, "PHONE002"),
        (&third, "PHONE003"),
    ] {
        app.post(
            "/v1/me/devices",
            Some(token),
            device_body(&apns_token(tail)),
        )
        .await
        .ok();
    }
    assert_eq!(rows(&app).await.len(), 3);

    // Logout takes the first phone's device with it.
    assert_eq!(
        app.post("/v1/auth/logout", Some(&first), json!({}))
            .await
            .status,
        204
    );
    let hints: Vec<Value> = items(&app.get("/v1/me/devices", &third).await.ok())
        .iter()
        .map(|d| d["token_hint"].clone())
        .collect();
    assert_eq!(hints, vec![json!("PHONE003"), json!("PHONE002")]);

    // The second phone is lost: revoked from the third.
    let revoked = app
        .delete(&format!("/v1/auth/sessions/{second_session}"), &third)
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        rows(&app).await,
        vec![(Some(third_session), apns_token("PHONE003"))]
    );

    // A refresh token presented twice ends the third session, and its device.
    let rotated = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": third_refresh }),
        )
        .await;
    assert_eq!(rotated.status, 200);
    let replayed = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": third_refresh }),
        )
        .await;
    assert_eq!(replayed.assert_problem(401), "invalid-credentials");
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn staff_devices_end_with_deactivation_and_password_change() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    app.post(
        "/v1/staff/me/devices",
        Some(&w.specialist),
        device_body(&apns_token("SPEC0001")),
    )
    .await
    .ok();
    let deactivated = app
        .patch(
            &format!("/v1/staff/{}", w.specialist_id),
            &w.admin,
            json!({ "active": false }),
        )
        .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    assert!(rows(&app).await.is_empty());

    // A password change ends the other sessions, and so their devices; this session's stays.
    let phone = app.access_token("col@example.no").await;
    app.post(
        "/v1/staff/me/devices",
        Some(&phone),
        device_body(&apns_token("COLPHONE")),
    )
    .await
    .ok();
    app.post(
        "/v1/staff/me/devices",
        Some(&w.colleague),
        device_body(&apns_token("COLDESK1")),
    )
    .await
    .ok();
    let changed = app
        .post(
            "/v1/auth/password",
            Some(&w.colleague),
            json!({ "current_password": PASSWORD, "new_password": "another long passphrase entirely" }),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let left: Vec<String> = rows(&app).await.into_iter().map(|(_, t)| t).collect();
    assert_eq!(left, vec![apns_token("COLDESK1")]);
}

#[tokio::test]
async fn every_field_is_validated() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me, _, _) = participant(&app, &w.specialist, "Ola").await;

    let bad = app
        .post(
            "/v1/me/devices",
            Some(&me),
            json!({ "platform": "wns", "token": "has a space", "app_version": "x".repeat(51), "locale": "norsk bokmål" }),
        )
        .await;
    assert_eq!(
        bad.invalid_fields(),
        vec!["app_version", "locale", "platform", "token"]
    );
    let bad = app
        .post(
            "/v1/me/devices",
            Some(&me),
            json!({ "platform": "APNS", "token": "", "app_version": "   ", "locale": "n".repeat(36) }),
        )
        .await;
    assert_eq!(
        bad.invalid_fields(),
        vec!["app_version", "locale", "platform", "token"]
    );
    for token in [
        "x".repeat(4097),
        "tab\there".into(),
        "ctrl\u{7}".into(),
        "æøå".into(),
    ] {
        let reply = app
            .post("/v1/me/devices", Some(&me), device_body(&token))
            .await;
        assert_eq!(reply.invalid_fields(), vec!["token"], "{token:?}");
    }
    for locale in ["", "nb-", "12", "nb--NO", "en-GB-muchtoolong"] {
        let mut body = device_body(&apns_token("LOCALE01"));
        body["locale"] = json!(locale);
        assert_eq!(
            app.post("/v1/me/devices", Some(&me), body)
                .await
                .invalid_fields(),
            vec!["locale"],
            "{locale:?}"
        );
    }
    let missing = app
        .post("/v1/me/devices", Some(&me), json!({ "platform": "fcm" }))
        .await;
    assert_eq!(missing.assert_problem(422), "validation");
    let unknown = app
        .post("/v1/me/devices", Some(&me), json!({ "platform": "fcm", "token": "t", "app_version": "1", "locale": "nb", "user_id": 9 }))
        .await;
    assert_eq!(unknown.assert_problem(422), "validation");
    let wrong_type = app
        .post(
            "/v1/me/devices",
            Some(&me),
            json!({ "platform": "fcm", "token": 12345678, "app_version": "1", "locale": "nb" }),
        )
        .await;
    assert_eq!(wrong_type.invalid_fields(), vec!["token"]);

    // The longest token and version, and the longest locale, are accepted.
    let mut longest = device_body(&"f".repeat(4096));
    longest["app_version"] = json!("9".repeat(50));
    longest["locale"] = json!(format!("en{}", "-abcdefgh".repeat(3)));
    let ok = app.post("/v1/me/devices", Some(&me), longest).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["token_hint"], "ffffffff");
    let id = ok.body["id"].as_i64().unwrap();

    let patch = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &me,
            json!({ "token": "two words", "app_version": "", "locale": "x" }),
        )
        .await;
    assert_eq!(
        patch.invalid_fields(),
        vec!["app_version", "locale", "token"]
    );
    let patch = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &me,
            json!({ "platform": "fcm" }),
        )
        .await;
    assert_eq!(patch.assert_problem(422), "validation");
    let patch = app
        .patch(
            &format!("/v1/me/devices/{id}"),
            &me,
            json!({ "token": null }),
        )
        .await;
    assert_eq!(
        patch.status, 200,
        "null leaves the token as it is: {}",
        patch.text
    );
    assert_eq!(patch.body["token_hint"], "ffffffff");

    let page = app.get("/v1/me/devices?limit=0", &me).await;
    assert_eq!(page.invalid_fields(), vec!["limit"]);
}

#[tokio::test]
async fn nobody_reaches_anyone_elses_devices() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, alice, _, _) = participant(&app, &w.specialist, "Alice").await;
    let (_, bob, _, _) = participant(&app, &w.specialist, "Bob").await;
    let id = app
        .post(
            "/v1/me/devices",
            Some(&alice),
            device_body(&apns_token("ALICE001")),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/me/devices/{id}");

    // Bob cannot read, change or delete Alice's device, nor learn that it exists.
    assert!(items(&app.get("/v1/me/devices", &bob).await.ok()).is_empty());
    assert_eq!(app.get(&path, &bob).await.assert_problem(404), "not-found");
    assert_eq!(
        app.patch(&path, &bob, json!({ "locale": "en" }))
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.delete(&path, &bob).await.assert_problem(404),
        "not-found"
    );
    assert_eq!(app.get(&path, &alice).await.ok()["locale"], "nb-NO");
    assert_eq!(
        app.get("/v1/me/devices/999999", &alice)
            .await
            .assert_problem(404),
        "not-found"
    );

    // Staff tokens on the participant's routes, participant tokens on the staff ones: 403.
    let body = device_body(&apns_token("WRONGONE"));
    for token in [&w.specialist, &w.supervisor, &w.admin] {
        assert_eq!(
            app.post("/v1/me/devices", Some(token), body.clone())
                .await
                .assert_problem(403),
            "forbidden"
        );
        assert_eq!(
            app.get("/v1/me/devices", token).await.assert_problem(403),
            "forbidden"
        );
        assert_eq!(app.get(&path, token).await.assert_problem(403), "forbidden");
        assert_eq!(
            app.patch(&path, token, json!({ "locale": "en" }))
                .await
                .assert_problem(403),
            "forbidden"
        );
        assert_eq!(
            app.delete(&path, token).await.assert_problem(403),
            "forbidden"
        );
    }
    assert_eq!(
        app.post("/v1/staff/me/devices", Some(&alice), body.clone())
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get("/v1/staff/me/devices", &alice)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get(&format!("/v1/staff/me/devices/{id}"), &alice)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.delete(&format!("/v1/staff/me/devices/{id}"), &alice)
            .await
            .assert_problem(403),
        "forbidden"
    );

    // No token at all: 401.
    assert_eq!(
        app.post("/v1/me/devices", None, body.clone())
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    assert_eq!(
        app.post("/v1/staff/me/devices", None, body)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    assert_eq!(rows(&app).await.len(), 1);
}

#[tokio::test]
async fn housekeeping_removes_the_devices_of_expired_sessions() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me, _, _) = participant(&app, &w.specialist, "Ola").await;
    app.post(
        "/v1/me/devices",
        Some(&me),
        device_body(&apns_token("EXPIRING")),
    )
    .await
    .ok();
    // A year on, every session has long expired and is purged; its device must go with it.
    let swept = app
        .db
        .write(|conn| {
            let later = ips_core::store::now() + chrono::Duration::days(365);
            ips_core::store::housekeeping::sweep(conn, later, None)
        })
        .await
        .unwrap();
    assert!(swept.sessions >= 1);
    assert!(rows(&app).await.is_empty());
}

/// Odd bodies on every device and withdrawal route: never a 5xx, always a problem.
#[tokio::test]
async fn no_input_makes_the_device_routes_fail() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me, _, _) = participant(&app, &w.specialist, "Ola").await;
    let id = app
        .post(
            "/v1/me/devices",
            Some(&me),
            device_body(&apns_token("ODDINPUT")),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let bodies = [
        json!(null),
        json!([]),
        json!("string"),
        json!(12),
        json!({ "platform": null, "token": [], "locale": { "a": 1 } }),
        json!({ "platform": "apns", "token": "\u{0000}\u{202e}", "app_version": "x".repeat(10_000), "locale": "../../etc" }),
        json!({ "platform": "fcm", "token": "' OR 1=1 --", "app_version": "🙂", "locale": "nb-NO" }),
        json!({ "reason": { "nested": true } }),
        json!({ "token": "x".repeat(60_000) }),
    ];
    for body in &bodies {
        let replies = [
            app.post("/v1/me/devices", Some(&me), body.clone()).await,
            app.post("/v1/staff/me/devices", Some(&w.specialist), body.clone())
                .await,
            app.patch(&format!("/v1/me/devices/{id}"), &me, body.clone())
                .await,
            app.post("/v1/me/withdraw", Some(&me), body.clone()).await,
        ];
        for reply in replies {
            assert!(
                reply.status.as_u16() < 500,
                "{body}: {} {}",
                reply.status,
                reply.text
            );
            if !reply.status.is_success() {
                reply.assert_problem(reply.status.as_u16());
            }
        }
    }
    // None of those bodies was a withdrawal.
    assert_eq!(app.get("/v1/me", &me).await.ok()["status"], "job_seeking");
}
