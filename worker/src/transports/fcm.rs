//! Firebase Cloud Messaging, HTTP v1 API, for the `fcm` platform.
//!
//! Authentication is a Google service account: a JWT signed with its RSA key (RS256) is
//! exchanged at the key file's `token_uri` for an OAuth2 access token, which is cached until a
//! minute before it expires. The token URI comes from the key file and the FCM base URL from
//! configuration, so tests run against local fakes of both.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{short, without_url};
use crate::backoff::retry_after;
use crate::push::{Outcome, PushMessage, Target, Transport};

/// The OAuth2 scope that allows sending with FCM.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An access token is renewed this long before Google says it expires, so it never lapses mid-send.
const TOKEN_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// The fields of a service-account key file (JSON) that sending needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    pub token_uri: String,
}

// Never print the key, even in a debug log.
impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads and checks a key file. The error names the file and the problem, never the key.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the service-account key file {shown}: {e}"))?;
        let account: ServiceAccount = serde_json::from_str(&text).map_err(|e| {
            // serde_json may quote a value it did not expect; only a missing field is safe to show.
            let what = e.to_string();
            let what = if what.starts_with("missing field") {
                what
            } else {
                format!("not valid JSON of the expected shape (line {})", e.line())
            };
            format!("{shown} is not a service-account key file: {what}")
        })?;
        for (field, value) in [
            ("project_id", &account.project_id),
            ("client_email", &account.client_email),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{shown}: the field {field} is empty"));
            }
        }
        Url::parse(&account.token_uri)
            .map_err(|e| format!("{shown}: token_uri is not a URL ({e})"))?;
        Ok(account)
    }
}

/// An access token and when to stop using it.
struct CachedToken {
    value: String,
    renew_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<i64>,
}

pub struct FcmTransport {
    client: Client,
    account: ServiceAccount,
    key: EncodingKey,
    send_url: Url,
    /// Held while a token is fetched, so concurrent sends wait for one refresh, not start many.
    token: Mutex<Option<CachedToken>>,
}

impl FcmTransport {
    /// A transport for this service account, sending to `base_url` (normally
    /// [`DEFAULT_BASE_URL`]). Fails if the private key is not an RSA PEM key or a URL is bad.
    pub fn new(account: ServiceAccount, base_url: &str) -> Result<Self, String> {
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|e| {
            format!("the service account's private_key is not an RSA PEM key ({e})")
        })?;
        // The PEM is only unwrapped above; one signature proves the key itself works.
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &json!({}), &key)
            .map_err(|e| format!("the service account's private_key cannot sign ({e})"))?;
        let base = Url::parse(base_url.trim_end_matches('/'))
            .map_err(|e| format!("IPS_FCM_BASE_URL is not a URL ({e})"))?;
        let send_url = Url::parse(&format!(
            "{}/v1/projects/{}/messages:send",
            base.as_str().trim_end_matches('/'),
            account.project_id
        ))
        .map_err(|e| format!("IPS_FCM_BASE_URL and project_id do not make a URL ({e})"))?;
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            account,
            key,
            send_url,
            token: Mutex::new(None),
        })
    }

    /// Reads the key file and builds the transport; the error is one line, without the key.
    pub fn from_key_file(path: &Path, base_url: &str) -> Result<Self, String> {
        let account = ServiceAccount::from_file(path)?;
        Self::new(account, base_url).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn project_id(&self) -> &str {
        &self.account.project_id
    }

    /// A valid access token: the cached one, or a new one. `rejected` is a token FCM just
    /// refused; if it is still the cached one it is replaced (another send may have done so).
    async fn access_token(&self, rejected: Option<&str>) -> Result<String, Outcome> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Utc::now() < token.renew_at && rejected != Some(token.value.as_str()) {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<CachedToken, Outcome> {
        let iat = Utc::now().timestamp();
        let claims = Claims {
            iss: &self.account.client_email,
            scope: SCOPE,
            aud: &self.account.token_uri,
            iat,
            exp: iat + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| Outcome::Failed {
                error: format!("FCM: cannot sign the token request: {e}"),
            })?;
        let response = self
            .client
            .post(&self.account.token_uri)
            .form(&[("grant_type", JWT_BEARER), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| Outcome::Retry {
                after_seconds: None,
                error: format!("FCM token request: {}", without_url(e)),
            })?;
        let status = response.status();
        if !status.is_success() {
            let after_seconds = retry_after(response.headers(), Utc::now());
            let body = response.text().await.unwrap_or_default();
            let error = format!("FCM token request: {status} {}", short(&body));
            // A refused grant (a revoked or wrong key) does not heal by retrying.
            return Err(if transient(status) {
                Outcome::Retry {
                    after_seconds,
                    error,
                }
            } else {
                Outcome::Failed { error }
            });
        }
        let token: TokenResponse = response.json().await.map_err(|e| Outcome::Retry {
            after_seconds: None,
            error: format!("FCM token response unreadable: {}", without_url(e)),
        })?;
        let lifetime = chrono::Duration::seconds(token.expires_in.unwrap_or(3600).max(0));
        Ok(CachedToken {
            value: token.access_token,
            renew_at: Utc::now() + (lifetime - TOKEN_MARGIN).max(chrono::Duration::zero()),
        })
    }

    async fn post(
        &self,
        bearer: &str,
        body: &Value,
    ) -> Result<(StatusCode, HeaderMap, String), Outcome> {
        let response = self
            .client
            .post(self.send_url.clone())
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .map_err(|e| Outcome::Retry {
                after_seconds: None,
                error: format!("FCM: {}", without_url(e)),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| Outcome::Retry {
            after_seconds: None,
            error: format!("FCM: reading the answer: {}", without_url(e)),
        })?;
        Ok((status, headers, text))
    }
}

#[async_trait::async_trait]
impl Transport for FcmTransport {
    fn name(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome {
        let Some(body) = request_body(target, message, Utc::now()) else {
            return Outcome::Failed {
                error: "expired before it could be sent".into(),
            };
        };
        let bearer = match self.access_token(None).await {
            Ok(token) => token,
            Err(outcome) => return outcome,
        };
        let (mut status, mut headers, mut text) = match self.post(&bearer, &body).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        if status == StatusCode::UNAUTHORIZED {
            // The token was revoked or expired early: one fresh token, one more try.
            let bearer = match self.access_token(Some(&bearer)).await {
                Ok(token) => token,
                Err(outcome) => return outcome,
            };
            (status, headers, text) = match self.post(&bearer, &body).await {
                Ok(answer) => answer,
                Err(outcome) => return outcome,
            };
        }
        outcome(status, &headers, &text)
    }
}

/// The HTTP v1 request for one device, or `None` if the message has already expired.
pub fn request_body(target: &Target, message: &PushMessage, now: DateTime<Utc>) -> Option<Value> {
    let mut data: BTreeMap<&str, &str> = message
        .data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(category) = message.category {
        data.insert("category", category);
    }
    // The collapse key folds only pushes still waiting for an offline phone; the tag is what
    // makes a shown notification give way to a newer one with the same key (a moved interview),
    // and keeps a push that was retried after a timeout, yet had arrived, to one on the screen.
    let mut android = json!({
        "collapse_key": message.collapse_key,
        "priority": "high",
        "notification": { "tag": message.collapse_key },
    });
    if let Some(expires_at) = message.expires_at {
        if expires_at <= now {
            return None;
        }
        let left = (expires_at - now).num_seconds();
        // FCM takes whole seconds; a message with under a second left still gets one.
        android["ttl"] = json!(format!("{}s", left.max(1)));
    }
    Some(json!({
        "message": {
            "token": target.token,
            "notification": { "title": message.title, "body": message.body },
            "data": data,
            "android": android,
        }
    }))
}

/// What FCM's answer means for this device.
pub fn outcome(status: StatusCode, headers: &HeaderMap, body: &str) -> Outcome {
    if status.is_success() {
        let provider_id = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["name"].as_str().map(str::to_owned));
        return Outcome::Delivered { provider_id };
    }
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let code = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["errorCode"].as_str())
        .or_else(|| error["status"].as_str())
        .unwrap_or("");
    let text = error["message"].as_str().unwrap_or("");
    let summary = format!(
        "FCM {}{}{}",
        status.as_u16(),
        if code.is_empty() {
            String::new()
        } else {
            format!(" {code}")
        },
        if text.is_empty() {
            String::new()
        } else {
            format!(": {}", short(text))
        }
    );
    if transient(status) || status == StatusCode::UNAUTHORIZED {
        return Outcome::Retry {
            after_seconds: retry_after(headers, Utc::now()),
            error: summary,
        };
    }
    let token_invalid = status == StatusCode::BAD_REQUEST
        && (code == "UNREGISTERED"
            || text.contains("not a valid FCM registration token")
            || bad_token_field(error));
    if status == StatusCode::NOT_FOUND || code == "UNREGISTERED" || token_invalid {
        return Outcome::Gone { error: summary };
    }
    Outcome::Failed { error: summary }
}

/// A 400 whose field violation is the token itself (Google's `BadRequest` detail).
fn bad_token_field(error: &Value) -> bool {
    error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["fieldViolations"].as_array())
        .flatten()
        .any(|v| v["field"].as_str() == Some("message.token"))
}

fn transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}
