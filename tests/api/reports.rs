//! Team reports: every figure checked against values worked out by hand from a seeded team (the
//! working is in the comments), in JSON and in CSV; bad periods; and who may read a report.
//!
//! The period is the first quarter of 2025, 2025-01-01..=2025-03-31, in Europe/Oslo (UTC+1 until
//! 30 March, UTC+2 after): it begins at 2024-12-31 23:00 UTC and ends at 2025-03-31 22:00 UTC.
//! Times below are UTC; most are 10:00, which is the same local date in Oslo.

use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, World};
use crate::seed::{self, Contact};

const Q1: &str = "from=2025-01-01&to=2025-03-31";

/// The seeded team (see the module comment and each participant's notes below).
async fn seeded_team(app: &TestApp) -> World {
    let w = World::build(app).await;
    let (team, spec, col) = (w.team, w.specialist_id, w.colleague_id);
    // A third specialist who has left: not counted among the team's specialists.
    let (gone, _) = app
        .staff_member(&w.admin, "gone@example.no", "specialist", Some(team))
        .await;
    app.patch(
        &format!("/v1/staff/{gone}"),
        &w.admin,
        json!({ "active": false }),
    )
    .await
    .ok();
    let p = |name: &str, enrolled: &str, born: Option<i32>, status: &str, reason: Option<&str>| {
        seed::participant(app, team, spec, name, enrolled, born, status, reason, None)
    };
    let meeting = |about: Option<i64>| Contact::employer_meeting(spec, team, about);
    let talk = |who: i64| Contact::with_participant(spec, team, who);

    // Anna: enrolled 2024-10-01, born 2000. First employer contact 2024-10-20 (face to face,
    // before the period). Competitive job from 2025-01-20, still held. Benefits counselling
    // handled 2025-01-10, before the start. Contacts 2025-01-15 (the week before the start) and
    // 2025-01-22 (within 3 days after).
    let anna = p("Anna", "2024-10-01 10:00:00", Some(2000), "in_work", None);
    seed::status(app, anna, None, "job_seeking", None, "2024-10-01 10:00:00");
    seed::status(
        app,
        anna,
        Some("job_seeking"),
        "in_work",
        None,
        "2025-01-20 10:00:00",
    );
    meeting(Some(anna)).at(app, "2024-10-20 10:00:00");
    seed::job(app, anna, spec, "2025-01-20", None, true);
    seed::benefits_request(
        app,
        anna,
        "2025-01-05 10:00:00",
        Some(("2025-01-10 10:00:00", spec)),
    );
    talk(anna).at(app, "2025-01-15 10:00:00");
    talk(anna).by("phone").at(app, "2025-01-22 10:00:00");

    // Bjørn: enrolled 2025-01-10, born 1980. An employer call that did not get through
    // (2025-01-12), a first employer contact by phone 2025-01-15 (5 days), the first face to face
    // 2025-02-14 (35 days). Competitive job from 2025-03-01 (50 days after enrolment), no benefits
    // counselling. Before the start only an outreach attempt (2025-02-25, not reached); after it a
    // contact 2025-03-03.
    let bjorn = p("Bjørn", "2025-01-10 10:00:00", Some(1980), "in_work", None);
    seed::status(app, bjorn, None, "job_seeking", None, "2025-01-10 10:00:00");
    seed::status(
        app,
        bjorn,
        Some("job_seeking"),
        "in_work",
        None,
        "2025-03-01 10:00:00",
    );
    meeting(Some(bjorn))
        .by("phone")
        .not_reached()
        .at(app, "2025-01-12 10:00:00");
    meeting(Some(bjorn))
        .by("phone")
        .at(app, "2025-01-15 10:00:00");
    meeting(Some(bjorn)).at(app, "2025-02-14 10:00:00");
    seed::job(app, bjorn, spec, "2025-03-01", None, true);
    talk(bjorn)
        .by("phone")
        .not_reached()
        .at(app, "2025-02-25 10:00:00");
    talk(bjorn).at(app, "2025-03-03 10:00:00");

    // Cecilie: enrolled 2024-06-01, no birth year. First employer contact 2024-08-01. Competitive
    // job 2024-11-15 to 2025-02-10 (87 days; day 90 would have been 2025-02-13); a contact
    // 2025-02-12, within 3 days of the end. Closed for education 2025-03-20.
    let cecilie = p(
        "Cecilie",
        "2024-06-01 10:00:00",
        None,
        "closed",
        Some("education"),
    );
    seed::status(
        app,
        cecilie,
        None,
        "job_seeking",
        None,
        "2024-06-01 10:00:00",
    );
    seed::status(
        app,
        cecilie,
        Some("job_seeking"),
        "in_work",
        None,
        "2024-11-15 10:00:00",
    );
    seed::status(
        app,
        cecilie,
        Some("in_work"),
        "job_seeking",
        None,
        "2025-02-10 10:00:00",
    );
    seed::status(
        app,
        cecilie,
        Some("job_seeking"),
        "closed",
        Some("education"),
        "2025-03-20 10:00:00",
    );
    meeting(Some(cecilie))
        .by("phone")
        .at(app, "2024-08-01 10:00:00");
    seed::job(app, cecilie, spec, "2024-11-15", Some("2025-02-10"), true);
    talk(cecilie).at(app, "2025-02-12 10:00:00");

    // David: enrolled 2024-09-01, born 1996 (29 in 2025). Competitive job from 2024-12-01, still
    // held on day 90 (2025-03-01). A second, non-competitive job from 2025-02-01: a contact
    // 2025-01-25 in the week before, none within 3 days after. Benefits counselling asked for
    // 2025-01-01 and left open; asked again and handled 2025-02-03, after that start.
    let david = p("David", "2024-09-01 10:00:00", Some(1996), "in_work", None);
    seed::status(app, david, None, "job_seeking", None, "2024-09-01 10:00:00");
    seed::status(
        app,
        david,
        Some("job_seeking"),
        "in_work",
        None,
        "2024-12-01 10:00:00",
    );
    meeting(Some(david))
        .by("phone")
        .at(app, "2024-10-01 10:00:00");
    seed::job(app, david, spec, "2024-12-01", None, true);
    seed::job(app, david, spec, "2025-02-01", None, false);
    seed::benefits_request(app, david, "2025-01-01 10:00:00", None);
    seed::benefits_request(
        app,
        david,
        "2025-02-02 10:00:00",
        Some(("2025-02-03 10:00:00", spec)),
    );
    talk(david).at(app, "2025-01-25 10:00:00");

    // Eva: closed (moved) 2024-12-15, before the period, and not reopened: not in the period.
    let eva = p(
        "Eva",
        "2024-03-01 10:00:00",
        Some(1990),
        "closed",
        Some("moved"),
    );
    seed::status(app, eva, None, "job_seeking", None, "2024-03-01 10:00:00");
    seed::status(
        app,
        eva,
        Some("job_seeking"),
        "closed",
        Some("moved"),
        "2024-12-15 10:00:00",
    );

    // Frank: enrolled 2024-05-01, born 1970. Competitive job 2024-12-20 to 2025-01-04 (15 days;
    // day 90 2025-03-20 not reached), no contact within 3 days of the end. Closed (other)
    // 2025-01-05, reopened 2025-01-20, closed again (work) 2025-02-15: one closed case, for work.
    let frank = p(
        "Frank",
        "2024-05-01 10:00:00",
        Some(1970),
        "closed",
        Some("work"),
    );
    seed::status(app, frank, None, "job_seeking", None, "2024-05-01 10:00:00");
    seed::status(
        app,
        frank,
        Some("job_seeking"),
        "in_work",
        None,
        "2024-12-20 10:00:00",
    );
    seed::status(
        app,
        frank,
        Some("in_work"),
        "job_seeking",
        None,
        "2025-01-04 10:00:00",
    );
    seed::status(
        app,
        frank,
        Some("job_seeking"),
        "closed",
        Some("other"),
        "2025-01-05 10:00:00",
    );
    seed::status(
        app,
        frank,
        Some("closed"),
        "job_seeking",
        None,
        "2025-01-20 10:00:00",
    );
    seed::status(
        app,
        frank,
        Some("job_seeking"),
        "closed",
        Some("work"),
        "2025-02-15 10:00:00",
    );
    seed::job(app, frank, spec, "2024-12-20", Some("2025-01-04"), true);

    // Guro: enrolled 2025-03-31 22:30 UTC, which is 1 April in Oslo: after the period.
    let guro = p(
        "Guro",
        "2025-03-31 22:30:00",
        Some(2002),
        "job_seeking",
        None,
    );
    seed::status(app, guro, None, "job_seeking", None, "2025-03-31 22:30:00");

    // Hanne: enrolled 2024-12-31 23:30 UTC, which is 1 January in Oslo: in the period. Born 2001.
    // First employer contact face to face 2025-01-31: 30 days in Oslo's dates (31 in UTC's).
    // Withdrew 2025-03-25.
    let hanne = seed::participant(
        app,
        team,
        spec,
        "Hanne",
        "2024-12-31 23:30:00",
        Some(2001),
        "closed",
        Some("withdrew"),
        Some("2025-03-25 10:00:00"),
    );
    seed::status(app, hanne, None, "job_seeking", None, "2024-12-31 23:30:00");
    seed::status(
        app,
        hanne,
        Some("job_seeking"),
        "closed",
        Some("withdrew"),
        "2025-03-25 10:00:00",
    );
    meeting(Some(hanne)).at(app, "2025-01-31 10:00:00");

    // Jorunn: enrolled 2025-02-01, born 1999, withdrew 2025-03-05, with no status history at all
    // (as a participant enrolled and withdrawn by this version's routes): read as job seeking
    // from enrolment and closed (withdrew) at the withdrawal.
    seed::participant(
        app,
        team,
        col,
        "Jorunn",
        "2025-02-01 10:00:00",
        Some(1999),
        "closed",
        Some("withdrew"),
        Some("2025-03-05 10:00:00"),
    );

    // Job development: ten face-to-face employer contacts without a participant in February, by
    // both specialists; one at 2024-12-31 23:30 UTC (1 January in Oslo, in); one at 2025-03-31
    // 22:30 UTC (1 April in Oslo, out); one that did not reach the employer and one by phone
    // (neither face to face).
    for day in 3..=12 {
        let by = if day % 2 == 0 { spec } else { col };
        Contact::employer_meeting(by, team, None).at(app, &format!("2025-02-{day:02} 10:00:00"));
    }
    meeting(None).at(app, "2024-12-31 23:30:00");
    meeting(None).at(app, "2025-03-31 22:30:00");
    meeting(None).not_reached().at(app, "2025-02-20 10:00:00");
    meeting(None).by("phone").at(app, "2025-02-21 10:00:00");

    // Another team's participant, busy in the same period: none of it may count.
    let outsider = seed::count(app, "SELECT id FROM staff WHERE email = 'out@example.no'");
    let ivar = seed::participant(
        app,
        w.other_team,
        outsider,
        "Ivar",
        "2025-01-05 10:00:00",
        Some(2000),
        "closed",
        Some("work"),
        None,
    );
    seed::status(app, ivar, None, "job_seeking", None, "2025-01-05 10:00:00");
    seed::status(
        app,
        ivar,
        Some("job_seeking"),
        "closed",
        Some("work"),
        "2025-03-01 10:00:00",
    );
    for day in 6..=20 {
        Contact::employer_meeting(outsider, w.other_team, Some(ivar))
            .at(app, &format!("2025-01-{day:02} 10:00:00"));
    }
    seed::job(app, ivar, outsider, "2025-02-01", Some("2025-03-01"), true);
    seed::benefits_request(
        app,
        ivar,
        "2025-01-06 10:00:00",
        Some(("2025-01-07 10:00:00", outsider)),
    );
    w
}

fn fidelity(report: &Value, item: u64) -> &Value {
    report["fidelity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == item)
        .unwrap_or_else(|| panic!("item {item}"))
}

#[tokio::test]
async fn the_figures_are_the_hand_computed_ones() {
    let app = TestApp::spawn().await;
    let w = seeded_team(&app).await;
    let reply = app
        .get(&format!("/v1/teams/{}/report?{Q1}", w.team), &w.supervisor)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let r = &reply.body;
    assert_eq!(r["team"], json!({ "id": w.team, "name": "IPS Oslo Øst" }));
    assert_eq!(
        r["period"],
        json!({ "from": "2025-01-01", "to": "2025-03-31", "days": 90, "time_zone": "Europe/Oslo", "measured_to": "2025-03-31" })
    );
    assert!(r["generated_at"].as_str().unwrap().ends_with('Z'));

    // Active at some time in the period: Anna, Bjørn, Cecilie, David, Frank, Hanne, Jorunn = 7
    // (Eva closed before it, Guro enrolled after it, Ivar is another team's).
    // New enrolments: Bjørn, Hanne (1 January in Oslo), Jorunn = 3.
    // Ages in 2025: Anna 25, Bjørn 45, David 29, Frank 55, Hanne 24, Jorunn 26; Cecilie unknown:
    // under 30 = 4 of 6 known = 0.6667.
    assert_eq!(
        r["participants"],
        json!({
            "active": 7, "new_enrolments": 3, "under_30": 4,
            "birth_year_known": 6, "birth_year_unknown": 1, "share_under_30": 0.6667
        })
    );
    // Closed in the period: Cecilie (education), Frank (last closure: work), Hanne and Jorunn
    // (withdrew) = 4; work or education 2 of 4 = 0.5. Eva's closure was before the period.
    assert_eq!(
        r["closed_cases"],
        json!({
            "total": 4,
            "by_reason": { "work": 1, "education": 1, "withdrew": 2, "moved": 0, "lost_contact": 0, "other": 0 },
            "share_work_or_education": 0.5
        })
    );
    // First employer contacts in the period: Bjørn 5 days, Hanne 30 days: median (5 + 30) / 2 =
    // 17.5. First competitive jobs in the period: Bjørn 50 days, Anna 111 days (2024-10-01 to
    // 2025-01-20): median (50 + 111) / 2 = 80.5.
    assert_eq!(
        r["job_search"],
        json!({
            "first_employer_contacts": 2, "median_days_to_first_employer_contact": 17.5,
            "first_jobs": 2, "median_days_to_first_job": 80.5
        })
    );
    // Started: Anna, Bjørn (competitive), David's second job (not) = 3, 2 competitive.
    // Competitive jobs ended: Cecilie 87 days, Frank 15 days: median 51. Day 90 in the period:
    // Cecilie's (2025-02-13, left before), David's (2025-03-01, held), Frank's (2025-03-20, left
    // before): 1 of 3 = 0.3333.
    assert_eq!(
        r["jobs"],
        json!({
            "started": 3, "started_competitive": 2, "ended_competitive": 2, "median_tenure_days": 51.0,
            "retention_90_days": { "measurable": 3, "retained": 1, "share": 0.3333 }
        })
    );

    // Item 1: active at the period's end: Anna, Bjørn, David = 3, over 2 active specialists = 1.5.
    assert_eq!(
        fidelity(r, 1),
        &json!({
            "item": 1, "key": "caseload_size", "title": "Caseload size",
            "unit": "active participants per specialist", "value": 1.5,
            "target": { "comparison": "<=", "value": 20.0 }, "meets": true, "counted": 3
        })
    );
    // Item 12: job starts 3 (Anna, Bjørn, David's second job); counselled before the start: Anna.
    let item = fidelity(r, 12);
    assert_eq!(
        (&item["value"], &item["meets"], &item["counted"]),
        (&json!(0.3333), &json!(false), &json!(3))
    );
    assert_eq!(item["target"], json!({ "comparison": ">=", "value": 1.0 }));
    // Item 15: first face-to-face employer contacts in the period: Hanne 30, Bjørn 35 days:
    // mean 32.5 > 30.
    let item = fidelity(r, 15);
    assert_eq!(
        (&item["value"], &item["meets"], &item["counted"]),
        (&json!(32.5), &json!(false), &json!(2))
    );
    assert_eq!(item["target"], json!({ "comparison": "<=", "value": 30.0 }));
    // Item 17: face-to-face employer contacts in the period: 10 in February, Bjørn's and
    // Hanne's, and the one on 1 January in Oslo = 13; 13 / 2 specialists / (90 / 7 weeks) =
    // 0.5056 -> 0.51 < 6.
    let item = fidelity(r, 17);
    assert_eq!(
        (&item["value"], &item["meets"], &item["counted"]),
        (&json!(0.51), &json!(false), &json!(13))
    );
    assert_eq!(item["target"], json!({ "comparison": ">=", "value": 6.0 }));
    // Item 23: windows ending in the period: Anna before (met 01-15) and after (met 01-22) her
    // start; Bjørn before (only an attempt: missed) and after (met 03-03); David's second job
    // before (met 01-25) and after (missed); Cecilie's end (met 02-12); Frank's end (missed):
    // 5 of 8 = 0.625.
    let item = fidelity(r, 23);
    assert_eq!(
        (&item["value"], &item["meets"], &item["counted"]),
        (&json!(0.625), &json!(false), &json!(8))
    );
    let items: Vec<u64> = r["fidelity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_u64().unwrap())
        .collect();
    assert_eq!(items, [1, 12, 15, 17, 23]);

    // The same figures as CSV, one per record.
    let csv = get_with(
        &app,
        &format!("/v1/teams/{}/report?{Q1}&format=csv", w.team),
        &w.supervisor,
        None,
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(
        csv.header("content-type"),
        Some("text/csv; charset=utf-8; header=present")
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some(
            format!(
                "attachment; filename=\"ips-report-team-{}-2025-01-01-2025-03-31.csv\"",
                w.team
            )
            .as_str()
        )
    );
    assert!(csv.text.ends_with("\r\n") && !csv.text.replace("\r\n", "").contains('\n'));
    let records = parse_csv(&csv.text);
    assert_eq!(records[0], ["metric", "label", "value", "target", "meets"]);
    assert!(records.iter().all(|r| r.len() == 5), "{records:?}");
    let lines: Vec<&str> = csv.text.split("\r\n").collect();
    for expected in [
        "team.name,Team,IPS Oslo Øst,,",
        "period.from,First day,2025-01-01,,",
        "participants.active,Active participants,7,,",
        "participants.share_under_30,Share under 30 (of known birth years),0.6667,,",
        "closed_cases.by_reason.lost_contact,Closed cases: lost contact,0,,",
        "job_search.median_days_to_first_employer_contact,Median days from enrolment to first employer contact,17.5,,",
        "jobs.median_tenure_days,Median tenure of competitive jobs ended (days),51.0,,",
        "fidelity.item_1.caseload_size,Fidelity item 1: Caseload size (active participants per specialist),1.5,<= 20.0,true",
        "fidelity.item_17.counted,Fidelity item 17: cases counted,13,,",
        "fidelity.item_23.follow_along,Fidelity item 23: Time-unlimited follow-along: contact windows around job starts and ends met (share of windows),0.625,>= 1.0,false",
    ] {
        assert!(lines.contains(&expected), "{expected} in\n{}", csv.text);
    }
    // Every figure of the CSV is the JSON's.
    let mut compared = 0;
    for record in &records[1..] {
        let (metric, value) = (&record[0], &record[2]);
        let json_value = if let Some(rest) = metric.strip_prefix("fidelity.item_") {
            let (item, field) = rest.split_once('.').unwrap();
            let item = fidelity(r, item.parse().unwrap());
            if field == "counted" {
                &item["counted"]
            } else {
                &item["value"]
            }
        } else if metric.starts_with("team.") || metric.starts_with("period.") {
            continue;
        } else {
            r.pointer(&format!("/{}", metric.replace('.', "/")))
                .unwrap_or_else(|| panic!("{metric}"))
        };
        let expected = if json_value.is_null() {
            String::new()
        } else {
            json_value.to_string()
        };
        assert_eq!(value, &expected, "{metric}");
        compared += 1;
    }
    assert_eq!(compared, 35);
}

#[tokio::test]
async fn a_period_without_data_is_null_not_zero() {
    let app = TestApp::spawn().await;
    let w = seeded_team(&app).await;
    let r = app
        .get(
            &format!("/v1/teams/{}/report?from=2020-01-01&to=2020-01-31", w.team),
            &w.supervisor,
        )
        .await
        .ok();
    assert_eq!(r["participants"]["active"], 0);
    assert_eq!(r["participants"]["share_under_30"], Value::Null);
    assert_eq!(r["closed_cases"]["share_work_or_education"], Value::Null);
    assert_eq!(
        r["job_search"]["median_days_to_first_employer_contact"],
        Value::Null
    );
    assert_eq!(r["job_search"]["median_days_to_first_job"], Value::Null);
    assert_eq!(r["jobs"]["median_tenure_days"], Value::Null);
    assert_eq!(r["jobs"]["retention_90_days"]["share"], Value::Null);
    // Item 1 and item 17 still have their specialists; the others have nothing to rest on.
    assert_eq!(fidelity(&r, 1)["value"], 0.0);
    assert_eq!(fidelity(&r, 17)["value"], 0.0);
    for item in [12, 15, 23] {
        assert_eq!(fidelity(&r, item)["value"], Value::Null, "item {item}");
        assert_eq!(fidelity(&r, item)["meets"], Value::Null, "item {item}");
    }
    let csv = get_with(
        &app,
        &format!("/v1/teams/{}/report?from=2020-01-01&to=2020-01-31", w.team),
        &w.supervisor,
        Some("text/csv"),
    )
    .await;
    assert!(
        csv.text.contains(
            "\r\nparticipants.share_under_30,Share under 30 (of known birth years),,,\r\n"
        ),
        "{}",
        csv.text
    );
}

/// A GET with an `Accept` header.
async fn get_with(app: &TestApp, path: &str, token: &str, accept: Option<&str>) -> Reply {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    app.run(request).await
}

/// Reads RFC 4180 CSV: quoted fields with doubled quotes, CRLF between records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn csv_is_chosen_by_accept_or_format_and_quotes_what_it_must() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    app.patch(
        &format!("/v1/teams/{}", w.team),
        &w.admin,
        json!({ "name": "IPS \"Øst\", Oslo" }),
    )
    .await
    .ok();
    let path = format!("/v1/teams/{}/report?{Q1}", w.team);
    for (accept, csv) in [
        (Some("text/csv"), true),
        (Some("text/csv;q=0.9, application/json"), false),
        (Some("application/json;q=0.5, text/csv"), true),
        (Some("application/json"), false),
        (Some("*/*"), false),
        (None, false),
    ] {
        let reply = get_with(&app, &path, &w.supervisor, accept).await;
        assert_eq!(reply.status, 200, "{accept:?}: {}", reply.text);
        let is_csv = reply
            .header("content-type")
            .unwrap()
            .starts_with("text/csv");
        assert_eq!(is_csv, csv, "{accept:?}");
    }
    let json = get_with(
        &app,
        &format!("{path}&format=json"),
        &w.supervisor,
        Some("text/csv"),
    )
    .await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.body["team"]["name"], "IPS \"Øst\", Oslo");
    let csv = get_with(
        &app,
        &format!("{path}&format=csv"),
        &w.supervisor,
        Some("application/json"),
    )
    .await;
    assert!(
        csv.text
            .contains("\r\nteam.name,Team,\"IPS \"\"Øst\"\", Oslo\",,\r\n"),
        "{}",
        csv.text
    );
    assert_eq!(
        parse_csv(&csv.text)[2],
        ["team.name", "Team", "IPS \"Øst\", Oslo", "", ""]
    );
    // A name that a spreadsheet would run as a formula stays text.
    app.patch(
        &format!("/v1/teams/{}", w.team),
        &w.admin,
        json!({ "name": "=1+1" }),
    )
    .await
    .ok();
    let csv = get_with(&app, &format!("{path}&format=csv"), &w.supervisor, None).await;
    assert!(
        csv.text.contains("\r\nteam.name,Team,'=1+1,,\r\n"),
        "{}",
        csv.text
    );
}

#[tokio::test]
async fn bad_periods_are_422() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let base = format!("/v1/teams/{}/report", w.team);
    for (query, fields) in [
        ("from=2025-04-01&to=2025-03-31", vec!["to"]),
        ("from=2025-13-01&to=2025-12-31", vec!["from"]),
        ("from=2025-02-30&to=2025-03-31", vec!["from"]),
        ("from=2025-1-5&to=2025-02-01", vec!["from"]),
        ("from=yesterday&to=2025-02-01", vec!["from"]),
        ("from=2025-01-01&to=2025-02-01T00:00:00Z", vec!["to"]),
        ("from=2025-01-01", vec!["to"]),
        ("", vec!["from", "to"]),
        ("from=2024-01-01&to=2025-01-01", vec!["to"]),
        ("from=2025-01-01&to=2025-03-31&format=xlsx", vec!["format"]),
        ("from=2025-01-01&to=2025-03-31&team=2", vec!["query"]),
    ] {
        let reply = app.get(&format!("{base}?{query}"), &w.supervisor).await;
        assert_eq!(reply.invalid_fields(), fields, "{query}");
    }
    // A leap year is 366 days: allowed. A single day too.
    for query in [
        "from=2024-01-01&to=2024-12-31",
        "from=2025-03-31&to=2025-03-31",
    ] {
        let reply = app.get(&format!("{base}?{query}"), &w.supervisor).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    }
}

#[tokio::test]
async fn only_the_teams_supervisor_reads_its_report() {
    let app = TestApp::spawn().await;
    let w = seeded_team(&app).await;
    let (_, other_supervisor) = app
        .staff_member(
            &w.admin,
            "sup2@example.no",
            "supervisor",
            Some(w.other_team),
        )
        .await;
    let (_, participant) = app.participant(&w.specialist, "Ola").await;
    let path = format!("/v1/teams/{}/report?{Q1}", w.team);
    let nowhere = format!("/v1/teams/987654321/report?{Q1}");
    for (caller, status) in [
        (&w.specialist, 403),
        (&w.colleague, 403),
        (&w.outsider, 403),
        (&w.admin, 403),
        (&participant, 403),
        (&other_supervisor, 404),
    ] {
        let real = app.get(&path, caller).await;
        real.assert_problem(status);
        // A refusal never tells whether the team exists, and shows none of its figures.
        let none = app.get(&nowhere, caller).await;
        assert_eq!((real.status, &real.text), (none.status, &none.text));
        assert!(!real.text.contains("Øst"));
        let csv = get_with(
            &app,
            &format!("{path}&format=csv"),
            caller,
            Some("text/csv"),
        )
        .await;
        assert_eq!(csv.status.as_u16(), status);
        assert!(!csv.text.contains("participants.active"));
    }
    app.send(reqwest::Method::GET, &path, None, None)
        .await
        .assert_problem(401);
    // The other team's supervisor reads their own team, where none of this team's data shows.
    let theirs = app
        .get(
            &format!("/v1/teams/{}/report?{Q1}", w.other_team),
            &other_supervisor,
        )
        .await
        .ok();
    assert_eq!(theirs["participants"]["active"], 1, "Ivar only");
    assert_eq!(theirs["closed_cases"]["by_reason"]["work"], 1);
    assert_eq!(fidelity(&theirs, 17)["counted"], 15);
    // A supervisor asking for another team's report with bad dates learns nothing either.
    let bad = app
        .get(
            &format!("/v1/teams/{}/report?from=x", w.team),
            &other_supervisor,
        )
        .await;
    bad.assert_problem(404);
}
