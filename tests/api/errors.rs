//! Every error class is problem+json with the right status; no input makes the server fail.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, World};

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.send(Method::GET, "/v1/nothing-here", None, None)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.send(Method::GET, "/", None, None)
            .await
            .assert_problem(404),
        "not-found"
    );
    let wrong = app.send(Method::PUT, "/v1/teams", None, None).await;
    assert_eq!(wrong.assert_problem(405), "method-not-allowed");
    assert_eq!(wrong.header("allow"), Some("GET, POST"));
    let wrong = app.send(Method::DELETE, "/health/live", None, None).await;
    assert_eq!(wrong.assert_problem(405), "method-not-allowed");
    // Routes are grouped by their first segment: a path inside a group that names nothing, a
    // trailing slash and a look-alike of a group's prefix are unknown all the same.
    for path in [
        "/v1/me/nothing-here",
        "/v1/me/",
        "/v1/meetings",
        "/v1/teams/x",
    ] {
        assert_eq!(
            app.send(Method::GET, path, None, None)
                .await
                .assert_problem(404),
            "not-found",
            "{path}"
        );
    }
    let wrong = app.send(Method::DELETE, "/v1/me", None, None).await;
    assert_eq!(wrong.assert_problem(405), "method-not-allowed");
    assert_eq!(wrong.header("allow"), Some("GET, PATCH"));
}

#[tokio::test]
async fn bodies_that_cannot_be_read() {
    let app = TestApp::spawn().await;
    let url = format!("{}/v1/auth/login", app.address);

    let malformed = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\": ");
    assert_eq!(
        app.run(malformed).await.assert_problem(400),
        "malformed-request"
    );

    let trailing = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{} {}");
    assert_eq!(
        app.run(trailing).await.assert_problem(400),
        "malformed-request"
    );

    let deep = "[".repeat(5000);
    let deep = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(deep);
    assert_eq!(app.run(deep).await.assert_problem(400), "malformed-request");

    let form = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a");
    assert_eq!(
        app.run(form).await.assert_problem(415),
        "unsupported-media-type"
    );

    let none = app.client.post(&url).body("{}");
    assert_eq!(
        app.run(none).await.assert_problem(415),
        "unsupported-media-type"
    );

    let huge = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(200_000)
    );
    let huge = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(huge);
    assert_eq!(app.run(huge).await.assert_problem(413), "payload-too-large");

    let wrong_shape = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "email": 42, "password": "x" }),
        )
        .await;
    assert_eq!(wrong_shape.invalid_fields(), vec!["email"]);

    let missing = app
        .post("/v1/auth/login", None, json!({ "email": "a@b.no" }))
        .await;
    assert_eq!(missing.assert_problem(422), "validation");

    let unknown_field = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "email": "a@b.no", "password": "x", "admin": true }),
        )
        .await;
    assert_eq!(unknown_field.assert_problem(422), "validation");
}

#[tokio::test]
async fn validation_lists_every_bad_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let reply = app
        .post("/v1/staff", Some(&admin), json!({ "email": "not-an-email", "name": "", "role": "specialist", "team_id": 1, "password": "short" }))
        .await;
    assert_eq!(reply.invalid_fields(), vec!["email", "name", "password"]);

    let reply = app.post("/v1/staff", Some(&admin), json!({ "email": "x@example.no", "name": "X", "role": "boss", "password": "long enough password" })).await;
    assert_eq!(reply.invalid_fields(), vec!["role"]);
}

#[tokio::test]
async fn tokens_missing_malformed_or_unknown() {
    let app = TestApp::spawn().await;
    let none = app.send(Method::GET, "/v1/staff/me", None, None).await;
    assert_eq!(none.assert_problem(401), "unauthenticated");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"ips\"")
    );
    assert_eq!(
        app.get("/v1/staff/me", "garbage").await.assert_problem(401),
        "unauthenticated"
    );
    let unknown = format!("ipsa_{}", "A".repeat(43));
    assert_eq!(
        app.get("/v1/staff/me", &unknown).await.assert_problem(401),
        "unauthenticated"
    );
    let basic = app
        .client
        .get(format!("{}/v1/staff/me", app.address))
        .header("authorization", "Basic YTpi");
    assert_eq!(app.run(basic).await.assert_problem(401), "unauthenticated");
}

#[tokio::test]
async fn ids_and_queries_that_make_no_sense() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    assert_eq!(
        app.get("/v1/participants/abc", &world.specialist)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get(
            "/v1/participants/99999999999999999999999",
            &world.specialist
        )
        .await
        .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get("/v1/participants/424242", &world.specialist)
            .await
            .assert_problem(404),
        "not-found"
    );
    assert_eq!(
        app.get("/v1/participants?limit=0", &world.specialist)
            .await
            .invalid_fields(),
        vec!["limit"]
    );
    assert_eq!(
        app.get("/v1/participants?limit=abc", &world.specialist)
            .await
            .assert_problem(422),
        "validation"
    );
    assert_eq!(
        app.get("/v1/participants?cursor=%%%", &world.specialist)
            .await
            .assert_problem(422),
        "validation"
    );
    assert_eq!(
        app.get("/v1/participants?cursor=bm9wZQ", &world.specialist)
            .await
            .invalid_fields(),
        vec!["cursor"]
    );
    assert_eq!(
        app.get("/v1/participants?surprise=1", &world.specialist)
            .await
            .assert_problem(422),
        "validation"
    );
}

/// A sweep of odd inputs over every write route: none may answer 5xx.
#[tokio::test]
async fn no_input_makes_the_server_fail() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let bodies = [
        json!(null),
        json!([]),
        json!("string"),
        json!(12),
        json!({}),
        json!({ "name": null, "email": [], "display_name": { "a": 1 } }),
        json!({ "display_name": "\u{0000}\u{202e}", "time_zone": "../../etc/passwd", "birth_year": -1 }),
        json!({ "display_name": "x".repeat(10_000) }),
        json!({ "team_id": i64::MAX, "specialist_id": -1, "code": "🙂🙂🙂🙂-🙂🙂🙂🙂" }),
        json!({ "refresh_token": "ipsr_' OR 1=1 --", "code": "' OR 1=1 --" }),
    ];
    let routes = [
        "/v1/auth/login",
        "/v1/auth/enrol",
        "/v1/auth/refresh",
        "/v1/auth/password",
        "/v1/teams",
        "/v1/staff",
        "/v1/participants",
        "/v1/participants/1/enrolment-code",
    ];
    for route in routes {
        for body in &bodies {
            for token in [
                None,
                Some(world.admin.as_str()),
                Some(world.specialist.as_str()),
            ] {
                let reply = app.post(route, token, body.clone()).await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{route} with {body}: {} {}",
                    reply.status,
                    reply.text
                );
                if !reply.status.is_success() {
                    reply.assert_problem(reply.status.as_u16());
                }
            }
        }
    }
    for body in &bodies {
        let reply = app.patch("/v1/staff/1", &world.admin, body.clone()).await;
        assert!(
            reply.status.as_u16() < 500,
            "PATCH staff with {body}: {}",
            reply.text
        );
        let reply = app.patch("/v1/teams/1", &world.admin, body.clone()).await;
        assert!(
            reply.status.as_u16() < 500,
            "PATCH team with {body}: {}",
            reply.text
        );
    }
}

/// serde reads a struct from a JSON array too, positionally; the contract's bodies are objects.
#[tokio::test]
async fn an_array_is_not_an_object_at_any_depth() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let (participant, app_token) = app.participant(&world.specialist, "Ola").await;

    let plan = format!("/v1/participants/{participant}/follow-up-plan");
    let whole = app
        .patch(&plan, &world.specialist, json!([null, null]))
        .await;
    assert_eq!(whole.assert_problem(422), "validation");
    let nested = app
        .patch(
            "/v1/me",
            &app_token,
            json!({ "quiet_hours": ["22:00", "07:00"] }),
        )
        .await;
    assert_eq!(nested.invalid_fields(), ["quiet_hours"]);
    let unchanged = app.get("/v1/me", &app_token).await.ok();
    assert_eq!(unchanged["settings"]["quiet_hours"]["start"], "22:00");
    assert_eq!(unchanged["settings"]["quiet_hours"]["end"], "08:00");
}

/// A field that may be left out is not therefore nullable: `null` where the contract does not
/// allow it is a 422 naming the field, not a silent "leave it as it is".
#[tokio::test]
async fn null_is_refused_where_the_contract_does_not_allow_it() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let (participant, app_token) = app.participant(&world.specialist, "Ola").await;

    let me = app
        .patch(
            "/v1/me",
            &app_token,
            json!({ "lock_screen_previews": null }),
        )
        .await;
    assert_eq!(me.invalid_fields(), ["lock_screen_previews"]);
    let team = app
        .patch(
            &format!("/v1/teams/{}", world.team),
            &world.admin,
            json!({ "name": null }),
        )
        .await;
    assert_eq!(team.invalid_fields(), ["name"]);
    let staff = app
        .patch(
            &format!("/v1/staff/{}", world.specialist_id),
            &world.admin,
            json!({ "active": null, "role": null }),
        )
        .await;
    assert_eq!(staff.invalid_fields(), ["active"]);
    let plan = app
        .patch(
            &format!("/v1/participants/{participant}/follow-up-plan"),
            &world.specialist,
            json!({ "cadence_days": null }),
        )
        .await;
    assert_eq!(plan.invalid_fields(), ["cadence_days"]);

    // Where the contract does allow null, it still clears the field.
    let cleared = app
        .patch(
            &format!("/v1/teams/{}", world.team),
            &world.admin,
            json!({ "phone": null }),
        )
        .await
        .ok();
    assert_eq!(cleared["phone"], json!(null));
}

/// PostgreSQL cannot store U+0000 in text, and SQLite's `length()` stops at it, so an employer
/// starting with it failed a CHECK constraint: a 500. Refused as the field it is in.
#[tokio::test]
async fn text_holding_nul_is_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let (participant, _) = app.participant(&world.specialist, "Ola").await;
    let job = app
        .post(
            &format!("/v1/participants/{participant}/jobs"),
            Some(&world.specialist),
            json!({ "employer": "\u{0}Rema", "role_title": "Butikk", "hours_per_week": 20,
                    "competitive": true, "start_date": "2026-01-05" }),
        )
        .await;
    assert_eq!(job.invalid_fields(), ["employer"]);
    let nested = app
        .post(
            "/v1/teams",
            Some(&world.admin),
            json!({ "name": "IPS\u{0}" }),
        )
        .await;
    assert_eq!(nested.invalid_fields(), ["name"]);
}
