//! Configuration: typed, layered (defaults, an optional TOML file, the environment), passed
//! explicitly to whatever needs it. Every setting is documented in the README's table.
//!
//! Each field reads the environment variable `IPS_<FIELD>` (for example `IPS_BIND`), except the
//! database URL, which is the conventional `DATABASE_URL`. `IPS_CONFIG` names the optional file,
//! whose keys are the field names in lower case.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::working_hours::WorkingHours;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Address the API listens on.
    pub bind: String,
    /// The base URL people and apps reach the API at (e.g. `https://ips.example.no`), for links
    /// the API hands out such as calendar feeds. Empty: `http://` + the bind address.
    pub public_url: String,
    /// `postgres://...` or `sqlite://file.db`. Secret: a PostgreSQL URL may hold a password.
    pub database_url: SecretString,
    /// Largest number of pooled database connections per process.
    pub database_pool_size: u32,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `ips_api=debug,info`.
    pub log: String,
    /// HTTP worker threads; 0 means one per core.
    pub http_workers: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How long SIGTERM waits for in-flight requests and worker ticks.
    pub shutdown_timeout_seconds: u64,
    /// When true, the client address for rate limits is taken from `X-Forwarded-For`/`Forwarded`
    /// (set it only behind a proxy that overwrites those headers).
    pub trust_forwarded_for: bool,
    /// Lifetime of an access token.
    pub access_token_ttl_seconds: i64,
    /// How long this process remembers who an access token belongs to before asking the database
    /// again; 0 asks every time. Revocation elsewhere (another instance, `ips admin`) takes effect
    /// here within this time; in this process at once.
    pub auth_cache_seconds: u64,
    /// A staff session ends after this many days without a refresh.
    pub staff_session_idle_days: i64,
    /// A participant's device session ends after this many days without a refresh.
    pub participant_session_idle_days: i64,
    /// How long an enrolment code stays usable.
    pub enrolment_code_ttl_hours: i64,
    /// Failed logins allowed per e-mail address within the window before 429.
    pub login_max_failures_per_account: i64,
    /// Failed logins allowed per client address within the window before 429.
    pub login_max_failures_per_client: i64,
    /// Wrong enrolment codes allowed per client address within the window before 429.
    pub enrol_max_failures_per_client: i64,
    /// The sliding window of the rate limits above.
    pub auth_failure_window_seconds: i64,
    /// Seconds between the worker's housekeeping ticks.
    pub housekeeping_interval_seconds: u64,
    /// Seconds between the dispatcher's ticks (each delivers everything due).
    pub dispatch_interval_seconds: u64,
    /// Notifications claimed per round.
    pub dispatch_batch: i64,
    /// Seconds a worker holds a claim before another may take it over.
    pub dispatch_lease_seconds: i64,
    /// Attempts before a notification that keeps failing transiently is given up.
    pub push_max_attempts: i32,
    /// Seconds a new staff message waits before it is pushed; read in the app first, no push.
    pub message_push_hold_seconds: i64,
    /// Write pushes to the log instead of sending them, for platforms with no provider configured
    /// (development only).
    pub push_log: bool,
    /// Path of a Google service-account key file (JSON) for FCM; empty: FCM is off.
    pub fcm_credentials: String,
    /// Where FCM's HTTP v1 API is (tests point it at a local fake).
    pub fcm_base_url: String,
    /// APNs token authentication: the .p8 key file, its key id, the team id and the app's bundle
    /// id (topic). All four set turns APNs on; none leaves it off.
    pub apns_key_file: String,
    pub apns_key_id: String,
    pub apns_team_id: String,
    pub apns_topic: String,
    /// Send to Apple's development environment instead of production.
    pub apns_sandbox: bool,
    /// Days an audit event is kept (0 keeps them for ever).
    pub audit_retention_days: i64,
    // --- follow-up plans (docs/follow-up.md) ---
    /// Hours before a plan's `due_at` that the "follow-up due" alert is raised.
    pub alert_follow_up_lead_hours: i64,
    /// Days after enrolment without an employer contact about the participant before the
    /// "no employer contact" alert (IPS principle 5: job search within a month).
    pub alert_no_employer_contact_days: i64,
    /// Unreached outreach attempts, since the participant was last reached, before a case may be
    /// closed as `lost_contact` (fidelity item 25).
    pub outreach_attempts_before_closing: i64,
    // --- team reports (docs/reports.md) ---
    /// The IANA time zone whose local days a report's period covers.
    pub report_time_zone: String,
    // --- alerts to specialists (docs/follow-up.md, "Alerts") ---
    /// Seconds between the worker's alert scans.
    pub alert_scan_interval_seconds: u64,
    /// Rows one scan transaction handles per cause; a scan repeats batches until nothing is due.
    pub alert_scan_batch: i64,
    /// Hours after an interview's end before "no outcome recorded" is raised.
    pub alert_outcome_grace_hours: i64,
    /// Working hours a participant's message may wait for a staff answer.
    pub alert_message_working_hours: i64,
    /// Minutes a call-me or benefits-counselling request may wait (0: at the next scan).
    pub alert_request_waiting_minutes: i64,
    /// The working day, `HH:MM-HH:MM`, Monday to Friday (public holidays are not modelled).
    pub working_day: String,
    /// The IANA time zone the working day is in.
    pub working_time_zone: String,
    // --- webhooks (README, "Webhooks") ---
    /// Accept plain `http://` webhook URLs (development and tests only; events carry ids that
    /// should not cross a network unencrypted).
    pub webhooks_allow_http: bool,
    /// Seconds between the worker's webhook ticks (each sends everything due).
    pub webhook_interval_seconds: u64,
    /// Attempts before a webhook delivery is given up.
    pub webhook_max_attempts: i32,
    /// Longest a receiver may take to answer one webhook request.
    pub webhook_timeout_seconds: u64,
}

/// The defaults, as they would appear in a config file.
#[derive(Serialize)]
struct Defaults {
    bind: &'static str,
    public_url: &'static str,
    database_url: &'static str,
    database_pool_size: u32,
    log_format: LogFormat,
    log: &'static str,
    http_workers: usize,
    body_limit_bytes: usize,
    shutdown_timeout_seconds: u64,
    trust_forwarded_for: bool,
    access_token_ttl_seconds: i64,
    auth_cache_seconds: u64,
    staff_session_idle_days: i64,
    participant_session_idle_days: i64,
    enrolment_code_ttl_hours: i64,
    login_max_failures_per_account: i64,
    login_max_failures_per_client: i64,
    enrol_max_failures_per_client: i64,
    auth_failure_window_seconds: i64,
    housekeeping_interval_seconds: u64,
    dispatch_interval_seconds: u64,
    dispatch_batch: i64,
    dispatch_lease_seconds: i64,
    push_max_attempts: i32,
    message_push_hold_seconds: i64,
    push_log: bool,
    fcm_credentials: &'static str,
    fcm_base_url: &'static str,
    apns_key_file: &'static str,
    apns_key_id: &'static str,
    apns_team_id: &'static str,
    apns_topic: &'static str,
    apns_sandbox: bool,
    audit_retention_days: i64,
    alert_follow_up_lead_hours: i64,
    alert_no_employer_contact_days: i64,
    outreach_attempts_before_closing: i64,
    report_time_zone: &'static str,
    alert_scan_interval_seconds: u64,
    alert_scan_batch: i64,
    alert_outcome_grace_hours: i64,
    alert_message_working_hours: i64,
    alert_request_waiting_minutes: i64,
    working_day: &'static str,
    working_time_zone: &'static str,
    webhooks_allow_http: bool,
    webhook_interval_seconds: u64,
    webhook_max_attempts: i32,
    webhook_timeout_seconds: u64,
}

const DEFAULTS: Defaults = Defaults {
    bind: "127.0.0.1:8080",
    public_url: "",
    database_url: "sqlite://ips.db",
    database_pool_size: 16,
    log_format: LogFormat::Text,
    log: "info",
    http_workers: 0,
    body_limit_bytes: 64 * 1024,
    shutdown_timeout_seconds: 30,
    trust_forwarded_for: false,
    access_token_ttl_seconds: 15 * 60,
    auth_cache_seconds: 5,
    staff_session_idle_days: 14,
    participant_session_idle_days: 180,
    enrolment_code_ttl_hours: 72,
    login_max_failures_per_account: 5,
    login_max_failures_per_client: 30,
    enrol_max_failures_per_client: 10,
    auth_failure_window_seconds: 15 * 60,
    housekeeping_interval_seconds: 300,
    dispatch_interval_seconds: 1,
    dispatch_batch: 500,
    dispatch_lease_seconds: 120,
    push_max_attempts: 8,
    message_push_hold_seconds: 120,
    push_log: false,
    fcm_credentials: "",
    fcm_base_url: "https://fcm.googleapis.com",
    apns_key_file: "",
    apns_key_id: "",
    apns_team_id: "",
    apns_topic: "",
    apns_sandbox: false,
    audit_retention_days: 0,
    alert_follow_up_lead_hours: 24,
    alert_no_employer_contact_days: 30,
    outreach_attempts_before_closing: 3,
    report_time_zone: "Europe/Oslo",
    alert_scan_interval_seconds: 60,
    alert_scan_batch: 500,
    alert_outcome_grace_hours: 4,
    alert_message_working_hours: 8,
    alert_request_waiting_minutes: 0,
    working_day: "08:00-16:00",
    working_time_zone: "Europe/Oslo",
    webhooks_allow_http: false,
    webhook_interval_seconds: 5,
    webhook_max_attempts: 8,
    webhook_timeout_seconds: 10,
};

impl Config {
    /// Defaults, then the file named by `IPS_CONFIG` (if set), then the environment.
    pub fn load() -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
        if let Ok(path) = std::env::var("IPS_CONFIG") {
            if !std::path::Path::new(&path).is_file() {
                return Err(format!(
                    "IPS_CONFIG names {path}, which is not a readable file"
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::prefixed("IPS_").ignore(&["CONFIG"]))
            .merge(Env::raw().only(&["DATABASE_URL"]));
        let config: Config = figment
            .extract()
            .map_err(|e| format!("configuration: {e}"))?;
        config.check()?;
        Ok(config)
    }

    /// The defaults alone (tests start from these and change what they need).
    pub fn defaults() -> Self {
        Figment::from(Serialized::defaults(DEFAULTS))
            .extract()
            .unwrap_or_else(|e| {
                // The defaults are constants above; failing to read them back is a programming error.
                unreachable!("the built-in defaults must deserialise: {e}")
            })
    }

    fn check(&self) -> Result<(), String> {
        let positive = [
            (
                "IPS_ACCESS_TOKEN_TTL_SECONDS",
                self.access_token_ttl_seconds,
            ),
            ("IPS_STAFF_SESSION_IDLE_DAYS", self.staff_session_idle_days),
            (
                "IPS_PARTICIPANT_SESSION_IDLE_DAYS",
                self.participant_session_idle_days,
            ),
            (
                "IPS_ENROLMENT_CODE_TTL_HOURS",
                self.enrolment_code_ttl_hours,
            ),
            (
                "IPS_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                self.login_max_failures_per_account,
            ),
            (
                "IPS_LOGIN_MAX_FAILURES_PER_CLIENT",
                self.login_max_failures_per_client,
            ),
            (
                "IPS_ENROL_MAX_FAILURES_PER_CLIENT",
                self.enrol_max_failures_per_client,
            ),
            (
                "IPS_AUTH_FAILURE_WINDOW_SECONDS",
                self.auth_failure_window_seconds,
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("configuration: {name} must be greater than 0"));
        }
        // Revocation must reach other instances within seconds, not minutes.
        if self.auth_cache_seconds > 60 {
            return Err("configuration: IPS_AUTH_CACHE_SECONDS must be at most 60".into());
        }
        if self.body_limit_bytes < 1024 {
            return Err("configuration: IPS_BODY_LIMIT_BYTES must be at least 1024".into());
        }
        if self.dispatch_interval_seconds == 0
            || self.dispatch_batch <= 0
            || self.dispatch_lease_seconds < 30
        {
            return Err("configuration: IPS_DISPATCH_INTERVAL_SECONDS and IPS_DISPATCH_BATCH must be greater than 0, and IPS_DISPATCH_LEASE_SECONDS at least 30".into());
        }
        if self.message_push_hold_seconds < 0 {
            return Err("configuration: IPS_MESSAGE_PUSH_HOLD_SECONDS must not be negative".into());
        }
        if self.push_max_attempts <= 0 {
            return Err("configuration: IPS_PUSH_MAX_ATTEMPTS must be greater than 0".into());
        }
        if self.housekeeping_interval_seconds == 0 {
            return Err(
                "configuration: IPS_HOUSEKEEPING_INTERVAL_SECONDS must be greater than 0".into(),
            );
        }
        if self.report_time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "configuration: IPS_REPORT_TIME_ZONE must be an IANA time zone such as Europe/Oslo (got {:?})",
                self.report_time_zone
            ));
        }
        self.check_follow_up()?;
        self.check_alerts()?;
        if self.webhook_interval_seconds == 0
            || !(1..=20).contains(&self.webhook_max_attempts)
            || !(1..=60).contains(&self.webhook_timeout_seconds)
        {
            return Err("configuration: IPS_WEBHOOK_INTERVAL_SECONDS must be greater than 0, IPS_WEBHOOK_MAX_ATTEMPTS from 1 to 20 and IPS_WEBHOOK_TIMEOUT_SECONDS from 1 to 60".into());
        }
        Ok(())
    }

    fn check_follow_up(&self) -> Result<(), String> {
        if !(0..=24 * 30).contains(&self.alert_follow_up_lead_hours) {
            return Err(
                "configuration: IPS_ALERT_FOLLOW_UP_LEAD_HOURS must be from 0 to 720".into(),
            );
        }
        if !(1..=365).contains(&self.alert_no_employer_contact_days) {
            return Err(
                "configuration: IPS_ALERT_NO_EMPLOYER_CONTACT_DAYS must be from 1 to 365".into(),
            );
        }
        if !(1..=20).contains(&self.outreach_attempts_before_closing) {
            return Err(
                "configuration: IPS_OUTREACH_ATTEMPTS_BEFORE_CLOSING must be from 1 to 20".into(),
            );
        }
        Ok(())
    }

    /// The follow-up rules this configuration sets.
    pub fn follow_up_rules(&self) -> crate::domain::follow_up::Rules {
        crate::domain::follow_up::Rules {
            lead: chrono::Duration::hours(self.alert_follow_up_lead_hours),
            no_employer_contact: chrono::Duration::days(self.alert_no_employer_contact_days),
            outreach_attempts_before_closing: self.outreach_attempts_before_closing,
        }
    }

    /// The time zone of report periods (checked at load; Oslo if it cannot be read).
    pub fn report_zone(&self) -> chrono_tz::Tz {
        self.report_time_zone
            .parse()
            .unwrap_or(chrono_tz::Europe::Oslo)
    }

    fn check_alerts(&self) -> Result<(), String> {
        if self.alert_scan_interval_seconds == 0 || self.alert_scan_batch <= 0 {
            return Err("configuration: IPS_ALERT_SCAN_INTERVAL_SECONDS and IPS_ALERT_SCAN_BATCH must be greater than 0".into());
        }
        if !(0..=24 * 30).contains(&self.alert_outcome_grace_hours) {
            return Err(
                "configuration: IPS_ALERT_OUTCOME_GRACE_HOURS must be between 0 and 720".into(),
            );
        }
        if !(1..=400).contains(&self.alert_message_working_hours) {
            return Err(
                "configuration: IPS_ALERT_MESSAGE_WORKING_HOURS must be between 1 and 400".into(),
            );
        }
        if !(0..=60 * 24 * 30).contains(&self.alert_request_waiting_minutes) {
            return Err(
                "configuration: IPS_ALERT_REQUEST_WAITING_MINUTES must be between 0 and 43200"
                    .into(),
            );
        }
        WorkingHours::parse(&self.working_day, &self.working_time_zone)
            .map_err(|e| format!("configuration: IPS_WORKING_DAY / IPS_WORKING_TIME_ZONE: {e}"))?;
        Ok(())
    }

    /// The working day alerts count in (checked at load; the default if it cannot be read).
    pub fn working_hours(&self) -> WorkingHours {
        WorkingHours::parse(&self.working_day, &self.working_time_zone).unwrap_or_default()
    }

    /// The base of absolute links, without a trailing slash.
    pub fn public_base(&self) -> String {
        if self.public_url.trim().is_empty() {
            format!("http://{}", self.bind)
        } else {
            self.public_url.trim().trim_end_matches('/').to_owned()
        }
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_secret_is_hidden() {
        let config = Config::defaults();
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.database_url(), "sqlite://ips.db");
        assert!(config.check().is_ok());
        assert_eq!(config.working_hours(), WorkingHours::default());
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("ips.db"),
            "the database URL is redacted: {printed}"
        );
    }

    #[test]
    fn alert_settings_are_checked() {
        let mut config = Config::defaults();
        config.working_day = "16:00-08:00".into();
        assert!(config.check().is_err());
        let mut config = Config::defaults();
        config.working_time_zone = "Mars/Olympus".into();
        assert!(config.check().is_err());
        let mut config = Config::defaults();
        config.alert_message_working_hours = 0;
        assert!(config.check().is_err());
        let mut config = Config::defaults();
        config.alert_scan_batch = 0;
        assert!(config.check().is_err());
    }
}
