//! Enrolment and the caseload: who sees whom, and the audit trail of every staff read.

use serde_json::json;

use crate::helpers::{TestApp, World};

#[tokio::test]
async fn enrolment_needs_only_a_name() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let reply = app
        .post(
            "/v1/participants",
            Some(&w.specialist),
            json!({ "display_name": "Ingrid" }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let p = &reply.body["participant"];
    assert_eq!(p["status"], "job_seeking");
    assert_eq!(p["specialist_id"], w.specialist_id);
    assert_eq!(p["team_id"], w.team);
    assert_eq!(p["preferred_language"], "nb");
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/participants/{}", p["id"]).as_str())
    );
    assert!(reply.body["enrolment_code"]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // Zero exclusion: there is nowhere to put a diagnosis or a readiness score.
    let reply = app
        .post(
            "/v1/participants",
            Some(&w.specialist),
            json!({ "display_name": "X", "diagnosis": "F20" }),
        )
        .await;
    assert_eq!(reply.assert_problem(422), "validation");

    let reply = app
        .post("/v1/participants", Some(&w.specialist), json!({ "display_name": "", "time_zone": "Mars/Olympus", "preferred_language": "sv", "birth_year": 1800 }))
        .await;
    assert_eq!(
        reply.invalid_fields(),
        vec![
            "birth_year",
            "display_name",
            "preferred_language",
            "time_zone"
        ]
    );
}

#[tokio::test]
async fn language_follows_accept_language_when_not_given() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let reply = app
        .client
        .post(format!("{}/v1/participants", app.address))
        .bearer_auth(&w.specialist)
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&json!({ "display_name": "Sam", "time_zone": "Europe/London", "birth_year": 2001 }));
    let body = app.run(reply).await.ok();
    assert_eq!(body["participant"]["preferred_language"], "en");
    assert_eq!(body["participant"]["time_zone"], "Europe/London");
    assert_eq!(body["participant"]["birth_year"], 2001);
}

#[tokio::test]
async fn supervisors_enrol_for_specialists_in_their_team_only() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let missing = app
        .post(
            "/v1/participants",
            Some(&w.supervisor),
            json!({ "display_name": "A" }),
        )
        .await;
    assert_eq!(missing.invalid_fields(), vec!["specialist_id"]);
    let ok = app
        .post(
            "/v1/participants",
            Some(&w.supervisor),
            json!({ "display_name": "A", "specialist_id": w.colleague_id }),
        )
        .await
        .ok();
    assert_eq!(ok["participant"]["specialist_id"], w.colleague_id);
    let outsider_id = app.get("/v1/staff/me", &w.outsider).await.ok()["id"].clone();
    let wrong = app
        .post(
            "/v1/participants",
            Some(&w.supervisor),
            json!({ "display_name": "A", "specialist_id": outsider_id }),
        )
        .await;
    assert_eq!(wrong.invalid_fields(), vec!["specialist_id"]);
    let other = app
        .post(
            "/v1/participants",
            Some(&w.specialist),
            json!({ "display_name": "A", "specialist_id": w.colleague_id }),
        )
        .await;
    assert_eq!(other.invalid_fields(), vec!["specialist_id"]);
    assert_eq!(
        app.post(
            "/v1/participants",
            Some(&w.admin),
            json!({ "display_name": "A" })
        )
        .await
        .assert_problem(403),
        "forbidden"
    );
}

#[tokio::test]
async fn a_specialist_never_reaches_a_participant_outside_their_caseload() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (mine, _) = app.enrol(&w.specialist, "Mine").await;
    let (theirs, _) = app.enrol(&w.colleague, "Theirs").await;

    let list = app.get("/v1/participants", &w.specialist).await.ok();
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine]);
    assert_eq!(
        app.get(&format!("/v1/participants/{mine}"), &w.specialist)
            .await
            .ok()["display_name"],
        "Mine"
    );
    // Another's participant is indistinguishable from one that does not exist.
    let hidden = app
        .get(&format!("/v1/participants/{theirs}"), &w.specialist)
        .await;
    let absent = app.get("/v1/participants/987654", &w.specialist).await;
    assert_eq!(hidden.assert_problem(404), "not-found");
    assert_eq!(hidden.body, absent.body);
    assert_eq!(
        app.get(&format!("/v1/participants/{mine}"), &w.outsider)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get("/v1/participants", &w.outsider).await.ok()["items"],
        json!([])
    );

    // The supervisor sees the whole team; administrators see no caseload at all.
    let team = app.get("/v1/participants", &w.supervisor).await.ok();
    assert_eq!(team["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/v1/participants", &w.admin)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get(&format!("/v1/participants/{mine}"), &w.admin)
            .await
            .assert_problem(403),
        "forbidden"
    );
}

#[tokio::test]
async fn every_staff_read_is_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Audited").await;
    app.get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    app.get("/v1/participants", &w.specialist).await.ok();

    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    let actions: Vec<_> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        vec![
            "participant.listed",
            "participant.read",
            "enrolment_code.issued",
            "participant.enrolled"
        ]
    );
    let read = &trail["items"][1];
    assert_eq!(read["actor_kind"], "staff");
    assert_eq!(read["actor_id"], w.specialist_id);
    assert_eq!(read["request_id"].as_str().map(str::len), Some(36));

    // Reading the trail is itself audited, and it is for supervisors of the team only.
    let again = app
        .get(
            &format!("/v1/participants/{id}/audit-events?limit=1"),
            &w.supervisor,
        )
        .await
        .ok();
    assert_eq!(again["items"][0]["action"], "audit_trail.read");
    assert_eq!(
        app.get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.specialist
        )
        .await
        .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get(&format!("/v1/participants/{id}/audit-events"), &w.admin)
            .await
            .assert_problem(403),
        "forbidden"
    );
}
