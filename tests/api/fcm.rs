//! The FCM HTTP v1 transport against the local fake Google of `fake_fcm.rs`: a token endpoint
//! (the key file's `token_uri`) and the FCM send endpoint (`IPS_FCM_BASE_URL`) on 127.0.0.1, a
//! service account with an RSA key made for the test run. No network. The last test runs the
//! real dispatcher.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use ips_worker::dispatcher::{DispatchConfig, Dispatcher};
use ips_worker::push::{Outcome, PushMessage, Target, Transport};
use ips_worker::transports::fcm::{self, FcmTransport, ServiceAccount};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::fake_fcm::{
    answer, google_error, key_json, key_pair, Answer, FakeFcm, CLIENT_EMAIL, PROJECT,
};
use crate::helpers::{TestApp, World};
use crate::worker::{execute, participant_with_due_reminders, rows, BUDGET};

fn target() -> Target {
    Target {
        device_id: 7,
        token: "device-token-abc".into(),
    }
}

fn message() -> PushMessage {
    PushMessage {
        notification_id: 42,
        title: "Påminnelse".into(),
        body: "Du har en avtale i morgen".into(),
        category: Some("INTERVIEW_REMINDER"),
        data: BTreeMap::from([
            ("notification_id".to_owned(), "42".to_owned()),
            ("interview_id".to_owned(), "9".to_owned()),
        ]),
        collapse_key: "interview-9".into(),
        expires_at: Some(Utc::now() + Duration::hours(1)),
    }
}

#[tokio::test]
async fn the_token_request_is_a_signed_jwt_and_the_token_is_reused() {
    let fake = FakeFcm::start();
    let fcm = fake.transport();
    for _ in 0..3 {
        let outcome = fcm.send(&target(), &message()).await;
        assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    }
    let requests = fake.token_requests();
    assert_eq!(requests.len(), 1, "one token for all three sends");
    assert_eq!(
        requests[0]["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&fake.token_uri]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<Value>(
        &requests[0]["assertion"],
        &DecodingKey::from_rsa_pem(key_pair().1.as_bytes()).unwrap(),
        &validation,
    )
    .expect("an RS256 JWT signed with the service account's key")
    .claims;
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], fake.token_uri);
    assert_eq!(claims["scope"], fcm::SCOPE);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
    assert!((iat - Utc::now().timestamp()).abs() < 60);
    assert!(fake
        .sends()
        .iter()
        .all(|s| s.authorization == "Bearer token-1"));
}

#[tokio::test]
async fn a_token_close_to_expiry_is_renewed() {
    let fake = FakeFcm::start();
    // Shorter than the renewal margin: every send needs a new one.
    *fake.state.token_lifetime.lock().unwrap() = 30;
    let fcm = fake.transport();
    fcm.send(&target(), &message()).await;
    fcm.send(&target(), &message()).await;
    assert_eq!(fake.token_requests().len(), 2);
    let auth: Vec<String> = fake.sends().into_iter().map(|s| s.authorization).collect();
    assert_eq!(auth, ["Bearer token-1", "Bearer token-2"]);
}

#[tokio::test]
async fn concurrent_sends_share_one_token_request() {
    let fake = FakeFcm::start();
    let fcm = Arc::new(fake.transport());
    let sends = (0..8).map(|_| {
        let fcm = fcm.clone();
        tokio::spawn(async move { fcm.send(&target(), &message()).await })
    });
    for send in futures_util::future::join_all(sends).await {
        assert!(matches!(send.unwrap(), Outcome::Delivered { .. }));
    }
    assert_eq!(fake.token_requests().len(), 1);
}

#[tokio::test]
async fn a_send_carries_the_message_the_collapse_key_and_the_ttl() {
    let fake = FakeFcm::start();
    let fcm = fake.transport();
    let outcome = fcm.send(&target(), &message()).await;
    assert_eq!(
        outcome,
        Outcome::Delivered {
            provider_id: Some(format!("projects/{PROJECT}/messages/0:1"))
        }
    );
    let sent = &fake.sends()[0];
    assert_eq!(sent.path, format!("/v1/projects/{PROJECT}/messages:send"));
    assert_eq!(sent.authorization, "Bearer token-1");
    let m = &sent.body["message"];
    assert_eq!(m["token"], "device-token-abc");
    assert_eq!(
        m["notification"],
        json!({ "title": "Påminnelse", "body": "Du har en avtale i morgen" })
    );
    assert_eq!(
        m["data"],
        json!({ "notification_id": "42", "interview_id": "9", "category": "INTERVIEW_REMINDER" })
    );
    assert_eq!(m["android"]["collapse_key"], "interview-9");
    assert_eq!(m["android"]["notification"]["tag"], "interview-9");
    assert_eq!(m["android"]["priority"], "high");
    let ttl = m["android"]["ttl"].as_str().unwrap();
    let seconds: i64 = ttl.strip_suffix('s').unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&seconds), "{ttl}");
}

#[test]
fn the_ttl_is_at_least_a_second_and_an_expired_message_is_not_built() {
    let now = Utc::now();
    let mut soon = message();
    soon.expires_at = Some(now + Duration::milliseconds(300));
    let body = fcm::request_body(&target(), &soon, now).unwrap();
    assert_eq!(body["message"]["android"]["ttl"], "1s");
    let mut forever = message();
    forever.expires_at = None;
    let body = fcm::request_body(&target(), &forever, now).unwrap();
    assert!(body["message"]["android"].get("ttl").is_none());
    let mut late = message();
    late.expires_at = Some(now - Duration::seconds(1));
    assert!(fcm::request_body(&target(), &late, now).is_none());
}

#[tokio::test]
async fn an_expired_message_is_not_sent() {
    let fake = FakeFcm::start();
    let fcm = fake.transport();
    let mut late = message();
    late.expires_at = Some(Utc::now() - Duration::seconds(5));
    assert!(matches!(
        fcm.send(&target(), &late).await,
        Outcome::Failed { .. }
    ));
    assert!(fake.sends().is_empty());
}

#[tokio::test]
async fn each_answer_maps_to_its_outcome() {
    let fake = FakeFcm::start();
    let fcm = fake.transport();
    let invalid_token = google_error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        Some("INVALID_ARGUMENT"),
    );
    let cases: Vec<(Answer, &str, Option<u64>)> = vec![
        (
            answer(
                429,
                Some("30"),
                google_error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded",
                    Some("QUOTA_EXCEEDED"),
                ),
            ),
            "retry",
            Some(30),
        ),
        (
            answer(
                500,
                None,
                google_error(500, "INTERNAL", "Internal error", Some("INTERNAL")),
            ),
            "retry",
            None,
        ),
        (
            answer(
                503,
                Some("7"),
                google_error(503, "UNAVAILABLE", "Unavailable", Some("UNAVAILABLE")),
            ),
            "retry",
            Some(7),
        ),
        (
            answer(
                404,
                None,
                google_error(
                    404,
                    "NOT_FOUND",
                    "Requested entity was not found.",
                    Some("UNREGISTERED"),
                ),
            ),
            "gone",
            None,
        ),
        (answer(400, None, invalid_token), "gone", None),
        (
            answer(
                400,
                None,
                google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    Some("UNREGISTERED"),
                ),
            ),
            "gone",
            None,
        ),
        (
            answer(
                400,
                None,
                google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "Invalid value at 'message.android.ttl'",
                    Some("INVALID_ARGUMENT"),
                ),
            ),
            "failed",
            None,
        ),
        (
            answer(
                403,
                None,
                google_error(
                    403,
                    "PERMISSION_DENIED",
                    "SenderId mismatch",
                    Some("SENDER_ID_MISMATCH"),
                ),
            ),
            "failed",
            None,
        ),
        (answer(413, None, json!({})), "failed", None),
    ];
    for (given, expected, expected_after) in cases {
        let status = given.status;
        fake.script(vec![given]);
        let outcome = fcm.send(&target(), &message()).await;
        match (&outcome, expected) {
            (
                Outcome::Retry {
                    after_seconds,
                    error,
                },
                "retry",
            ) => {
                assert_eq!(*after_seconds, expected_after, "{status}");
                assert!(error.contains(&status.to_string()), "{error}");
            }
            (Outcome::Gone { error }, "gone") | (Outcome::Failed { error }, "failed") => {
                assert!(error.contains(&status.to_string()), "{error}");
            }
            _ => panic!("{status}: expected {expected}, got {outcome:?}"),
        }
    }
    assert_eq!(
        fake.token_requests().len(),
        1,
        "errors other than 401 keep the token"
    );
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_then_retries_later() {
    let fake = FakeFcm::start();
    let fcm = fake.transport();
    let unauthorized = || {
        answer(
            401,
            None,
            google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                Some("THIRD_PARTY_AUTH_ERROR"),
            ),
        )
    };
    fake.script(vec![unauthorized()]);
    let outcome = fcm.send(&target(), &message()).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    let auth: Vec<String> = fake.sends().into_iter().map(|s| s.authorization).collect();
    assert_eq!(auth, ["Bearer token-1", "Bearer token-2"]);

    fake.script(vec![unauthorized(), unauthorized()]);
    let outcome = fcm.send(&target(), &message()).await;
    assert!(
        matches!(&outcome, Outcome::Retry { error, .. } if error.contains("401")),
        "{outcome:?}"
    );
    assert_eq!(fake.token_requests().len(), 3, "one refresh per send");
    assert_eq!(fake.sends().len(), 4);
}

#[tokio::test]
async fn network_failures_are_retried() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let fake = FakeFcm::start();
    // FCM unreachable.
    let fcm =
        FcmTransport::from_key_file(fake.key_file.path(), &format!("http://127.0.0.1:{closed}"))
            .unwrap();
    assert!(matches!(
        fcm.send(&target(), &message()).await,
        Outcome::Retry { .. }
    ));
    // The token endpoint unreachable.
    let account = ServiceAccount {
        token_uri: format!("http://127.0.0.1:{closed}/token"),
        ..ServiceAccount::from_file(fake.key_file.path()).unwrap()
    };
    let fcm = FcmTransport::new(account, &fake.base_url).unwrap();
    assert!(matches!(
        fcm.send(&target(), &message()).await,
        Outcome::Retry { .. }
    ));
    assert!(fake.sends().is_empty());
}

#[tokio::test]
async fn the_configuration_turns_fcm_on_and_a_bad_key_file_turns_it_off_with_a_reason() {
    let fake = FakeFcm::start();
    let mut config = ips_core::Config::defaults();
    assert!(ips_worker::fcm_transport(&config).unwrap().is_none());

    config.fcm_credentials = fake.key_file.path().display().to_string();
    config.fcm_base_url = fake.base_url.clone();
    let fcm = ips_worker::fcm_transport(&config).unwrap().unwrap();
    assert_eq!((fcm.name(), fcm.project_id()), ("fcm", PROJECT));

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let mut missing_email = key_json(&fake.token_uri);
    missing_email
        .as_object_mut()
        .unwrap()
        .remove("client_email");
    let mut bad_key = key_json(&fake.token_uri);
    bad_key["private_key"] =
        json!("-----BEGIN PRIVATE KEY-----\nTOP-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n");
    let mut wrong_type = key_json(&fake.token_uri);
    wrong_type["project_id"] = json!(12345);
    let cases = [
        (
            dir.path().join("absent.json").display().to_string(),
            "cannot read",
        ),
        (
            write("garbage.json", "not json".into()),
            "not a service-account key file",
        ),
        (
            write("no-email.json", missing_email.to_string()),
            "missing field `client_email`",
        ),
        (write("bad-key.json", bad_key.to_string()), "private_key"),
        (
            write("wrong-type.json", wrong_type.to_string()),
            "not valid JSON of the expected shape",
        ),
    ];
    for (path, problem) in cases {
        config.fcm_credentials = path.clone();
        let error = ips_worker::fcm_transport(&config)
            .err()
            .unwrap_or_else(|| panic!("{path} is refused"));
        assert!(
            error.starts_with("IPS_FCM_CREDENTIALS") && error.contains(&path),
            "{error}"
        );
        assert!(error.contains(problem), "{error}");
        assert!(
            !error.contains("TOP-SECRET") && !error.contains("BEGIN"),
            "{error}"
        );
        assert!(!error.contains('\n'), "one line: {error}");
    }

    // The worker starts anyway, without FCM.
    let app = TestApp::spawn().await;
    let worker = ips_worker::dispatcher(app.db.clone(), &config);
    assert_eq!(worker.tick(BUDGET).await.unwrap().claimed, 0);
}

#[derive(QueryableByName)]
struct DeviceState {
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = Nullable<Text>)]
    disabled_reason: Option<String>,
}

#[derive(QueryableByName)]
struct NextAttempt {
    #[diesel(sql_type = Timestamp)]
    next_attempt_at: NaiveDateTime,
}

#[tokio::test]
async fn through_the_dispatcher_unregistered_disables_the_device_and_429_waits() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let fake = FakeFcm::start();
    let worker = Dispatcher::new(
        app.db.clone(),
        "worker-fcm".into(),
        vec![Arc::new(fake.transport()) as Arc<dyn Transport>],
        None,
        DispatchConfig {
            max_attempts: 3,
            ..DispatchConfig::default()
        },
    );
    let only_latest_pending = "UPDATE notifications SET status = 'cancelled' WHERE status = 'pending' AND id <> (SELECT MAX(id) FROM notifications WHERE status = 'pending')";

    // FCM says the device's token is gone: the device is disabled.
    let (_, device) = participant_with_due_reminders(&app, &w.specialist, "Nora").await;
    execute(&app, only_latest_pending);
    fake.script(vec![answer(
        404,
        None,
        google_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
            Some("UNREGISTERED"),
        ),
    )]);
    worker.tick(BUDGET).await.unwrap();
    let sends = fake.sends();
    assert_eq!(sends.len(), 1);
    assert!(sends[0].body["message"]["token"]
        .as_str()
        .unwrap()
        .starts_with("fcm-token-Nora"));
    let state: DeviceState = {
        let mut conn = app.db.get().unwrap();
        diesel::sql_query(format!(
            "SELECT enabled, disabled_reason FROM devices WHERE id = {device}"
        ))
        .get_result(&mut *conn)
        .unwrap()
    };
    assert!(!state.enabled);
    assert!(state.disabled_reason.unwrap().contains("UNREGISTERED"));

    // FCM is overloaded and asks for five minutes: the notification waits that long.
    participant_with_due_reminders(&app, &w.specialist, "Jonas").await;
    execute(&app, only_latest_pending);
    fake.script(vec![answer(
        429,
        Some("300"),
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            Some("QUOTA_EXCEEDED"),
        ),
    )]);
    let before = Utc::now().naive_utc();
    let report = worker.tick(BUDGET).await.unwrap();
    assert_eq!((report.claimed, report.retried), (1, 1));
    let row = rows(&app)
        .into_iter()
        .find(|r| r.status == "pending")
        .unwrap();
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.unwrap().contains("429"));
    let next: NextAttempt = {
        let mut conn = app.db.get().unwrap();
        diesel::sql_query(format!(
            "SELECT next_attempt_at FROM notifications WHERE id = {}",
            row.id
        ))
        .get_result(&mut *conn)
        .unwrap()
    };
    assert!(
        next.next_attempt_at >= before + Duration::seconds(300),
        "{} is at least 300 s after {before}",
        next.next_attempt_at
    );
    assert_eq!(worker.tick(BUDGET).await.unwrap().claimed, 0);
    assert_eq!(fake.sends().len(), 2);
}
