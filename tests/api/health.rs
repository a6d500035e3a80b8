use crate::helpers::TestApp;
use reqwest::Method;

#[tokio::test]
async fn liveness_readiness_and_request_ids() {
    let app = TestApp::spawn().await;
    let live = app.send(Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, 200);
    assert_eq!(live.body["status"], "ok");
    let ready = app.send(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["database"], "ok");
    let id = ready.header("x-request-id").expect("request id header");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::spawn().await;
    app.send(Method::GET, "/health/live", None, None).await;
    app.send(Method::GET, "/v1/teams/12345", None, None).await;
    app.send(Method::GET, "/v1/me", None, None).await;
    app.send(Method::GET, "/v1/me/interviews", None, None).await;
    let metrics = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    let text = metrics.text;
    assert!(
        text.contains(
            r#"ips_http_requests_total{method="GET",route="/health/live",status="200"} 1"#
        ),
        "{text}"
    );
    // Ids never become labels: the pattern does.
    assert!(
        text.contains(r#"route="/v1/teams/{id:\\d+}",status="401""#)
            || text.contains(r#"route="/v1/teams/{id:\d+}",status="401""#),
        "{text}"
    );
    assert!(!text.contains("12345"));
    for route in ["/v1/me", "/v1/me/interviews"] {
        assert!(
            text.contains(&format!(r#"route="{route}",status="401""#)),
            "{route}: {text}"
        );
    }
    assert!(text.contains("ips_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn the_contract_is_served() {
    let app = TestApp::spawn().await;
    let reply = app.send(Method::GET, "/openapi.yaml", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/yaml"));
    assert!(
        reply.text.starts_with("openapi: 3.1"),
        "{}",
        &reply.text[..40.min(reply.text.len())]
    );
}
