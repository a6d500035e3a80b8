//! The dispatcher: claims due notifications in batches under a lease, pushes each to its
//! recipient's devices, and records the result, all correctness living in the database.
//!
//! Delivery is at least once per claim and at most once per notification in practice: a
//! notification is sent only while its lease is held, the lease is much longer than a send may
//! take (sends time out first), and every result is recorded only if the lease is still held.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use futures_util::stream::{self, StreamExt};
use ips_core::store::devices::{self, PushTarget};
use ips_core::store::now;
use ips_core::store::outbox::{self, AttemptResult, Claimed, Settled};
use ips_core::{Db, StoreError};
use rand::Rng;

use crate::backoff::Backoff;
use crate::push::{Outcome, PushMessage, Target, Transport};
use crate::render::{self, Prepared};

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Notifications claimed per round.
    pub batch: i64,
    /// How long a claim is held before another worker may take it over.
    pub lease: Duration,
    /// Attempts before a transiently failing notification is given up.
    pub max_attempts: i32,
    /// First retry delay; it doubles per attempt (with jitter) up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest a single push may take; well under the lease.
    pub send_timeout: StdDuration,
    /// Pushes in flight at once.
    pub concurrency: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            batch: 500,
            lease: Duration::seconds(120),
            max_attempts: 8,
            backoff_base: Duration::seconds(10),
            backoff_max: Duration::hours(1),
            send_timeout: StdDuration::from_secs(15),
            concurrency: 64,
        }
    }
}

/// What one tick did, for the worker's log line and the metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub dropped: usize,
    /// Results not recorded because the lease had passed to another worker.
    pub lost_leases: usize,
    /// Milliseconds from due to sent, for each notification sent this tick.
    pub lateness_ms: Vec<i64>,
}

pub struct Dispatcher {
    db: Db,
    owner: String,
    transports: HashMap<&'static str, Arc<dyn Transport>>,
    /// Where pushes go for a platform with no configured transport (the log, in development).
    fallback: Option<Arc<dyn Transport>>,
    config: DispatchConfig,
}

/// What became of one notification.
struct Finished {
    /// False when the lease had passed to another worker, so this result was not recorded.
    kept: bool,
    settled: Settled,
    lateness_ms: Option<i64>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        owner: String,
        transports: Vec<Arc<dyn Transport>>,
        fallback: Option<Arc<dyn Transport>>,
        config: DispatchConfig,
    ) -> Self {
        let transports = transports.into_iter().map(|t| (t.name(), t)).collect();
        Self {
            db,
            owner,
            transports,
            fallback,
            config,
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims and delivers until nothing is due (or `budget` has passed, so a tick never runs
    /// for ever under a flood); returns what it did.
    pub async fn tick(&self, budget: StdDuration) -> Result<TickReport, StoreError> {
        let started = Instant::now();
        let mut report = TickReport::default();
        loop {
            let (owner, lease, batch) = (self.owner.clone(), self.config.lease, self.config.batch);
            let claimed = self
                .db
                .write(move |conn| outbox::claim_due(conn, &owner, now(), lease, batch))
                .await?;
            let count = claimed.len();
            report.claimed += count;
            if count > 0 {
                self.deliver_batch(claimed, &mut report).await?;
            }
            if (count as i64) < self.config.batch || started.elapsed() >= budget {
                return Ok(report);
            }
        }
    }

    async fn deliver_batch(
        &self,
        claimed: Vec<Claimed>,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let finished: Vec<Result<Finished, StoreError>> = stream::iter(claimed)
            .map(|c| self.deliver(c))
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let mut first_error = None;
        for result in finished {
            let f = match result {
                Ok(f) => f,
                // The database went away mid-batch: this one's lease expires and it is retried.
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            if !f.kept {
                report.lost_leases += 1;
                continue;
            }
            match f.settled {
                Settled::Sent => {
                    report.sent += 1;
                    report.lateness_ms.extend(f.lateness_ms);
                }
                Settled::Retry { .. } => report.retried += 1,
                Settled::Failed { .. } => report.failed += 1,
                Settled::Dropped { .. } => report.dropped += 1,
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Delivers one notification to every device of its recipient and records the result at
    /// once. Each push is recorded as attempted before it is sent, so a worker killed between
    /// the provider's acceptance and its own record cannot cause a second push after takeover.
    async fn deliver(&self, claimed: Claimed) -> Result<Finished, StoreError> {
        let (id, attempts, due_at) = (claimed.id, claimed.attempts, claimed.due_at);
        // Only a notification claimed before (a takeover or a retry) can have attempts in doubt.
        let takeover = attempts > 1;
        let (prepared, targets, in_doubt) = self
            .db
            .write(move |conn| {
                let at = now();
                let prepared = render::prepare(conn, &claimed, at)?;
                let targets = match &prepared {
                    Prepared::Push { recipient, .. } => {
                        devices::push_targets(conn, *recipient, at)?
                    }
                    Prepared::Drop(_) => Vec::new(),
                };
                let in_doubt = if takeover {
                    outbox::take_over_in_doubt(conn, id)?
                } else {
                    Vec::new()
                };
                Ok((prepared, targets, in_doubt))
            })
            .await?;
        let message = match prepared {
            Prepared::Push { message, .. } => message,
            Prepared::Drop(reason) => {
                return self
                    .finish(
                        id,
                        Settled::Dropped { reason },
                        Vec::new(),
                        Vec::new(),
                        None,
                    )
                    .await
            }
        };
        let sends: Vec<(PushTarget, Arc<dyn Transport>)> = targets
            .into_iter()
            .filter(|t| !in_doubt.contains(&t.device_id))
            .filter_map(|t| {
                let transport = self
                    .transports
                    .get(t.platform.as_str())
                    .or(self.fallback.as_ref())?
                    .clone();
                Some((t, transport))
            })
            .collect();
        let planned: Vec<(i64, &'static str)> = sends
            .iter()
            .map(|(t, tr)| (t.device_id, tr.name()))
            .collect();
        let delivery_ids = self
            .db
            .write(move |conn| outbox::begin_attempts(conn, id, &planned, now()))
            .await?;

        let mut any_delivered = !in_doubt.is_empty();
        let (mut retry_after, mut retry_error, mut last_error) = (None::<Option<u64>>, None, None);
        let (mut results, mut gone) = (Vec::with_capacity(sends.len()), Vec::new());
        for ((target, transport), delivery_id) in sends.iter().zip(delivery_ids) {
            let outcome = self.send(transport.as_ref(), target, &message).await;
            let (label, provider_message_id, error) = match &outcome {
                Outcome::Delivered { provider_id } => ("delivered", provider_id.clone(), None),
                Outcome::Retry { error, .. } => ("retry", None, Some(error.clone())),
                Outcome::Failed { error } => ("failed", None, Some(error.clone())),
                Outcome::Gone { error } => ("gone", None, Some(error.clone())),
            };
            results.push(AttemptResult {
                delivery_id,
                outcome: label,
                provider_message_id,
                error,
            });
            match outcome {
                Outcome::Delivered { .. } => any_delivered = true,
                Outcome::Retry {
                    after_seconds,
                    error,
                } => {
                    retry_after = Some(retry_after.flatten().max(after_seconds));
                    retry_error = Some(error);
                }
                Outcome::Failed { error } => last_error = Some(error),
                Outcome::Gone { error } => gone.push((target.device_id, error)),
            }
        }
        let settled = if any_delivered {
            // Delivered somewhere: never send it again, even if another device wants a retry.
            Settled::Sent
        } else if let Some(after) = retry_after {
            self.retry(attempts, after, retry_error.unwrap_or_default())
        } else if let Some(error) = last_error {
            Settled::Failed { error }
        } else {
            // No device (or none left): the notification is in the recipient's in-app inbox.
            Settled::Sent
        };
        let lateness =
            (settled == Settled::Sent).then(|| (now() - due_at).num_milliseconds().max(0));
        self.finish(id, settled, results, gone, lateness).await
    }

    /// Records the answers, disables gone devices and settles the notification, in one
    /// transaction, if this worker still holds it.
    async fn finish(
        &self,
        id: i64,
        settled: Settled,
        results: Vec<AttemptResult>,
        gone: Vec<(i64, String)>,
        lateness_ms: Option<i64>,
    ) -> Result<Finished, StoreError> {
        let owner = self.owner.clone();
        let recorded = settled.clone();
        let kept = self
            .db
            .write(move |conn| {
                let at = now();
                outbox::finish_attempts(conn, &results)?;
                for (device, reason) in &gone {
                    devices::disable(conn, *device, reason, at)?;
                }
                outbox::settle(conn, id, &owner, &recorded, at)
            })
            .await?;
        Ok(Finished {
            kept,
            settled,
            lateness_ms,
        })
    }

    async fn send(
        &self,
        transport: &dyn Transport,
        target: &PushTarget,
        message: &PushMessage,
    ) -> Outcome {
        let target = Target {
            device_id: target.device_id,
            token: target.token.clone(),
        };
        match tokio::time::timeout(self.config.send_timeout, transport.send(&target, message)).await
        {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Retry {
                after_seconds: None,
                error: "timed out".into(),
            },
        }
    }

    /// The next attempt: exponential backoff with jitter, never sooner than the provider asked,
    /// and given up once the attempts are spent.
    fn retry(&self, attempts: i32, after_seconds: Option<u64>, error: String) -> Settled {
        if attempts >= self.config.max_attempts {
            return Settled::Failed {
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        let backoff = Backoff {
            base: self.config.backoff_base,
            factor: 2,
            max: self.config.backoff_max,
        };
        let delay = backoff.delay(attempts, after_seconds);
        Settled::Retry {
            at: now() + delay,
            error,
        }
    }

    /// Gives back what this worker holds (on shutdown): due again at once for the others.
    pub async fn release(&self) -> Result<usize, StoreError> {
        let owner = self.owner.clone();
        self.db
            .write(move |conn| outbox::release(conn, &owner, now()))
            .await
    }
}

/// A name for this worker's leases: host, process and a random part, so restarts never collide.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        rand::thread_rng().gen::<u32>() & 0xff_ffff
    )
}
