//! The login and enrolment-code limits under a concurrent burst: hundreds of attempts at once,
//! each on its own client and connection (no keep-alive), against one account or from one
//! client address. Proves that no more attempts get past the limiter than the limit allows,
//! whatever their interleaving (an attempt is counted before its password or code is checked);
//! that every refusal is a 429 Problem with `Retry-After`; and that the limits are per account
//! and per client address as the README documents.

use std::time::Duration;

use ips_core::Config;
use serde_json::{json, Value};

use crate::helpers::{run, Reply, TestApp, PASSWORD};

/// Attempts in one burst.
const BURST: usize = 200;

/// Sends `BURST` requests at once, each from a new client that opens its own connection.
async fn burst(
    app: &TestApp,
    path: &str,
    make: impl Fn(usize) -> (Value, Option<String>),
) -> Vec<Reply> {
    let url = format!("{}{path}", app.address);
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            let (body, forwarded_for) = make(i);
            let url = url.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(60))
                    .build()
                    .expect("client");
                let mut request = client.post(url).json(&body);
                if let Some(address) = forwarded_for {
                    request = request.header("X-Forwarded-For", address);
                }
                run(request).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(BURST);
    for task in tasks {
        replies.push(task.await.expect("an attempt of the burst failed"));
    }
    replies
}

/// How a burst was answered.
#[derive(Debug, Default)]
struct Tally {
    /// Checked and accepted (200).
    accepted: usize,
    /// Checked and refused (401): each was one guess.
    refused: usize,
    /// Refused by the limiter (429).
    limited: usize,
    /// The database too busy to answer in time (503): never checked, as a guess is counted in
    /// the transaction that admits it.
    unavailable: usize,
}

impl Tally {
    /// Counts the answers, holding every 401, 429 and 503 to what the contract promises.
    fn of(replies: &[Reply], window_seconds: i64) -> Tally {
        let mut tally = Tally::default();
        for reply in replies {
            match reply.status.as_u16() {
                200 => tally.accepted += 1,
                401 => {
                    assert_eq!(reply.assert_problem(401), "invalid-credentials");
                    tally.refused += 1;
                }
                429 => {
                    assert_eq!(reply.assert_problem(429), "rate-limited");
                    let wait: i64 = reply
                        .header("retry-after")
                        .expect("429 without Retry-After")
                        .parse()
                        .expect("Retry-After in seconds");
                    assert!((1..=window_seconds).contains(&wait), "Retry-After {wait}");
                    tally.limited += 1;
                }
                503 => {
                    assert_eq!(reply.assert_problem(503), "unavailable");
                    assert!(reply.header("retry-after").is_some());
                    tally.unavailable += 1;
                }
                other => panic!("a burst answered {other}: {}", reply.text),
            }
        }
        tally
    }

    /// Exactly `limit` wrong guesses were checked: never more, and no fewer unless the database
    /// was too busy to take some in time (a small CI machine under a burst; the tally is printed).
    fn assert_guesses(&self, limit: i64, what: &str) {
        println!("{what}: {self:?} of {BURST}");
        let limit = usize::try_from(limit).unwrap();
        assert_eq!(self.accepted, 0, "{what}: a wrong guess was accepted");
        assert!(
            self.refused <= limit,
            "{what}: {} guesses checked, limit {limit}",
            self.refused
        );
        assert!(
            self.refused + self.unavailable >= limit,
            "{what}: only {} guesses checked and {} unavailable, limit {limit}",
            self.refused,
            self.unavailable
        );
        assert!(self.refused >= 1, "{what}: the limiter let nothing through");
        assert!(self.limited >= 1, "{what}: the limiter refused nothing");
    }
}

/// The pool a production instance has by default (16): a burst is refused by the limiter, not
/// queued out of the tests' small pool.
fn production_pool(config: &mut Config) {
    config.database_pool_size = Config::defaults().database_pool_size;
}

fn login(email: &str, password: &str) -> Value {
    json!({ "email": email, "password": password })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_passwords_for_one_account_gets_the_account_limit_and_no_more() {
    let app = TestApp::spawn_with(production_pool).await;
    app.create_admin("kari@example.no").await;
    let config = Config::defaults();
    let replies = burst(&app, "/v1/auth/login", |_| {
        (login("kari@example.no", "not the password"), None)
    })
    .await;
    Tally::of(&replies, config.auth_failure_window_seconds).assert_guesses(
        config.login_max_failures_per_account,
        "login burst, one account, one address",
    );
    // The account is now limited, even for its right password.
    let right = app.login("kari@example.no", PASSWORD).await;
    assert_eq!(right.assert_problem(429), "rate-limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_many_accounts_from_one_address_gets_the_client_limit_and_no_more() {
    let app = TestApp::spawn_with(production_pool).await;
    app.create_admin("kari@example.no").await;
    let config = Config::defaults();
    // Two attempts per address, well under the per-account limit: only the client limit binds.
    let replies = burst(&app, "/v1/auth/login", |i| {
        (
            login(&format!("guess{}@example.no", i / 2), "not the password"),
            None,
        )
    })
    .await;
    Tally::of(&replies, config.auth_failure_window_seconds).assert_guesses(
        config.login_max_failures_per_client,
        "login burst, many accounts, one address",
    );
    // The client is limited for every account, a real one with its right password too.
    let right = app.login("kari@example.no", PASSWORD).await;
    assert_eq!(right.assert_problem(429), "rate-limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_for_one_account_from_many_addresses_still_gets_the_account_limit() {
    let app = TestApp::spawn_with(|c| {
        production_pool(c);
        c.trust_forwarded_for = true;
    })
    .await;
    app.create_admin("kari@example.no").await;
    app.create_admin("ola@example.no").await;
    let config = Config::defaults();
    let replies = burst(&app, "/v1/auth/login", |i| {
        (
            login("kari@example.no", "not the password"),
            Some(format!("10.0.{}.{}", i / 250, i % 250 + 1)),
        )
    })
    .await;
    Tally::of(&replies, config.auth_failure_window_seconds).assert_guesses(
        config.login_max_failures_per_account,
        "login burst, one account, many addresses",
    );
    // Another account from yet another address is not affected.
    let other = app
        .run(
            app.client
                .post(format!("{}/v1/auth/login", app.address))
                .header("X-Forwarded-For", "10.9.9.9")
                .json(&login("ola@example.no", PASSWORD)),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_and_wrong_passwords_in_one_burst_are_each_answered_for_what_they_are() {
    let app = TestApp::spawn_with(production_pool).await;
    app.create_admin("kari@example.no").await;
    let config = Config::defaults();
    // One in four has the right password. A success forgives the account's failures (as a
    // login does), never the client's: the client limit still bounds the wrong ones.
    let replies = burst(&app, "/v1/auth/login", |i| {
        let password = if i % 4 == 0 {
            PASSWORD
        } else {
            "not the password"
        };
        (login("kari@example.no", password), None)
    })
    .await;
    for (i, reply) in replies.iter().enumerate() {
        let right = i % 4 == 0;
        let status = reply.status.as_u16();
        assert!(
            matches!((right, status), (true, 200) | (false, 401) | (_, 429 | 503)),
            "right password {right}: {status} {}",
            reply.text
        );
    }
    let tally = Tally::of(&replies, config.auth_failure_window_seconds);
    println!("login burst, right and wrong passwords: {tally:?} of {BURST}");
    assert!(
        i64::try_from(tally.refused).unwrap() <= config.login_max_failures_per_client,
        "{} wrong passwords were checked",
        tally.refused
    );
    // Which attempts are checked first is the scheduler's choice. A right password checked
    // before five wrong ones logs in (and forgives them); if five wrong ones come first, the
    // account is closed for the window and the right ones are refused with 429 like the rest.
    // So either some right password got through, or exactly the account's limit of wrong
    // ones was checked.
    assert!(
        tally.accepted >= 1
            || i64::try_from(tally.refused).unwrap() == config.login_max_failures_per_account
            || tally.unavailable > 0,
        "no right password got through, yet the account was not closed by wrong ones: {tally:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_enrolment_codes_gets_the_client_limit_and_no_more() {
    let app = TestApp::spawn_with(|c| {
        production_pool(c);
        c.trust_forwarded_for = true;
    })
    .await;
    let config = Config::defaults();
    let admin = app.admin().await;
    let team = app.create_team(&admin, "IPS Oslo").await;
    let (_, specialist) = app
        .staff_member(&admin, "spec@example.no", "specialist", Some(team))
        .await;
    let (_, code) = app.enrol(&specialist, "Ola").await;
    // Well-formed codes that are not the one issued.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    let guess = |i: usize| {
        let mut n = i;
        let mut guess = String::from("ZZZZ-");
        for _ in 0..4 {
            guess.push(char::from(ALPHABET[n % ALPHABET.len()]));
            n /= ALPHABET.len();
        }
        guess
    };
    let replies = burst(&app, "/v1/auth/enrol", |i| {
        (json!({ "code": guess(i) }), Some("10.1.0.1".to_owned()))
    })
    .await;
    Tally::of(&replies, config.auth_failure_window_seconds).assert_guesses(
        config.enrol_max_failures_per_client,
        "enrolment-code burst, one address",
    );
    let enrol_from = |address: &str| {
        app.client
            .post(format!("{}/v1/auth/enrol", app.address))
            .header("X-Forwarded-For", address)
            .json(&json!({ "code": code }))
    };
    // The guessing address is limited even with the right code; another address is not.
    let limited = app.run(enrol_from("10.1.0.1")).await;
    assert_eq!(limited.assert_problem(429), "rate-limited");
    let enrolled = app.run(enrol_from("10.1.0.2")).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
}
