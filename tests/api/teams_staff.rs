//! Administrators create teams and staff; everyone else sees only what their role allows.

use serde_json::json;

use crate::helpers::{TestApp, World, PASSWORD};

#[tokio::test]
async fn admins_create_teams_and_staff_who_can_log_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let team = app
        .post(
            "/v1/teams",
            Some(&admin),
            json!({ "name": "IPS Trondheim", "email": "ips@example.no" }),
        )
        .await;
    assert_eq!(team.status, 201);
    let team_id = team.body["id"].as_i64().unwrap();
    assert_eq!(
        team.header("location"),
        Some(format!("/v1/teams/{team_id}").as_str())
    );
    assert_eq!(team.body["name"], "IPS Trondheim");
    assert_eq!(team.body["phone"], json!(null));

    let member = app
        .post(
            "/v1/staff",
            Some(&admin),
            json!({ "email": "Kari.Nordmann@Example.no", "name": "Kari Nordmann", "role": "specialist", "team_id": team_id,
                    "phone": "+47 900 00 000", "working_hours": "Mon-Fri 08-16", "password": PASSWORD }),
        )
        .await;
    assert_eq!(member.status, 201, "{}", member.text);
    assert_eq!(member.body["email"], "kari.nordmann@example.no");
    assert!(member.body.get("password_hash").is_none() && member.body.get("password").is_none());

    let token = app.access_token("KARI.NORDMANN@example.no").await;
    let me = app.get("/v1/staff/me", &token).await.ok();
    assert_eq!(me["role"], "specialist");
    assert_eq!(me["team_id"], team_id);

    let dup = app.post("/v1/staff", Some(&admin), json!({ "email": "kari.nordmann@example.no", "name": "K", "role": "admin", "password": PASSWORD })).await;
    assert_eq!(dup.assert_problem(409), "conflict");

    let teamless = app.post("/v1/staff", Some(&admin), json!({ "email": "x@example.no", "name": "X", "role": "specialist", "password": PASSWORD })).await;
    assert_eq!(teamless.invalid_fields(), vec!["team_id"]);
    let no_such_team = app.post("/v1/staff", Some(&admin), json!({ "email": "x@example.no", "name": "X", "role": "specialist", "team_id": 999, "password": PASSWORD })).await;
    assert_eq!(no_such_team.invalid_fields(), vec!["team_id"]);

    let renamed = app
        .patch(
            &format!("/v1/teams/{team_id}"),
            &admin,
            json!({ "name": "IPS Trøndelag", "email": null }),
        )
        .await
        .ok();
    assert_eq!(renamed["name"], "IPS Trøndelag");
    assert_eq!(renamed["email"], json!(null));
}

#[tokio::test]
async fn roles_limit_what_staff_see_and_change() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;

    // Only administrators create.
    for token in [&w.specialist, &w.supervisor] {
        assert_eq!(
            app.post("/v1/teams", Some(token), json!({ "name": "Mine" }))
                .await
                .assert_problem(403),
            "forbidden"
        );
        let reply = app.post("/v1/staff", Some(token), json!({ "email": "n@example.no", "name": "N", "role": "admin", "password": PASSWORD })).await;
        assert_eq!(reply.assert_problem(403), "forbidden");
    }
    // Specialists do not list staff; supervisors list their own team only.
    assert_eq!(
        app.get("/v1/staff", &w.specialist)
            .await
            .assert_problem(403),
        "forbidden"
    );
    let team_staff = app.get("/v1/staff", &w.supervisor).await.ok();
    let emails: Vec<_> = team_staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        vec!["sup@example.no", "spec@example.no", "col@example.no"]
    );
    // Teams: staff see their own; another team is 404.
    let teams = app.get("/v1/teams", &w.specialist).await.ok();
    assert_eq!(teams["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/v1/teams/{}", w.other_team), &w.specialist)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get(&format!("/v1/teams/{}", w.team), &w.specialist)
            .await
            .ok()["id"],
        w.team
    );
    // Staff records: a specialist sees only themself.
    assert_eq!(
        app.get(&format!("/v1/staff/{}", w.colleague_id), &w.specialist)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get(&format!("/v1/staff/{}", w.specialist_id), &w.supervisor)
            .await
            .ok()["id"],
        w.specialist_id
    );
    assert_eq!(
        app.get(&format!("/v1/staff/{}", w.specialist_id), &w.outsider)
            .await
            .assert_problem(404),
        "not-found"
    );
    // Admins page through everyone.
    let first = app.get("/v1/staff?limit=2", &w.admin).await.ok();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = app
        .get(&format!("/v1/staff?limit=2&cursor={cursor}"), &w.admin)
        .await
        .ok();
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    let third = app
        .get(
            &format!(
                "/v1/staff?limit=2&cursor={}",
                second["next_cursor"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await
        .ok();
    assert_eq!(third["items"].as_array().unwrap().len(), 1);
    assert_eq!(third["next_cursor"], json!(null));
}

#[tokio::test]
async fn deactivation_ends_sessions_at_once_and_the_last_admin_stays() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    assert_eq!(app.get("/v1/staff/me", &w.colleague).await.status, 200);
    let off = app
        .patch(
            &format!("/v1/staff/{}", w.colleague_id),
            &w.admin,
            json!({ "active": false }),
        )
        .await
        .ok();
    assert_eq!(off["active"], false);
    assert_eq!(
        app.get("/v1/staff/me", &w.colleague)
            .await
            .assert_problem(401),
        "unauthenticated"
    );
    assert_eq!(
        app.login("col@example.no", PASSWORD)
            .await
            .assert_problem(401),
        "invalid-credentials"
    );

    let me = app.get("/v1/staff/me", &w.admin).await.ok();
    let admin_id = me["id"].as_i64().unwrap();
    let demote = app
        .patch(
            &format!("/v1/staff/{admin_id}"),
            &w.admin,
            json!({ "role": "supervisor", "team_id": w.team }),
        )
        .await;
    assert_eq!(demote.assert_problem(409), "conflict");
    let deactivate = app
        .patch(
            &format!("/v1/staff/{admin_id}"),
            &w.admin,
            json!({ "active": false }),
        )
        .await;
    assert_eq!(deactivate.assert_problem(409), "conflict");
    assert_eq!(
        app.patch("/v1/staff/9999", &w.admin, json!({ "name": "Nobody" }))
            .await
            .assert_problem(404),
        "not-found"
    );
}
