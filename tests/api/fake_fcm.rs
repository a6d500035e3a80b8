//! A fake Google for push tests, on 127.0.0.1: the OAuth2 token endpoint (a service-account key
//! file's `token_uri`) and the FCM HTTP v1 send endpoint (`IPS_FCM_BASE_URL`), with a key file
//! pointing at them and an RSA key made for the test run. In-process transports and real
//! `ips work` processes alike can be pointed at it. No network.
//!
//! It keeps its own book of every send it received (the device token, the notification id the
//! push carries in its `data`, when, and what it answered), so tests count deliveries by what
//! the provider saw, not by what the workers recorded. It answers from a script (the next
//! answers, in order), then by its mode: accept everything, or a mix of 200, 429 with
//! `Retry-After`, 500 and timeouts (the request held longer than the sender waits), decided
//! per notification, device and attempt from a seed, so a run is repeatable. Tokens marked gone
//! always get `UNREGISTERED`, as FCM answers for an uninstalled app. A latency slows every
//! answer, as a real provider's round trip does. Its gate, closed, holds
//! every send unanswered (received, counted) until it is opened: a test can catch a worker with
//! pushes in flight.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use ips_worker::transports::fcm::FcmTransport;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};

pub const PROJECT: &str = "ips-demo";
pub const CLIENT_EMAIL: &str = "push@ips-demo.iam.gserviceaccount.com";

/// The service account's key pair (PKCS#8 private PEM, SPKI public PEM), made once per run.
pub fn key_pair() -> &'static (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, public)
    })
}

/// A service-account key file's contents, pointing at `token_uri`.
pub fn key_json(token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123abcd",
        "private_key": key_pair().0,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    })
}

/// One scripted FCM answer.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub fn answer(status: u16, retry_after: Option<&str>, body: Value) -> Answer {
    Answer {
        status,
        retry_after: retry_after.map(str::to_owned),
        body,
    }
}

/// Google's error body, with FCM's `errorCode` detail when given.
pub fn google_error(code: u16, status: &str, message: &str, error_code: Option<&str>) -> Value {
    let details = match error_code {
        Some(e) => {
            json!([{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": e }])
        }
        None => json!([]),
    };
    json!({ "error": { "code": code, "message": message, "status": status, "details": details } })
}

/// A seeded mix of answers. Each is a percentage; what is left over is answered 200.
#[derive(Debug, Clone)]
pub struct Mix {
    pub seed: u64,
    pub too_many_requests: u64,
    pub server_error: u64,
    pub timeout: u64,
    /// The `Retry-After` (seconds) a 429 carries, picked from this range.
    pub retry_after: RangeInclusive<u64>,
    /// How long a timed-out request is held before it is answered (longer than the sender waits).
    pub hold: Duration,
}

/// How the fake answers sends that no script covers.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    #[default]
    AcceptAll,
    Mix(Mix),
}

/// What the fake answered one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    Accepted,
    TooManyRequests {
        retry_after: u64,
    },
    ServerError,
    /// Held past the sender's timeout (then answered 200, to nobody).
    Held,
    Unregistered,
    /// The next answer of the script, with its status.
    Scripted(u16),
}

/// A request FCM received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: String,
    pub body: Value,
    /// The device token the push was addressed to.
    pub token: String,
    /// The notification the push carries (`data.notification_id`), if any.
    pub notification_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// The round the test had set when it arrived (see [`FakeFcm::set_round`]).
    pub round: u64,
    pub answered: Answered,
}

pub struct FakeGoogle {
    /// Forms posted to the token endpoint.
    pub token_requests: Mutex<Vec<HashMap<String, String>>>,
    /// `expires_in` of the tokens handed out.
    pub token_lifetime: Mutex<i64>,
    /// Every send received, in order, and how often each (notification, token) came before.
    book: Mutex<Book>,
    /// FCM's next answers, before the mode applies.
    script: Mutex<VecDeque<Answer>>,
    mode: Mutex<Mode>,
    gone: Mutex<HashSet<String>>,
    round: AtomicU64,
    /// While true, sends are received (and counted) but not answered: the provider is slow.
    gate: tokio::sync::watch::Sender<bool>,
    /// Sends held at the closed gate right now.
    held: AtomicUsize,
    /// How long every answer takes (a real provider's round trip).
    latency: Mutex<Duration>,
}

impl Default for FakeGoogle {
    fn default() -> Self {
        Self {
            token_requests: Mutex::default(),
            token_lifetime: Mutex::new(3600),
            book: Mutex::default(),
            script: Mutex::default(),
            mode: Mutex::default(),
            gone: Mutex::default(),
            round: AtomicU64::new(0),
            gate: tokio::sync::watch::Sender::new(false),
            held: AtomicUsize::new(0),
            latency: Mutex::new(Duration::ZERO),
        }
    }
}

#[derive(Default)]
struct Book {
    sends: Vec<Received>,
    tries: HashMap<(Option<i64>, String), u64>,
}

/// splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit value.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable hash of a token (FNV-1a), independent of the process and the Rust version.
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Mix {
    /// The answer to the `attempt`-th push (0 for the first) of this notification to this token.
    fn decide(&self, notification_id: Option<i64>, token: &str, attempt: u64) -> Answered {
        let id = notification_id.map_or(u64::MAX, |n| n as u64);
        let h =
            mix64(self.seed ^ mix64(id ^ mix64(text_hash(token) ^ mix64(attempt.wrapping_add(1)))));
        let roll = h % 100;
        let (a, b, c) = (
            self.too_many_requests,
            self.too_many_requests + self.server_error,
            self.too_many_requests + self.server_error + self.timeout,
        );
        if roll < a {
            let (lo, hi) = (*self.retry_after.start(), *self.retry_after.end());
            let retry_after = lo + (h >> 32) % (hi.saturating_sub(lo) + 1);
            Answered::TooManyRequests { retry_after }
        } else if roll < b {
            Answered::ServerError
        } else if roll < c {
            Answered::Held
        } else {
            Answered::Accepted
        }
    }
}

async fn token_endpoint(
    state: web::Data<Arc<FakeGoogle>>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let n = {
        let mut requests = state.token_requests.lock().unwrap();
        requests.push(form.into_inner());
        requests.len()
    };
    let lifetime = *state.token_lifetime.lock().unwrap();
    HttpResponse::Ok()
        .json(json!({ "access_token": format!("token-{n}"), "expires_in": lifetime, "token_type": "Bearer" }))
}

async fn fcm_endpoint(
    state: web::Data<Arc<FakeGoogle>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let token = body["message"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let notification_id = body["message"]["data"]["notification_id"]
        .as_str()
        .and_then(|id| id.parse().ok());
    let scripted = state.script.lock().unwrap().pop_front();
    let mode = state.mode.lock().unwrap().clone();
    let gone = state.gone.lock().unwrap().contains(&token);
    // Decided and recorded under one lock, so the attempt count and the book agree.
    let (answered, n) = {
        let mut book = state.book.lock().unwrap();
        let tries = book
            .tries
            .entry((notification_id, token.clone()))
            .or_insert(0);
        let attempt = *tries;
        *tries += 1;
        let answered = match (&scripted, gone, &mode) {
            (Some(a), _, _) => Answered::Scripted(a.status),
            (None, true, _) => Answered::Unregistered,
            (None, false, Mode::AcceptAll) => Answered::Accepted,
            (None, false, Mode::Mix(mix)) => mix.decide(notification_id, &token, attempt),
        };
        book.sends.push(Received {
            path: request.path().to_owned(),
            authorization,
            body,
            token,
            notification_id,
            at: Utc::now(),
            round: state.round.load(Ordering::SeqCst),
            answered: answered.clone(),
        });
        (answered, book.sends.len())
    };
    let latency = *state.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut gate = state.gate.subscribe();
    if *gate.borrow_and_update() {
        state.held.fetch_add(1, Ordering::SeqCst);
        // The sender gone (the fake stopped) opens it too.
        let _ = gate.wait_for(|closed| !*closed).await;
        state.held.fetch_sub(1, Ordering::SeqCst);
    }
    let accepted =
        || HttpResponse::Ok().json(json!({ "name": format!("projects/{PROJECT}/messages/0:{n}") }));
    match answered {
        Answered::Scripted(_) => {
            let a = scripted.expect("a scripted answer");
            let status = actix_web::http::StatusCode::from_u16(a.status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut reply = HttpResponse::build(status);
            if let Some(after) = a.retry_after {
                reply.insert_header(("Retry-After", after));
            }
            reply.json(a.body)
        }
        Answered::Accepted => accepted(),
        Answered::TooManyRequests { retry_after } => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", retry_after.to_string()))
            .json(google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded",
                Some("QUOTA_EXCEEDED"),
            )),
        Answered::ServerError => HttpResponse::InternalServerError().json(google_error(
            500,
            "INTERNAL",
            "Internal error",
            Some("INTERNAL"),
        )),
        Answered::Held => {
            let hold = match mode {
                Mode::Mix(mix) => mix.hold,
                Mode::AcceptAll => Duration::ZERO,
            };
            tokio::time::sleep(hold).await;
            accepted()
        }
        Answered::Unregistered => HttpResponse::NotFound().json(google_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
            Some("UNREGISTERED"),
        )),
    }
}

/// A running fake Google and a key file pointing at it; stopped when dropped.
pub struct FakeFcm {
    pub state: Arc<FakeGoogle>,
    pub base_url: String,
    pub token_uri: String,
    pub key_file: tempfile::NamedTempFile,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

impl FakeFcm {
    /// Starts on a random port of 127.0.0.1, accepting every send.
    pub fn start() -> Self {
        let state = Arc::new(FakeGoogle::default());
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/token", web::post().to(token_endpoint))
                .default_service(web::to(fcm_endpoint))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .shutdown_timeout(1)
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let base_url = format!("http://127.0.0.1:{port}");
        let token_uri = format!("{base_url}/token");
        let key_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key_file.path(), key_json(&token_uri).to_string()).unwrap();
        FakeFcm {
            state,
            base_url,
            token_uri,
            key_file,
            handle,
        }
    }

    /// An in-process FCM transport pointed at this fake.
    pub fn transport(&self) -> FcmTransport {
        FcmTransport::from_key_file(self.key_file.path(), &self.base_url).unwrap()
    }

    /// The environment that points an `ips work` process at this fake.
    pub fn worker_env(&self) -> [(&'static str, String); 2] {
        [
            (
                "IPS_FCM_CREDENTIALS",
                self.key_file.path().display().to_string(),
            ),
            ("IPS_FCM_BASE_URL", self.base_url.clone()),
        ]
    }

    pub fn script(&self, answers: Vec<Answer>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// From now on this token is answered `UNREGISTERED`.
    pub fn mark_gone(&self, token: &str) {
        self.state.gone.lock().unwrap().insert(token.to_owned());
    }

    /// Tags the sends that arrive from now on, so a test can tell which of its steps caused them.
    pub fn set_round(&self, round: u64) {
        self.state.round.store(round, Ordering::SeqCst);
    }

    /// Every answer from now on comes this long after its request.
    pub fn set_latency(&self, latency: Duration) {
        *self.state.latency.lock().unwrap() = latency;
    }

    /// From now on sends are received but not answered until [`FakeFcm::open`].
    pub fn close(&self) {
        self.state.gate.send_replace(true);
    }

    /// Answers the sends held at the gate, and every later one at once.
    pub fn open(&self) {
        self.state.gate.send_replace(false);
    }

    /// How many sends are held at the closed gate.
    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    pub fn sends(&self) -> Vec<Received> {
        self.state.book.lock().unwrap().sends.clone()
    }

    /// How many sends arrived so far.
    pub fn received(&self) -> usize {
        self.state.book.lock().unwrap().sends.len()
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.state.token_requests.lock().unwrap().clone()
    }
}
