//! The caseload view: a specialist's people by urgency with filters, a supervisor's whole team and
//! its specialists, and who may see what.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, World};
use crate::seed::{self, Contact};

fn names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["display_name"].as_str().unwrap().to_owned())
        .collect()
}

fn row<'a>(reply: &'a Reply, name: &str) -> &'a Value {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["display_name"] == name)
        .unwrap_or_else(|| panic!("{name} in {}", reply.text))
}

fn interview_in(days: i64) -> Value {
    let start = chrono::Utc::now() + Duration::days(days);
    json!({
        "employer": "Rema 1000",
        "role_title": "Butikkmedarbeider",
        "starts_at": start.to_rfc3339(),
        "duration_minutes": 45,
    })
}

/// Eight participants of one specialist, each urgent for a different reason (or none), and one
/// of the colleague's: (the world, ids by name).
async fn caseload(app: &TestApp) -> (World, Vec<(&'static str, i64)>) {
    let w = World::build(app).await;
    let mut ids = Vec::new();
    for name in [
        "Due alert",
        "Overdue alert",
        "Overdue plan",
        "Interview soon",
        "Due in 3 days",
        "Nothing",
        "Snoozed",
        "Closed",
    ] {
        let (id, _) = app.enrol(&w.specialist, name).await;
        ids.push((name, id));
    }
    let id = |name: &str| ids.iter().find(|(n, _)| *n == name).unwrap().1;
    let spec = w.specialist_id;
    let day = Duration::days;
    seed::alert(app, id("Due alert"), spec, "follow_up_due", "open", None);
    seed::plan(app, id("Due alert"), "job_search", Some(&seed::now(day(1))));
    seed::alert(
        app,
        id("Overdue alert"),
        spec,
        "follow_up_overdue",
        "acknowledged",
        None,
    );
    // A resolved alert and a "due" one: the most urgent open kind is the overdue one.
    seed::alert(
        app,
        id("Overdue alert"),
        spec,
        "follow_up_due",
        "open",
        None,
    );
    seed::alert(
        app,
        id("Overdue alert"),
        spec,
        "message_unanswered",
        "resolved",
        None,
    );
    seed::plan(
        app,
        id("Overdue alert"),
        "new_job",
        Some(&seed::now(day(20))),
    );
    seed::plan(
        app,
        id("Overdue plan"),
        "after_job_loss",
        Some(&seed::now(day(-1))),
    );
    seed::plan(
        app,
        id("Interview soon"),
        "job_search",
        Some(&seed::now(day(10))),
    );
    app.post(
        &format!("/v1/participants/{}/interviews", id("Interview soon")),
        Some(&w.specialist),
        interview_in(2),
    )
    .await
    .ok();
    seed::plan(
        app,
        id("Due in 3 days"),
        "established_job",
        Some(&seed::now(day(3))),
    );
    Contact::with_participant(spec, w.team, id("Due in 3 days")).at(app, &seed::now(day(-4)));
    // A later attempt that did not reach them is not their last contact.
    Contact::with_participant(spec, w.team, id("Due in 3 days"))
        .by("phone")
        .not_reached()
        .at(app, &seed::now(day(-1)));
    seed::alert(
        app,
        id("Snoozed"),
        spec,
        "follow_up_overdue",
        "snoozed",
        Some(&seed::now(day(1))),
    );
    seed::plan(app, id("Snoozed"), "job_search", Some(&seed::now(day(5))));
    seed::run(
        app,
        &format!(
            "UPDATE participants SET status = 'closed', closed_reason = 'moved' WHERE id = {}",
            id("Closed")
        ),
    );
    seed::alert(
        app,
        id("Closed"),
        spec,
        "participant_withdrew",
        "resolved",
        None,
    );
    let (theirs, _) = app.enrol(&w.colleague, "The colleague's").await;
    seed::alert(
        app,
        theirs,
        w.colleague_id,
        "follow_up_overdue",
        "open",
        None,
    );
    (w, ids)
}

#[tokio::test]
async fn the_caseload_comes_most_urgent_first() {
    let app = TestApp::spawn().await;
    let (w, ids) = caseload(&app).await;
    let view = app.get("/v1/caseload", &w.specialist).await;
    // Open alerts (overdue-type first), then an overdue plan, then the soonest interview, then
    // the soonest due time; no plan at all comes last; closed cases are left out.
    assert_eq!(
        names(&view),
        [
            "Overdue alert",
            "Due alert",
            "Overdue plan",
            "Interview soon",
            "Due in 3 days",
            "Snoozed",
            "Nothing"
        ]
    );
    assert_eq!(view.body["total"], 7);

    let overdue_alert = row(&view, "Overdue alert");
    assert_eq!(overdue_alert["open_alerts"], 2);
    assert_eq!(overdue_alert["most_urgent_alert"], "follow_up_overdue");
    assert_eq!(overdue_alert["phase"], "new_job");
    assert_eq!(overdue_alert["overdue"], false);
    assert_eq!(overdue_alert["status"], "job_seeking");
    assert_eq!(overdue_alert["specialist_id"], w.specialist_id);
    assert_eq!(overdue_alert["specialist_name"], "Staff spec@example.no");
    let plan = row(&view, "Overdue plan");
    assert_eq!(plan["overdue"], true);
    assert_eq!(plan["open_alerts"], 0);
    assert_eq!(plan["most_urgent_alert"], Value::Null);
    assert!(plan["due_at"].as_str().unwrap().ends_with('Z'));
    let interview = row(&view, "Interview soon");
    assert!(interview["next_interview_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(
        row(&view, "Due in 3 days")["next_interview_at"],
        Value::Null
    );
    let contacted = row(&view, "Due in 3 days")["last_contact_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let four_days_ago = chrono::Utc::now() - Duration::days(4);
    let contacted = chrono::DateTime::parse_from_rfc3339(&contacted).unwrap();
    assert!((contacted.to_utc() - four_days_ago).num_minutes().abs() < 5);
    // A snooze that has not run out keeps the alert off the count.
    assert_eq!(row(&view, "Snoozed")["open_alerts"], 0);
    let nothing = row(&view, "Nothing");
    // Every enrolment makes a plan: weekly job search, first due a week on.
    assert_eq!(nothing["phase"], "job_search");
    assert!(nothing["due_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(nothing["last_contact_at"], Value::Null);

    // One audit row per participant shown.
    let shown = seed::count(
        &app,
        "SELECT COUNT(*) AS id FROM audit_events WHERE action = 'caseload.listed'",
    );
    assert_eq!(shown, 7);
    let limited = app.get("/v1/caseload?limit=2", &w.specialist).await;
    assert_eq!(names(&limited), ["Overdue alert", "Due alert"]);
    assert_eq!(limited.body["total"], 7);
    assert_eq!(
        seed::count(
            &app,
            "SELECT COUNT(*) AS id FROM audit_events WHERE action = 'caseload.listed'"
        ),
        9
    );
    let closed = ids.iter().find(|(n, _)| *n == "Closed").unwrap().1;
    assert_eq!(
        seed::count(
            &app,
            &format!(
                "SELECT COUNT(*) AS id FROM audit_events WHERE action = 'caseload.listed' AND participant_id = {closed}"
            )
        ),
        0,
        "a participant not shown is not recorded as read"
    );
}

#[tokio::test]
async fn filters_narrow_the_caseload() {
    let app = TestApp::spawn().await;
    let (w, _) = caseload(&app).await;
    let get = |query: String| {
        let (app, token) = (&app, w.specialist.clone());
        async move { names(&app.get(&format!("/v1/caseload?{query}"), &token).await) }
    };
    assert_eq!(
        get("has_open_alerts=true".into()).await,
        ["Overdue alert", "Due alert"]
    );
    assert_eq!(
        get("has_open_alerts=false".into()).await,
        [
            "Overdue plan",
            "Interview soon",
            "Due in 3 days",
            "Snoozed",
            "Nothing"
        ]
    );
    assert_eq!(get("overdue=true".into()).await, ["Overdue plan"]);
    assert_eq!(
        get("overdue=false&has_open_alerts=true".into()).await,
        ["Overdue alert", "Due alert"]
    );
    assert_eq!(get("phase=established_job".into()).await, ["Due in 3 days"]);
    assert_eq!(
        get("phase=job_search".into()).await,
        ["Due alert", "Interview soon", "Snoozed", "Nothing"]
    );
    assert_eq!(get("status=closed".into()).await, ["Closed"]);
    assert_eq!(get("status=in_work".into()).await, Vec::<String>::new());
    let everyone = get("include_closed=true".into()).await;
    assert_eq!(everyone.len(), 8);
    assert_eq!(everyone.last().map(String::as_str), Some("Closed"));
    assert_eq!(
        get(format!("specialist_id={}", w.specialist_id))
            .await
            .len(),
        7,
        "a specialist may name themselves"
    );
}

#[tokio::test]
async fn a_supervisor_sees_the_whole_team_and_a_specialist_only_their_own() {
    let app = TestApp::spawn().await;
    let (w, _) = caseload(&app).await;
    let (_, other_supervisor) = app
        .staff_member(
            &w.admin,
            "sup2@example.no",
            "supervisor",
            Some(w.other_team),
        )
        .await;
    app.enrol(&w.outsider, "Another team's").await;

    let team = app.get("/v1/caseload", &w.supervisor).await;
    let all = names(&team);
    assert_eq!(all.len(), 8);
    assert_eq!(
        &all[..3],
        ["The colleague's", "Overdue alert", "Due alert"],
        "both have an overdue-type alert; the colleague's plan (made at enrolment, due a week on) is due sooner"
    );
    assert!(!all.contains(&"Another team's".to_owned()));
    let colleagues = app
        .get(
            &format!("/v1/caseload?specialist_id={}", w.colleague_id),
            &w.supervisor,
        )
        .await;
    assert_eq!(names(&colleagues), ["The colleague's"]);
    assert_eq!(
        row(&colleagues, "The colleague's")["specialist_name"],
        "Staff col@example.no"
    );
    // A specialist of another team named by the supervisor: nobody of theirs is shown.
    let outsider_id = seed::count(&app, "SELECT id FROM staff WHERE email = 'out@example.no'");
    let none = app
        .get(
            &format!("/v1/caseload?specialist_id={outsider_id}"),
            &w.supervisor,
        )
        .await;
    assert_eq!(names(&none), Vec::<String>::new());

    assert_eq!(
        names(&app.get("/v1/caseload", &w.colleague).await),
        ["The colleague's"]
    );
    assert_eq!(
        names(&app.get("/v1/caseload", &w.outsider).await),
        ["Another team's"]
    );
    assert_eq!(
        names(&app.get("/v1/caseload", &other_supervisor).await),
        ["Another team's"]
    );

    // A specialist cannot look into a colleague's caseload by naming them.
    let peek = app
        .get(
            &format!("/v1/caseload?specialist_id={}", w.colleague_id),
            &w.specialist,
        )
        .await;
    assert_eq!(peek.invalid_fields(), ["specialist_id"]);
    assert!(!peek.text.contains("colleague's"));
}

#[tokio::test]
async fn bad_filters_are_422_and_outsiders_are_refused() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    for (query, field) in [
        ("status=sleeping", "status"),
        ("phase=holiday", "phase"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("has_open_alerts=maybe", "query"),
        ("overdue=1x", "query"),
        ("specialist_id=abc", "query"),
        ("sort=name", "query"),
    ] {
        let reply = app
            .get(&format!("/v1/caseload?{query}"), &w.specialist)
            .await;
        assert_eq!(reply.invalid_fields(), [field], "{query}");
    }
    let (_, participant) = app.participant(&w.specialist, "Ola").await;
    app.get("/v1/caseload", &participant)
        .await
        .assert_problem(403);
    app.get("/v1/caseload", &w.admin).await.assert_problem(403);
    app.send(reqwest::Method::GET, "/v1/caseload", None, None)
        .await
        .assert_problem(401);
    app.get("/v1/caseload/specialists", &participant)
        .await
        .assert_problem(403);
    app.get("/v1/caseload/specialists", &w.specialist)
        .await
        .assert_problem(403);
    app.get("/v1/caseload/specialists", &w.admin)
        .await
        .assert_problem(403);
}

#[tokio::test]
async fn the_team_view_shows_every_specialists_load() {
    let app = TestApp::spawn().await;
    let (w, _) = caseload(&app).await;
    // The colleague carries 21 more open cases: over the fidelity target of 20.
    for n in 0..21 {
        seed::participant(
            &app,
            w.team,
            w.colleague_id,
            &format!("Extra {n}"),
            &seed::now(Duration::days(-30)),
            None,
            "job_seeking",
            None,
            None,
        );
    }
    // A specialist who left with nobody on their caseload is not listed; one who left with a case
    // still assigned is, so the supervisor sees it must be reassigned.
    let (gone, _) = app
        .staff_member(&w.admin, "gone@example.no", "specialist", Some(w.team))
        .await;
    let (leaving, _) = app
        .staff_member(&w.admin, "leaving@example.no", "specialist", Some(w.team))
        .await;
    seed::participant(
        &app,
        w.team,
        leaving,
        "Left behind",
        &seed::now(Duration::days(-3)),
        None,
        "paused",
        None,
        None,
    );
    for id in [gone, leaving] {
        app.patch(
            &format!("/v1/staff/{id}"),
            &w.admin,
            json!({ "active": false }),
        )
        .await
        .ok();
    }

    let reply = app.get("/v1/caseload/specialists", &w.supervisor).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let items = reply.body["items"].as_array().unwrap();
    let by_name = |name: &str| {
        items
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {}", reply.text))
    };
    assert_eq!(items.len(), 3, "{}", reply.text);
    assert!(items.iter().all(|s| s["name"] != "Staff gone@example.no"));
    let spec = by_name("Staff spec@example.no");
    assert_eq!(spec["id"], w.specialist_id);
    assert_eq!(spec["active"], true);
    assert_eq!(
        spec["active_participants"], 7,
        "the closed case is not active"
    );
    assert_eq!(spec["caseload_target"], 20);
    assert_eq!(spec["within_caseload_target"], true);
    // Open: the overdue (acknowledged) and due alerts of one person, the due alert of another;
    // the snoozed, the resolved and the closed case's resolved one are not open.
    assert_eq!(spec["open_alerts"], 3);
    assert_eq!(spec["overdue_follow_ups"], 1);
    let colleague = by_name("Staff col@example.no");
    assert_eq!(colleague["active_participants"], 22);
    assert_eq!(colleague["within_caseload_target"], false);
    assert_eq!(colleague["open_alerts"], 1);
    assert_eq!(colleague["overdue_follow_ups"], 0);
    let left = by_name("Staff leaving@example.no");
    assert_eq!(left["active"], false);
    assert_eq!(left["active_participants"], 1);
    // Counts only: no participant is named.
    assert!(!reply.text.contains("Overdue") && !reply.text.contains("Left behind"));

    // Another team's supervisor sees their own team's specialists only.
    let (_, other_supervisor) = app
        .staff_member(
            &w.admin,
            "sup2@example.no",
            "supervisor",
            Some(w.other_team),
        )
        .await;
    let theirs = app.get("/v1/caseload/specialists", &other_supervisor).await;
    let theirs: Vec<&str> = theirs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(theirs, ["Staff out@example.no"]);
}
