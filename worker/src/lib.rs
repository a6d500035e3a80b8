//! IPS Companion's worker. tokio-cron-scheduler is used as a ticker only: every rule about
//! what is due lives in the database, so any number of workers can run and a crashed one
//! loses nothing. Today it does housekeeping; the outbox dispatcher joins it next.

pub mod housekeeping;

use std::time::Duration;

use ips_core::{Config, Db};
use tokio::sync::watch;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Runs the worker's ticks until `shutdown` turns true; then waits for the running tick to end.
pub async fn run(
    db: Db,
    config: Config,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut scheduler = JobScheduler::new().await?;
    let interval = Duration::from_secs(config.housekeeping_interval_seconds);
    let audit_retention = (config.audit_retention_days > 0)
        .then(|| chrono::Duration::days(config.audit_retention_days));
    let tick_db = db.clone();
    // A tick that is still running when the next is due is skipped, not doubled up.
    let busy = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    scheduler
        .add(Job::new_repeated_async(
            interval,
            move |_id, _scheduler| {
                let db = tick_db.clone();
                let busy = busy.clone();
                Box::pin(async move {
                    let Ok(_guard) = busy.try_lock() else { return };
                    housekeeping::tick(&db, audit_retention).await;
                })
            },
        )?)
        .await?;
    // One sweep at start, so a restarted worker does not wait a whole interval.
    housekeeping::tick(&db, audit_retention).await;
    scheduler.start().await?;
    tracing::info!(housekeeping_every_s = interval.as_secs(), "worker started");
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    scheduler.shutdown().await?;
    tracing::info!("worker stopped");
    Ok(())
}
