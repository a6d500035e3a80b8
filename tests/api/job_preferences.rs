//! Job preferences (IPS principle 7): the participant's own document, the specialist's view of it,
//! safe concurrent edits with `ETag`/`If-Match`, and the history of every version.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{self, Reply, TestApp, World};

async fn phone(app: &TestApp, specialist: &str, name: &str) -> (i64, String) {
    let (id, code) = app.enrol(specialist, name).await;
    let tokens = app
        .post("/v1/auth/enrol", None, json!({ "code": code }))
        .await
        .ok();
    (id, tokens["access_token"].as_str().unwrap().to_owned())
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value, if_match: Option<&str>) -> Reply {
    let mut request = app
        .client
        .request(Method::PUT, format!("{}{path}", app.address))
        .bearer_auth(token)
        .json(&body);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    app.run(request).await
}

fn empty_document() -> Value {
    json!({
        "goal": null, "desired_roles": [], "industries": [], "interests": [], "skills": [],
        "experience": null, "hours_per_week_min": null, "hours_per_week_max": null,
        "preferred_times": [], "locations": [], "max_commute_minutes": null, "avoid": [],
        "disclosure": null, "disclosure_notes": null, "notes": null
    })
}

fn full_document() -> Value {
    json!({
        "goal": "work",
        "desired_roles": ["Barista", "Lagermedarbeider"],
        "industries": ["Hospitality"],
        "interests": ["Coffee", "Cycling"],
        "skills": ["Customer service"],
        "experience": "Two summers at a café in Grünerløkka.",
        "hours_per_week_min": 10,
        "hours_per_week_max": 20,
        "preferred_times": ["morning", "daytime"],
        "locations": ["Oslo sentrum"],
        "max_commute_minutes": 40,
        "avoid": ["Night shifts"],
        "disclosure": "partial",
        "disclosure_notes": "May mention that I need regular breaks.",
        "notes": "Prefers small workplaces."
    })
}

/// The document fields of a response (without version, updated_at, updated_by).
fn document(body: &Value) -> Value {
    let mut doc = body.clone();
    let map = doc.as_object_mut().unwrap();
    for key in ["version", "updated_at", "updated_by"] {
        map.remove(key);
    }
    doc
}

#[tokio::test]
async fn before_any_save_the_document_is_empty_at_version_0() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    for reply in [
        app.get("/v1/me/job-preferences", &token).await,
        app.get(
            &format!("/v1/participants/{id}/job-preferences"),
            &w.specialist,
        )
        .await,
        app.get(
            &format!("/v1/participants/{id}/job-preferences"),
            &w.supervisor,
        )
        .await,
    ] {
        assert_eq!(reply.header("etag"), Some("\"0\""));
        let body = reply.ok();
        assert_eq!(document(&body), empty_document());
        assert_eq!(body["version"], 0);
        assert_eq!(body["updated_at"], Value::Null);
        assert_eq!(body["updated_by"], Value::Null);
    }
    let history = app
        .get(
            &format!("/v1/participants/{id}/job-preferences/history"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(history, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn the_participant_saves_and_the_specialist_sees() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;

    let saved = put(
        &app,
        "/v1/me/job-preferences",
        &token,
        full_document(),
        None,
    )
    .await;
    assert_eq!(saved.header("etag"), Some("\"1\""));
    let saved = saved.ok();
    assert_eq!(document(&saved), full_document());
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["updated_by"],
        json!({ "kind": "participant", "id": id })
    );
    assert!(saved["updated_at"].as_str().unwrap().ends_with('Z'));

    let mine = app.get("/v1/me/job-preferences", &token).await;
    assert_eq!(mine.header("etag"), Some("\"1\""));
    assert_eq!(mine.ok(), saved);
    let theirs = app
        .get(
            &format!("/v1/participants/{id}/job-preferences"),
            &w.specialist,
        )
        .await;
    assert_eq!(theirs.header("etag"), Some("\"1\""));
    assert_eq!(theirs.ok(), saved);

    // PUT replaces the whole document: what is left out is emptied. Text is trimmed, repeats
    // dropped, preferred times put in their fixed order.
    let replaced = put(
        &app,
        "/v1/me/job-preferences",
        &token,
        json!({
            "goal": "education",
            "interests": [" Drawing ", "Drawing", "Music"],
            "preferred_times": ["weekend", "evening", "weekend"],
            "notes": "   "
        }),
        Some("\"1\""),
    )
    .await
    .ok();
    let mut expected = empty_document();
    expected["goal"] = json!("education");
    expected["interests"] = json!(["Drawing", "Music"]);
    expected["preferred_times"] = json!(["evening", "weekend"]);
    assert_eq!(document(&replaced), expected);
    assert_eq!(replaced["version"], 2);

    // The specialist may edit too, and is named as the editor.
    let mut by_staff = full_document();
    by_staff["goal"] = json!("work");
    by_staff["hours_per_week_max"] = json!(30);
    let edited = put(
        &app,
        &format!("/v1/participants/{id}/job-preferences"),
        &w.specialist,
        by_staff.clone(),
        Some("\"2\""),
    )
    .await;
    assert_eq!(edited.header("etag"), Some("\"3\""));
    let edited = edited.ok();
    assert_eq!(
        edited["updated_by"],
        json!({ "kind": "staff", "id": w.specialist_id })
    );
    let mine = app.get("/v1/me/job-preferences", &token).await.ok();
    assert_eq!(document(&mine), by_staff);
    assert_eq!(mine["version"], 3);

    // Every staff read and write is in the audit trail; the participant's own writes too.
    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events"),
            &w.supervisor,
        )
        .await
        .ok();
    let actions: Vec<(String, String)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .unwrap()
                .starts_with("job_preferences.")
        })
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor_kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, k: &str| (a.to_owned(), k.to_owned());
    assert_eq!(
        actions,
        vec![
            pair("job_preferences.updated", "staff"),
            pair("job_preferences.updated", "participant"),
            pair("job_preferences.read", "staff"),
            pair("job_preferences.updated", "participant"),
        ]
    );
}

#[tokio::test]
async fn every_preferences_rule_is_refused_with_its_field() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let many: Vec<String> = (0..21).map(|i| format!("item {i}")).collect();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({ "goal": "fun" }), vec!["goal"]),
        (json!({ "desired_roles": many }), vec!["desired_roles"]),
        (json!({ "industries": ["ok", ""] }), vec!["industries"]),
        (json!({ "interests": ["   "] }), vec!["interests"]),
        (json!({ "skills": ["x".repeat(101)] }), vec!["skills"]),
        (json!({ "locations": many }), vec!["locations"]),
        (json!({ "avoid": ["y".repeat(101)] }), vec!["avoid"]),
        (json!({ "skills": "Welding" }), vec!["skills"]),
        (json!({ "skills": [3] }), vec!["skills[0]"]),
        (
            json!({ "experience": "e".repeat(2001) }),
            vec!["experience"],
        ),
        (
            json!({ "hours_per_week_min": -1 }),
            vec!["hours_per_week_min"],
        ),
        (
            json!({ "hours_per_week_max": 61 }),
            vec!["hours_per_week_max"],
        ),
        (
            json!({ "hours_per_week_min": 30, "hours_per_week_max": 20 }),
            vec!["hours_per_week_max"],
        ),
        (
            json!({ "hours_per_week_min": 2.5 }),
            vec!["hours_per_week_min"],
        ),
        (
            json!({ "preferred_times": ["brunch"] }),
            vec!["preferred_times[0]"],
        ),
        (
            json!({ "preferred_times": ["morning", "daytime", "afternoon", "evening", "night", "weekend", "morning"] }),
            vec!["preferred_times"],
        ),
        (
            json!({ "max_commute_minutes": 241 }),
            vec!["max_commute_minutes"],
        ),
        (
            json!({ "max_commute_minutes": -5 }),
            vec!["max_commute_minutes"],
        ),
        (json!({ "disclosure": "maybe" }), vec!["disclosure"]),
        (
            json!({ "disclosure_notes": "d".repeat(1001) }),
            vec!["disclosure_notes"],
        ),
        (json!({ "notes": "n".repeat(2001) }), vec!["notes"]),
        (json!({ "diagnosis": "F20" }), vec!["diagnosis"]),
        (
            json!({ "hours_per_week_min": 61, "max_commute_minutes": 999, "notes": "n".repeat(2001), "skills": [""] }),
            vec![
                "hours_per_week_min",
                "max_commute_minutes",
                "notes",
                "skills",
            ],
        ),
    ];
    for (body, fields) in cases {
        let mine = put(&app, "/v1/me/job-preferences", &token, body.clone(), None).await;
        assert_eq!(mine.invalid_fields(), fields, "{body}");
        let theirs = put(
            &app,
            &format!("/v1/participants/{id}/job-preferences"),
            &w.specialist,
            body.clone(),
            None,
        )
        .await;
        assert_eq!(theirs.invalid_fields(), fields, "{body}");
    }
    // The limits themselves are allowed.
    let edge = json!({
        "skills": (0..20).map(|_| "å".repeat(100)).collect::<Vec<_>>(),
        "hours_per_week_min": 0, "hours_per_week_max": 60, "max_commute_minutes": 240,
        "experience": "e".repeat(2000), "disclosure_notes": "d".repeat(1000), "notes": "n".repeat(2000),
        "disclosure": "no"
    });
    let saved = put(&app, "/v1/me/job-preferences", &token, edge, None)
        .await
        .ok();
    assert_eq!(saved["version"], 1, "nothing refused was saved");
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_the_first_edit_survives() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let staff_path = format!("/v1/participants/{id}/job-preferences");
    put(
        &app,
        "/v1/me/job-preferences",
        &token,
        full_document(),
        Some("\"0\""),
    )
    .await
    .ok();

    // The phone and the specialist both read version 1.
    let phone_tag = app
        .get("/v1/me/job-preferences", &token)
        .await
        .header("etag")
        .map(str::to_owned);
    let staff_tag = app
        .get(&staff_path, &w.specialist)
        .await
        .header("etag")
        .map(str::to_owned);
    assert_eq!(phone_tag.as_deref(), Some("\"1\""));
    assert_eq!(staff_tag, phone_tag);

    // The phone saves first...
    let mut from_phone = full_document();
    from_phone["desired_roles"] = json!(["Bike courier"]);
    let first = put(
        &app,
        "/v1/me/job-preferences",
        &token,
        from_phone.clone(),
        phone_tag.as_deref(),
    )
    .await;
    assert_eq!(first.header("etag"), Some("\"2\""));

    // ...so the specialist's edit from the same version is refused and changes nothing.
    let mut from_staff = full_document();
    from_staff["desired_roles"] = json!(["Office clerk"]);
    let second = put(
        &app,
        &staff_path,
        &w.specialist,
        from_staff.clone(),
        staff_tag.as_deref(),
    )
    .await;
    assert_eq!(second.assert_problem(412), "precondition-failed");
    let now = app.get(&staff_path, &w.specialist).await;
    assert_eq!(now.header("etag"), Some("\"2\""));
    let now = now.ok();
    assert_eq!(document(&now), from_phone);
    assert_eq!(now["updated_by"]["kind"], "participant");

    // Having read the new version, the specialist's edit goes through.
    let retried = put(
        &app,
        &staff_path,
        &w.specialist,
        from_staff.clone(),
        Some("\"2\""),
    )
    .await
    .ok();
    assert_eq!(retried["version"], 3);

    // A weak tag, a tag we never issued or an old one never match; `*`, a list holding the
    // current tag, or no If-Match at all are accepted.
    for tag in ["W/\"3\"", "3", "\"abc\"", "\"2\"", "\"4\""] {
        let reply = put(
            &app,
            "/v1/me/job-preferences",
            &token,
            empty_document(),
            Some(tag),
        )
        .await;
        assert_eq!(reply.assert_problem(412), "precondition-failed", "{tag}");
    }
    assert_eq!(
        put(
            &app,
            "/v1/me/job-preferences",
            &token,
            full_document(),
            Some("*")
        )
        .await
        .ok()["version"],
        4
    );
    assert_eq!(
        put(
            &app,
            "/v1/me/job-preferences",
            &token,
            full_document(),
            Some("\"1\", \"4\"")
        )
        .await
        .ok()["version"],
        5
    );
    assert_eq!(
        put(
            &app,
            "/v1/me/job-preferences",
            &token,
            full_document(),
            None
        )
        .await
        .ok()["version"],
        6
    );
    // An invalid body with a stale tag is 422 (nothing is looked up before the body is valid).
    let reply = put(
        &app,
        "/v1/me/job-preferences",
        &token,
        json!({ "goal": "fun" }),
        Some("\"1\""),
    )
    .await;
    assert_eq!(reply.invalid_fields(), vec!["goal"]);
}

#[tokio::test]
async fn concurrent_saves_from_one_version_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let staff_path = format!("/v1/participants/{id}/job-preferences");
    let mut saves = Vec::new();
    for i in 0..6 {
        let (path, who) = if i % 2 == 0 {
            ("/v1/me/job-preferences", token.as_str())
        } else {
            (staff_path.as_str(), w.specialist.as_str())
        };
        let request = app
            .client
            .request(Method::PUT, format!("{}{path}", app.address))
            .bearer_auth(who)
            .header("if-match", "\"0\"")
            .json(&json!({ "notes": format!("save {i}") }));
        saves.push(tokio::spawn(helpers::run(request)));
    }
    let mut replies = Vec::new();
    for save in saves {
        replies.push(save.await.unwrap());
    }
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for lost in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(lost.assert_problem(412), "precondition-failed");
    }
    let now = app.get("/v1/me/job-preferences", &token).await.ok();
    assert_eq!(now["version"], 1);
    assert_eq!(now["notes"], won[0].body["notes"]);
    let history = app
        .get(
            &format!("/v1/participants/{id}/job-preferences/history"),
            &w.specialist,
        )
        .await
        .ok();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_history_records_who_changed_what() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = phone(&app, &w.specialist, "Ola").await;
    let staff_path = format!("/v1/participants/{id}/job-preferences");
    let history_path = format!("{staff_path}/history");

    let v1 = json!({ "goal": "work", "desired_roles": ["Barista"] });
    let v2 = json!({ "goal": "work", "desired_roles": ["Barista"], "hours_per_week_max": 20 });
    let v3 = json!({ "goal": "education", "desired_roles": ["Barista"], "hours_per_week_max": 20, "notes": "Wants to finish upper secondary first." });
    put(&app, "/v1/me/job-preferences", &token, v1.clone(), None)
        .await
        .ok();
    put(&app, &staff_path, &w.specialist, v2.clone(), None)
        .await
        .ok();
    put(&app, &staff_path, &w.supervisor, v3.clone(), None)
        .await
        .ok();
    let supervisor_id = app.get("/v1/staff/me", &w.supervisor).await.ok()["id"].clone();

    let history = app.get(&history_path, &w.specialist).await.ok();
    let items = history["items"].as_array().unwrap();
    assert_eq!(history["next_cursor"], Value::Null);
    let summary: Vec<Value> = items
        .iter()
        .map(|i| json!([i["version"], i["changed_by"], i["changed_fields"]]))
        .collect();
    assert_eq!(
        summary,
        vec![
            json!([3, { "kind": "staff", "id": supervisor_id }, ["goal", "notes"]]),
            json!([2, { "kind": "staff", "id": w.specialist_id }, ["hours_per_week_max"]]),
            json!([1, { "kind": "participant", "id": id }, ["goal", "desired_roles"]]),
        ]
    );
    assert_eq!(items[0]["preferences"]["notes"], v3["notes"]);
    assert_eq!(items[2]["preferences"]["hours_per_week_max"], Value::Null);
    assert!(items[0]["changed_at"].as_str().unwrap().ends_with('Z'));
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());

    // Paged one at a time, each page still knows what its version changed.
    let mut cursor: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("{history_path}?limit=1&cursor={c}"),
            None => format!("{history_path}?limit=1"),
        };
        let page = app.get(&path, &w.supervisor).await.ok();
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(&paged, items);
    assert_eq!(
        app.get(&format!("{history_path}?limit=0"), &w.specialist)
            .await
            .invalid_fields(),
        vec!["limit"]
    );

    // Reading the history is audited.
    let trail = app
        .get(
            &format!("/v1/participants/{id}/audit-events?limit=2"),
            &w.supervisor,
        )
        .await
        .ok();
    assert_eq!(trail["items"][1]["action"], "job_preferences.history_read");
}

#[tokio::test]
async fn nobody_reaches_another_participants_preferences() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (a, token_a) = phone(&app, &w.specialist, "A").await;
    let (_, token_b) = phone(&app, &w.specialist, "B").await;
    put(
        &app,
        "/v1/me/job-preferences",
        &token_a,
        full_document(),
        None,
    )
    .await
    .ok();
    let a_path = format!("/v1/participants/{a}/job-preferences");
    let a_history = format!("{a_path}/history");

    // Participant B sees only B's own (empty) document, and cannot use the staff routes for A.
    let b_own = app.get("/v1/me/job-preferences", &token_b).await.ok();
    assert_eq!(document(&b_own), empty_document());
    put(
        &app,
        "/v1/me/job-preferences",
        &token_b,
        json!({ "goal": "education" }),
        None,
    )
    .await
    .ok();
    for reply in [
        app.get(&a_path, &token_b).await,
        put(&app, &a_path, &token_b, empty_document(), None).await,
        app.get(&a_history, &token_b).await,
    ] {
        assert_eq!(reply.assert_problem(403), "forbidden");
    }

    // Staff tokens on the participant's own routes are 403.
    for staff in [&w.specialist, &w.supervisor, &w.admin] {
        assert_eq!(
            app.get("/v1/me/job-preferences", staff)
                .await
                .assert_problem(403),
            "forbidden"
        );
        assert_eq!(
            put(
                &app,
                "/v1/me/job-preferences",
                staff,
                empty_document(),
                None
            )
            .await
            .assert_problem(403),
            "forbidden"
        );
    }

    // A colleague's or another team's specialist: 404, exactly like an unknown participant.
    let unknown = app
        .get("/v1/participants/987654/job-preferences", &w.specialist)
        .await;
    assert_eq!(unknown.assert_problem(404), "not-found");
    for staff in [&w.colleague, &w.outsider] {
        for reply in [
            app.get(&a_path, staff).await,
            put(&app, &a_path, staff, empty_document(), None).await,
            put(&app, &a_path, staff, empty_document(), Some("\"1\"")).await,
            app.get(&a_history, staff).await,
        ] {
            assert_eq!(reply.assert_problem(404), "not-found");
            assert_eq!(reply.body, unknown.body);
        }
    }
    // Administrators manage accounts, not people's cases.
    for reply in [
        app.get(&a_path, &w.admin).await,
        put(&app, &a_path, &w.admin, empty_document(), None).await,
        app.get(&a_history, &w.admin).await,
    ] {
        assert_eq!(reply.assert_problem(403), "forbidden");
    }
    // No token at all.
    let anonymous = app
        .send(Method::GET, "/v1/me/job-preferences", None, None)
        .await;
    assert_eq!(anonymous.assert_problem(401), "unauthenticated");

    // None of that changed A's document.
    let a_now = app.get("/v1/me/job-preferences", &token_a).await.ok();
    assert_eq!(document(&a_now), full_document());
    assert_eq!(a_now["version"], 1);
}
