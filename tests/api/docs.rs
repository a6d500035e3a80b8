//! `/docs`: the reference page and its script over HTTP, and the page as a browser renders it.
//!
//! The browser test runs Debian's `chromium` headless against the real app. Where Chromium is not
//! installed it says so and passes, unless `IPS_REQUIRE_BROWSER=1` (set by `.ci/run`), where a
//! missing browser fails it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// The page's script, as the page links to it.
const SCRIPT: &str = "/docs/redoc.standalone.js";

#[tokio::test]
async fn the_page_is_self_contained_and_strict() {
    let app = TestApp::spawn().await;
    let page = app.send(Method::GET, "/docs", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.text.contains(r#"<redoc spec-url="/openapi.yaml">"#));
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "the page names no other host: {}",
        page.text
    );

    let csp = page
        .header("content-security-policy")
        .expect("a Content-Security-Policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "worker-src blob:",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&expected), "{expected:?} in {csp}");
    }
    for source in csp.split_whitespace() {
        assert!(
            !source.contains("://") && source != "*" && source != "'unsafe-eval'",
            "{source:?} in {csp}"
        );
    }
}

#[tokio::test]
async fn the_script_is_cached_by_its_checksum() {
    let app = TestApp::spawn().await;
    let page = app.send(Method::GET, "/docs", None, None).await;
    let link = page
        .text
        .split('"')
        .find(|s| s.starts_with(SCRIPT))
        .expect("the page links to its script")
        .to_owned();
    let version = link
        .split_once("?v=")
        .map(|(_, v)| v.to_owned())
        .expect("the link carries the script's version");

    let script = app
        .run(app.client.get(format!("{}{link}", app.address)))
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.header("content-type"),
        Some("application/javascript; charset=utf-8")
    );
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000")
    );
    let etag = script.header("etag").expect("an ETag").to_owned();
    assert_eq!(etag.len(), 66, "a quoted SHA-256: {etag}");
    assert!(
        etag.trim_matches('"').starts_with(&version),
        "{etag} names {version}"
    );
    assert!(
        script.text.len() > 100_000,
        "the whole bundle: {} bytes",
        script.text.len()
    );

    let again = app
        .run(
            app.client
                .get(format!("{}{SCRIPT}", app.address))
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.text.is_empty());

    let stale = app
        .run(
            app.client
                .get(format!("{}{SCRIPT}", app.address))
                .header("If-None-Match", "\"an-older-version\""),
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.text.len(), script.text.len());
}

/// Where Chromium is, or why the test cannot run: `IPS_CHROMIUM`, else `chromium` or
/// `chromium-browser` on the `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("IPS_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// What the browser showed: the rendered DOM, its log, and the URLs the page itself asked for.
struct Rendered {
    dom: String,
    log: String,
    page_requests: Vec<String>,
}

/// Loads `url` in headless Chromium and gives it up to 20 s of virtual time to render. The
/// resolver knows no host but 127.0.0.1, so nothing can leave the machine even if the page tried;
/// the flags keep Chromium's own background traffic (updates, sync) quiet.
async fn render(browser: &Path, url: &str, origin: &str) -> Rendered {
    let profile = tempfile::tempdir().unwrap();
    let net_log = profile.path().join("net-log.json");
    let run = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg(url)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("chromium finished within 2 minutes")
        .expect("chromium started");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "chromium failed: {log}");
    let page_requests = requests_from(&std::fs::read_to_string(&net_log).unwrap(), origin);
    Rendered {
        dom: String::from_utf8(output.stdout).unwrap(),
        log,
        page_requests,
    }
}

/// The URLs of the requests a page of `origin` started, read from Chromium's net log. Chromium's
/// own requests (it has some even with the flags above) start from no origin and are left out.
fn requests_from(net_log: &str, origin: &str) -> Vec<String> {
    // Chromium may leave the closing brackets off when it exits; the events are all there.
    let log: Value = serde_json::from_str(net_log)
        .or_else(|_| {
            serde_json::from_str(&format!("{}]}}", net_log.trim_end().trim_end_matches(',')))
        })
        .expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names its event types");
    log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() == Some(origin))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// Every operation of the contract, routes and webhooks alike, as (operationId, summary).
fn operations() -> Vec<(String, String)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).unwrap();
    let mut out = Vec::new();
    let paths = doc["paths"].as_mapping().unwrap();
    let webhooks = doc["webhooks"].as_mapping().into_iter().flatten();
    for (_, item) in paths.iter().chain(webhooks) {
        for (method, op) in item.as_mapping().unwrap() {
            if ["get", "put", "post", "patch", "delete"].contains(&method.as_str().unwrap()) {
                out.push((
                    op["operationId"].as_str().unwrap().to_owned(),
                    op["summary"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out
}

/// Text as the DOM serialiser writes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::test]
async fn the_page_renders_every_operation_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("IPS_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "IPS_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)"
        );
        println!("skipped: chromium not installed (IPS_REQUIRE_BROWSER=1 makes this a failure)");
        return;
    };
    let app = TestApp::spawn().await;
    let shown = render(&browser, &format!("{}/docs", app.address), &app.address).await;

    // Redoc gives each operation a section `operation/<operationId>`: exactly the contract's.
    let sections: BTreeSet<&str> = shown
        .dom
        .split(r#"data-section-id="operation/"#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let operations = operations();
    let ids: BTreeSet<&str> = operations.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        sections, ids,
        "the rendered operations are the contract's (is the page rendered at all?)"
    );
    assert!(ids.len() > 100);
    let missing: Vec<&str> = operations
        .iter()
        .map(|(_, summary)| summary.as_str())
        .filter(|summary| !shown.dom.contains(&escaped(summary)))
        .collect();
    assert!(missing.is_empty(), "summaries not shown: {missing:?}");
    assert!(shown.dom.contains("IPS Companion API"));

    // The page asked this server for its script and the contract, and nothing of anyone else.
    let foreign: Vec<&String> = shown
        .page_requests
        .iter()
        .filter(|url| !url.starts_with(&format!("{}/", app.address)))
        .collect();
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:?}");
    for wanted in [SCRIPT, "/openapi.yaml"] {
        assert!(
            shown
                .page_requests
                .iter()
                .any(|url| url.starts_with(&format!("{}{wanted}", app.address))),
            "{wanted} in {:?}",
            shown.page_requests
        );
    }

    // The policy blocks only what Redoc can do without: the Redocly logo in its sidebar, an image
    // on Redocly's CDN, which Redoc then leaves out.
    let violations: Vec<&str> = shown
        .log
        .lines()
        .filter(|l| l.contains("Content Security Policy"))
        .filter(|l| !l.contains("https://cdn.redoc.ly/redoc/logo-mini.svg"))
        .collect();
    assert!(violations.is_empty(), "blocked by the CSP: {violations:#?}");
}
