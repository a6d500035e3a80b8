//! The follow-up plan: made with the enrolment, read and changed by the caseload's staff with
//! `ETag`/`If-Match`, seen by the participant only as their next agreed contact. The columns the
//! alert scanner reads (`due_at`, `follow_up_check_at`/`_stage`, `employer_check_at`) are read
//! with SQL, not through the API, and checked against times computed here by hand.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use chrono_tz::Tz;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, World};

/// The plan's row as the scanner sees it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PlanColumns {
    #[diesel(sql_type = Text)]
    pub phase: String,
    #[diesel(sql_type = Integer)]
    pub cadence_days: i32,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub due_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub follow_up_check_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    pub follow_up_check_stage: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub employer_check_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub next_contact_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_contact_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub paused_until: Option<NaiveDateTime>,
    #[diesel(sql_type = Integer)]
    pub version: i32,
}

pub fn plan_columns(app: &TestApp, participant: i64) -> PlanColumns {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!(
        "SELECT phase, cadence_days, due_at, follow_up_check_at, follow_up_check_stage, \
         employer_check_at, next_contact_at, last_contact_at, paused_until, version \
         FROM follow_up_plans WHERE participant_id = {participant}"
    ))
    .get_result(&mut *conn)
    .unwrap()
}

/// Runs SQL against the app's database (what the alert scanner would write, for example).
pub fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql).execute(&mut *conn).unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

pub fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut *conn)
        .unwrap()
        .n
}

/// Asserts the scanner's first check of a plan due at `due`: the lead before it, stage `due`.
pub fn assert_first_check(columns: &PlanColumns, due: NaiveDateTime, lead: Duration) {
    assert_eq!(columns.due_at, Some(due), "{columns:?}");
    assert_eq!(columns.follow_up_check_at, Some(due - lead), "{columns:?}");
    assert_eq!(
        columns.follow_up_check_stage.as_deref(),
        Some("due"),
        "{columns:?}"
    );
}

/// An RFC 3339 timestamp from an answer, as naive UTC.
pub fn instant(value: &Value) -> NaiveDateTime {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}")))
        .unwrap()
        .naive_utc()
}

/// The same wall-clock time `days` later in the participant's zone (Oslo), computed here with
/// chrono-tz alone.
pub fn plus_local_days(at: NaiveDateTime, days: u64) -> NaiveDateTime {
    let local = Oslo.from_utc_datetime(&at).naive_local() + Days::new(days);
    Oslo.from_local_datetime(&local)
        .earliest()
        .unwrap()
        .naive_utc()
}

/// The start of a local date in Oslo, as naive UTC.
pub fn oslo_midnight(date: NaiveDate) -> NaiveDateTime {
    start_in(Oslo, date)
}

pub fn start_in(tz: Tz, date: NaiveDate) -> NaiveDateTime {
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .naive_utc()
}

/// The local date in Oslo at `at`.
pub fn oslo_date(at: NaiveDateTime) -> NaiveDate {
    Oslo.from_utc_datetime(&at).date_naive()
}

/// A time to the second, as naive UTC (what a client would send).
pub fn whole_seconds(at: DateTime<Utc>) -> NaiveDateTime {
    DateTime::from_timestamp(at.timestamp(), 0)
        .unwrap()
        .naive_utc()
}

pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A request with extra headers (`If-Match`, `Idempotency-Key`, a content type).
pub async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{}", app.address, path))
        .bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.run(request).await
}

/// The number of audit rows of `action` about `participant`.
pub fn audited(app: &TestApp, participant: i64, action: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE participant_id = {participant} AND action = '{action}'"
        ),
    )
}

#[tokio::test]
async fn enrolment_makes_a_weekly_plan_with_the_scanner_columns_set() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola Nordmann").await;
    let participant = app
        .get(&format!("/v1/participants/{id}"), &w.specialist)
        .await
        .ok();
    let enrolled = instant(&participant["enrolled_at"]);

    let reply = app
        .get(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
        )
        .await;
    assert_eq!(reply.header("etag"), Some("\"1\""), "{}", reply.text);
    let plan = reply.ok();
    assert_eq!(plan["participant_id"], id);
    assert_eq!(plan["phase"], "job_search");
    assert_eq!(plan["cadence_days"], 7);
    assert_eq!(plan["next_contact_at"], Value::Null);
    assert_eq!(plan["last_contact_at"], Value::Null);
    assert_eq!(plan["paused_until"], Value::Null);
    assert_eq!(plan["version"], 1);
    assert_eq!(instant(&plan["started_at"]), enrolled);
    let due = plus_local_days(enrolled, 7);
    assert_eq!(instant(&plan["due_at"]), due);
    assert_eq!(plan["updated_by"]["kind"], "staff");
    assert_eq!(plan["updated_by"]["id"], w.specialist_id);
    // Nothing of the scanner's workings is shown.
    assert!(plan.get("follow_up_check_at").is_none() && plan.get("employer_check_at").is_none());

    let columns = plan_columns(&app, id);
    assert_first_check(&columns, due, Duration::hours(24));
    assert_eq!(
        columns.employer_check_at,
        Some(enrolled + Duration::days(30))
    );
    assert_eq!(audited(&app, id, "follow_up_plan.read"), 1);

    let history = app
        .get(
            &format!("/v1/participants/{id}/status-history"),
            &w.specialist,
        )
        .await
        .ok();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{history}");
    assert_eq!(items[0]["from_status"], Value::Null);
    assert_eq!(items[0]["to_status"], "job_seeking");
    assert_eq!(
        items[0]["changed_by"],
        json!({ "kind": "staff", "id": w.specialist_id })
    );
    assert_eq!(instant(&items[0]["changed_at"]), enrolled);
}

#[tokio::test]
async fn the_lead_and_the_employer_watch_follow_the_configuration() {
    let app = TestApp::spawn_with(|c| {
        c.alert_follow_up_lead_hours = 48;
        c.alert_no_employer_contact_days = 21;
    })
    .await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Kari").await;
    let plan = app
        .get(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
        )
        .await
        .ok();
    let enrolled = instant(&plan["started_at"]);
    let columns = plan_columns(&app, id);
    assert_first_check(&columns, plus_local_days(enrolled, 7), Duration::hours(48));
    assert_eq!(
        columns.employer_check_at,
        Some(enrolled + Duration::days(21))
    );
}

async fn patch_plan(
    app: &TestApp,
    token: &str,
    id: i64,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let headers: Vec<(&str, &str)> = if_match.map(|t| vec![("If-Match", t)]).unwrap_or_default();
    send_with(
        app,
        Method::PATCH,
        &format!("/v1/participants/{id}/follow-up-plan"),
        token,
        &headers,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn staff_change_the_plan_with_if_match_and_a_stale_version_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let first = app
        .get(
            &format!("/v1/participants/{id}/follow-up-plan"),
            &w.specialist,
        )
        .await
        .ok();
    let started = instant(&first["started_at"]);

    // The specialist makes it fortnightly.
    let reply = patch_plan(
        &app,
        &w.specialist,
        id,
        Some("\"1\""),
        json!({ "cadence_days": 14 }),
    )
    .await;
    assert_eq!(reply.header("etag"), Some("\"2\""), "{}", reply.text);
    let plan = reply.ok();
    assert_eq!(plan["cadence_days"], 14);
    assert_eq!(plan["version"], 2);
    let due = plus_local_days(started, 14);
    assert_eq!(instant(&plan["due_at"]), due);
    assert_first_check(&plan_columns(&app, id), due, Duration::hours(24));

    // The supervisor, from the version read before, is refused and nothing changes.
    let stale = patch_plan(
        &app,
        &w.supervisor,
        id,
        Some("\"1\""),
        json!({ "cadence_days": 3 }),
    )
    .await;
    assert_eq!(stale.assert_problem(412), "precondition-failed");
    let after = plan_columns(&app, id);
    assert_eq!((after.cadence_days, after.version), (14, 2));
    assert_eq!(
        patch_plan(
            &app,
            &w.supervisor,
            id,
            Some("W/\"2\""),
            json!({ "cadence_days": 3 })
        )
        .await
        .assert_problem(412),
        "precondition-failed",
        "a weak tag never matches"
    );

    // An empty change writes nothing.
    let same = patch_plan(&app, &w.supervisor, id, Some("\"2\""), json!({})).await;
    assert_eq!(same.header("etag"), Some("\"2\""), "{}", same.text);
    assert_eq!(plan_columns(&app, id), after);

    // A new phase without a cadence takes the phase's default.
    let plan = patch_plan(
        &app,
        &w.supervisor,
        id,
        Some("\"2\""),
        json!({ "phase": "established_job" }),
    )
    .await
    .ok();
    assert_eq!(
        (plan["phase"].as_str(), plan["cadence_days"].as_i64()),
        (Some("established_job"), Some(30))
    );
    assert_eq!(plan["updated_by"]["kind"], "staff");

    // An agreed next contact is the due time; dropping it returns to the rhythm.
    let agreed = whole_seconds(Utc::now() + Duration::days(3));
    let plan = patch_plan(
        &app,
        &w.specialist,
        id,
        None,
        json!({ "next_contact_at": rfc3339(agreed) }),
    )
    .await
    .ok();
    assert_eq!(instant(&plan["next_contact_at"]), agreed);
    assert_eq!(instant(&plan["due_at"]), agreed);
    assert_first_check(&plan_columns(&app, id), agreed, Duration::hours(24));
    let plan = patch_plan(
        &app,
        &w.specialist,
        id,
        Some("*"),
        json!({ "next_contact_at": null }),
    )
    .await
    .ok();
    assert_eq!(plan["next_contact_at"], Value::Null);
    assert_eq!(instant(&plan["due_at"]), plus_local_days(started, 30));

    // When the due time does not move, the scanner's progress is kept: say it already raised the
    // "due" alert and now waits to raise "overdue" at the due time.
    let due = plan_columns(&app, id).due_at.unwrap();
    execute(
        &app,
        &format!(
            "UPDATE follow_up_plans SET follow_up_check_at = due_at, follow_up_check_stage = 'overdue' WHERE participant_id = {id}"
        ),
    );
    let version = plan["version"].as_i64().unwrap();
    patch_plan(&app, &w.specialist, id, None, json!({ "cadence_days": 30 }))
        .await
        .ok();
    let kept = plan_columns(&app, id);
    assert_eq!(kept.follow_up_check_at, Some(due));
    assert_eq!(kept.follow_up_check_stage.as_deref(), Some("overdue"));
    assert_eq!(i64::from(kept.version), version + 1);
    // ...and when it moves, the check starts again at "due".
    patch_plan(&app, &w.specialist, id, None, json!({ "cadence_days": 20 }))
        .await
        .ok();
    assert_first_check(
        &plan_columns(&app, id),
        plus_local_days(started, 20),
        Duration::hours(24),
    );
    assert_eq!(audited(&app, id, "follow_up_plan.updated"), 6);
}

#[tokio::test]
async fn every_bad_plan_change_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, _) = app.enrol(&w.specialist, "Ola").await;
    let before = plan_columns(&app, id);
    let past = rfc3339((Utc::now() - Duration::hours(1)).naive_utc());
    let far = rfc3339((Utc::now() + Duration::days(400)).naive_utc());
    let cases = [
        (json!({ "cadence_days": 0 }), "cadence_days"),
        (json!({ "cadence_days": 367 }), "cadence_days"),
        (json!({ "cadence_days": "7" }), "cadence_days"),
        (json!({ "cadence_days": 7.5 }), "cadence_days"),
        (json!({ "phase": "holiday" }), "phase"),
        (json!({ "phase": null, "colour": "red" }), ""),
        (json!({ "next_contact_at": past }), "next_contact_at"),
        (json!({ "next_contact_at": far }), "next_contact_at"),
        (
            json!({ "next_contact_at": "2027-02-30T10:00:00Z" }),
            "next_contact_at",
        ),
        (json!({ "next_contact_at": "tomorrow" }), "next_contact_at"),
        (json!({ "due_at": "2027-01-01T10:00:00Z" }), ""),
        (json!([]), ""),
    ];
    for (body, field) in cases {
        let reply = patch_plan(&app, &w.specialist, id, None, body.clone()).await;
        let fields = reply.invalid_fields();
        if !field.is_empty() {
            assert_eq!(fields, vec![field.to_owned()], "{body}: {}", reply.text);
        }
    }
    let not_json = app
        .client
        .patch(format!(
            "{}/v1/participants/{id}/follow-up-plan",
            app.address
        ))
        .bearer_auth(&w.specialist)
        .header("content-type", "application/json")
        .body("{\"cadence_days\": 7");
    assert_eq!(
        app.run(not_json).await.assert_problem(400),
        "malformed-request"
    );
    let text = app
        .client
        .patch(format!(
            "{}/v1/participants/{id}/follow-up-plan",
            app.address
        ))
        .bearer_auth(&w.specialist)
        .header("content-type", "text/plain")
        .body("cadence 7");
    assert_eq!(
        app.run(text).await.assert_problem(415),
        "unsupported-media-type"
    );
    assert_eq!(plan_columns(&app, id), before, "nothing was written");
}

#[tokio::test]
async fn the_participant_sees_only_their_next_agreed_contact_and_their_specialist() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (id, token) = app.participant(&w.specialist, "Ola").await;
    let mine = app.get("/v1/me/follow-up", &token).await.ok();
    assert_eq!(mine["next_contact_at"], Value::Null);
    assert_eq!(mine["specialist"]["id"], w.specialist_id);
    assert_eq!(mine["specialist"]["name"], "Staff spec@example.no");
    assert_eq!(mine["specialist"]["email"], "spec@example.no");

    let agreed = whole_seconds(Utc::now() + Duration::days(5));
    patch_plan(
        &app,
        &w.specialist,
        id,
        None,
        json!({ "next_contact_at": rfc3339(agreed) }),
    )
    .await
    .ok();
    app.post(
        &format!("/v1/participants/{id}/contacts"),
        Some(&w.specialist),
        json!({ "channel": "phone", "note": "Snakket om CV-en" }),
    )
    .await
    .ok();
    let mine = app.get("/v1/me/follow-up", &token).await.ok();
    assert_eq!(instant(&mine["next_contact_at"]), agreed);
    let keys: Vec<&String> = mine.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec!["next_contact_at", "specialist"],
        "nothing of the plan or the log"
    );
    assert!(!mine.to_string().contains("CV-en"));

    // Staff have their own route; the participant's token reaches no staff route.
    assert_eq!(
        app.get("/v1/me/follow-up", &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        app.get(&format!("/v1/participants/{id}/follow-up-plan"), &token)
            .await
            .assert_problem(403),
        "forbidden"
    );
}

#[tokio::test]
async fn only_the_caseload_reaches_a_plan() {
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
    let path = format!("/v1/participants/{id}/follow-up-plan");
    let missing = "/v1/participants/900000001/follow-up-plan";
    for token in [&w.colleague, &w.outsider, &other_supervisor] {
        let real = app.get(&path, token).await;
        assert_eq!(real.assert_problem(404), "not-found");
        assert_eq!(
            real.text,
            app.get(missing, token).await.text,
            "no hint that it exists"
        );
        let patched = patch_plan(&app, token, id, None, json!({ "cadence_days": 3 })).await;
        assert_eq!(patched.assert_problem(404), "not-found");
    }
    assert_eq!(
        app.get(&path, &w.admin).await.assert_problem(403),
        "forbidden"
    );
    assert_eq!(
        plan_columns(&app, id).cadence_days,
        7,
        "no refused call changed it"
    );
    app.get(&path, &w.supervisor).await.ok();
    let when = app
        .send(Method::GET, &path, None, None)
        .await
        .assert_problem(401);
    assert_eq!(when, "unauthenticated");
}
