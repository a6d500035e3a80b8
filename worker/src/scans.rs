//! The alert scan: every `IPS_ALERT_SCAN_INTERVAL_SECONDS`, each cause's due rows are taken from
//! their partial index in bounded batches (one write transaction per batch) and turned into alerts
//! for the specialists (`store::alert_scans`). A scan costs what is due, not the caseload's size,
//! and any number of workers may scan at once: a row is claimed by one of them, and an occurrence
//! is raised once.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};
use ips_core::store::alert_scans::{self, Batch};
use ips_core::store::now;
use ips_core::{Config, Db, DbConnection, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct ScanConfig {
    /// Rows per batch (per cause, per transaction).
    pub batch: i64,
    /// How long after an interview's end "no outcome recorded" is raised.
    pub outcome_grace: Duration,
    /// How long a contact request may wait before it is alerted.
    pub request_waiting: Duration,
}

impl ScanConfig {
    pub fn from_config(config: &Config) -> Self {
        Self {
            batch: config.alert_scan_batch,
            outcome_grace: Duration::hours(config.alert_outcome_grace_hours),
            request_waiting: Duration::minutes(config.alert_request_waiting_minutes),
        }
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self::from_config(&Config::defaults())
    }
}

/// What one scan did, by cause: (alerts raised or delivered again, alerts resolved on the way).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanReport {
    pub follow_ups: (usize, usize),
    pub employer_contacts: (usize, usize),
    pub interviews: (usize, usize),
    pub messages: (usize, usize),
    pub requests: (usize, usize),
    pub withdrawals: (usize, usize),
    pub snoozed: (usize, usize),
    /// Batches run (transactions), over all causes.
    pub batches: usize,
    /// True when the budget ran out before every cause was drained (the next tick goes on).
    pub cut_short: bool,
}

impl ScanReport {
    /// Alerts raised, and snoozed alerts delivered again.
    pub fn raised(&self) -> usize {
        self.all().iter().map(|(raised, _)| raised).sum()
    }

    pub fn resolved(&self) -> usize {
        self.all().iter().map(|(_, resolved)| resolved).sum()
    }

    fn all(&self) -> [(usize, usize); 7] {
        [
            self.follow_ups,
            self.employer_contacts,
            self.interviews,
            self.messages,
            self.requests,
            self.withdrawals,
            self.snoozed,
        ]
    }
}

/// The causes, in the order a scan takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    FollowUps,
    EmployerContacts,
    Interviews,
    Messages,
    Requests,
    Withdrawals,
    Snoozed,
}

const CAUSES: [Cause; 7] = [
    Cause::FollowUps,
    Cause::EmployerContacts,
    Cause::Interviews,
    Cause::Messages,
    Cause::Requests,
    // Before the snoozed ones: a withdrawal resolves the case's follow-up alerts first.
    Cause::Withdrawals,
    Cause::Snoozed,
];

pub struct AlertScanner {
    db: Db,
    config: ScanConfig,
}

impl AlertScanner {
    pub fn new(db: Db, config: ScanConfig) -> Self {
        Self { db, config }
    }

    /// One scan as of now, for at most about `budget` (a flood is drained over several ticks).
    pub async fn tick(&self, budget: StdDuration) -> Result<ScanReport, StoreError> {
        self.scan_at(now(), budget).await
    }

    /// One scan as of `now`: every cause, batch after batch, until each has nothing due.
    pub async fn scan_at(
        &self,
        now: NaiveDateTime,
        budget: StdDuration,
    ) -> Result<ScanReport, StoreError> {
        let started = Instant::now();
        let mut report = ScanReport::default();
        for cause in CAUSES {
            loop {
                if started.elapsed() >= budget {
                    report.cut_short = true;
                    return Ok(report);
                }
                let config = self.config;
                let batch = self
                    .db
                    .write(move |conn| run(conn, cause, now, config))
                    .await?;
                report.batches += 1;
                let slot = match cause {
                    Cause::FollowUps => &mut report.follow_ups,
                    Cause::EmployerContacts => &mut report.employer_contacts,
                    Cause::Interviews => &mut report.interviews,
                    Cause::Messages => &mut report.messages,
                    Cause::Requests => &mut report.requests,
                    Cause::Withdrawals => &mut report.withdrawals,
                    Cause::Snoozed => &mut report.snoozed,
                };
                slot.0 += batch.raised;
                slot.1 += batch.resolved;
                if (batch.taken as i64) < config.batch {
                    break;
                }
            }
        }
        Ok(report)
    }
}

fn run(
    conn: &mut DbConnection,
    cause: Cause,
    now: NaiveDateTime,
    config: ScanConfig,
) -> Result<Batch, StoreError> {
    let limit = config.batch;
    match cause {
        Cause::FollowUps => alert_scans::follow_ups(conn, now, limit),
        Cause::EmployerContacts => alert_scans::employer_contacts(conn, now, limit),
        Cause::Interviews => {
            alert_scans::interviews_without_outcome(conn, now, config.outcome_grace, limit)
        }
        Cause::Messages => alert_scans::unanswered_messages(conn, now, limit),
        Cause::Requests => alert_scans::waiting_requests(conn, now, config.request_waiting, limit),
        Cause::Withdrawals => alert_scans::withdrawals(conn, now, limit),
        Cause::Snoozed => alert_scans::snoozed(conn, now, limit),
    }
}

/// One scan tick, logged in one line when it did anything.
pub async fn tick(scanner: &AlertScanner, budget: StdDuration) {
    match scanner.tick(budget).await {
        Ok(report) if report.raised() > 0 || report.resolved() > 0 || report.cut_short => {
            tracing::info!(
                raised = report.raised(),
                resolved = report.resolved(),
                follow_ups = report.follow_ups.0,
                employer_contacts = report.employer_contacts.0,
                interviews = report.interviews.0,
                messages = report.messages.0,
                requests = report.requests.0,
                withdrawals = report.withdrawals.0,
                woken = report.snoozed.0,
                batches = report.batches,
                cut_short = report.cut_short,
                "alert scan"
            );
        }
        Ok(_) => tracing::debug!("alert scan: nothing due"),
        Err(e) => tracing::warn!(error = %e, "alert scan failed; the next tick retries"),
    }
}
