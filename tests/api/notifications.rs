//! The notification inbox: what was sent to a participant or a staff member, worded in their
//! language, with read state; nobody reaches anyone else's.
//!
//! The worker that delivers notifications (and marks them `sent`) does not exist yet, so these
//! tests play its part by updating the outbox rows directly, as the worker will.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use diesel::RunQueryDsl;
use ips_core::domain::texts::{when_en, when_nb};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, World};

fn oslo_in(days: i64, hour: u32) -> DateTime<Utc> {
    let date = (Utc::now() + Duration::days(days))
        .with_timezone(&Oslo)
        .date_naive();
    let local = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap());
    Oslo.from_local_datetime(&local)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

async fn participant(app: &TestApp, specialist: &str, name: &str) -> (i64, String) {
    let (id, code) = app.enrol(specialist, name).await;
    let tokens = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok();
    (id, tokens["access_token"].as_str().unwrap().to_owned())
}

async fn interview(app: &TestApp, path: &str, token: &str, start: DateTime<Utc>) -> i64 {
    app.post(
        path,
        Some(token),
        json!({
            "employer": "Rema 1000 Grünerløkka",
            "role_title": "Butikkmedarbeider",
            "starts_at": start.to_rfc3339(),
        }),
    )
    .await
    .ok()["id"]
        .as_i64()
        .unwrap()
}

/// Plays the delivering worker: every pending notification about this interview is now sent.
fn deliver(app: &TestApp, interview: i64) -> usize {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!(
        "UPDATE notifications SET status = 'sent', sent_at = created_at \
         WHERE subject_type = 'interview' AND subject_id = {interview} AND status = 'pending'"
    ))
    .execute(&mut *conn)
    .unwrap()
}

async fn post_empty(app: &TestApp, path: &str, token: &str) -> Reply {
    app.send(Method::POST, path, Some(token), None).await
}

async fn get_in(app: &TestApp, path: &str, token: &str, language: Option<&str>) -> Reply {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    app.run(request).await
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

async fn unread(app: &TestApp, path: &str, token: &str) -> i64 {
    app.get(path, token).await.ok()["unread_count"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_participant_reads_their_sent_reminders_in_their_own_language() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = participant(&app, &w.specialist, "Ola").await;
    let start = oslo_in(7, 14);
    let id = interview(&app, "/v1/me/interviews", &me, start).await;

    // Reminders still to come are not in the inbox.
    let empty = app.get("/v1/me/notifications", &me).await.ok();
    assert_eq!(empty, json!({ "items": [], "next_cursor": null }));
    assert_eq!(unread(&app, "/v1/me/notifications/unread", &me).await, 0);

    let sent = deliver(&app, id);
    assert_eq!(sent, 2, "the default offsets give two reminders");
    let page = app.get("/v1/me/notifications", &me).await.ok();
    let list = items(&page);
    assert_eq!(list.len(), 2);
    assert!(
        list[0]["id"].as_i64() > list[1]["id"].as_i64(),
        "newest first"
    );
    for item in list {
        assert_eq!(item["kind"], "interview_reminder");
        assert_eq!(
            item["title"],
            format!("Påminnelse: du har en avtale {}", when_nb(start, Oslo))
        );
        // Inside the app the inbox may name the role and the employer.
        assert_eq!(
            item["body"],
            "Jobbintervju: Butikkmedarbeider hos Rema 1000 Grünerløkka"
        );
        assert_eq!(item["subject"], json!({ "type": "interview", "id": id }));
        assert!(item["sent_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(item["read_at"], Value::Null);
    }
    assert_eq!(unread(&app, "/v1/me/notifications/unread", &me).await, 2);

    app.patch("/v1/me", &me, json!({ "preferred_language": "en" }))
        .await
        .ok();
    let page = app.get("/v1/me/notifications", &me).await.ok();
    assert_eq!(
        items(&page)[0]["title"],
        format!(
            "Reminder: you have an appointment on {}",
            when_en(start, Oslo)
        )
    );
    assert_eq!(
        items(&page)[0]["body"],
        "Job interview: Butikkmedarbeider at Rema 1000 Grünerløkka"
    );
}

#[tokio::test]
async fn marking_read_is_idempotent_and_read_all_clears_the_badge() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = participant(&app, &w.specialist, "Ola").await;
    let id = interview(&app, "/v1/me/interviews", &me, oslo_in(7, 14)).await;
    deliver(&app, id);
    let page = app.get("/v1/me/notifications", &me).await.ok();
    let first = items(&page)[0]["id"].as_i64().unwrap();

    let path = format!("/v1/me/notifications/{first}/read");
    assert_eq!(post_empty(&app, &path, &me).await.status, 204);
    let read_at = items(&app.get("/v1/me/notifications", &me).await.ok())[0]["read_at"].clone();
    assert!(read_at.is_string());
    assert_eq!(unread(&app, "/v1/me/notifications/unread", &me).await, 1);
    // Twice does one thing: the first read time stays.
    assert_eq!(post_empty(&app, &path, &me).await.status, 204);
    let again = app.get("/v1/me/notifications", &me).await.ok();
    assert_eq!(items(&again)[0]["read_at"], read_at);

    assert_eq!(
        post_empty(&app, "/v1/me/notifications/read-all", &me)
            .await
            .status,
        204
    );
    assert_eq!(unread(&app, "/v1/me/notifications/unread", &me).await, 0);
    let all = app.get("/v1/me/notifications", &me).await.ok();
    assert!(items(&all).iter().all(|i| i["read_at"].is_string()));
    assert_eq!(items(&all)[0]["read_at"], read_at);
    assert_eq!(
        post_empty(&app, "/v1/me/notifications/read-all", &me)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn the_inbox_pages_newest_first_and_refuses_bad_paging() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = participant(&app, &w.specialist, "Ola").await;
    let id = interview(&app, "/v1/me/interviews", &me, oslo_in(7, 14)).await;
    deliver(&app, id);
    let first = app.get("/v1/me/notifications?limit=1", &me).await.ok();
    assert_eq!(items(&first).len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("/v1/me/notifications?limit=1&cursor={cursor}"),
            &me,
        )
        .await
        .ok();
    assert_eq!(items(&second).len(), 1);
    assert!(items(&second)[0]["id"].as_i64() < items(&first)[0]["id"].as_i64());
    assert_eq!(second["next_cursor"], Value::Null);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=nonsense", "cursor"),
    ] {
        let bad = app.get(&format!("/v1/me/notifications?{query}"), &me).await;
        assert_eq!(bad.invalid_fields(), vec![field.to_owned()], "{query}");
    }
    let unknown = app.get("/v1/me/notifications?colour=red", &me).await;
    assert_eq!(unknown.invalid_fields(), vec!["query".to_owned()]);
}

#[tokio::test]
async fn nobody_reaches_anyone_elses_notifications() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, ola) = participant(&app, &w.specialist, "Ola").await;
    let (_, kari) = participant(&app, &w.specialist, "Kari").await;
    let olas = interview(&app, "/v1/me/interviews", &ola, oslo_in(7, 14)).await;
    deliver(&app, olas);
    let page = app.get("/v1/me/notifications", &ola).await.ok();
    let olas_notification = items(&page)[0]["id"].as_i64().unwrap();

    // Kari sees none of Ola's, cannot mark them read, and read-all leaves them alone.
    assert_eq!(
        items(&app.get("/v1/me/notifications", &kari).await.ok()).len(),
        0
    );
    post_empty(
        &app,
        &format!("/v1/me/notifications/{olas_notification}/read"),
        &kari,
    )
    .await
    .assert_problem(404);
    post_empty(&app, "/v1/me/notifications/read-all", &kari).await;
    assert_eq!(unread(&app, "/v1/me/notifications/unread", &ola).await, 2);
    // Nor can staff, through their own inbox.
    post_empty(
        &app,
        &format!("/v1/staff/me/notifications/{olas_notification}/read"),
        &w.specialist,
    )
    .await
    .assert_problem(404);

    // A notification not yet sent is not in anyone's inbox, and a missing one is the same 404.
    let later = interview(&app, "/v1/me/interviews", &ola, oslo_in(9, 14)).await;
    let pending: Vec<i64> = {
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let mut conn = app.db.get().unwrap();
        diesel::sql_query(format!(
            "SELECT id FROM notifications WHERE subject_id = {later} AND status = 'pending'"
        ))
        .load::<Id>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
    };
    assert!(!pending.is_empty());
    for id in [pending[0], 999_999] {
        post_empty(&app, &format!("/v1/me/notifications/{id}/read"), &ola)
            .await
            .assert_problem(404);
    }

    // Each side's routes are closed to the other side's tokens, and to no token at all.
    for (method, path) in [
        (Method::GET, "/v1/me/notifications"),
        (Method::GET, "/v1/me/notifications/unread"),
        (Method::POST, "/v1/me/notifications/read-all"),
        (Method::POST, "/v1/me/notifications/1/read"),
    ] {
        app.send(method.clone(), path, Some(&w.specialist), None)
            .await
            .assert_problem(403);
        app.send(method, path, None, None).await.assert_problem(401);
    }
    for (method, path) in [
        (Method::GET, "/v1/staff/me/notifications"),
        (Method::GET, "/v1/staff/me/notifications/unread"),
        (Method::POST, "/v1/staff/me/notifications/read-all"),
        (Method::POST, "/v1/staff/me/notifications/1/read"),
    ] {
        app.send(method.clone(), path, Some(&ola), None)
            .await
            .assert_problem(403);
        app.send(method, path, None, None).await.assert_problem(401);
    }
}

#[tokio::test]
async fn a_specialist_reads_a_cancellation_in_the_language_their_client_asks_for() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, ola) = participant(&app, &w.specialist, "Ola Nordmann").await;
    let start = oslo_in(5, 10);
    let id = interview(&app, "/v1/me/interviews", &ola, start).await;
    post_empty(&app, &format!("/v1/me/interviews/{id}/cancel"), &ola)
        .await
        .ok();
    deliver(&app, id);

    let nb = get_in(&app, "/v1/staff/me/notifications", &w.specialist, None)
        .await
        .ok();
    assert_eq!(items(&nb).len(), 1);
    let item = &items(&nb)[0];
    assert_eq!(item["kind"], "interview_cancelled");
    assert_eq!(item["title"], "Ola Nordmann har avlyst et jobbintervju");
    assert_eq!(
        item["body"],
        format!(
            "Jobbintervjuet som Butikkmedarbeider hos Rema 1000 Grünerløkka {} er avlyst.",
            when_nb(start, Oslo)
        )
    );
    assert_eq!(item["subject"], json!({ "type": "interview", "id": id }));
    let en = get_in(
        &app,
        "/v1/staff/me/notifications",
        &w.specialist,
        Some("en-GB, nb;q=0.5"),
    )
    .await
    .ok();
    assert_eq!(
        items(&en)[0]["title"],
        "Ola Nordmann has cancelled a job interview"
    );

    // Naming the participant is a staff read of their data: it is audited.
    let trail = app
        .get(
            &format!("/v1/participants/{pid}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    assert!(items(&trail)
        .iter()
        .any(|e| e["action"] == "notification.listed" && e["subject_type"] == "notification"));

    let notification = item["id"].as_i64().unwrap();
    assert_eq!(
        unread(&app, "/v1/staff/me/notifications/unread", &w.specialist).await,
        1
    );
    // The colleague's inbox is their own: empty, and the specialist's notification is 404.
    assert_eq!(
        items(
            &app.get("/v1/staff/me/notifications", &w.colleague)
                .await
                .ok()
        )
        .len(),
        0
    );
    post_empty(
        &app,
        &format!("/v1/staff/me/notifications/{notification}/read"),
        &w.colleague,
    )
    .await
    .assert_problem(404);
    post_empty(
        &app,
        &format!("/v1/staff/me/notifications/{notification}/read"),
        &ola,
    )
    .await
    .assert_problem(403);
    assert_eq!(
        post_empty(
            &app,
            &format!("/v1/staff/me/notifications/{notification}/read"),
            &w.specialist
        )
        .await
        .status,
        204
    );
    assert_eq!(
        unread(&app, "/v1/staff/me/notifications/unread", &w.specialist).await,
        0
    );
    assert_eq!(
        post_empty(&app, "/v1/staff/me/notifications/read-all", &w.specialist)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn a_participant_is_told_when_their_specialist_cancels() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, ola) = participant(&app, &w.specialist, "Ola").await;
    let start = oslo_in(5, 10);
    let id = interview(
        &app,
        &format!("/v1/participants/{pid}/interviews"),
        &w.specialist,
        start,
    )
    .await;
    post_empty(
        &app,
        &format!("/v1/participants/{pid}/interviews/{id}/cancel"),
        &w.specialist,
    )
    .await
    .ok();
    deliver(&app, id);
    let page = app.get("/v1/me/notifications", &ola).await.ok();
    let cancelled: Vec<&Value> = items(&page)
        .iter()
        .filter(|i| i["kind"] == "interview_cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(
        cancelled[0]["title"],
        format!("Avlyst: avtalen din {}", when_nb(start, Oslo))
    );
    assert!(cancelled[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Jobbintervjuet som Butikkmedarbeider hos Rema 1000 Grünerløkka er avlyst."));
    // The specialist's own inbox did not get the participant's notice.
    assert_eq!(
        items(
            &app.get("/v1/staff/me/notifications", &w.specialist)
                .await
                .ok()
        )
        .len(),
        0
    );
}

#[tokio::test]
async fn a_staff_member_no_longer_sees_names_from_outside_their_caseload() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, ola) = participant(&app, &w.specialist, "Ola Nordmann").await;
    let id = interview(&app, "/v1/me/interviews", &ola, oslo_in(5, 10)).await;
    post_empty(&app, &format!("/v1/me/interviews/{id}/cancel"), &ola)
        .await
        .ok();
    // The notice reached the colleague (as if they were the specialist at the time).
    {
        let mut conn = app.db.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE notifications SET recipient_id = {} WHERE kind = 'interview_cancelled' AND subject_id = {id}",
            w.colleague_id
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    deliver(&app, id);
    let page = app
        .get("/v1/staff/me/notifications", &w.colleague)
        .await
        .ok();
    let item = &items(&page)[0];
    assert_eq!(item["title"], "Et jobbintervju er avlyst");
    assert!(!page.to_string().contains("Ola") && !page.to_string().contains("Rema"));
}
