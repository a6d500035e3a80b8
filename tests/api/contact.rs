//! Contact between a participant and their team: the contact card, the message thread with read
//! receipts, "please call me" and benefits-counselling requests, and Idempotency-Key on their POSTs.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, World};

/// A POST with an `Idempotency-Key`.
async fn post_keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let request = app
        .client
        .request(Method::POST, format!("{}{}", app.address, path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body);
    app.run(request).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn audit_actions(app: &TestApp, w: &World, participant: i64) -> Vec<String> {
    let trail = app
        .get(
            &format!("/v1/participants/{participant}/audit-events?limit=200"),
            &w.supervisor,
        )
        .await
        .ok();
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_contact_card_names_the_specialist_and_the_team() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    app.patch(
        &format!("/v1/staff/{}", w.specialist_id),
        &w.admin,
        json!({ "phone": "+47 900 00 000", "working_hours": "Mon-Fri 08-16" }),
    )
    .await
    .ok();
    let (_, me) = app.participant(&w.specialist, "Ola").await;
    let card = app.get("/v1/me/team", &me).await.ok();
    assert_eq!(
        card,
        json!({
            "specialist": {
                "id": w.specialist_id,
                "name": "Staff spec@example.no",
                "role": "specialist",
                "phone": "+47 900 00 000",
                "email": "spec@example.no",
                "working_hours": "Mon-Fri 08-16",
            },
            "team": {
                "id": w.team,
                "name": "IPS Oslo Øst",
                "phone": "+47 22 00 00 00",
                "email": null,
            },
        })
    );
    assert_eq!(
        app.get("/v1/me/team", &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );
}

#[tokio::test]
async fn a_conversation_both_ways_with_read_receipts_and_unread_counts() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let staff_path = format!("/v1/participants/{pid}/messages");

    let empty = app.get("/v1/me/messages/unread", &me).await.ok();
    assert_eq!(
        empty,
        json!({ "unread_count": 0, "latest_message_at": null })
    );

    let first = app
        .post(
            "/v1/me/messages",
            Some(&me),
            json!({ "body": "Hei! Kan vi snakke om jobben?" }),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first = first.body;
    assert_eq!(
        first["sender"],
        json!({ "kind": "participant", "id": pid, "name": "Ola" })
    );
    assert_eq!(first["body"], "Hei! Kan vi snakke om jobben?");
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first["read_at"], Value::Null);

    // The specialist sees one unread message, and the participant's own message is not unread for them.
    let staff_unread = app
        .get(&format!("{staff_path}/unread"), &w.specialist)
        .await
        .ok();
    assert_eq!(staff_unread["unread_count"], 1);
    assert_eq!(staff_unread["latest_message_at"], first["created_at"]);
    assert_eq!(
        app.get("/v1/me/messages/unread", &me).await.ok()["unread_count"],
        0
    );

    let reply = app
        .post(
            &staff_path,
            Some(&w.specialist),
            json!({ "body": "Ja, jeg ringer deg i morgen." }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let reply = reply.body;
    assert_eq!(
        reply["sender"],
        json!({ "kind": "staff", "id": w.specialist_id, "name": "Staff spec@example.no" })
    );
    // The supervisor writes into the same thread.
    let from_supervisor = app
        .post(
            &staff_path,
            Some(&w.supervisor),
            json!({ "body": "Hilsen fra teamleder." }),
        )
        .await
        .ok();
    assert_eq!(from_supervisor["sender"]["name"], "Staff sup@example.no");

    let mine = app.get("/v1/me/messages/unread", &me).await.ok();
    assert_eq!(mine["unread_count"], 2);
    assert_eq!(mine["latest_message_at"], from_supervisor["created_at"]);

    // Both sides see the same thread, newest first.
    let thread = app.get("/v1/me/messages", &me).await.ok();
    let expected = vec![
        from_supervisor["id"].as_i64().unwrap(),
        reply["id"].as_i64().unwrap(),
        first["id"].as_i64().unwrap(),
    ];
    assert_eq!(ids(&thread), expected);
    assert_eq!(
        ids(&app.get(&staff_path, &w.specialist).await.ok()),
        expected
    );

    // The participant reads up to the specialist's reply: that one is read, the supervisor's is not.
    let read = app
        .post(
            "/v1/me/messages/read",
            Some(&me),
            json!({ "up_to_id": reply["id"] }),
        )
        .await;
    assert_eq!(read.status, 204, "{}", read.text);
    assert_eq!(
        app.get("/v1/me/messages/unread", &me).await.ok()["unread_count"],
        1
    );
    let thread = app.get(&staff_path, &w.specialist).await.ok();
    let read_at = thread["items"][1]["read_at"].clone();
    assert!(
        read_at.as_str().unwrap().ends_with('Z'),
        "read receipt for staff: {thread}"
    );
    assert_eq!(thread["items"][0]["read_at"], Value::Null);
    // Marking read does not mark the reader's own messages, and the staff have not read theirs yet.
    assert_eq!(thread["items"][2]["read_at"], Value::Null);

    // Repeating it, or reading up to the newest, never moves an earlier receipt.
    app.post(
        "/v1/me/messages/read",
        Some(&me),
        json!({ "up_to_id": reply["id"] }),
    )
    .await
    .ok();
    app.post(
        "/v1/me/messages/read",
        Some(&me),
        json!({ "up_to_id": from_supervisor["id"] }),
    )
    .await
    .ok();
    let thread = app.get("/v1/me/messages", &me).await.ok();
    assert_eq!(thread["items"][1]["read_at"], read_at);
    assert!(thread["items"][0]["read_at"].is_string());
    assert_eq!(
        app.get("/v1/me/messages/unread", &me).await.ok()["unread_count"],
        0
    );

    // The specialist reads the participant's message: the participant sees the receipt.
    let read = app
        .post(
            &format!("{staff_path}/read"),
            Some(&w.specialist),
            json!({ "up_to_id": first["id"] }),
        )
        .await;
    assert_eq!(read.status, 204, "{}", read.text);
    let unread = app
        .get(&format!("{staff_path}/unread"), &w.specialist)
        .await
        .ok();
    assert_eq!(unread["unread_count"], 0);
    assert_eq!(unread["latest_message_at"], from_supervisor["created_at"]);
    let thread = app.get("/v1/me/messages", &me).await.ok();
    assert!(
        thread["items"][2]["read_at"].is_string(),
        "receipt for the participant: {thread}"
    );

    // Every staff action on the thread is in the audit trail.
    let actions = audit_actions(&app, &w, pid).await;
    for action in [
        "messages.listed",
        "message.sent",
        "messages.marked_read",
        "messages.unread_read",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_thread_pages_newest_first() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let m = app
            .post(
                "/v1/me/messages",
                Some(&me),
                json!({ "body": format!("message {n}") }),
            )
            .await
            .ok();
        sent.push(m["id"].as_i64().unwrap());
    }
    sent.reverse();
    let first = app.get("/v1/me/messages?limit=2", &me).await.ok();
    assert_eq!(ids(&first), sent[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/me/messages?limit=2&cursor={cursor}"), &me)
        .await
        .ok();
    assert_eq!(ids(&second), sent[2..4]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let last = app
        .get(
            &format!("/v1/participants/{pid}/messages?limit=2&cursor={cursor}"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(ids(&last), sent[4..]);
    assert_eq!(last["next_cursor"], Value::Null);
    assert_eq!(
        app.get("/v1/me/messages?limit=0", &me)
            .await
            .invalid_fields(),
        vec!["limit"]
    );
    assert_eq!(
        app.get("/v1/me/messages?cursor=junk", &me)
            .await
            .invalid_fields(),
        vec!["cursor"]
    );
}

#[tokio::test]
async fn messages_are_checked() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let (_, other) = app.participant(&w.specialist, "Kari").await;
    let staff_path = format!("/v1/participants/{pid}/messages");
    for bad in [
        json!({ "body": "" }),
        json!({ "body": "  \n\t " }),
        json!({ "body": "x".repeat(4001) }),
        json!({ "body": 5 }),
        json!({}),
        json!({ "body": "hi", "urgent": true }),
    ] {
        assert_eq!(
            app.post("/v1/me/messages", Some(&me), bad.clone())
                .await
                .assert_problem(422),
            "validation",
            "{bad}"
        );
        assert_eq!(
            app.post(&staff_path, Some(&w.specialist), bad.clone())
                .await
                .assert_problem(422),
            "validation",
            "{bad}"
        );
    }
    assert_eq!(
        app.post("/v1/me/messages", Some(&me), json!({ "body": "" }))
            .await
            .invalid_fields(),
        vec!["body"]
    );
    assert_eq!(
        app.post(&staff_path, Some(&w.specialist), json!({ "body": " " }))
            .await
            .invalid_fields(),
        vec!["body"]
    );
    // 4000 characters is the limit, counted in characters, not bytes.
    let longest = "ø".repeat(4000);
    let ok = app
        .post("/v1/me/messages", Some(&me), json!({ "body": longest }))
        .await
        .ok();
    assert_eq!(ok["body"].as_str().unwrap().chars().count(), 4000);
    let staff_ok = app
        .post(
            &staff_path,
            Some(&w.specialist),
            json!({ "body": "x".repeat(4000) }),
        )
        .await
        .ok();

    // up_to_id must be a message of this very thread.
    let theirs = app
        .post("/v1/me/messages", Some(&other), json!({ "body": "mine" }))
        .await
        .ok();
    for bad in [
        json!({ "up_to_id": 0 }),
        json!({ "up_to_id": -3 }),
        json!({ "up_to_id": 999_999 }),
        json!({ "up_to_id": theirs["id"] }),
        json!({ "up_to_id": "1" }),
        json!({}),
    ] {
        assert_eq!(
            app.post("/v1/me/messages/read", Some(&me), bad.clone())
                .await
                .invalid_fields(),
            vec!["up_to_id"],
            "{bad}"
        );
        assert_eq!(
            app.post(
                &format!("{staff_path}/read"),
                Some(&w.specialist),
                bad.clone()
            )
            .await
            .invalid_fields(),
            vec!["up_to_id"],
            "{bad}"
        );
    }
    assert_eq!(
        app.post(
            "/v1/me/messages/read",
            Some(&me),
            json!({ "up_to_id": staff_ok["id"], "all": true })
        )
        .await
        .assert_problem(422),
        "validation"
    );
    // The other participant's message stays unread by their specialist.
    assert_eq!(
        app.get(
            &format!(
                "/v1/participants/{}/messages/unread",
                theirs["sender"]["id"]
            ),
            &w.specialist
        )
        .await
        .ok()["unread_count"],
        1
    );
    let raw = app
        .client
        .post(format!("{}/v1/me/messages", app.address))
        .bearer_auth(&me)
        .header("content-type", "application/json")
        .body("{\"body\":");
    app.run(raw).await.assert_problem(400);
    let text = app
        .client
        .post(format!("{}/v1/me/messages", app.address))
        .bearer_auth(&me)
        .body("hello");
    app.run(text).await.assert_problem(415);
}

#[tokio::test]
async fn contact_requests_are_made_listed_handled_and_never_reopened() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let call = app
        .post(
            "/v1/me/contact-requests",
            Some(&me),
            json!({ "kind": "call_me", "preferred_time": "  weekdays after 15 ", "note": "About the interview" }),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.text);
    let call = call.body;
    assert_eq!(call["kind"], "call_me");
    assert_eq!(call["preferred_time"], "weekdays after 15");
    assert_eq!(call["note"], "About the interview");
    assert_eq!(call["status"], "open");
    assert_eq!(call["handled_at"], Value::Null);
    assert_eq!(call["handled_by"], Value::Null);
    assert_eq!(call["response_note"], Value::Null);
    let benefits = app
        .post(
            "/v1/me/contact-requests",
            Some(&me),
            json!({ "kind": "benefits_counselling" }),
        )
        .await
        .ok();
    assert_eq!(benefits["kind"], "benefits_counselling");
    assert_eq!(benefits["preferred_time"], Value::Null);
    assert_eq!(benefits["note"], Value::Null);

    let (call_id, benefits_id) = (
        call["id"].as_i64().unwrap(),
        benefits["id"].as_i64().unwrap(),
    );
    let staff_path = format!("/v1/participants/{pid}/contact-requests");
    assert_eq!(
        ids(&app.get("/v1/me/contact-requests", &me).await.ok()),
        vec![benefits_id, call_id]
    );
    let listed = app.get(&staff_path, &w.specialist).await.ok();
    assert_eq!(ids(&listed), vec![benefits_id, call_id]);
    assert_eq!(listed["items"][1], call);

    // Paging newest first.
    let page = app.get("/v1/me/contact-requests?limit=1", &me).await.ok();
    assert_eq!(ids(&page), vec![benefits_id]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = app
        .get(
            &format!("/v1/me/contact-requests?limit=1&cursor={cursor}"),
            &me,
        )
        .await
        .ok();
    assert_eq!(ids(&page), vec![call_id]);
    assert_eq!(page["next_cursor"], Value::Null);

    // `open` on an open request changes nothing.
    let same = app
        .patch(
            &format!("{staff_path}/{call_id}"),
            &w.specialist,
            json!({ "status": "open" }),
        )
        .await
        .ok();
    assert_eq!(same, call);

    let handled = app
        .patch(
            &format!("{staff_path}/{benefits_id}"),
            &w.specialist,
            json!({ "status": "handled", "response_note": "Booked with NAV on Tuesday" }),
        )
        .await
        .ok();
    assert_eq!(handled["status"], "handled");
    assert!(handled["handled_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        handled["handled_by"],
        json!({ "id": w.specialist_id, "name": "Staff spec@example.no" })
    );
    assert_eq!(handled["response_note"], "Booked with NAV on Tuesday");
    // The supervisor handles the other one, without a note.
    let by_supervisor = app
        .patch(
            &format!("{staff_path}/{call_id}"),
            &w.supervisor,
            json!({ "status": "handled" }),
        )
        .await
        .ok();
    assert_eq!(by_supervisor["handled_by"]["name"], "Staff sup@example.no");
    assert_eq!(by_supervisor["response_note"], Value::Null);

    // The participant sees the answers.
    let mine = app.get("/v1/me/contact-requests", &me).await.ok();
    assert_eq!(mine["items"][0], handled);

    // A handled request is neither reopened nor handled again.
    for change in [
        json!({ "status": "open" }),
        json!({ "status": "handled" }),
        json!({ "status": "handled", "response_note": "again" }),
    ] {
        assert_eq!(
            app.patch(
                &format!("{staff_path}/{benefits_id}"),
                &w.specialist,
                change
            )
            .await
            .assert_problem(409),
            "conflict"
        );
    }
    assert_eq!(
        app.get(&staff_path, &w.specialist).await.ok()["items"][0],
        handled
    );

    let actions = audit_actions(&app, &w, pid).await;
    for action in [
        "contact_requests.listed",
        "contact_request.handled",
        "contact_request.read",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn contact_requests_are_checked() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let cases = [
        (json!({}), "kind"),
        (json!({ "kind": "visit_me" }), "kind"),
        (
            json!({ "kind": "call_me", "preferred_time": "x".repeat(201) }),
            "preferred_time",
        ),
        (
            json!({ "kind": "call_me", "preferred_time": "   " }),
            "preferred_time",
        ),
        (
            json!({ "kind": "call_me", "note": "x".repeat(1001) }),
            "note",
        ),
        (json!({ "kind": "call_me", "note": "" }), "note"),
    ];
    for (body, field) in cases {
        assert_eq!(
            app.post("/v1/me/contact-requests", Some(&me), body.clone())
                .await
                .invalid_fields(),
            vec![field],
            "{body}"
        );
    }
    assert_eq!(
        app.post(
            "/v1/me/contact-requests",
            Some(&me),
            json!({ "kind": "call_me", "status": "handled" })
        )
        .await
        .assert_problem(422),
        "validation"
    );
    let longest = app
        .post(
            "/v1/me/contact-requests",
            Some(&me),
            json!({ "kind": "call_me", "preferred_time": "å".repeat(200), "note": "n".repeat(1000) }),
        )
        .await
        .ok();
    let id = longest["id"].as_i64().unwrap();
    let path = format!("/v1/participants/{pid}/contact-requests/{id}");
    let cases = [
        (json!({}), "status"),
        (json!({ "status": "closed" }), "status"),
        (
            json!({ "status": "handled", "response_note": "x".repeat(1001) }),
            "response_note",
        ),
        (
            json!({ "status": "handled", "response_note": " " }),
            "response_note",
        ),
        (
            json!({ "status": "open", "response_note": "noted" }),
            "response_note",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(
            app.patch(&path, &w.specialist, body.clone())
                .await
                .invalid_fields(),
            vec![field],
            "{body}"
        );
    }
    assert_eq!(
        app.patch(
            &path,
            &w.specialist,
            json!({ "status": "handled", "handled_by_staff_id": 1 })
        )
        .await
        .assert_problem(422),
        "validation"
    );
    // Nothing above changed the request.
    assert_eq!(
        app.get("/v1/me/contact-requests", &me).await.ok()["items"][0],
        longest
    );
    // An unknown request id is 404, like another participant's.
    assert_eq!(
        app.patch(
            &format!("/v1/participants/{pid}/contact-requests/{}", id + 1000),
            &w.specialist,
            json!({ "status": "handled" })
        )
        .await
        .assert_problem(404),
        "not-found"
    );
}

#[tokio::test]
async fn a_retried_post_with_the_same_key_creates_one_record() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (pid, me) = app.participant(&w.specialist, "Ola").await;
    let (_, other) = app.participant(&w.specialist, "Kari").await;

    let body = json!({ "body": "Are we still meeting at 10?" });
    let first = post_keyed(&app, "/v1/me/messages", &me, "msg-7f3a", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_keyed(&app, "/v1/me/messages", &me, "msg-7f3a", body.clone()).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(again.body, first.body);
    assert_eq!(ids(&app.get("/v1/me/messages", &me).await.ok()).len(), 1);

    // The same key with another body is a client bug, and creates nothing.
    let changed = post_keyed(
        &app,
        "/v1/me/messages",
        &me,
        "msg-7f3a",
        json!({ "body": "Different" }),
    )
    .await;
    assert_eq!(changed.invalid_fields(), vec!["Idempotency-Key"]);
    // ... as is the same key on another route.
    let elsewhere = post_keyed(
        &app,
        "/v1/me/contact-requests",
        &me,
        "msg-7f3a",
        json!({ "kind": "call_me" }),
    )
    .await;
    assert_eq!(elsewhere.invalid_fields(), vec!["Idempotency-Key"]);
    assert_eq!(ids(&app.get("/v1/me/messages", &me).await.ok()).len(), 1);
    assert_eq!(
        ids(&app.get("/v1/me/contact-requests", &me).await.ok()).len(),
        0
    );

    // Keys belong to their caller: another participant's identical key is their own.
    let theirs = post_keyed(&app, "/v1/me/messages", &other, "msg-7f3a", body.clone()).await;
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.body["id"], first.body["id"]);

    // Without a key every POST creates a record.
    app.post("/v1/me/messages", Some(&me), body.clone())
        .await
        .ok();
    assert_eq!(ids(&app.get("/v1/me/messages", &me).await.ok()).len(), 2);

    // Contact requests.
    let request =
        json!({ "kind": "benefits_counselling", "note": "Will work affect my benefits?" });
    let made = post_keyed(
        &app,
        "/v1/me/contact-requests",
        &me,
        "req-1",
        request.clone(),
    )
    .await;
    assert_eq!(made.status, 201);
    let replayed = post_keyed(
        &app,
        "/v1/me/contact-requests",
        &me,
        "req-1",
        request.clone(),
    )
    .await;
    assert_eq!(replayed.status, 201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, made.body);
    assert_eq!(
        ids(&app.get("/v1/me/contact-requests", &me).await.ok()).len(),
        1
    );

    // Staff messages.
    let path = format!("/v1/participants/{pid}/messages");
    let staff_body = json!({ "body": "See you at 10." });
    let sent = post_keyed(&app, &path, &w.specialist, "staff-1", staff_body.clone()).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let resent = post_keyed(&app, &path, &w.specialist, "staff-1", staff_body.clone()).await;
    assert_eq!(resent.header("idempotent-replayed"), Some("true"));
    assert_eq!(resent.body, sent.body);
    assert_eq!(
        post_keyed(
            &app,
            &path,
            &w.specialist,
            "staff-1",
            json!({ "body": "Other" })
        )
        .await
        .invalid_fields(),
        vec!["Idempotency-Key"]
    );
    assert_eq!(ids(&app.get(&path, &w.specialist).await.ok()).len(), 3);
    // A staff member who may not reach the participant gets 404 even when replaying someone's key.
    post_keyed(&app, &path, &w.colleague, "staff-1", staff_body.clone())
        .await
        .assert_problem(404);

    // A rejected body stores nothing: the key still works once the body is right.
    post_keyed(
        &app,
        "/v1/me/messages",
        &me,
        "fix-me",
        json!({ "body": "" }),
    )
    .await
    .invalid_fields();
    let fixed = post_keyed(
        &app,
        "/v1/me/messages",
        &me,
        "fix-me",
        json!({ "body": "fixed" }),
    )
    .await;
    assert_eq!(fixed.status, 201);
    assert_eq!(fixed.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn idempotency_keys_are_checked_and_expire_after_a_day() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Ola").await;
    let body = json!({ "body": "hello" });
    for bad in [String::new(), "k".repeat(256), "tab\tinside".to_owned()] {
        assert_eq!(
            post_keyed(&app, "/v1/me/messages", &me, &bad, body.clone())
                .await
                .invalid_fields(),
            vec!["Idempotency-Key"],
            "{bad:?}"
        );
    }
    let non_ascii = app
        .client
        .post(format!("{}/v1/me/messages", app.address))
        .bearer_auth(&me)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes("nøkkel".as_bytes()).unwrap(),
        )
        .json(&body);
    assert_eq!(
        app.run(non_ascii).await.invalid_fields(),
        vec!["Idempotency-Key"]
    );
    let twice = app
        .client
        .post(format!("{}/v1/me/messages", app.address))
        .bearer_auth(&me)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&body);
    assert_eq!(
        app.run(twice).await.invalid_fields(),
        vec!["Idempotency-Key"]
    );
    assert_eq!(ids(&app.get("/v1/me/messages", &me).await.ok()).len(), 0);

    let longest = "K".repeat(255);
    post_keyed(&app, "/v1/me/messages", &me, &longest, body.clone())
        .await
        .ok();
    post_keyed(
        &app,
        "/v1/me/messages",
        &me,
        "with spaces and ~!",
        body.clone(),
    )
    .await
    .ok();

    // Housekeeping keeps a day's keys and then deletes them.
    let swept = app
        .db
        .write(|conn| ips_core::store::housekeeping::sweep(conn, ips_core::store::now(), None))
        .await
        .unwrap();
    assert_eq!(swept.idempotency_keys, 0);
    let swept = app
        .db
        .write(|conn| {
            ips_core::store::housekeeping::sweep(
                conn,
                ips_core::store::now() + Duration::hours(25),
                None,
            )
        })
        .await
        .unwrap();
    assert_eq!(swept.idempotency_keys, 2);
    // After that the key is new again.
    let again = post_keyed(&app, "/v1/me/messages", &me, &longest, body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_eq!(ids(&app.get("/v1/me/messages", &me).await.ok()).len(), 3);
}

#[tokio::test]
async fn nobody_reaches_a_thread_or_request_that_is_not_theirs() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (a, token_a) = app.participant(&w.specialist, "A").await;
    let (b, token_b) = app.participant(&w.specialist, "B").await;
    let secret = app
        .post(
            "/v1/me/messages",
            Some(&token_a),
            json!({ "body": "secret" }),
        )
        .await
        .ok();
    let request = app
        .post(
            "/v1/me/contact-requests",
            Some(&token_a),
            json!({ "kind": "benefits_counselling" }),
        )
        .await
        .ok();
    let (message_id, request_id) = (
        secret["id"].as_i64().unwrap(),
        request["id"].as_i64().unwrap(),
    );

    // Participant B sees an empty thread and no requests, cannot mark A's message read, and
    // cannot reach the staff routes at all.
    let b_thread = app.get("/v1/me/messages", &token_b).await.ok();
    assert_eq!(b_thread, json!({ "items": [], "next_cursor": null }));
    assert_eq!(
        app.get("/v1/me/messages/unread", &token_b).await.ok(),
        json!({ "unread_count": 0, "latest_message_at": null })
    );
    assert_eq!(
        app.get("/v1/me/contact-requests", &token_b).await.ok(),
        json!({ "items": [], "next_cursor": null })
    );
    assert_eq!(
        app.post(
            "/v1/me/messages/read",
            Some(&token_b),
            json!({ "up_to_id": message_id })
        )
        .await
        .invalid_fields(),
        vec!["up_to_id"]
    );
    let staff_routes = [
        (Method::GET, format!("/v1/participants/{a}/messages"), None),
        (
            Method::POST,
            format!("/v1/participants/{a}/messages"),
            Some(json!({ "body": "hi" })),
        ),
        (
            Method::POST,
            format!("/v1/participants/{a}/messages/read"),
            Some(json!({ "up_to_id": message_id })),
        ),
        (
            Method::GET,
            format!("/v1/participants/{a}/messages/unread"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/participants/{a}/contact-requests"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/participants/{a}/contact-requests/{request_id}"),
            Some(json!({ "status": "handled" })),
        ),
    ];
    for (method, path, body) in &staff_routes {
        for token in [&token_a, &token_b] {
            let reply = app
                .send(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(reply.assert_problem(403), "forbidden", "{method} {path}");
        }
        // A colleague in the same team and a specialist of another team: 404, as if A did not exist.
        for token in [&w.colleague, &w.outsider] {
            let reply = app
                .send(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(reply.assert_problem(404), "not-found", "{method} {path}");
        }
        // Administrators manage accounts, not people's cases.
        let reply = app
            .send(method.clone(), path, Some(&w.admin), body.clone())
            .await;
        assert_eq!(reply.assert_problem(403), "forbidden", "{method} {path}");
        // Without a token: 401.
        let reply = app.send(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            reply.assert_problem(401),
            "unauthenticated",
            "{method} {path}"
        );
    }
    // A request of another participant under B's id is 404 for the specialist of both.
    assert_eq!(
        app.patch(
            &format!("/v1/participants/{b}/contact-requests/{request_id}"),
            &w.specialist,
            json!({ "status": "handled" })
        )
        .await
        .assert_problem(404),
        "not-found"
    );

    // Staff tokens on the participant's routes: 403.
    let me_routes = [
        (Method::GET, "/v1/me/team", None),
        (Method::GET, "/v1/me/messages", None),
        (
            Method::POST,
            "/v1/me/messages",
            Some(json!({ "body": "hi" })),
        ),
        (
            Method::POST,
            "/v1/me/messages/read",
            Some(json!({ "up_to_id": message_id })),
        ),
        (Method::GET, "/v1/me/messages/unread", None),
        (Method::GET, "/v1/me/contact-requests", None),
        (
            Method::POST,
            "/v1/me/contact-requests",
            Some(json!({ "kind": "call_me" })),
        ),
    ];
    for (method, path, body) in &me_routes {
        for token in [&w.specialist, &w.supervisor, &w.admin] {
            let reply = app
                .send(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(reply.assert_problem(403), "forbidden", "{method} {path}");
        }
        let reply = app.send(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            reply.assert_problem(401),
            "unauthenticated",
            "{method} {path}"
        );
    }

    // None of that touched A's thread or request.
    let thread = app.get("/v1/me/messages", &token_a).await.ok();
    assert_eq!(ids(&thread), vec![message_id]);
    assert_eq!(thread["items"][0]["read_at"], Value::Null);
    let requests = app.get("/v1/me/contact-requests", &token_a).await.ok();
    assert_eq!(requests["items"][0], request);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_record() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Ola").await;
    let body = json!({ "kind": "call_me", "preferred_time": "now, please" });
    let attempts =
        (0..6).map(|_| post_keyed(&app, "/v1/me/contact-requests", &me, "burst", body.clone()));
    let replies = futures_util::future::join_all(attempts).await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.body, replies[0].body);
    }
    let fresh = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1);
    assert_eq!(
        ids(&app.get("/v1/me/contact-requests", &me).await.ok()).len(),
        1
    );
}
