//! The contact log: a contact that reached the participant resets the plan's due time; an
//! unreached attempt does not; an agreed next contact becomes the due time; employer contacts are
//! logged with or without a participant, and the first one about a participant ends the "no
//! employer contact" watch. Every bad input is refused and logs nothing.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::follow_up::{
    assert_first_check, audited, count, execute, instant, plan_columns, plus_local_days, rfc3339,
    send_with, whole_seconds,
};
use crate::helpers::{TestApp, World};

fn contacts_of(app: &TestApp, id: i64) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM contacts WHERE participant_id = {id}"),
    )
}

#[tokio::test]
async fn a_contact_that_reached_the_participant_resets_the_due_time() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    // Enrolled ten days ago (a contact from before the plan began would not count).
    execute(
        &app,
        &format!(
            "UPDATE follow_up_plans SET started_at = '{}' WHERE participant_id = {id}",
            (Utc::now() - Duration::days(10))
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S")
        ),
    );
    let path = format!("/v1/participants/{id}/contacts");
    let before = plan_columns(&app, id);

    // An attempt that did not reach them is outreach: the plan does not move.
    let attempt = app
        .post(
            &path,
            Some(&w.specialist),
            json!({ "channel": "phone", "reached": false, "note": "Ingen svar" }),
        )
        .await;
    assert_eq!(attempt.status, 201, "{}", attempt.text);
    assert_eq!(attempt.body["reached"], false);
    assert_eq!(attempt.body["party"], "participant");
    assert_eq!(plan_columns(&app, id), before);

    // A meeting two days ago, logged now: the next contact is due a week after it.
    let met = whole_seconds(Utc::now() - Duration::days(2));
    let logged = app
        .post(
            &path,
            Some(&w.supervisor),
            json!({
                "channel": "meeting", "location": "community", "duration_minutes": 60,
                "note": "Kafé-møte om jobbønsker", "contacted_at": rfc3339(met),
            }),
        )
        .await
        .ok();
    assert_eq!(instant(&logged["contacted_at"]), met);
    assert_eq!(logged["logged_by"]["name"], "Staff sup@example.no");
    assert_eq!(logged["reached"], true, "reached unless said otherwise");
    let after = plan_columns(&app, id);
    assert_eq!(after.last_contact_at, Some(met));
    assert_first_check(&after, plus_local_days(met, 7), Duration::hours(24));
    assert_eq!(after.version, before.version + 1);

    // A contact from before the plan began (say, the intake before enrolment) is in the log but
    // does not make the plan due sooner than a cadence after its start.
    let (fresh, _) = app.enrol(&w.specialist, "Kari").await;
    let fresh_plan = plan_columns(&app, fresh);
    app.post(
        &format!("/v1/participants/{fresh}/contacts"),
        Some(&w.specialist),
        json!({ "channel": "meeting", "contacted_at": rfc3339(met) }),
    )
    .await
    .ok();
    let fresh_after = plan_columns(&app, fresh);
    assert_eq!(fresh_after.last_contact_at, Some(met));
    assert_eq!(fresh_after.due_at, fresh_plan.due_at);

    // An older contact logged later does not move the last contact back.
    app.post(
        &path,
        Some(&w.specialist),
        json!({ "channel": "phone", "contacted_at": rfc3339(met - Duration::days(3)) }),
    )
    .await
    .ok();
    assert_eq!(plan_columns(&app, id).last_contact_at, Some(met));

    // The log, newest first by when each contact happened, paged.
    let page = app
        .get(&format!("{path}?limit=2"), &w.specialist)
        .await
        .ok();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["note"], "Ingen svar");
    assert_eq!(instant(&items[1]["contacted_at"]), met);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("{path}?limit=2&cursor={cursor}"), &w.specialist)
        .await
        .ok();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(audited(&app, id, "contact.logged"), 3);
    assert_eq!(audited(&app, id, "contacts.listed"), 2);
}

#[tokio::test]
async fn a_contact_may_agree_the_next_one_which_is_then_due() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let path = format!("/v1/participants/{id}/contacts");
    let agreed = whole_seconds(Utc::now() + Duration::days(10));
    app.post(
        &path,
        Some(&w.specialist),
        json!({ "channel": "video", "next_contact_at": rfc3339(agreed) }),
    )
    .await
    .ok();
    let columns = plan_columns(&app, id);
    assert_eq!(columns.next_contact_at, Some(agreed));
    assert_first_check(&columns, agreed, Duration::hours(24));

    // A phone call before the agreed day does not replace the agreement.
    app.post(&path, Some(&w.specialist), json!({ "channel": "phone" }))
        .await
        .ok();
    let columns = plan_columns(&app, id);
    assert_eq!(columns.next_contact_at, Some(agreed));
    assert_eq!(columns.due_at, Some(agreed));

    // An unreached attempt cannot agree anything.
    let refused = app
        .post(
            &path,
            Some(&w.specialist),
            json!({ "channel": "phone", "reached": false, "next_contact_at": rfc3339(agreed + Duration::days(1)) }),
        )
        .await;
    assert_eq!(refused.invalid_fields(), vec!["next_contact_at"]);
    assert_eq!(contacts_of(&app, id), 2);
}

#[tokio::test]
async fn employer_contacts_with_and_without_a_participant() {
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
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let (other, _) = app.enrol(&w.outsider, "Kari").await;
    assert!(plan_columns(&app, id).employer_check_at.is_some());

    // Job development with no participant in mind.
    let general = app
        .post(
            "/v1/employer-contacts",
            Some(&w.specialist),
            json!({ "employer": "Kiwi Storo", "channel": "meeting", "location": "community", "duration_minutes": 30 }),
        )
        .await;
    assert_eq!(general.status, 201, "{}", general.text);
    assert_eq!(general.body["participant_id"], Value::Null);
    assert_eq!(general.body["party"], "employer");
    assert!(plan_columns(&app, id).employer_check_at.is_some());

    // About the participant: the watch ends, and nothing else of the plan moves.
    let before = plan_columns(&app, id);
    let about = app
        .post(
            "/v1/employer-contacts",
            Some(&w.specialist),
            json!({ "participant_id": id, "employer": "Rema 1000", "channel": "phone", "note": "Spurte om lagerjobb" }),
        )
        .await
        .ok();
    assert_eq!(about["participant_id"], id);
    let after = plan_columns(&app, id);
    assert_eq!(after.employer_check_at, None);
    assert_eq!(
        (after.due_at, after.follow_up_check_at, after.version),
        (before.due_at, before.follow_up_check_at, before.version)
    );
    assert_eq!(audited(&app, id, "employer_contact.logged"), 1);

    // It is in the participant's log too.
    let log = app
        .get(&format!("/v1/participants/{id}/contacts"), &w.specialist)
        .await
        .ok();
    assert_eq!(log["items"][0]["employer"], "Rema 1000");

    // A participant outside the caller's caseload cannot be named, like one that does not exist.
    for (token, participant) in [
        (&w.specialist, other),
        (&w.colleague, id),
        (&w.outsider, id),
    ] {
        let body = json!({ "participant_id": participant, "employer": "Coop", "channel": "phone" });
        let refused = app.post("/v1/employer-contacts", Some(token), body).await;
        let missing = app
            .post(
                "/v1/employer-contacts",
                Some(token),
                json!({ "participant_id": 900_000_001, "employer": "Coop", "channel": "phone" }),
            )
            .await;
        assert_eq!(refused.invalid_fields(), vec!["participant_id"]);
        assert_eq!(refused.text, missing.text);
    }
    assert!(plan_columns(&app, other).employer_check_at.is_some());

    // Who sees which: the specialist their own, the supervisor the team's, others none of them.
    app.post(
        "/v1/employer-contacts",
        Some(&w.colleague),
        json!({ "employer": "Meny", "channel": "video" }),
    )
    .await
    .ok();
    let employers = |reply: Value| -> Vec<String> {
        reply["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["employer"].as_str().unwrap().to_owned())
            .collect()
    };
    let own = app.get("/v1/employer-contacts", &w.specialist).await.ok();
    assert_eq!(employers(own), vec!["Rema 1000", "Kiwi Storo"]);
    let team = app.get("/v1/employer-contacts", &w.supervisor).await.ok();
    assert_eq!(employers(team), vec!["Meny", "Rema 1000", "Kiwi Storo"]);
    let filtered = app
        .get(
            &format!("/v1/employer-contacts?participant_id={id}"),
            &w.supervisor,
        )
        .await
        .ok();
    assert_eq!(employers(filtered), vec!["Rema 1000"]);
    let colleague = app.get("/v1/employer-contacts", &w.colleague).await.ok();
    assert_eq!(employers(colleague), vec!["Meny"]);
    for token in [&w.outsider, &other_supervisor] {
        assert!(employers(app.get("/v1/employer-contacts", token).await.ok()).is_empty());
    }
    assert_eq!(
        app.get("/v1/employer-contacts", &w.admin)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        audited(&app, id, "employer_contacts.listed"),
        3,
        "reads naming the participant"
    );
}

#[tokio::test]
async fn every_bad_contact_is_refused_and_logs_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let before = plan_columns(&app, id);
    let path = format!("/v1/participants/{id}/contacts");
    let future = rfc3339((Utc::now() + Duration::hours(2)).naive_utc());
    let ancient = rfc3339((Utc::now() - Duration::days(400)).naive_utc());
    let past = rfc3339((Utc::now() - Duration::hours(2)).naive_utc());
    let cases = [
        (json!({}), "channel"),
        (json!({ "channel": "pigeon" }), "channel"),
        (json!({ "channel": "phone", "party": "therapist" }), "party"),
        (
            json!({ "channel": "phone", "party": "employer" }),
            "employer",
        ),
        (json!({ "channel": "phone", "reached": "yes" }), "reached"),
        (
            json!({ "channel": "phone", "location": "home" }),
            "location",
        ),
        (
            json!({ "channel": "phone", "duration_minutes": 0 }),
            "duration_minutes",
        ),
        (
            json!({ "channel": "phone", "duration_minutes": 1441 }),
            "duration_minutes",
        ),
        (
            json!({ "channel": "phone", "duration_minutes": 1.5 }),
            "duration_minutes",
        ),
        (
            json!({ "channel": "phone", "note": "x".repeat(1001) }),
            "note",
        ),
        (json!({ "channel": "phone", "note": "  " }), "note"),
        (
            json!({ "channel": "phone", "contacted_at": future }),
            "contacted_at",
        ),
        (
            json!({ "channel": "phone", "contacted_at": ancient }),
            "contacted_at",
        ),
        (
            json!({ "channel": "phone", "contacted_at": "2026-11-31T10:00:00Z" }),
            "contacted_at",
        ),
        (
            json!({ "channel": "phone", "next_contact_at": past }),
            "next_contact_at",
        ),
        (json!({ "channel": "phone", "participant_id": id }), ""),
        (json!({ "channel": "phone", "staff_id": 1 }), ""),
    ];
    for (body, field) in cases {
        let reply = app.post(&path, Some(&w.specialist), body.clone()).await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    let employer_cases = [
        (json!({ "channel": "phone" }), "employer"),
        (json!({ "employer": "", "channel": "phone" }), "employer"),
        (
            json!({ "employer": "Coop", "channel": "phone", "participant_id": "one" }),
            "participant_id",
        ),
        (
            json!({ "employer": "Coop", "channel": "phone", "party": "participant" }),
            "",
        ),
    ];
    for (body, field) in employer_cases {
        let reply = app
            .post("/v1/employer-contacts", Some(&w.specialist), body.clone())
            .await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM contacts"), 0);
    assert_eq!(plan_columns(&app, id), before);
    let query = app.get(&format!("{path}?limit=0"), &w.specialist).await;
    assert_eq!(query.invalid_fields(), vec!["limit"]);
    let cursor = app.get(&format!("{path}?cursor=junk"), &w.specialist).await;
    assert_eq!(cursor.invalid_fields(), vec!["cursor"]);
    let unknown = app.get("/v1/employer-contacts?team=1", &w.specialist).await;
    assert_eq!(unknown.invalid_fields(), vec!["query"]);

    // The participant's token reaches no part of the log.
    for (method, route) in [
        (Method::GET, path.as_str()),
        (Method::POST, path.as_str()),
        (Method::GET, "/v1/employer-contacts"),
    ] {
        let reply = app
            .send(
                method,
                route,
                Some(&token),
                Some(json!({ "channel": "phone" })),
            )
            .await;
        assert_eq!(reply.assert_problem(403), "forbidden");
    }

    // A withdrawn participant's log takes no more contacts.
    app.post("/v1/me/withdraw", Some(&token), json!({}))
        .await
        .ok();
    let refused = app
        .post(&path, Some(&w.specialist), json!({ "channel": "phone" }))
        .await;
    assert_eq!(refused.assert_problem(409), "conflict");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM contacts"), 0);
}

#[tokio::test]
async fn a_retried_contact_is_logged_once() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let path = format!("/v1/participants/{id}/contacts");
    let body = json!({ "channel": "phone", "note": "Kort prat" });
    let key = [("Idempotency-Key", "contact-1")];
    let first = send_with(
        &app,
        Method::POST,
        &path,
        &w.specialist,
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send_with(
        &app,
        Method::POST,
        &path,
        &w.specialist,
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    let employer = json!({ "employer": "Coop", "channel": "phone" });
    let ekey = [("Idempotency-Key", "employer-1")];
    let first = send_with(
        &app,
        Method::POST,
        "/v1/employer-contacts",
        &w.specialist,
        &ekey,
        Some(employer.clone()),
    )
    .await;
    let again = send_with(
        &app,
        Method::POST,
        "/v1/employer-contacts",
        &w.specialist,
        &ekey,
        Some(employer),
    )
    .await;
    assert_eq!(again.body, first.body);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM contacts"), 2);
    assert_eq!(contacts_of(&app, id), 1);
}

#[tokio::test]
async fn only_the_caseload_reaches_the_log() {
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
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let path = format!("/v1/participants/{id}/contacts");
    for attacker in [&w.colleague, &w.outsider, &other_supervisor] {
        let read = app.get(&path, attacker).await;
        assert_eq!(read.assert_problem(404), "not-found");
        let none = app
            .get("/v1/participants/900000001/contacts", attacker)
            .await;
        assert_eq!(read.text, none.text);
        let write = app
            .post(&path, Some(attacker), json!({ "channel": "phone" }))
            .await;
        assert_eq!(write.assert_problem(404), "not-found");
    }
    assert_eq!(
        app.post(&path, Some(&w.admin), json!({ "channel": "phone" }))
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(contacts_of(&app, id), 0);
}
