//! Jobs: a start moves the case into work and shapes the follow-up plan as fidelity item 23 asks
//! (by the start, within 3 days after it, weekly in the first month, then monthly); the end of the
//! last job moves it back to job seeking with a contact due within 3 days. The participant may
//! record their own start and end. Expected due times are computed here from the server's own
//! clock reading (the job's `created_at`), in the participant's zone (Oslo).

use chrono::{Days, Duration, Months, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::follow_up::{
    assert_first_check, count, instant, oslo_date, oslo_midnight, plan_columns, plus_local_days,
    send_with,
};
use crate::helpers::{Reply, TestApp, World};

fn job(start: NaiveDate) -> Value {
    json!({
        "employer": "Rema 1000 Grünerløkka",
        "role_title": "Butikkmedarbeider",
        "hours_per_week": 20,
        "competitive": true,
        "start_date": start.to_string(),
    })
}

async fn record(app: &TestApp, token: &str, id: i64, body: Value) -> Reply {
    app.post(&format!("/v1/participants/{id}/jobs"), Some(token), body)
        .await
}

async fn plan(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(&format!("/v1/participants/{id}/follow-up-plan"), token)
        .await
        .ok()
}

async fn latest_step(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(
        &format!("/v1/participants/{id}/status-history?limit=1"),
        token,
    )
    .await
    .ok()["items"][0]
        .clone()
}

fn today() -> NaiveDate {
    oslo_date(Utc::now().naive_utc())
}

#[tokio::test]
async fn a_job_ahead_is_due_by_its_start_then_within_three_days_after() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let start = today() + Days::new(3);
    let recorded = record(&app, &w.specialist, id, job(start)).await;
    assert_eq!(recorded.status, 201, "{}", recorded.text);
    let job_id = recorded.body["id"].as_i64().unwrap();
    assert_eq!(
        recorded.header("location"),
        Some(format!("/v1/participants/{id}/jobs/{job_id}").as_str())
    );
    assert_eq!(recorded.body["current"], true);
    assert_eq!(recorded.body["hours_per_week"], 20.0);
    assert_eq!(
        recorded.body["recorded_by"],
        json!({ "kind": "staff", "id": w.specialist_id })
    );
    let now = instant(&recorded.body["created_at"]);
    let start = recorded.body["start_date"]
        .as_str()
        .unwrap()
        .parse::<NaiveDate>()
        .unwrap();

    // The case moved into work, in the history, by the specialist.
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(participant["status"], "in_work");
    let step = latest_step(&app, &w.specialist, id).await;
    assert_eq!(
        (step["from_status"].as_str(), step["to_status"].as_str()),
        (Some("job_seeking"), Some("in_work"))
    );
    assert_eq!(
        step["changed_by"],
        json!({ "kind": "staff", "id": w.specialist_id })
    );

    // Not reached in the week before the start: due by the start (before the weekly rhythm).
    let shaped = plan(&app, &w.specialist, id).await;
    assert_eq!(shaped["phase"], "before_job_start");
    assert_eq!(shaped["cadence_days"], 7);
    let by_start = oslo_midnight(start);
    assert_eq!(instant(&shaped["due_at"]), by_start);
    assert_first_check(&plan_columns(&app, id), by_start, Duration::hours(24));

    // Reached now, within the week before the start: the first contact after it is due by the end
    // of the third day after the start (or a week after this one, if that is sooner).
    let contact = app
        .post(
            &format!("/v1/participants/{id}/contacts"),
            Some(&w.specialist),
            json!({ "channel": "meeting", "location": "community", "duration_minutes": 45 }),
        )
        .await
        .ok();
    let reached = instant(&contact["contacted_at"]);
    let after = plan(&app, &w.specialist, id).await;
    let third_day_over = oslo_midnight(start + Days::new(4));
    let expected = third_day_over.min(plus_local_days(reached, 7));
    assert_eq!(instant(&after["due_at"]), expected);
    assert_eq!(instant(&after["last_contact_at"]), reached);
    assert_first_check(&plan_columns(&app, id), expected, Duration::hours(24));
    assert!(now <= reached);
}

#[tokio::test]
async fn a_job_begun_is_due_within_three_days_then_weekly_then_monthly() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    // Recorded a day late.
    let start = today() - Days::new(1);
    let recorded = record(&app, &w.specialist, id, job(start)).await.ok();
    let start: NaiveDate = recorded["start_date"].as_str().unwrap().parse().unwrap();
    let shaped = plan(&app, &w.specialist, id).await;
    assert_eq!(shaped["phase"], "new_job");
    let started = instant(&shaped["started_at"]);
    let expected = oslo_midnight(start + Days::new(4)).min(plus_local_days(started, 7));
    assert_eq!(instant(&shaped["due_at"]), expected);

    // Reached after the start: weekly in the first month.
    let contact = app
        .post(
            &format!("/v1/participants/{id}/contacts"),
            Some(&w.specialist),
            json!({ "channel": "phone" }),
        )
        .await
        .ok();
    let reached = instant(&contact["contacted_at"]);
    let weekly = plan(&app, &w.specialist, id).await;
    assert_eq!(weekly["phase"], "new_job");
    assert_eq!(instant(&weekly["due_at"]), plus_local_days(reached, 7));

    // A job that began over a month ago (its start corrected) is established: monthly.
    let job_id = recorded["id"].as_i64().unwrap();
    let long_ago = today() - Months::new(2);
    app.patch(
        &format!("/v1/participants/{id}/jobs/{job_id}"),
        &w.specialist,
        json!({ "start_date": long_ago.to_string() }),
    )
    .await
    .ok();
    let monthly = plan(&app, &w.specialist, id).await;
    assert_eq!(monthly["phase"], "established_job");
    assert_eq!(monthly["cadence_days"], 30);
    assert_eq!(instant(&monthly["due_at"]), plus_local_days(reached, 30));
    assert_first_check(
        &plan_columns(&app, id),
        plus_local_days(reached, 30),
        Duration::hours(24),
    );
}

#[tokio::test]
async fn the_end_of_the_last_job_asks_for_a_contact_within_three_days_then_job_search() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let first = record(&app, &w.specialist, id, job(today() - Days::new(60)))
        .await
        .ok();
    let second = record(&app, &w.specialist, id, job(today() - Days::new(10)))
        .await
        .ok();
    let path = |job: &Value| format!("/v1/participants/{id}/jobs/{}/end", job["id"]);

    // One of two jobs ends: still in work.
    let ended = app
        .post(
            &path(&first),
            Some(&w.specialist),
            json!({ "end_date": (today() - Days::new(5)).to_string(), "reason": "contract_ended" }),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["current"], false);
    assert_eq!(ended.body["end_reason"], "contract_ended");
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(participant["status"], "in_work");

    // The last one ends: job seeking again, and a contact is due within 3 days of the end.
    let end = today();
    let ended = app
        .post(
            &path(&second),
            Some(&w.specialist),
            json!({ "end_date": end.to_string(), "reason": "dismissed", "note": "Kom for sent flere ganger" }),
        )
        .await
        .ok();
    let end: NaiveDate = ended["end_date"].as_str().unwrap().parse().unwrap();
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(participant["status"], "job_seeking");
    let step = latest_step(&app, &w.specialist, id).await;
    assert_eq!(
        (step["from_status"].as_str(), step["to_status"].as_str()),
        (Some("in_work"), Some("job_seeking"))
    );
    let shaped = plan(&app, &w.specialist, id).await;
    assert_eq!(shaped["phase"], "after_job_loss");
    let started = instant(&shaped["started_at"]);
    let expected = oslo_midnight(end + Days::new(4)).min(plus_local_days(started, 7));
    assert_eq!(instant(&shaped["due_at"]), expected);
    assert_first_check(&plan_columns(&app, id), expected, Duration::hours(24));

    // Reached: back to weekly job search.
    let contact = app
        .post(
            &format!("/v1/participants/{id}/contacts"),
            Some(&w.specialist),
            json!({ "channel": "video" }),
        )
        .await
        .ok();
    let after = plan(&app, &w.specialist, id).await;
    assert_eq!(after["phase"], "job_search");
    assert_eq!(
        instant(&after["due_at"]),
        plus_local_days(instant(&contact["contacted_at"]), 7)
    );

    // Ending again is a conflict, and nothing changes.
    let again = app
        .post(
            &path(&second),
            Some(&w.specialist),
            json!({ "end_date": end.to_string(), "reason": "quit" }),
        )
        .await;
    assert_eq!(again.assert_problem(409), "conflict");
    let listed = app
        .get(&format!("/v1/participants/{id}/jobs"), &w.specialist)
        .await
        .ok();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["id"], second["id"],
        "the most recently recorded first"
    );
    assert_eq!(items[0]["end_reason"], "dismissed");
}

#[tokio::test]
async fn the_participant_records_their_own_start_and_end_once_per_key() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let body = job(today());
    let key = [("Idempotency-Key", "job-start-1")];
    let first = send_with(
        &app,
        Method::POST,
        "/v1/me/jobs",
        &token,
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let job_id = first.body["id"].as_i64().unwrap();
    assert_eq!(
        first.header("location"),
        Some(format!("/v1/me/jobs/{job_id}").as_str())
    );
    assert_eq!(
        first.body["recorded_by"],
        json!({ "kind": "participant", "id": id })
    );
    let again = send_with(&app, Method::POST, "/v1/me/jobs", &token, &key, Some(body)).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) AS n FROM jobs WHERE participant_id = {id}")
        ),
        1
    );
    let step = latest_step(&app, &w.specialist, id).await;
    assert_eq!(step["to_status"], "in_work");
    assert_eq!(
        step["changed_by"],
        json!({ "kind": "participant", "id": id })
    );

    let mine = app.get("/v1/me/jobs", &token).await.ok();
    assert_eq!(mine["items"][0]["id"], job_id);

    let end = json!({ "end_date": today().to_string(), "reason": "quit" });
    let end_key = [("Idempotency-Key", "job-end-1")];
    let path = format!("/v1/me/jobs/{job_id}/end");
    let ended = send_with(
        &app,
        Method::POST,
        &path,
        &token,
        &end_key,
        Some(end.clone()),
    )
    .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["end_reason"], "quit");
    let replayed = send_with(
        &app,
        Method::POST,
        &path,
        &token,
        &end_key,
        Some(end.clone()),
    )
    .await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, ended.body);
    let other_body = send_with(
        &app,
        Method::POST,
        &path,
        &token,
        &end_key,
        Some(json!({ "end_date": today().to_string(), "reason": "other" })),
    )
    .await;
    assert_eq!(other_body.invalid_fields(), vec!["Idempotency-Key"]);
    // Without a key, a second end is a conflict.
    let twice = app.post(&path, Some(&token), end).await;
    assert_eq!(twice.assert_problem(409), "conflict");
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    assert_eq!(participant["status"], "job_seeking");
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) AS n FROM audit_events WHERE participant_id = {id} AND action IN ('job.recorded', 'job.ended') AND actor_kind = 'participant'")),
        2
    );
}

#[tokio::test]
async fn every_bad_job_is_refused_and_records_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let with = |field: &str, value: Value| {
        let mut body = job(today());
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = job(today());
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (without("employer"), "employer"),
        (without("competitive"), "competitive"),
        (without("start_date"), "start_date"),
        (with("employer", json!("  ")), "employer"),
        (with("employer", json!("x".repeat(201))), "employer"),
        (with("role_title", json!("")), "role_title"),
        (with("hours_per_week", json!(0)), "hours_per_week"),
        (with("hours_per_week", json!(80.5)), "hours_per_week"),
        (with("hours_per_week", json!("20")), "hours_per_week"),
        (with("competitive", json!("yes")), "competitive"),
        (with("start_date", json!("2026-02-30")), "start_date"),
        (with("start_date", json!("2026-13-01")), "start_date"),
        (with("start_date", json!("01.12.2026")), "start_date"),
        (
            with("start_date", json!((today() - Months::new(30)).to_string())),
            "start_date",
        ),
        (
            with("start_date", json!((today() + Months::new(14)).to_string())),
            "start_date",
        ),
        (with("salary", json!(300_000)), ""),
    ];
    for (body, field) in cases {
        for (path, token) in [
            (format!("/v1/participants/{id}/jobs"), &w.specialist),
            ("/v1/me/jobs".to_owned(), &token),
        ] {
            let reply = app.post(&path, Some(token), body.clone()).await;
            let fields = reply.invalid_fields();
            if !field.is_empty() {
                assert_eq!(
                    fields,
                    vec![field.to_owned()],
                    "{path} {body}: {}",
                    reply.text
                );
            }
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM jobs"), 0);
    assert_eq!(plan_columns(&app, id).phase, "job_search");

    let job_id = record(&app, &w.specialist, id, job(today() - Days::new(20)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let end_path = format!("/v1/participants/{id}/jobs/{job_id}/end");
    let ends = [
        (
            json!({ "end_date": (today() - Days::new(21)).to_string(), "reason": "quit" }),
            "end_date",
        ),
        (
            json!({ "end_date": (today() + Days::new(1)).to_string(), "reason": "quit" }),
            "end_date",
        ),
        (
            json!({ "end_date": "2026-02-29", "reason": "quit" }),
            "end_date",
        ),
        (
            json!({ "end_date": today().to_string(), "reason": "bored" }),
            "reason",
        ),
        (json!({ "end_date": today().to_string() }), "reason"),
        (
            json!({ "end_date": today().to_string(), "reason": "quit", "note": "" }),
            "note",
        ),
        (
            json!({ "end_date": today().to_string(), "reason": "quit", "why": "x" }),
            "",
        ),
    ];
    for (body, field) in ends {
        let reply = app.post(&end_path, Some(&w.specialist), body.clone()).await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    let patch_path = format!("/v1/participants/{id}/jobs/{job_id}");
    for (body, field) in [
        (json!({ "end_reason": "quit" }), "end_reason"),
        (json!({ "end_date": today().to_string() }), "end_date"),
        (json!({ "hours_per_week": -3 }), "hours_per_week"),
        (
            json!({ "start_date": (today() + Days::new(400)).to_string() }),
            "start_date",
        ),
        (json!({ "employer": "" }), "employer"),
        (json!({ "start_date": "yesterday" }), "start_date"),
        (json!({ "current": false }), ""),
    ] {
        let reply = app.patch(&patch_path, &w.specialist, body.clone()).await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    let unchanged = app.get(&patch_path, &w.specialist).await.ok();
    assert_eq!(unchanged["current"], true);
    assert_eq!(unchanged["hours_per_week"], 20.0);
    assert_eq!(
        app.get(&format!("/v1/participants/{id}"), &w.specialist)
            .await
            .ok()["status"],
        "in_work"
    );

    // A closed case takes no new job until it is reopened.
    app.post(
        &format!("/v1/participants/{id}/status"),
        Some(&w.specialist),
        json!({ "to": "closed", "closed_reason": "moved" }),
    )
    .await
    .ok();
    let refused = record(&app, &w.specialist, id, job(today())).await;
    assert_eq!(refused.assert_problem(409), "conflict");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM jobs"), 1);
}

#[tokio::test]
async fn a_job_is_reached_only_through_its_own_participant() {
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
    let (a, a_token) = app.participant(&w.specialist, "Alpha").await;
    let (b, b_token) = app.participant(&w.specialist, "Bravo").await;
    let a_job = record(&app, &w.specialist, a, job(today())).await.ok()["id"]
        .as_i64()
        .unwrap();
    let b_job = record(&app, &w.specialist, b, job(today())).await.ok()["id"]
        .as_i64()
        .unwrap();

    // B's job through A's path is as unknown as a job that does not exist.
    let crossed = app
        .get(&format!("/v1/participants/{a}/jobs/{b_job}"), &w.specialist)
        .await;
    let missing = app
        .get(
            &format!("/v1/participants/{a}/jobs/900000001"),
            &w.specialist,
        )
        .await;
    assert_eq!(crossed.assert_problem(404), "not-found");
    assert_eq!(crossed.text, missing.text);
    let end = json!({ "end_date": today().to_string(), "reason": "quit" });
    let crossed = app
        .post(
            &format!("/v1/participants/{a}/jobs/{b_job}/end"),
            Some(&w.specialist),
            end.clone(),
        )
        .await;
    assert_eq!(crossed.assert_problem(404), "not-found");
    // B cannot end A's job from their app.
    let foreign = app
        .post(
            &format!("/v1/me/jobs/{a_job}/end"),
            Some(&b_token),
            end.clone(),
        )
        .await;
    assert_eq!(foreign.assert_problem(404), "not-found");
    // Staff outside the caseload find nothing; participants and admins are refused.
    for attacker in [&w.colleague, &w.outsider, &other_supervisor] {
        for path in [
            format!("/v1/participants/{a}/jobs"),
            format!("/v1/participants/{a}/jobs/{a_job}"),
        ] {
            assert_eq!(
                app.get(&path, attacker).await.assert_problem(404),
                "not-found"
            );
        }
        let created = record(&app, attacker, a, job(today())).await;
        assert_eq!(created.assert_problem(404), "not-found");
    }
    for refused in [&a_token, &w.admin] {
        assert_eq!(
            app.get(&format!("/v1/participants/{a}/jobs"), refused)
                .await
                .assert_problem(403),
            "forbidden"
        );
    }
    assert_eq!(
        app.get("/v1/me/jobs", &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );
    let a_jobs = app
        .get(&format!("/v1/participants/{a}/jobs"), &w.supervisor)
        .await
        .ok();
    assert_eq!(a_jobs["items"].as_array().unwrap().len(), 1);
    assert_eq!(a_jobs["items"][0]["current"], true, "nobody ended it");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM jobs"), 2);
}
