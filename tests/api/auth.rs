//! The staff and participant login journeys, refresh rotation, revocation and rate limits.

use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, World, PASSWORD};

#[tokio::test]
async fn staff_login_returns_oauth_shaped_tokens() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let reply = app.login("Admin@Example.no", PASSWORD).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().unwrap().starts_with("ipsa_"));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("ipsr_"));
    let me = app
        .get("/v1/staff/me", body["access_token"].as_str().unwrap())
        .await
        .ok();
    assert_eq!(me["email"], "admin@example.no");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let wrong = app.login("admin@example.no", "not the password").await;
    let unknown = app.login("nobody@example.no", "not the password").await;
    assert_eq!(wrong.assert_problem(401), "invalid-credentials");
    assert_eq!(unknown.assert_problem(401), "invalid-credentials");
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_session() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let first = app.login("admin@example.no", PASSWORD).await.ok();
    let (access1, refresh1) = (
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
    );

    let second = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh1 }),
        )
        .await;
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let second = second.ok();
    let (access2, refresh2) = (
        second["access_token"].as_str().unwrap(),
        second["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(access1, access2);
    assert_ne!(refresh1, refresh2);
    assert_eq!(second["session_id"], first["session_id"]);
    // The old access token is replaced; the new one works.
    assert_eq!(
        app.get("/v1/staff/me", access1).await.assert_problem(401),
        "unauthenticated"
    );
    assert_eq!(app.get("/v1/staff/me", access2).await.status, 200);

    // Someone replays the first refresh token: the whole session ends, the thief's and the owner's.
    let replay = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh1 }),
        )
        .await;
    assert_eq!(replay.assert_problem(401), "invalid-credentials");
    assert_eq!(
        app.get("/v1/staff/me", access2).await.assert_problem(401),
        "unauthenticated"
    );
    let after = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh2 }),
        )
        .await;
    assert_eq!(after.assert_problem(401), "invalid-credentials");

    let junk = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": "ipsr_nope" }),
        )
        .await;
    assert_eq!(junk.assert_problem(401), "invalid-credentials");
}

#[tokio::test]
async fn logout_and_revoking_a_lost_device_take_effect_at_once() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let laptop = app.login("admin@example.no", PASSWORD).await.ok();
    let phone = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "email": "admin@example.no", "password": PASSWORD, "device_label": "Phone" }),
        )
        .await
        .ok();
    let laptop_token = laptop["access_token"].as_str().unwrap();
    let phone_token = phone["access_token"].as_str().unwrap();

    let sessions = app.get("/v1/auth/sessions", laptop_token).await.ok();
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["device_label"], "Phone");
    assert_eq!(items[0]["current"], false);
    assert_eq!(items[1]["current"], true);

    let revoked = app
        .delete(
            &format!("/v1/auth/sessions/{}", phone["session_id"]),
            laptop_token,
        )
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        app.get("/v1/staff/me", phone_token)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    let phone_refresh = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": phone["refresh_token"] }),
        )
        .await;
    assert_eq!(phone_refresh.assert_problem(401), "invalid-credentials");
    assert_eq!(
        app.delete(
            &format!("/v1/auth/sessions/{}", phone["session_id"]),
            laptop_token
        )
        .await
        .assert_problem(404),
        "not-found"
    );

    assert_eq!(
        app.send(Method::POST, "/v1/auth/logout", Some(laptop_token), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.get("/v1/staff/me", laptop_token)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}

#[tokio::test]
async fn nobody_revokes_another_users_session() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let other = app.login("col@example.no", PASSWORD).await.ok();
    let reply = app
        .delete(
            &format!("/v1/auth/sessions/{}", other["session_id"]),
            &w.specialist,
        )
        .await;
    assert_eq!(reply.assert_problem(404), "not-found");
    assert_eq!(
        app.get("/v1/staff/me", other["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let here = app.access_token("admin@example.no").await;
    let elsewhere = app.access_token("admin@example.no").await;
    let wrong = app
        .post(
            "/v1/auth/password",
            Some(&here),
            json!({ "current_password": "nope", "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(wrong.invalid_fields(), vec!["current_password"]);
    let weak = app
        .post(
            "/v1/auth/password",
            Some(&here),
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(weak.invalid_fields(), vec!["new_password"]);
    let ok = app
        .post(
            "/v1/auth/password",
            Some(&here),
            json!({ "current_password": PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(app.get("/v1/staff/me", &here).await.status, 200);
    assert_eq!(
        app.get("/v1/staff/me", &elsewhere)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    assert_eq!(
        app.login("admin@example.no", "a brand new password")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_without_revealing_accounts() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("admin@example.no", "wrong password")
                .await
                .assert_problem(401),
            "invalid-credentials"
        );
        assert_eq!(
            app.login("ghost@example.no", "wrong password")
                .await
                .assert_problem(401),
            "invalid-credentials"
        );
    }
    for email in ["admin@example.no", "ghost@example.no"] {
        let limited = app.login(email, PASSWORD).await;
        assert_eq!(limited.assert_problem(429), "rate-limited");
        let wait: u64 = limited
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=900).contains(&wait), "{wait}");
    }
}

#[tokio::test]
async fn the_client_limit_holds_across_accounts() {
    let app = TestApp::spawn_with(|c| c.login_max_failures_per_client = 4).await;
    app.create_admin("admin@example.no").await;
    for i in 0..4 {
        app.login(&format!("guess{i}@example.no"), "wrong password")
            .await
            .assert_problem(401);
    }
    assert_eq!(
        app.login("admin@example.no", PASSWORD)
            .await
            .assert_problem(429),
        "rate-limited"
    );
}

#[tokio::test]
async fn the_participant_journey_from_code_to_device_session() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (participant_id, code) = app.enrol(&w.specialist, "Ola").await;
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    assert!(
        code.chars()
            .filter(|c| *c != '-')
            .all(|c| "23456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)),
        "{code}"
    );

    // Typed in lower case and without the dash, it still works, once.
    let typed = code.replace('-', "").to_lowercase();
    let session = app
        .post("/v1/auth/enrol", None, json!({ "code": typed }))
        .await;
    assert_eq!(session.header("cache-control"), Some("no-store"));
    let session = session.ok();
    let token = session["access_token"].as_str().unwrap();
    let me = app.get("/v1/me", token).await.ok();
    assert_eq!(me["id"], participant_id);
    assert_eq!(me["display_name"], "Ola");
    assert_eq!(me["time_zone"], "Europe/Oslo");
    assert_eq!(
        app.post("/v1/auth/enrol", None, json!({ "code": code }))
            .await
            .assert_problem(401),
        "invalid-credentials"
    );

    // The participant's token reaches /v1/me only: staff routes are 403.
    for path in [
        "/v1/participants",
        "/v1/teams",
        "/v1/staff",
        "/v1/staff/me",
        &format!("/v1/participants/{participant_id}"),
    ] {
        assert_eq!(
            app.get(path, token).await.assert_problem(403),
            "forbidden",
            "{path}"
        );
    }
    assert_eq!(
        app.post(
            "/v1/participants",
            Some(token),
            json!({ "display_name": "x" })
        )
        .await
        .assert_problem(403),
        "forbidden"
    );
    // And staff tokens are not participants.
    assert_eq!(
        app.get("/v1/me", &w.specialist).await.assert_problem(403),
        "forbidden"
    );

    // The participant refreshes and manages their own devices like anyone else.
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await
        .ok();
    assert_eq!(refreshed["refresh_token_expires_in"], 180 * 24 * 3600);
    let token = refreshed["access_token"].as_str().unwrap();
    let devices = app.get("/v1/auth/sessions", token).await.ok();
    assert_eq!(devices["items"][0]["device_label"], json!(null));
    assert_eq!(
        app.send(Method::POST, "/v1/auth/logout", Some(token), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.get("/v1/me", token).await.assert_problem(401),
        "unauthenticated"
    );
}

#[tokio::test]
async fn reissued_codes_replace_old_ones_and_expired_codes_fail() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, first) = app.enrol(&w.specialist, "Kari").await;
    let second = app
        .post(
            &format!("/v1/participants/{id}/enrolment-code"),
            Some(&w.specialist),
            json!({}),
        )
        .await;
    assert_eq!(second.status, 201);
    let second = second.body["code"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        app.post("/v1/auth/enrol", None, json!({ "code": first }))
            .await
            .assert_problem(401),
        "invalid-credentials"
    );
    // Another specialist cannot issue codes for someone outside their caseload.
    let reply = app
        .post(
            &format!("/v1/participants/{id}/enrolment-code"),
            Some(&w.colleague),
            json!({}),
        )
        .await;
    assert_eq!(reply.assert_problem(404), "not-found");

    // Age the code past its expiry.
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("UPDATE enrolment_codes SET expires_at = '2000-01-01 00:00:00'")
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    assert_eq!(
        app.post("/v1/auth/enrol", None, json!({ "code": second }))
            .await
            .assert_problem(401),
        "invalid-credentials"
    );
}

#[tokio::test]
async fn guessing_enrolment_codes_is_rate_limited() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, code) = app.enrol(&w.specialist, "Per").await;
    for _ in 0..10 {
        let guess = app
            .post("/v1/auth/enrol", None, json!({ "code": "AAAA-AAAA" }))
            .await;
        assert_eq!(guess.assert_problem(401), "invalid-credentials");
    }
    let limited = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await;
    assert_eq!(limited.assert_problem(429), "rate-limited");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn guessing_the_current_password_is_rate_limited() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let token = app.access_token("admin@example.no").await;
    for _ in 0..5 {
        let reply = app
            .post(
                "/v1/auth/password",
                Some(&token),
                json!({ "current_password": "a guess", "new_password": "a brand new password" }),
            )
            .await;
        assert_eq!(reply.invalid_fields(), vec!["current_password"]);
    }
    let limited = app
        .post(
            "/v1/auth/password",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(limited.assert_problem(429), "rate-limited");
    assert_eq!(
        app.login("admin@example.no", PASSWORD)
            .await
            .assert_problem(429),
        "rate-limited"
    );
}

#[tokio::test]
async fn names_of_only_spaces_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    assert_eq!(
        app.post("/v1/teams", Some(&admin), json!({ "name": "   " }))
            .await
            .invalid_fields(),
        vec!["name"]
    );
}

/// Uses a token until the server answers from its memory of it (two requests: the first reads
/// the session from the database and remembers it, the second is answered from memory), so the
/// next assertion is about a remembered token.
async fn use_token(app: &TestApp, path: &str, token: &str) {
    for _ in 0..2 {
        let reply = app.get(path, token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

#[tokio::test]
async fn a_remembered_token_is_refused_at_once_after_logout_revocation_and_refresh() {
    let app = TestApp::spawn().await;
    app.create_admin("admin@example.no").await;
    let login = || async { app.login("admin@example.no", PASSWORD).await.ok() };
    let (laptop, phone, tablet) = (login().await, login().await, login().await);
    let token = |s: &serde_json::Value| s["access_token"].as_str().unwrap().to_owned();
    for session in [&laptop, &phone, &tablet] {
        use_token(&app, "/v1/staff/me", &token(session)).await;
    }

    let revoked = app
        .delete(
            &format!("/v1/auth/sessions/{}", phone["session_id"]),
            &token(&laptop),
        )
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        app.get("/v1/staff/me", &token(&phone))
            .await
            .assert_problem(401),
        "unauthenticated"
    );

    let refreshed = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": tablet["refresh_token"] }),
        )
        .await
        .ok();
    assert_eq!(
        app.get("/v1/staff/me", &token(&tablet))
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    use_token(&app, "/v1/staff/me", &token(&refreshed)).await;
    // The first refresh token again: taken as theft, the session ends, the new token with it.
    let replay = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": tablet["refresh_token"] }),
        )
        .await;
    assert_eq!(replay.assert_problem(401), "invalid-credentials");
    assert_eq!(
        app.get("/v1/staff/me", &token(&refreshed))
            .await
            .assert_problem(401),
        "unauthenticated"
    );

    assert_eq!(
        app.send(Method::POST, "/v1/auth/logout", Some(&token(&laptop)), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.get("/v1/staff/me", &token(&laptop))
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}

#[tokio::test]
async fn a_withdrawn_participants_remembered_token_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, token) = app.participant(&w.specialist, "Ola").await;
    use_token(&app, "/v1/me/interviews", &token).await;
    let withdrawn = app.post("/v1/me/withdraw", Some(&token), json!({})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(
        app.get("/v1/me/interviews", &token)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}

#[tokio::test]
async fn a_staff_members_new_role_and_deactivation_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let me: serde_json::Value = app.get("/v1/staff/me", &w.specialist).await.ok();
    let path = format!("/v1/staff/{}", me["id"]);
    // A supervisor's view; a specialist is 403.
    let supervisors_only = "/v1/caseload/specialists";
    use_token(&app, "/v1/staff/me", &w.specialist).await;
    assert_eq!(
        app.get(supervisors_only, &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );

    app.patch(&path, &w.admin, json!({ "role": "supervisor" }))
        .await
        .ok();
    use_token(&app, supervisors_only, &w.specialist).await;

    app.patch(&path, &w.admin, json!({ "role": "specialist" }))
        .await
        .ok();
    assert_eq!(
        app.get(supervisors_only, &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );

    use_token(&app, "/v1/staff/me", &w.specialist).await;
    app.patch(&path, &w.admin, json!({ "active": false }))
        .await
        .ok();
    assert_eq!(
        app.get("/v1/staff/me", &w.specialist)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}
