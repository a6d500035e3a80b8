//! Withdrawal: the participant's own decision ends every session and device at once, and the
//! specialist still sees the closed case.

use serde_json::{json, Value};

use crate::devices::{another_session, apns_token, device_body, participant, rows_of_participant};
use crate::helpers::{TestApp, World};

#[tokio::test]
async fn withdrawal_ends_every_session_at_once_and_the_specialist_sees_it() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, phone, phone_refresh, _) = participant(&app, &w.specialist, "Ola").await;
    let (tablet, tablet_refresh, _) = another_session(&app, &w.specialist, id).await;
    app.post(
        "/v1/me/devices",
        Some(&phone),
        device_body(&apns_token("PHONE001")),
    )
    .await
    .ok();
    app.post(
        "/v1/me/devices",
        Some(&tablet),
        device_body(&apns_token("TABLET01")),
    )
    .await
    .ok();
    // A code the specialist issued but the participant never used.
    let unused = app
        .post(
            &format!("/v1/participants/{id}/enrolment-code"),
            Some(&w.specialist),
            json!({}),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another participant of the same specialist is not touched.
    let (other, other_token, _, _) = participant(&app, &w.specialist, "Kari").await;
    app.post(
        "/v1/me/devices",
        Some(&other_token),
        device_body(&apns_token("KARI0001")),
    )
    .await
    .ok();

    let withdrawn = app
        .post(
            "/v1/me/withdraw",
            Some(&phone),
            json!({ "reason": "  Jeg har fått jobb selv.  " }),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let me = &withdrawn.body;
    assert_eq!(me["id"], id);
    assert_eq!(me["status"], "closed");
    assert_eq!(me["closed_reason"], "withdrew");
    assert_eq!(me["withdrawal_note"], "Jeg har fått jobb selv.");
    assert!(me["withdrawn_at"].as_str().unwrap().ends_with('Z'));

    // Every token of theirs is dead at once, on every route; so is every refresh token and code.
    for token in [&phone, &tablet] {
        assert_eq!(
            app.get("/v1/me", token).await.assert_problem(401),
            "unauthenticated"
        );
        assert_eq!(
            app.get("/v1/me/devices", token).await.assert_problem(401),
            "unauthenticated"
        );
        assert_eq!(
            app.get("/v1/auth/sessions", token)
                .await
                .assert_problem(401),
            "unauthenticated"
        );
        assert_eq!(
            app.post("/v1/me/withdraw", Some(token), json!({}))
                .await
                .assert_problem(401),
            "unauthenticated"
        );
    }
    for refresh in [&phone_refresh, &tablet_refresh] {
        let reply = app
            .post(
                "/v1/auth/refresh",
                None,
                json!({ "refresh_token": refresh }),
            )
            .await;
        assert_eq!(reply.assert_problem(401), "invalid-credentials");
    }
    let enrol = app
        .post("/v1/auth/enrol", None, json!({ "code": unused }))
        .await;
    assert_eq!(enrol.assert_problem(401), "invalid-credentials");
    let reissue = app
        .post(
            &format!("/v1/participants/{id}/enrolment-code"),
            Some(&w.specialist),
            json!({}),
        )
        .await;
    assert_eq!(reissue.assert_problem(409), "conflict");
    assert_eq!(rows_of_participant(&app, id).await, 0);
    assert_eq!(rows_of_participant(&app, other).await, 1);
    assert_eq!(
        app.get("/v1/me", &other_token).await.ok()["status"],
        "job_seeking"
    );

    // The specialist (and the supervisor) still see the case, closed.
    let seen = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(seen["status"], "closed");
    assert_eq!(seen["closed_reason"], "withdrew");
    assert_eq!(seen["withdrawn_at"], me["withdrawn_at"]);
    let caseload = app.get("/v1/participants", &w.specialist).await.ok();
    let listed: Vec<&Value> = caseload["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == id)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "closed");

    // The withdrawal is in the audit trail, by the participant.
    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    let event = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "participant.withdrew")
        .expect("participant.withdrew audited")
        .clone();
    assert_eq!(event["actor_kind"], "participant");
    assert_eq!(event["actor_id"], id);
    assert!(event["request_id"].as_str().is_some());
}

#[tokio::test]
async fn a_reason_is_optional_and_checked() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me, _, _) = participant(&app, &w.specialist, "Ola").await;

    let long = app
        .post(
            "/v1/me/withdraw",
            Some(&me),
            json!({ "reason": "x".repeat(501) }),
        )
        .await;
    assert_eq!(long.invalid_fields(), vec!["reason"]);
    let unknown = app
        .post("/v1/me/withdraw", Some(&me), json!({ "erase": true }))
        .await;
    assert_eq!(unknown.assert_problem(422), "validation");
    let wrong_type = app
        .post("/v1/me/withdraw", Some(&me), json!({ "reason": 5 }))
        .await;
    assert_eq!(wrong_type.invalid_fields(), vec!["reason"]);
    // None of those withdrew anyone.
    assert_eq!(app.get("/v1/me", &me).await.ok()["status"], "job_seeking");

    // Staff cannot withdraw anyone through this route, nor can a caller without a token.
    assert_eq!(
        app.post("/v1/me/withdraw", Some(&w.specialist), json!({}))
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.post("/v1/me/withdraw", None, json!({}))
            .await
            .assert_problem(401),
        "unauthenticated"
    );

    // No reason at all (a blank one counts as none).
    let done = app
        .post("/v1/me/withdraw", Some(&me), json!({ "reason": "   " }))
        .await
        .ok();
    assert_eq!(done["status"], "closed");
    assert_eq!(done["withdrawal_note"], Value::Null);
    assert_eq!(
        app.post("/v1/me/withdraw", Some(&me), json!({}))
            .await
            .assert_problem(401),
        "unauthenticated"
    );
}
