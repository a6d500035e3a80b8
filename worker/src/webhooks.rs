//! The webhook sender: claims due deliveries under a lease (the outbox's claim), POSTs each
//! event's stored body, signed the Standard Webhooks way, and records the answer while the lease
//! is held.
//!
//! 2xx is delivered; 410 Gone fails the delivery and disables the endpoint; anything else (429,
//! 5xx, other statuses, timeouts, refused connections) is retried with exponential backoff and
//! jitter, never sooner than a `Retry-After` asks, until the attempts are spent.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use futures_util::stream::{self, StreamExt};
use ips_core::domain::webhooks::sign;
use ips_core::store::now;
use ips_core::store::webhook_deliveries::{self, Attempt, Job, Settled};
use ips_core::{Db, StoreError};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use reqwest::StatusCode;

use crate::backoff::{retry_after, Backoff};
use crate::transports::{short, without_url};

/// What receivers see as the sender.
pub const USER_AGENT_VALUE: &str = concat!("IPS-Companion-Webhooks/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Deliveries claimed per round.
    pub batch: i64,
    /// How long a claim is held before another worker may take it over; well over `timeout`.
    pub lease: Duration,
    /// Attempts before a delivery is given up.
    pub max_attempts: i32,
    /// Retries wait `base * 4^(n-1)` (with jitter), at most `max`: with the defaults, 15 s,
    /// 1 min, 4 min, 16 min, about 1 h, 4 h and 12 h, so 8 attempts span up to about a day.
    pub backoff: Backoff,
    /// Longest one request may take.
    pub timeout: StdDuration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            lease: Duration::seconds(120),
            max_attempts: 8,
            backoff: Backoff {
                base: Duration::seconds(15),
                factor: 4,
                max: Duration::hours(12),
            },
            timeout: StdDuration::from_secs(10),
            concurrency: 16,
        }
    }
}

/// What one tick did, for the worker's log line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WebhookTickReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Put back because their endpoint was paused or disabled meanwhile.
    pub held: usize,
    /// Results not recorded because the lease had passed to another worker.
    pub lost_leases: usize,
}

pub struct WebhookSender {
    db: Db,
    owner: String,
    client: reqwest::Client,
    config: WebhookConfig,
}

impl WebhookSender {
    pub fn new(db: Db, owner: String, config: WebhookConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect is an answer like any other non-2xx: the endpoint's URL is what an
            // administrator registered, and the signature is not sent anywhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self {
            db,
            owner,
            client,
            config,
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims and sends until nothing is due (or `budget` has passed).
    pub async fn tick(&self, budget: StdDuration) -> Result<WebhookTickReport, StoreError> {
        let started = Instant::now();
        let mut report = WebhookTickReport::default();
        loop {
            let (owner, lease, batch) = (self.owner.clone(), self.config.lease, self.config.batch);
            let jobs = self
                .db
                .write(move |conn| webhook_deliveries::claim_due(conn, &owner, now(), lease, batch))
                .await?;
            let count = jobs.len();
            report.claimed += count;
            let results: Vec<Result<(bool, Settled), StoreError>> = stream::iter(jobs)
                .map(|job| self.deliver(job))
                .buffer_unordered(self.config.concurrency.max(1))
                .collect()
                .await;
            for result in results {
                match result? {
                    (false, _) => report.lost_leases += 1,
                    (true, Settled::Delivered) => report.delivered += 1,
                    (true, Settled::Retry { .. }) => report.retried += 1,
                    (true, Settled::Failed | Settled::Gone) => report.failed += 1,
                    (true, Settled::Held) => report.held += 1,
                }
            }
            if (count as i64) < self.config.batch || started.elapsed() >= budget {
                return Ok(report);
            }
        }
    }

    /// Sends one delivery and records the answer: (recorded, how it ended).
    async fn deliver(&self, job: Job) -> Result<(bool, Settled), StoreError> {
        let (attempt, settled) = if job.endpoint_active {
            let (attempt, asked) = self.post(&job).await;
            let settled = self.judge(&job, &attempt, asked);
            (Some(attempt), settled)
        } else {
            (None, Settled::Held)
        };
        let owner = self.owner.clone();
        let recorded = settled.clone();
        let kept = self
            .db
            .write(move |conn| {
                webhook_deliveries::settle(conn, &job, &owner, attempt.as_ref(), &recorded, now())
            })
            .await?;
        Ok((kept, settled))
    }

    /// One signed POST: what happened, and the `Retry-After` the receiver asked for.
    async fn post(&self, job: &Job) -> (Attempt, Option<u64>) {
        let timestamp = Utc::now().timestamp();
        let signatures: Vec<String> = job
            .secrets
            .iter()
            .filter_map(|secret| sign(secret, &job.event_id, timestamp, &job.body))
            .collect();
        let started = Instant::now();
        let sent = self
            .client
            .post(&job.url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header("webhook-id", &job.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            // Several signatures, space-separated, while a rotated secret's overlap lasts.
            .header("webhook-signature", signatures.join(" "))
            .body(job.body.clone())
            .send()
            .await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match sent {
            Ok(response) => {
                let status = response.status();
                let asked = retry_after(response.headers(), Utc::now());
                let error = (!status.is_success()).then(|| {
                    let reason = status.canonical_reason().unwrap_or("");
                    short(&format!("HTTP {} {reason}", status.as_u16()))
                });
                // The body is not read: nothing the receiver says is stored.
                drop(response);
                (
                    Attempt {
                        status_code: Some(i32::from(status.as_u16())),
                        error,
                        duration_ms,
                    },
                    asked,
                )
            }
            Err(e) => (
                Attempt {
                    status_code: None,
                    error: Some(short(&without_url(e))),
                    duration_ms,
                },
                None,
            ),
        }
    }

    /// What an answer means for the delivery.
    fn judge(&self, job: &Job, attempt: &Attempt, asked: Option<u64>) -> Settled {
        let status = attempt
            .status_code
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| StatusCode::from_u16(c).ok());
        match status {
            Some(s) if s.is_success() => Settled::Delivered,
            Some(StatusCode::GONE) => Settled::Gone,
            _ if job.attempt >= self.config.max_attempts => Settled::Failed,
            _ => Settled::Retry {
                at: now() + self.config.backoff.delay(job.attempt, asked),
            },
        }
    }

    /// Gives back what this worker holds (on shutdown): due again at once for the others.
    pub async fn release(&self) -> Result<usize, StoreError> {
        let owner = self.owner.clone();
        self.db
            .write(move |conn| webhook_deliveries::release(conn, &owner, now()))
            .await
    }
}

/// One webhook tick, logged in one line when it did anything.
pub async fn tick(sender: &WebhookSender, budget: StdDuration) {
    match sender.tick(budget).await {
        Ok(report) if report.claimed > 0 => tracing::info!(
            claimed = report.claimed,
            delivered = report.delivered,
            retried = report.retried,
            failed = report.failed,
            held = report.held,
            lost_leases = report.lost_leases,
            "webhook tick"
        ),
        Ok(_) => tracing::debug!("webhook tick: nothing due"),
        Err(e) => tracing::warn!(error = %e, "webhook tick failed; the next tick retries"),
    }
}
