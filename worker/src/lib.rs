//! IPS Companion's worker. tokio-cron-scheduler is used as a ticker only: every rule about
//! what is due lives in the database, so any number of workers can run and a crashed one
//! loses nothing. Four ticks: the dispatcher (every second: deliver what is due),
//! housekeeping (every few minutes: clean up), the alert scan (every minute: raise the
//! specialists' alerts whose time has come) and the webhook sender (every few seconds: POST the
//! events due to integrations).

pub mod backoff;
pub mod dispatcher;
pub mod housekeeping;
pub mod push;
pub mod render;
pub mod scans;
pub mod transports;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use dispatcher::{DispatchConfig, Dispatcher};
use ips_core::{Config, Db};
use tokio::sync::{watch, Mutex};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::push::Transport;

/// The dispatcher this configuration asks for: the configured transports, and the log for
/// everything else when `IPS_PUSH_LOG` is on. A missing credential disables its transport with
/// one line, never the worker.
pub fn dispatcher(db: Db, config: &Config) -> Dispatcher {
    let mut transports: Vec<Arc<dyn Transport>> = Vec::new();
    match fcm_transport(config) {
        Ok(Some(fcm)) => {
            tracing::info!(project = fcm.project_id(), "FCM push is on");
            transports.push(Arc::new(fcm));
        }
        Ok(None) => {}
        Err(problem) => tracing::warn!("FCM push is off: {problem}"),
    }
    match apns_transport(config) {
        Ok(Some(apns)) => {
            tracing::info!(topic = %config.apns_topic, sandbox = config.apns_sandbox, "APNs push is on");
            transports.push(Arc::new(apns));
        }
        Ok(None) => {}
        Err(problem) => tracing::warn!("APNs push is off: {problem}"),
    }
    let fallback: Option<Arc<dyn Transport>> = config
        .push_log
        .then(|| Arc::new(transports::log::LogTransport) as Arc<dyn Transport>);
    if transports.is_empty() && fallback.is_none() {
        tracing::warn!("no push transport is configured: notifications reach the in-app inboxes only (IPS_PUSH_LOG=true logs them)");
    }
    let dispatch = DispatchConfig {
        batch: config.dispatch_batch,
        lease: chrono::Duration::seconds(config.dispatch_lease_seconds),
        max_attempts: config.push_max_attempts,
        ..DispatchConfig::default()
    };
    Dispatcher::new(
        db,
        dispatcher::worker_name(),
        transports,
        fallback,
        dispatch,
    )
}

/// The webhook sender this configuration asks for; its leases carry the dispatcher's kind of name.
pub fn webhook_sender(db: Db, config: &Config) -> anyhow::Result<webhooks::WebhookSender> {
    let settings = webhooks::WebhookConfig {
        lease: chrono::Duration::seconds(config.dispatch_lease_seconds),
        max_attempts: config.webhook_max_attempts,
        timeout: Duration::from_secs(config.webhook_timeout_seconds),
        ..webhooks::WebhookConfig::default()
    };
    webhooks::WebhookSender::new(db, dispatcher::worker_name(), settings)
        .map_err(anyhow::Error::msg)
}

/// The FCM transport if `IPS_FCM_CREDENTIALS` names a key file: `Ok(None)` when it is unset,
/// and a one-line reason (naming the file, never the key) when the file cannot be used.
pub fn fcm_transport(config: &Config) -> Result<Option<transports::fcm::FcmTransport>, String> {
    let path = config.fcm_credentials.trim();
    if path.is_empty() {
        return Ok(None);
    }
    transports::fcm::FcmTransport::from_key_file(std::path::Path::new(path), &config.fcm_base_url)
        .map(Some)
        .map_err(|e| format!("IPS_FCM_CREDENTIALS: {e}"))
}

/// The APNs transport, if configured: `Ok(None)` when not, one line of why when wrongly.
pub fn apns_transport(config: &Config) -> Result<Option<transports::apns::ApnsTransport>, String> {
    transports::apns::ApnsTransport::from_settings(&transports::apns::ApnsSettings {
        key_file: &config.apns_key_file,
        key_id: &config.apns_key_id,
        team_id: &config.apns_team_id,
        topic: &config.apns_topic,
        sandbox: config.apns_sandbox,
    })
}

/// Runs the worker's ticks until `shutdown` turns true; then lets the running ticks finish and
/// gives back any claim still held.
pub async fn run(
    db: Db,
    config: Config,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut scheduler = JobScheduler::new().await?;
    let dispatcher = Arc::new(dispatcher(db.clone(), &config));
    // A tick still running when the next is due is skipped, not doubled up.
    let dispatching = Arc::new(Mutex::new(()));
    let housekeeping_busy = Arc::new(Mutex::new(()));

    let every = Duration::from_secs(config.dispatch_interval_seconds);
    // A tick never runs much longer than its interval, so a flood is drained in bounded steps.
    let budget = every.max(Duration::from_secs(5));
    {
        let (dispatcher, dispatching) = (dispatcher.clone(), dispatching.clone());
        scheduler
            .add(Job::new_repeated_async(every, move |_id, _scheduler| {
                let (dispatcher, dispatching) = (dispatcher.clone(), dispatching.clone());
                Box::pin(async move {
                    let Ok(_guard) = dispatching.try_lock() else {
                        return;
                    };
                    dispatch_tick(&dispatcher, budget).await;
                })
            })?)
            .await?;
    }

    let housekeeping_every = Duration::from_secs(config.housekeeping_interval_seconds);
    let audit_retention = (config.audit_retention_days > 0)
        .then(|| chrono::Duration::days(config.audit_retention_days));
    {
        let (db, busy) = (db.clone(), housekeeping_busy.clone());
        scheduler
            .add(Job::new_repeated_async(
                housekeeping_every,
                move |_id, _scheduler| {
                    let (db, busy) = (db.clone(), busy.clone());
                    Box::pin(async move {
                        let Ok(_guard) = busy.try_lock() else { return };
                        housekeeping::tick(&db, audit_retention).await;
                    })
                },
            )?)
            .await?;
    }
    let scan_every = Duration::from_secs(config.alert_scan_interval_seconds);
    let scanning = Arc::new(Mutex::new(()));
    let scanner = Arc::new(scans::AlertScanner::new(
        db.clone(),
        scans::ScanConfig::from_config(&config),
    ));
    // A scan gets about its interval, so a flood of due alerts is raised over several ticks.
    let scan_budget = scan_every.max(Duration::from_secs(5));
    {
        let (scanner, busy) = (scanner.clone(), scanning.clone());
        scheduler
            .add(Job::new_repeated_async(
                scan_every,
                move |_id, _scheduler| {
                    let (scanner, busy) = (scanner.clone(), busy.clone());
                    Box::pin(async move {
                        let Ok(_guard) = busy.try_lock() else { return };
                        scans::tick(&scanner, scan_budget).await;
                    })
                },
            )?)
            .await?;
    }
    let webhook_every = Duration::from_secs(config.webhook_interval_seconds);
    let sending = Arc::new(Mutex::new(()));
    let sender = Arc::new(webhook_sender(db.clone(), &config)?);
    {
        let (sender, busy) = (sender.clone(), sending.clone());
        let budget = webhook_every.max(Duration::from_secs(5));
        scheduler
            .add(Job::new_repeated_async(
                webhook_every,
                move |_id, _scheduler| {
                    let (sender, busy) = (sender.clone(), busy.clone());
                    Box::pin(async move {
                        let Ok(_guard) = busy.try_lock() else { return };
                        webhooks::tick(&sender, budget).await;
                    })
                },
            )?)
            .await?;
    }
    // One sweep and one scan at start, so a restarted worker does not wait a whole interval.
    housekeeping::tick(&db, audit_retention).await;
    scans::tick(&scanner, scan_budget).await;
    scheduler.start().await?;
    tracing::info!(
        worker = dispatcher.owner(),
        dispatch_every_s = every.as_secs(),
        housekeeping_every_s = housekeeping_every.as_secs(),
        alert_scan_every_s = scan_every.as_secs(),
        webhook_every_s = webhook_every.as_secs(),
        "worker started"
    );

    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    scheduler.shutdown().await?;
    // Wait for a tick in progress to finish its sends, then hand back anything still claimed.
    let _dispatch = dispatching.lock().await;
    let _housekeeping = housekeeping_busy.lock().await;
    let _scan = scanning.lock().await;
    let _webhooks = sending.lock().await;
    match (dispatcher.release().await, sender.release().await) {
        (Ok(released), Ok(webhooks_released)) => {
            tracing::info!(released, webhooks_released, "worker stopped")
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "worker stopped; its claims return when their lease expires")
        }
    }
    Ok(())
}

/// One dispatcher tick, logged in one line when it did anything.
pub async fn dispatch_tick(dispatcher: &Dispatcher, budget: Duration) {
    match dispatcher.tick(budget).await {
        Ok(report) if report.claimed > 0 => {
            let worst = report.lateness_ms.iter().max().copied().unwrap_or(0);
            tracing::info!(
                claimed = report.claimed,
                sent = report.sent,
                retried = report.retried,
                failed = report.failed,
                dropped = report.dropped,
                lost_leases = report.lost_leases,
                max_lateness_ms = worst,
                "dispatch tick"
            );
        }
        Ok(_) => tracing::debug!("dispatch tick: nothing due"),
        Err(e) => tracing::warn!(error = %e, "dispatch tick failed; the next tick retries"),
    }
}
