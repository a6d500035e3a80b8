//! The case's status through HTTP: every allowed step recorded with who, when and why; every
//! refused step answered 409 (or 422 naming the field) with nothing written; closing for lost
//! contact only after logged outreach; pausing and resuming; a withdrawal in the history.

use chrono::{Days, Duration, Utc};
use serde_json::{json, Value};

use crate::follow_up::{
    count, instant, oslo_date, oslo_midnight, plan_columns, plus_local_days, PlanColumns,
};
use crate::helpers::{Reply, TestApp, World};

async fn step(app: &TestApp, token: &str, id: i64, body: Value) -> Reply {
    app.post(&format!("/v1/participants/{id}/status"), Some(token), body)
        .await
}

async fn history(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    app.get(&format!("/v1/participants/{id}/status-history"), token)
        .await
        .ok()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn status_changes(app: &TestApp, id: i64) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM status_changes WHERE participant_id = {id}"),
    )
}

async fn status(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(&format!("/v1/participants/{id}"), token).await.ok()["status"].clone()
}

/// A closed plan: nothing due, nothing for the scanner.
fn assert_closed(columns: &PlanColumns) {
    assert_eq!(columns.due_at, None, "{columns:?}");
    assert_eq!(columns.follow_up_check_at, None, "{columns:?}");
    assert_eq!(columns.follow_up_check_stage, None, "{columns:?}");
    assert_eq!(columns.employer_check_at, None, "{columns:?}");
    assert_eq!(columns.next_contact_at, None, "{columns:?}");
    assert_eq!(columns.paused_until, None, "{columns:?}");
}

#[tokio::test]
async fn every_step_is_in_the_history_with_who_when_and_why() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let today = oslo_date(Utc::now().naive_utc());
    let resume_on = today + Days::new(14);

    let paused = step(
        &app,
        &w.specialist,
        id,
        json!({ "to": "paused", "note": "Innlagt på sykehus", "resume_on": resume_on.to_string() }),
    )
    .await;
    assert_eq!(paused.status, 201, "{}", paused.text);
    let change = paused.body;
    assert_eq!(change["from_status"], "job_seeking");
    assert_eq!(change["to_status"], "paused");
    assert_eq!(change["note"], "Innlagt på sykehus");
    assert_eq!(
        change["changed_by"],
        json!({ "kind": "staff", "id": w.specialist_id })
    );
    assert_eq!(status(&app, &w.specialist, id).await, "paused");

    // The supervisor takes the next steps.
    let supervisor_id = app.get("/v1/staff/me", &w.supervisor).await.ok()["id"].clone();
    for (body, from) in [
        (
            json!({ "to": "job_seeking", "note": "Back from hospital" }),
            "paused",
        ),
        (json!({ "to": "in_education" }), "job_seeking"),
        (
            json!({ "to": "closed", "closed_reason": "education", "note": "Started university" }),
            "in_education",
        ),
        (
            json!({ "to": "job_seeking", "note": "Wants work after all" }),
            "closed",
        ),
    ] {
        let reply = step(&app, &w.supervisor, id, body.clone()).await;
        assert_eq!(reply.status, 201, "{body}: {}", reply.text);
        assert_eq!(reply.body["from_status"], from, "{body}");
        assert_eq!(reply.body["to_status"], body["to"], "{body}");
        assert_eq!(reply.body["changed_by"]["id"], supervisor_id);
    }

    let items = history(&app, &w.specialist, id).await;
    let steps: Vec<(Value, Value, Value)> = items
        .iter()
        .map(|i| {
            (
                i["from_status"].clone(),
                i["to_status"].clone(),
                i["closed_reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("closed"), json!("job_seeking"), Value::Null),
            (json!("in_education"), json!("closed"), json!("education")),
            (json!("job_seeking"), json!("in_education"), Value::Null),
            (json!("paused"), json!("job_seeking"), Value::Null),
            (json!("job_seeking"), json!("paused"), Value::Null),
            (Value::Null, json!("job_seeking"), Value::Null),
        ],
        "newest first"
    );
    let times: Vec<_> = items.iter().map(|i| instant(&i["changed_at"])).collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "{times:?}");
    assert_eq!(items[1]["note"], "Started university");

    // Paged, newest first, without gaps or repeats.
    let first = app
        .get(
            &format!("/v1/participants/{id}/status-history?limit=4"),
            &w.specialist,
        )
        .await
        .ok();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/participants/{id}/status-history?limit=4&cursor={cursor}"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(second["next_cursor"], Value::Null);
    let paged: Vec<Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|i| i["id"].clone())
        .collect();
    let all: Vec<Value> = items.iter().map(|i| i["id"].clone()).collect();
    assert_eq!(paged, all);

    // The reopened case follows up again, weekly from the reopening.
    let reopened = instant(&items[0]["changed_at"]);
    let columns = plan_columns(&app, id);
    assert_eq!(columns.phase, "job_search");
    assert_eq!(columns.due_at, Some(plus_local_days(reopened, 7)));
    assert_eq!(columns.follow_up_check_stage.as_deref(), Some("due"));
}

#[tokio::test]
async fn a_refused_step_is_409_or_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let today = oslo_date(Utc::now().naive_utc());
    let written = status_changes(&app, id);
    let plan = plan_columns(&app, id);

    let conflicts = [
        (
            json!({ "to": "job_seeking" }),
            "the case is already job_seeking",
        ),
        (json!({ "to": "referred" }), "no case returns to referred"),
    ];
    for (body, why) in conflicts {
        let reply = step(&app, &w.specialist, id, body.clone()).await;
        assert_eq!(reply.assert_problem(409), "conflict", "{body}");
        assert_eq!(reply.body["detail"], why, "{body}");
    }
    let invalid = [
        (json!({ "to": "closed" }), "closed_reason"),
        (
            json!({ "to": "closed", "closed_reason": "withdrew" }),
            "closed_reason",
        ),
        (
            json!({ "to": "closed", "closed_reason": "bored" }),
            "closed_reason",
        ),
        (
            json!({ "to": "in_work", "closed_reason": "work" }),
            "closed_reason",
        ),
        (json!({ "to": "paused", "note": "Holiday" }), "resume_on"),
        (
            json!({ "to": "paused", "resume_on": (today + Days::new(7)).to_string() }),
            "note",
        ),
        (
            json!({ "to": "paused", "note": "Holiday", "resume_on": today.to_string() }),
            "resume_on",
        ),
        (
            json!({ "to": "paused", "note": "Holiday", "resume_on": (today + Days::new(400)).to_string() }),
            "resume_on",
        ),
        (
            json!({ "to": "paused", "note": "Holiday", "resume_on": "2027-02-30" }),
            "resume_on",
        ),
        (
            json!({ "to": "paused", "note": "Holiday", "resume_on": "next week" }),
            "resume_on",
        ),
        (
            json!({ "to": "in_education", "resume_on": (today + Days::new(7)).to_string() }),
            "resume_on",
        ),
        (
            json!({ "to": "paused", "note": "   ", "resume_on": (today + Days::new(7)).to_string() }),
            "note",
        ),
        (json!({ "to": "in_work", "note": "x".repeat(501) }), "note"),
        (json!({ "to": "retired" }), "to"),
        (json!({ "to": 3 }), "to"),
        (json!({}), "to"),
        (json!({ "to": "in_work", "by": "me" }), ""),
    ];
    for (body, field) in invalid {
        let reply = step(&app, &w.specialist, id, body.clone()).await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    assert_eq!(status_changes(&app, id), written, "nothing in the history");
    assert_eq!(status(&app, &w.specialist, id).await, "job_seeking");
    assert_eq!(plan_columns(&app, id), plan, "the plan is untouched");

    // From closed only a reopening is possible.
    step(
        &app,
        &w.specialist,
        id,
        json!({ "to": "closed", "closed_reason": "moved" }),
    )
    .await
    .ok();
    let reply = step(&app, &w.specialist, id, json!({ "to": "in_work" })).await;
    assert_eq!(reply.assert_problem(409), "conflict");
    assert_eq!(
        reply.body["detail"],
        "a case that is closed cannot move to in_work; it can move to job_seeking"
    );
    let patched = app
        .patch(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
            json!({ "cadence_days": 3 }),
        )
        .await;
    assert_eq!(
        patched.assert_problem(409),
        "conflict",
        "a closed case has no follow-up to change"
    );
    assert_eq!(status_changes(&app, id), written + 1);
}

#[tokio::test]
async fn lost_contact_needs_three_unreached_attempts_since_the_last_reached_contact() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let close =
        json!({ "to": "closed", "closed_reason": "lost_contact", "note": "No answer for weeks" });
    let attempt = |hours_ago: i64| {
        json!({
            "channel": "phone", "reached": false,
            "contacted_at": (Utc::now() - Duration::hours(hours_ago)).to_rfc3339(),
        })
    };
    let contacts = format!("/v1/participants/{id}/contacts");
    for n in 0..3 {
        let refused = step(&app, &w.specialist, id, close.clone()).await;
        assert_eq!(refused.assert_problem(409), "conflict");
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("{n} so far")), "{detail}");
        app.post(&contacts, Some(&w.specialist), attempt(50 - n))
            .await
            .ok();
    }
    // Reached at last: the count starts again.
    app.post(
        &contacts,
        Some(&w.specialist),
        json!({ "channel": "meeting", "contacted_at": (Utc::now() - Duration::hours(40)).to_rfc3339() }),
    )
    .await
    .ok();
    let refused = step(&app, &w.specialist, id, close.clone()).await;
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("0 so far"),
        "{}",
        refused.text
    );
    for hours_ago in [30, 20, 10] {
        app.post(&contacts, Some(&w.specialist), attempt(hours_ago))
            .await
            .ok();
    }
    // An employer contact is not outreach to the participant; the count stays at 3.
    app.post(
        &contacts,
        Some(&w.specialist),
        json!({ "party": "employer", "employer": "Rema 1000", "channel": "phone", "reached": false }),
    )
    .await
    .ok();
    let closed = step(&app, &w.specialist, id, close).await;
    assert_eq!(closed.status, 201, "{}", closed.text);
    assert_eq!(closed.body["closed_reason"], "lost_contact");
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(
        (
            participant["status"].as_str(),
            participant["closed_reason"].as_str()
        ),
        (Some("closed"), Some("lost_contact"))
    );
    assert_closed(&plan_columns(&app, id));
}

#[tokio::test]
async fn a_pause_falls_due_on_its_resume_date_and_a_resume_starts_the_rhythm_again() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let agreed = (Utc::now() + Duration::days(2)).to_rfc3339();
    app.patch(
        &format!("/v1/participants/{id}/follow-up-plan"),
        &w.specialist,
        json!({ "next_contact_at": agreed }),
    )
    .await
    .ok();
    let resume_on = oslo_date(Utc::now().naive_utc()) + Days::new(21);
    step(
        &app,
        &w.specialist,
        id,
        json!({ "to": "paused", "note": "Treatment abroad", "resume_on": resume_on.to_string() }),
    )
    .await
    .ok();
    let plan = app
        .get(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
        )
        .await
        .ok();
    let resumes = oslo_midnight(resume_on);
    assert_eq!(instant(&plan["paused_until"]), resumes);
    assert_eq!(plan["pause_reason"], "Treatment abroad");
    assert_eq!(
        plan["next_contact_at"],
        Value::Null,
        "no contact is due during a pause"
    );
    assert_eq!(instant(&plan["due_at"]), resumes);
    let columns = plan_columns(&app, id);
    assert_eq!(
        columns.follow_up_check_at,
        Some(resumes - Duration::hours(24))
    );
    assert_eq!(columns.follow_up_check_stage.as_deref(), Some("due"));

    // No contact can be agreed while paused.
    let refused = app
        .patch(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
            json!({ "next_contact_at": (Utc::now() + Duration::days(3)).to_rfc3339() }),
        )
        .await;
    assert_eq!(refused.assert_problem(409), "conflict");
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains(&resume_on.to_string()));

    let resumed = step(&app, &w.specialist, id, json!({ "to": "job_seeking" }))
        .await
        .ok();
    let at = instant(&resumed["changed_at"]);
    let plan = app
        .get(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(plan["paused_until"], Value::Null);
    assert_eq!(plan["pause_reason"], Value::Null);
    assert_eq!(instant(&plan["started_at"]), at);
    assert_eq!(instant(&plan["due_at"]), plus_local_days(at, 7));
}

#[tokio::test]
async fn a_withdrawal_is_in_the_history_and_ends_follow_up_for_good() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    step(&app, &w.specialist, id, json!({ "to": "in_education" }))
        .await
        .ok();
    app.post(
        "/v1/me/withdraw",
        Some(&token),
        json!({ "reason": "Flytter" }),
    )
    .await
    .ok();
    let items = history(&app, &w.specialist, id).await;
    assert_eq!(items[0]["from_status"], "in_education");
    assert_eq!(items[0]["to_status"], "closed");
    assert_eq!(items[0]["closed_reason"], "withdrew");
    assert_eq!(items[0]["note"], "Flytter");
    assert_eq!(
        items[0]["changed_by"],
        json!({ "kind": "participant", "id": id })
    );
    assert_closed(&plan_columns(&app, id));

    let written = status_changes(&app, id);
    let reopen = step(&app, &w.specialist, id, json!({ "to": "job_seeking" })).await;
    assert_eq!(reopen.assert_problem(409), "conflict");
    assert!(reopen.body["detail"].as_str().unwrap().contains("withdrew"));
    assert_eq!(status_changes(&app, id), written);
}

#[tokio::test]
async fn only_the_caseload_steps_a_case() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, other_supervisor) = app
        .staff_member(
            &w.admin,
            "sup2@example.no",
            "supervisor",
            Some(w.other_team),
        )
        .await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let body = json!({ "to": "in_education" });
    for attacker in [&w.colleague, &w.outsider, &other_supervisor] {
        let reply = step(&app, attacker, id, body.clone()).await;
        assert_eq!(reply.assert_problem(404), "not-found");
        let none = step(&app, attacker, 900_000_001, body.clone()).await;
        assert_eq!(reply.text, none.text);
        let read = app
            .get(&format!("/v1/participants/{id}/status-history"), attacker)
            .await;
        assert_eq!(read.assert_problem(404), "not-found");
    }
    for refused in [&token, &w.admin] {
        assert_eq!(
            step(&app, refused, id, body.clone())
                .await
                .assert_problem(403),
            "forbidden"
        );
    }
    assert_eq!(status(&app, &w.specialist, id).await, "job_seeking");
    assert_eq!(status_changes(&app, id), 1);
}
