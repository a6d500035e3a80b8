//! Interviews: the participant's and the specialist's, their state machine, their reminders in
//! the outbox, and their calendar.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{TestApp, World};

/// `days` days from now, at `hour`:`minute` on the Oslo clock.
fn oslo_in(days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
    let date = (Utc::now() + Duration::days(days))
        .with_timezone(&Oslo)
        .date_naive();
    let local = date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap());
    Oslo.from_local_datetime(&local)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn oslo_clock(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Oslo)
        .format("%H:%M")
        .to_string()
}

fn body(start: DateTime<Utc>) -> Value {
    json!({
        "employer": "Rema 1000 Grünerløkka",
        "role_title": "Butikkmedarbeider",
        "starts_at": start.to_rfc3339(),
        "duration_minutes": 45,
        "address": "Thorvald Meyers gate 1, Oslo",
        "contact_person": "Kari",
        "specialist_attends": true,
        "checklist": [{ "text": "Ta med CV" }, { "text": "Finn veien dit", "done": true }],
    })
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Row {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    recipient_kind: String,
    #[diesel(sql_type = BigInt)]
    recipient_id: i64,
}

fn outbox(app: &TestApp, interview: i64) -> Vec<Row> {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!(
        "SELECT kind, status, recipient_kind, recipient_id FROM notifications WHERE subject_id = {interview} ORDER BY id"
    ))
    .load(&mut *conn)
    .unwrap()
}

fn count(rows: &[Row], kind: &str, status: &str) -> usize {
    rows.iter()
        .filter(|r| r.kind == kind && r.status == status)
        .count()
}

#[tokio::test]
async fn a_participant_records_an_interview_and_gets_two_reminders() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let start = oslo_in(7, 14, 0);
    let created = app.post("/v1/me/interviews", Some(&me), body(start)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/me/interviews/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"0\""));
    let i = &created.body;
    assert_eq!(i["participant_id"], pid);
    assert_eq!(i["status"], "scheduled");
    assert_eq!(i["duration_minutes"], 45);
    assert_eq!(i["time_zone"], "Europe/Oslo");
    assert_eq!(i["created_by"], json!({ "kind": "participant", "id": pid }));
    assert_eq!(
        i["checklist"][1],
        json!({ "text": "Finn veien dit", "done": true })
    );
    let reminders: Vec<_> = i["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| oslo_clock(r.as_str().unwrap()))
        .collect();
    assert_eq!(reminders, vec!["14:00", "12:00"], "24 h and 2 h before");
    let rows = outbox(&app, id);
    assert_eq!(count(&rows, "interview_reminder", "pending"), 2);
    assert!(rows
        .iter()
        .all(|r| r.recipient_kind == "participant" && r.recipient_id == pid));

    // The specialist sees it in the caseload view.
    let seen = app
        .get(
            &format!("/v1/participants/{pid}/interviews/{id}"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(seen["employer"], "Rema 1000 Grünerløkka");
}

#[tokio::test]
async fn quiet_hours_move_a_reminder_earlier_and_past_ones_are_not_sent() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Kari").await;
    // 09:00: the 2 h reminder would be 07:00, inside 22:00-08:00, so it moves to 21:30 the evening before.
    let early = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(7, 9, 0)))
        .await
        .ok();
    let times: Vec<_> = early["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| oslo_clock(r.as_str().unwrap()))
        .collect();
    assert_eq!(times, vec!["09:00", "21:30"]);
    // Three hours ahead: the 24 h reminder's time has passed; only the 2 h one is written.
    let soon = Utc::now() + Duration::hours(3);
    let soon = app
        .post("/v1/me/interviews", Some(&me), body(soon))
        .await
        .ok();
    let local_hour = (Utc::now() + Duration::hours(1))
        .with_timezone(&Oslo)
        .time();
    let quiet = local_hour >= NaiveTime::from_hms_opt(22, 0, 0).unwrap()
        || local_hour < NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    let expected = if quiet { 0 } else { 1 };
    assert!(soon["reminders"].as_array().unwrap().len() <= 1);
    if !quiet {
        assert_eq!(soon["reminders"].as_array().unwrap().len(), expected);
    }
}

#[tokio::test]
async fn moving_confirming_and_cancelling_rewrite_the_reminders() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Per").await;
    let created = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(7, 14, 0)))
        .await
        .ok();
    let id = created["id"].as_i64().unwrap();

    // Confirm: no more nagging, one timely reminder remains; confirming again changes nothing.
    let confirmed = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/confirm"),
            Some(&me),
            None,
        )
        .await
        .ok();
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["reminders"].as_array().unwrap().len(), 1);
    assert_eq!(
        oslo_clock(confirmed["reminders"][0].as_str().unwrap()),
        "12:00"
    );
    let again = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/confirm"),
            Some(&me),
            None,
        )
        .await
        .ok();
    assert_eq!(again["sequence"], confirmed["sequence"]);

    // Move it: a new time needs a new confirmation, and the reminders follow.
    let moved = app
        .patch(
            &format!("/v1/me/interviews/{id}"),
            &me,
            json!({ "starts_at": oslo_in(8, 15, 30).to_rfc3339() }),
        )
        .await;
    assert_eq!(moved.header("etag"), Some("\"2\""));
    let moved = moved.ok();
    assert_eq!(moved["status"], "scheduled");
    let times: Vec<_> = moved["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| oslo_clock(r.as_str().unwrap()))
        .collect();
    assert_eq!(times, vec!["15:30", "13:30"]);
    assert_eq!(count(&outbox(&app, id), "interview_reminder", "pending"), 2);

    // Cancel: nothing more is sent, and the specialist is told.
    let cancelled = app
        .post(
            &format!("/v1/me/interviews/{id}/cancel"),
            Some(&me),
            json!({ "reason": "Fikk annen jobb" }),
        )
        .await
        .ok();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["reminders"], json!([]));
    let rows = outbox(&app, id);
    assert_eq!(count(&rows, "interview_reminder", "pending"), 0);
    let told: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "interview_cancelled")
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].recipient_kind.as_str(), told[0].recipient_id),
        ("staff", w.specialist_id)
    );

    // A cancelled interview is final.
    for action in ["confirm", "cancel"] {
        let reply = app
            .post(
                &format!("/v1/me/interviews/{id}/{action}"),
                Some(&me),
                json!({}),
            )
            .await;
        assert_eq!(reply.assert_problem(409), "conflict", "{action}");
    }
    let edit = app
        .patch(
            &format!("/v1/me/interviews/{id}"),
            &me,
            json!({ "notes": "x" }),
        )
        .await;
    assert_eq!(edit.assert_problem(409), "conflict");
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Siri").await;
    let id = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(5, 10, 0)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let phone = app
        .client
        .patch(format!("{}/v1/me/interviews/{id}", app.address))
        .bearer_auth(&me)
        .header("if-match", "\"0\"")
        .json(&json!({ "notes": "Fra telefonen" }));
    assert_eq!(app.run(phone).await.header("etag"), Some("\"1\""));
    let stale = app
        .client
        .patch(format!(
            "{}/v1/participants/{pid}/interviews/{id}",
            app.address
        ))
        .bearer_auth(&w.specialist)
        .header("if-match", "\"0\"")
        .json(&json!({ "notes": "Fra jobbspesialisten" }));
    assert_eq!(
        app.run(stale).await.assert_problem(412),
        "precondition-failed"
    );
    assert_eq!(
        app.get(&format!("/v1/me/interviews/{id}"), &me).await.ok()["notes"],
        "Fra telefonen"
    );
}

#[tokio::test]
async fn outcomes_follow_the_state_machine() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ali").await;
    let future = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(3, 10, 0)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let early = app
        .post(
            &format!("/v1/me/interviews/{future}/outcome"),
            Some(&me),
            json!({ "outcome": "offer" }),
        )
        .await;
    assert_eq!(early.assert_problem(409), "conflict");

    let past = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            body(Utc::now() - Duration::days(1)),
        )
        .await
        .ok();
    assert_eq!(past["reminders"], json!([]), "no reminders for the past");
    let past = past["id"].as_i64().unwrap();
    let waiting = app
        .post(
            &format!("/v1/participants/{pid}/interviews/{past}/outcome"),
            Some(&w.specialist),
            json!({ "outcome": "waiting", "debrief": "Gikk bra" }),
        )
        .await
        .ok();
    assert_eq!(
        (waiting["status"].as_str(), waiting["outcome"].as_str()),
        (Some("completed"), Some("waiting"))
    );
    assert_eq!(waiting["debrief"], "Gikk bra");
    let offer = app
        .post(
            &format!("/v1/me/interviews/{past}/outcome"),
            Some(&me),
            json!({ "outcome": "offer" }),
        )
        .await
        .ok();
    assert_eq!(offer["outcome"], "offer");
    let twice = app
        .post(
            &format!("/v1/me/interviews/{past}/outcome"),
            Some(&me),
            json!({ "outcome": "rejected" }),
        )
        .await;
    assert_eq!(twice.assert_problem(409), "conflict");
    let cancel = app
        .post(
            &format!("/v1/me/interviews/{past}/cancel"),
            Some(&me),
            json!({}),
        )
        .await;
    assert_eq!(cancel.assert_problem(409), "conflict");
    let bad = app
        .post(
            &format!("/v1/me/interviews/{past}/outcome"),
            Some(&me),
            json!({ "outcome": "maybe" }),
        )
        .await;
    assert_eq!(bad.invalid_fields(), vec!["outcome"]);
}

#[tokio::test]
async fn upcoming_first_then_past_across_pages() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Mona").await;
    let mut ids = Vec::new();
    for start in [
        Utc::now() - Duration::days(2),
        oslo_in(9, 12, 0),
        oslo_in(2, 12, 0),
        Utc::now() - Duration::days(9),
    ] {
        ids.push(
            app.post("/v1/me/interviews", Some(&me), body(start))
                .await
                .ok()["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let expected = vec![ids[2], ids[1], ids[0], ids[3]];
    let all = app.get("/v1/me/interviews", &me).await.ok();
    let got: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, expected);
    let mut paged = Vec::new();
    let mut path = "/v1/me/interviews?limit=1".to_owned();
    loop {
        let page = app.get(&path, &me).await.ok();
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/me/interviews?limit=1&cursor={c}"),
            None => break,
        }
        assert!(paged.len() <= 4, "the cursor must end");
    }
    assert_eq!(paged, expected);
    assert_eq!(
        app.get("/v1/me/interviews?cursor=bad", &me)
            .await
            .invalid_fields(),
        vec!["cursor"]
    );
}

#[tokio::test]
async fn a_page_shows_each_interview_with_its_own_reminders() {
    // The list reads the reminders of a whole page in one query; each must land on its interview.
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Siri").await;
    let mut ids = Vec::new();
    for start in [
        oslo_in(3, 12, 0),
        oslo_in(5, 15, 30),
        oslo_in(8, 11, 0),
        Utc::now() - Duration::days(4),
    ] {
        let created = app.post("/v1/me/interviews", Some(&me), body(start)).await;
        ids.push(created.ok()["id"].as_i64().unwrap());
    }
    let cancelled = app
        .post(
            &format!("/v1/me/interviews/{}/cancel", ids[1]),
            Some(&me),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);

    let own = app.get("/v1/me/interviews", &me).await.ok();
    let staff = app
        .get(&format!("/v1/participants/{pid}/interviews"), &w.specialist)
        .await
        .ok();
    for page in [&own, &staff] {
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        for item in items {
            let id = item["id"].as_i64().unwrap();
            let single = app.get(&format!("/v1/me/interviews/{id}"), &me).await.ok();
            assert_eq!(item["reminders"], single["reminders"], "interview {id}");
        }
    }
    let reminders_of = |id: i64| {
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()["reminders"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(reminders_of(ids[0]), 2);
    assert_eq!(reminders_of(ids[1]), 0, "cancelled");
    assert_eq!(reminders_of(ids[2]), 2);
    assert_eq!(reminders_of(ids[3]), 0, "in the past");
}

#[tokio::test]
async fn calendar_downloads_and_a_revocable_feed() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Eva").await;
    let id = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(4, 13, 0)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let ics = app.get(&format!("/v1/me/interviews/{id}/ics"), &me).await;
    assert_eq!(ics.status, 200);
    assert_eq!(
        ics.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(ics
        .text
        .contains(&format!("UID:interview-{id}@ips-companion\r\n")));
    assert!(ics.text.contains("SEQUENCE:0\r\nDTSTAMP:"));
    assert!(
        ics.text.contains("SUMMARY:Avtale\r\n"),
        "generic title by default"
    );
    assert!(
        !ics.text.contains("Rema"),
        "no employer on the lock screen or in the calendar by default"
    );
    assert!(ics.text.contains("BEGIN:VALARM"));

    let feed = app
        .send(Method::POST, "/v1/me/calendar-feed", Some(&me), None)
        .await;
    assert_eq!(feed.status, 201);
    let path = feed.body["path"].as_str().unwrap().to_owned();
    assert!(feed.body["url"].as_str().unwrap().ends_with(&path));
    let subscribed = app.send(Method::GET, &path, None, None).await;
    assert_eq!(subscribed.status, 200);
    assert!(
        subscribed.text.contains("METHOD:PUBLISH") && subscribed.text.contains("STATUS:TENTATIVE")
    );

    app.post(
        &format!("/v1/me/interviews/{id}/cancel"),
        Some(&me),
        json!({}),
    )
    .await
    .ok();
    let after = app.send(Method::GET, &path, None, None).await;
    assert!(
        after.text.contains("STATUS:CANCELLED") && after.text.contains("SEQUENCE:1"),
        "{}",
        after.text
    );
    let single = app.get(&format!("/v1/me/interviews/{id}/ics"), &me).await;
    assert!(single.text.contains("METHOD:CANCEL"));

    // A new URL replaces the old; revoking ends it.
    let newer = app
        .send(Method::POST, "/v1/me/calendar-feed", Some(&me), None)
        .await
        .ok();
    assert_eq!(
        app.send(Method::GET, &path, None, None)
            .await
            .assert_problem(404),
        "not-found"
    );
    let newer = newer["path"].as_str().unwrap().to_owned();
    assert_eq!(app.send(Method::GET, &newer, None, None).await.status, 200);
    assert_eq!(app.delete("/v1/me/calendar-feed", &me).await.status, 204);
    assert_eq!(
        app.send(Method::GET, &newer, None, None)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.send(Method::GET, "/v1/calendar/ipsc_nonsense", None, None)
            .await
            .assert_problem(404),
        "not-found"
    );
}

#[tokio::test]
async fn every_field_is_checked() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Ida").await;
    let start = oslo_in(3, 10, 0).to_rfc3339();
    let reply = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": " ", "role_title": "", "starts_at": start, "time_zone": "Oslo", "duration_minutes": 0,
                    "video_link": "ftp://x", "checklist": [{ "text": "" }] }),
        )
        .await;
    assert_eq!(
        reply.invalid_fields(),
        vec![
            "checklist[0].text",
            "duration_minutes",
            "employer",
            "role_title",
            "time_zone",
            "video_link"
        ]
    );
    let far = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": "A", "role_title": "B", "starts_at": "2099-01-01T10:00:00Z" }),
        )
        .await;
    assert_eq!(far.invalid_fields(), vec!["starts_at"]);
    let not_a_time = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": "A", "role_title": "B", "starts_at": "tomorrow" }),
        )
        .await;
    assert_eq!(not_a_time.invalid_fields(), vec!["starts_at"]);
    let items: Vec<_> = (0..21)
        .map(|i| json!({ "text": format!("item {i}") }))
        .collect();
    let long = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": "A", "role_title": "B", "starts_at": start, "checklist": items }),
        )
        .await;
    assert_eq!(long.invalid_fields(), vec!["checklist"]);
    let extra = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": "A", "role_title": "B", "starts_at": start, "salary": 1 }),
        )
        .await;
    assert_eq!(extra.assert_problem(422), "validation");
}

/// The contract hands `video_link` back as a URI (`format: uri`), so only a URI is taken in: no
/// control characters, no unencoded non-ASCII text, no second `#`, a numeric port.
#[tokio::test]
async fn a_video_link_is_a_uri() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Ida").await;
    let start = oslo_in(3, 10, 0).to_rfc3339();
    for bad in [
        "https://F\u{88}\u{23a}\u{e0}\u{1}",
        "https://møte.example.no/rom",
        "https://meet.example.no/a#b#c",
        "https://meet.example.no:port/x",
        "https://meet.example.no/%zz",
        "https://user@meet.example.no/x",
    ] {
        let reply = app
            .post(
                "/v1/me/interviews",
                Some(&me),
                json!({ "employer": "A", "role_title": "B", "starts_at": start, "video_link": bad }),
            )
            .await;
        assert_eq!(reply.invalid_fields(), vec!["video_link"], "{bad}");
    }
    let good = "http://meet.example.no:8443/r%C3%B8m/kiwi?pwd=a1&x=(2)#lobby";
    let created = app
        .post(
            "/v1/me/interviews",
            Some(&me),
            json!({ "employer": "A", "role_title": "B", "starts_at": start, "video_link": good }),
        )
        .await
        .ok();
    assert_eq!(created["video_link"], good);
    let moved = app
        .patch(
            &format!("/v1/me/interviews/{}", created["id"]),
            &me,
            json!({ "video_link": "https://meet.example.no/\u{1}" }),
        )
        .await;
    assert_eq!(moved.invalid_fields(), vec!["video_link"]);
}

#[tokio::test]
async fn nobody_reaches_another_participants_interviews() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (a, a_token) = app.participant(&w.specialist, "A").await;
    let (_, b_token) = app.participant(&w.specialist, "B").await;
    let id = app
        .post("/v1/me/interviews", Some(&a_token), body(oslo_in(5, 11, 0)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();

    // Participant B: every route on A's interview is 404, exactly like an id that does not exist.
    let missing = app.get("/v1/me/interviews/999999", &b_token).await;
    for (method, path, body) in [
        (Method::GET, format!("/v1/me/interviews/{id}"), None),
        (Method::GET, format!("/v1/me/interviews/{id}/ics"), None),
        (
            Method::PATCH,
            format!("/v1/me/interviews/{id}"),
            Some(json!({ "notes": "x" })),
        ),
        (
            Method::POST,
            format!("/v1/me/interviews/{id}/confirm"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/me/interviews/{id}/cancel"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/me/interviews/{id}/outcome"),
            Some(json!({ "outcome": "offer" })),
        ),
    ] {
        let reply = app.send(method.clone(), &path, Some(&b_token), body).await;
        assert_eq!(reply.assert_problem(404), "not-found", "{method} {path}");
        assert_eq!(reply.body, missing.body);
    }
    assert_eq!(
        app.get("/v1/me/interviews", &b_token).await.ok()["items"],
        json!([])
    );

    // Staff outside the caseload: 404; administrators: 403; staff on /v1/me: 403.
    for token in [&w.colleague, &w.outsider] {
        assert_eq!(
            app.get(&format!("/v1/participants/{a}/interviews/{id}"), token)
                .await
                .assert_problem(404),
            "not-found"
        );
        assert_eq!(
            app.get(&format!("/v1/participants/{a}/interviews"), token)
                .await
                .assert_problem(404),
            "not-found"
        );
        let create = app
            .post(
                &format!("/v1/participants/{a}/interviews"),
                Some(token),
                body(oslo_in(5, 11, 0)),
            )
            .await;
        assert_eq!(create.assert_problem(404), "not-found");
    }
    assert_eq!(
        app.get(&format!("/v1/participants/{a}/interviews"), &w.admin)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get("/v1/me/interviews", &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get(&format!("/v1/participants/{a}/interviews"), &a_token)
            .await
            .assert_problem(403),
        "forbidden"
    );
    // The supervisor of the team reaches it; the specialist creates one for the participant.
    assert_eq!(
        app.get(
            &format!("/v1/participants/{a}/interviews/{id}"),
            &w.supervisor
        )
        .await
        .status,
        200
    );
    let by_staff = app
        .post(
            &format!("/v1/participants/{a}/interviews"),
            Some(&w.specialist),
            body(oslo_in(6, 11, 0)),
        )
        .await;
    assert_eq!(by_staff.status, 201);
    assert_eq!(by_staff.body["created_by"]["kind"], "staff");
    let mine = app.get("/v1/me/interviews", &a_token).await.ok();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn edits_that_change_nothing_and_cancellations_by_staff() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Tor").await;
    let created = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(6, 10, 0)))
        .await
        .ok();
    let id = created["id"].as_i64().unwrap();
    let confirmed = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/confirm"),
            Some(&me),
            None,
        )
        .await
        .ok();

    // Sending the same time and zone again is not a reschedule: still confirmed, nothing re-planned.
    let same = app
        .patch(
            &format!("/v1/me/interviews/{id}"),
            &me,
            json!({ "starts_at": created["starts_at"], "time_zone": "Europe/Oslo" }),
        )
        .await
        .ok();
    assert_eq!(same["status"], "confirmed");
    assert_eq!(same["sequence"], confirmed["sequence"]);
    let empty = app
        .patch(&format!("/v1/me/interviews/{id}"), &me, json!({}))
        .await
        .ok();
    assert_eq!(empty["sequence"], confirmed["sequence"]);

    // A refused staff action leaves no audit trace of having been done.
    let early = app
        .post(
            &format!("/v1/participants/{pid}/interviews/{id}/outcome"),
            Some(&w.specialist),
            json!({ "outcome": "offer" }),
        )
        .await;
    assert_eq!(early.assert_problem(409), "conflict");
    let trail = app
        .get(
            &format!("/v1/participants/{pid}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    assert!(trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] != "interview.outcome_recorded"));

    // The specialist cancels (no body needed); the participant is told, and the reason is kept.
    let plain = app
        .send(
            Method::POST,
            &format!("/v1/participants/{pid}/interviews/{id}/cancel"),
            Some(&w.specialist),
            None,
        )
        .await;
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert_eq!(plain.body["cancel_reason"], json!(null));
    let rows = outbox(&app, id);
    let told: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "interview_cancelled")
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].recipient_kind.as_str(), told[0].recipient_id),
        ("participant", pid)
    );
    let trail = app
        .get(
            &format!("/v1/participants/{pid}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    assert!(trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "interview.cancelled"));

    let other = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(9, 10, 0)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let with_reason = app
        .post(
            &format!("/v1/me/interviews/{other}/cancel"),
            Some(&me),
            json!({ "reason": "Syk" }),
        )
        .await
        .ok();
    assert_eq!(with_reason["cancel_reason"], "Syk");

    // The participant's own changes are in the trail (and so in their export), by them; an edit
    // that changed nothing, a second confirmation and their own reads are not.
    app.get(&format!("/v1/me/interviews/{id}"), &me).await.ok();
    let trail = app
        .get(
            &format!("/v1/participants/{pid}/audit-events?limit=200"),
            &w.supervisor,
        )
        .await
        .ok();
    let by_participant: Vec<(&str, i64)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "participant")
        .filter(|e| e["action"].as_str().unwrap().starts_with("interview"))
        .map(|e| {
            assert_eq!(e["actor_id"], pid);
            assert_eq!(e["subject_type"], "interview");
            (
                e["action"].as_str().unwrap(),
                e["subject_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_participant,
        vec![
            ("interview.cancelled", other),
            ("interview.created", other),
            ("interview.confirmed", id),
            ("interview.created", id),
        ]
    );
    let feed = app
        .send(Method::POST, "/v1/me/calendar-feed", Some(&me), None)
        .await;
    assert_eq!(feed.header("location"), feed.body["path"].as_str());
    assert!(feed.body["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:8080/v1/calendar/ipsc_"));
}

#[tokio::test]
async fn the_participants_own_settings_shape_reminders_and_calendar_details() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Lise").await;
    let settings = json!({
        "reminder_offsets_minutes": [180, 30],
        "quiet_hours": { "start": "21:00", "end": "09:30" },
        "lock_screen_previews": true,
    });
    app.patch("/v1/me", &me, settings).await.ok();
    // 11:00: 3 h before is 08:00, inside 21:00-09:30, so it moves to 20:30 the evening before;
    // 30 minutes before is 10:30.
    let created = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(7, 11, 0)))
        .await
        .ok();
    let id = created["id"].as_i64().unwrap();
    let times: Vec<_> = created["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| oslo_clock(r.as_str().unwrap()))
        .collect();
    assert_eq!(times, vec!["20:30", "10:30"]);
    // Previews allowed: the calendar may name the employer.
    let ics = app.get(&format!("/v1/me/interviews/{id}/ics"), &me).await;
    assert!(
        ics.text
            .contains("SUMMARY:Jobbintervju: Butikkmedarbeider hos Rema 1000 Grünerløkka"),
        "{}",
        ics.text
    );

    // Withdrawing stops every reminder, and no one can record new interviews for them.
    app.post("/v1/me/withdraw", Some(&me), json!({})).await.ok();
    assert_eq!(count(&outbox(&app, id), "interview_reminder", "pending"), 0);
    let after = app
        .post(
            &format!("/v1/participants/{pid}/interviews"),
            Some(&w.specialist),
            body(oslo_in(8, 11, 0)),
        )
        .await;
    assert_eq!(after.assert_problem(409), "conflict");
}

#[tokio::test]
async fn a_retried_post_records_one_interview() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Nora").await;
    let send = |body: Value| {
        app.client
            .post(format!("{}/v1/me/interviews", app.address))
            .bearer_auth(&me)
            .header("idempotency-key", "phone-7f3a")
            .json(&body)
    };
    let first = app.run(send(body(oslo_in(5, 13, 0)))).await;
    let again = app.run(send(body(oslo_in(5, 13, 0)))).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), Some("\"0\""));
    let mine = app.get("/v1/me/interviews", &me).await.ok();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let other = app.run(send(body(oslo_in(6, 13, 0)))).await;
    assert_eq!(other.invalid_fields(), vec!["Idempotency-Key"]);
}

#[tokio::test]
async fn i_need_to_talk_reaches_the_specialist_once() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Jonas").await;
    let (_, other) = app.participant(&w.specialist, "Other").await;
    let id = app
        .post("/v1/me/interviews", Some(&me), body(oslo_in(4, 9, 30)))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();

    let first = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/need-to-talk"),
            Some(&me),
            None,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["kind"], "call_me");
    assert_eq!(first.body["interview_id"], id);
    let again = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/need-to-talk"),
            Some(&me),
            None,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body["id"], first.body["id"],
        "pressing twice does one thing"
    );

    let seen = app
        .get(
            &format!("/v1/participants/{pid}/contact-requests"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(seen["items"].as_array().unwrap().len(), 1);
    assert_eq!(seen["items"][0]["interview_id"], id);
    let mut conn = app.db.get().unwrap();
    let notices: Vec<Row> = diesel::sql_query(
        "SELECT kind, status, recipient_kind, recipient_id FROM notifications WHERE kind = 'need_to_talk'",
    )
    .load(&mut *conn)
    .unwrap();
    drop(conn);
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (notices[0].recipient_kind.as_str(), notices[0].recipient_id),
        ("staff", w.specialist_id)
    );

    let theirs = app
        .send(
            Method::POST,
            &format!("/v1/me/interviews/{id}/need-to-talk"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.assert_problem(404), "not-found");
}
