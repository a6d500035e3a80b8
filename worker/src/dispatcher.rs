//! The dispatcher: claims due notifications in batches under a lease, pushes each to its
//! recipient's devices, and records the result, all correctness living in the database.
//!
//! Delivery is at least once per claim and at most once per notification in practice: a
//! notification is sent only while its lease is held, the lease is much longer than a send may
//! take (sends time out first), and every result is recorded only if the lease is still held.
//!
//! A batch costs a few statements, not a few per notification: see `Dispatcher::deliver_batch`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};
use futures_util::stream::{self, StreamExt};
use ips_core::store::devices::{self, PushTarget};
use ips_core::store::now;
use ips_core::store::outbox::{self, Attempt, AttemptResult, Claimed, Planned, Settled};
use ips_core::store::sessions::Subject;
use ips_core::{Db, DbConnection, StoreError};
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

/// A claimed notification with pushes to make.
struct Pending {
    id: i64,
    attempts: i32,
    due_at: NaiveDateTime,
    message: PushMessage,
    sends: Vec<(PushTarget, Arc<dyn Transport>)>,
    /// A previous holder began a push of it and never heard back (it counts as delivered).
    in_doubt: bool,
}

/// A notification whose result is known, to be recorded with the next write.
struct Done {
    id: i64,
    settled: Settled,
    lateness_ms: Option<i64>,
}

/// What is waiting to be written: settled notifications and the answers to their pushes.
#[derive(Default)]
struct Unrecorded {
    done: Vec<Done>,
    results: Vec<AttemptResult>,
    gone: Vec<(i64, String)>,
}

/// What the preparation of a batch read.
struct PreparedBatch {
    items: Vec<(Claimed, Prepared)>,
    /// The live devices of each recipient.
    targets: HashMap<Subject, Vec<PushTarget>>,
    /// (notification, device): pushes a previous holder left in doubt.
    in_doubt: HashSet<(i64, i64)>,
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

    /// Delivers a claimed batch in a few set-based steps. One transaction prepares it all
    /// (recipients, subjects, devices, in-doubt takeover). Then the pushes go out in chunks of
    /// about `concurrency`: each chunk's `attempting` rows are written in one statement just
    /// before its pushes, in the same transaction that records the previous chunk's results, so
    /// one transaction per chunk. Attempts are written per chunk rather than for the whole batch
    /// up front because a worker killed between writing an attempt and sending it leaves that
    /// push in doubt (never sent): writing only what goes out at once keeps that to one chunk.
    async fn deliver_batch(
        &self,
        claimed: Vec<Claimed>,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let batch = self
            .db
            .write(move |conn| prepare_batch(conn, claimed, now()))
            .await?;
        let mut unrecorded = Unrecorded::default();
        let mut pending = Vec::new();
        for (claimed, prepared) in batch.items {
            let (message, recipient) = match prepared {
                Prepared::Push { message, recipient } => (message, recipient),
                Prepared::Drop(reason) => {
                    unrecorded.done.push(Done {
                        id: claimed.id,
                        settled: Settled::Dropped { reason },
                        lateness_ms: None,
                    });
                    continue;
                }
            };
            let in_doubt = batch.in_doubt.iter().any(|(n, _)| *n == claimed.id);
            let sends: Vec<(PushTarget, Arc<dyn Transport>)> = batch
                .targets
                .get(&recipient)
                .into_iter()
                .flatten()
                .filter(|t| !batch.in_doubt.contains(&(claimed.id, t.device_id)))
                .filter_map(|t| Some((t.clone(), self.transport_for(&t.platform)?)))
                .collect();
            if sends.is_empty() {
                // Nothing to push (no device, or every push in doubt): the notification is in
                // the recipient's in-app inbox, and a push in doubt counts as delivered.
                unrecorded.done.push(Done {
                    id: claimed.id,
                    settled: Settled::Sent,
                    lateness_ms: Some(lateness(claimed.due_at)),
                });
                continue;
            }
            pending.push(Pending {
                id: claimed.id,
                attempts: claimed.attempts,
                due_at: claimed.due_at,
                message,
                sends,
                in_doubt,
            });
        }
        for chunk in chunks(pending, self.config.concurrency.max(1)) {
            let planned: Vec<Planned> = chunk
                .iter()
                .flat_map(|p| {
                    p.sends.iter().map(|(t, transport)| Planned {
                        notification_id: p.id,
                        device_id: t.device_id,
                        platform: transport.name(),
                    })
                })
                .collect();
            let attempts = self
                .record(std::mem::take(&mut unrecorded), planned, report)
                .await?;
            let delivery_ids: HashMap<(i64, i64), i64> = attempts
                .into_iter()
                .filter_map(|a| Some(((a.notification_id, a.device_id?), a.delivery_id)))
                .collect();
            self.push_chunk(chunk, &delivery_ids, &mut unrecorded, report)
                .await;
        }
        self.record(unrecorded, Vec::new(), report).await?;
        Ok(())
    }

    /// Sends one chunk's pushes at once, for the notifications whose attempts were recorded
    /// (for the others the lease was lost), and concludes each notification into `unrecorded`.
    async fn push_chunk(
        &self,
        chunk: Vec<Pending>,
        delivery_ids: &HashMap<(i64, i64), i64>,
        unrecorded: &mut Unrecorded,
        report: &mut TickReport,
    ) {
        let (held, lost): (Vec<Pending>, Vec<Pending>) = chunk.into_iter().partition(|p| {
            p.sends
                .iter()
                .all(|(t, _)| delivery_ids.contains_key(&(p.id, t.device_id)))
        });
        // Another worker holds these now: push nothing more for them and record nothing.
        report.lost_leases += lost.len();
        // Plain loops and boxed futures: iterator closures over these borrows make the future
        // fail the `Send` check of a spawned task (a known limit of the compiler's inference).
        type Answer = (usize, i64, Outcome);
        let mut sends: Vec<Pin<Box<dyn Future<Output = Answer> + Send + '_>>> = Vec::new();
        for (i, p) in held.iter().enumerate() {
            for (target, transport) in &p.sends {
                sends.push(Box::pin(async move {
                    let outcome = self.send(transport.as_ref(), target, &p.message).await;
                    (i, target.device_id, outcome)
                }));
            }
        }
        let answers: Vec<Answer> = stream::iter(sends)
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let mut by_notification: Vec<Vec<(i64, Outcome)>> = vec![Vec::new(); held.len()];
        for (i, device, outcome) in answers {
            if let Some(list) = by_notification.get_mut(i) {
                list.push((device, outcome));
            }
        }
        for (p, answers) in held.iter().zip(by_notification) {
            let settled = self.conclude(p, answers, delivery_ids, unrecorded);
            let lateness_ms = (settled == Settled::Sent).then(|| lateness(p.due_at));
            unrecorded.done.push(Done {
                id: p.id,
                settled,
                lateness_ms,
            });
        }
    }

    /// How a notification ends, from its devices' answers (each recorded into `unrecorded`).
    fn conclude(
        &self,
        p: &Pending,
        answers: Vec<(i64, Outcome)>,
        delivery_ids: &HashMap<(i64, i64), i64>,
        unrecorded: &mut Unrecorded,
    ) -> Settled {
        let mut any_delivered = p.in_doubt;
        let (mut retry_after, mut retry_error, mut last_error) = (None::<Option<u64>>, None, None);
        for (device, outcome) in answers {
            let Some(&delivery_id) = delivery_ids.get(&(p.id, device)) else {
                continue;
            };
            let (label, provider_message_id, error) = match &outcome {
                Outcome::Delivered { provider_id } => ("delivered", provider_id.clone(), None),
                Outcome::Retry { error, .. } => ("retry", None, Some(error.clone())),
                Outcome::Failed { error } => ("failed", None, Some(error.clone())),
                Outcome::Gone { error } => ("gone", None, Some(error.clone())),
            };
            unrecorded.results.push(AttemptResult {
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
                Outcome::Gone { error } => unrecorded.gone.push((device, error)),
            }
        }
        if any_delivered {
            // Delivered somewhere: never send it again, even if another device wants a retry.
            Settled::Sent
        } else if let Some(after) = retry_after {
            self.retry(p.attempts, after, retry_error.unwrap_or_default())
        } else if let Some(error) = last_error {
            Settled::Failed { error }
        } else {
            // Every device gone: the notification is in the recipient's in-app inbox.
            Settled::Sent
        }
    }

    /// One write transaction: the answers to the pushes made, gone devices disabled, settled
    /// notifications recorded (only those this worker still holds), then the `attempting` rows
    /// of the pushes about to be made. Counts what was recorded into `report`.
    async fn record(
        &self,
        unrecorded: Unrecorded,
        planned: Vec<Planned>,
        report: &mut TickReport,
    ) -> Result<Vec<Attempt>, StoreError> {
        let Unrecorded {
            done,
            results,
            gone,
        } = unrecorded;
        if done.is_empty() && results.is_empty() && planned.is_empty() {
            return Ok(Vec::new());
        }
        let owner = self.owner.clone();
        let settled: Vec<(i64, Settled)> = done.iter().map(|d| (d.id, d.settled.clone())).collect();
        let (kept, attempts) = self
            .db
            .write(move |conn| {
                let at = now();
                outbox::finish_attempts(conn, &results)?;
                // Gone devices are few (an uninstalled app): one statement each is fine.
                for (device, reason) in &gone {
                    devices::disable(conn, *device, reason, at)?;
                }
                let kept = outbox::settle_all(conn, &owner, &settled, at)?;
                let attempts = outbox::begin_attempts(conn, &owner, &planned, at)?;
                Ok((kept, attempts))
            })
            .await?;
        let kept: HashSet<i64> = kept.into_iter().collect();
        for d in done {
            if !kept.contains(&d.id) {
                report.lost_leases += 1;
                continue;
            }
            match d.settled {
                Settled::Sent => {
                    report.sent += 1;
                    report.lateness_ms.extend(d.lateness_ms);
                }
                Settled::Retry { .. } => report.retried += 1,
                Settled::Failed { .. } => report.failed += 1,
                Settled::Dropped { .. } => report.dropped += 1,
            }
        }
        Ok(attempts)
    }

    fn transport_for(&self, platform: &str) -> Option<Arc<dyn Transport>> {
        self.transports
            .get(platform)
            .or(self.fallback.as_ref())
            .cloned()
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

/// The preparation of a claimed batch, in one transaction: each notification worded or dropped,
/// the live devices of all recipients, and the pushes that previous holders of re-claimed
/// notifications left in doubt (taken over, so never repeated).
fn prepare_batch(
    conn: &mut DbConnection,
    claimed: Vec<Claimed>,
    at: NaiveDateTime,
) -> Result<PreparedBatch, StoreError> {
    let prepared = render::prepare_all(conn, &claimed, at)?;
    let recipients: Vec<Subject> = prepared
        .iter()
        .filter_map(|p| match p {
            Prepared::Push { recipient, .. } => Some(*recipient),
            Prepared::Drop(_) => None,
        })
        .collect();
    let targets = devices::push_targets(conn, &recipients, at)?;
    // Only a notification claimed before (a takeover or a retry) can have attempts in doubt.
    let reclaimed: Vec<i64> = claimed
        .iter()
        .filter(|c| c.attempts > 1)
        .map(|c| c.id)
        .collect();
    let in_doubt = outbox::take_over_in_doubt(conn, &reclaimed)?
        .into_iter()
        .collect();
    Ok(PreparedBatch {
        items: claimed.into_iter().zip(prepared).collect(),
        targets,
        in_doubt,
    })
}

/// Splits the pushes into chunks of about `size` pushes; a notification's pushes stay together.
fn chunks(pending: Vec<Pending>, size: usize) -> Vec<Vec<Pending>> {
    let mut out = Vec::new();
    let (mut chunk, mut pushes) = (Vec::new(), 0);
    for p in pending {
        pushes += p.sends.len();
        chunk.push(p);
        if pushes >= size {
            out.push(std::mem::take(&mut chunk));
            pushes = 0;
        }
    }
    if !chunk.is_empty() {
        out.push(chunk);
    }
    out
}

/// Milliseconds from due to now.
fn lateness(due_at: NaiveDateTime) -> i64 {
    (now() - due_at).num_milliseconds().max(0)
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
