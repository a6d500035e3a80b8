//! `ips`: the IPS Companion server. Parses the command line and wires the parts together;
//! everything else lives in the `ips-core`, `ips-api` and `ips-worker` crates.

mod admin;

use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ips_core::{Config, Db};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "ips",
    version,
    about = "IPS Companion: the API and the reminder worker"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the worker in one process (the default).
    All,
    /// Run the API only.
    Serve,
    /// Run the worker only.
    Work,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ips: {e}");
            return ExitCode::from(2);
        }
    };
    ips_api::telemetry::init(config.log_format, &config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ips: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let db = match open_database(&config) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("ips: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::All), db, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ips: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Connects and migrates; every command needs a database at the current schema.
fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(config.database_url(), config.database_pool_size)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    Ok(db)
}

async fn run(command: Command, db: Db, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            tracing::info!(backend = ?db.backend(), "database is at the current schema");
            Ok(())
        }
        Command::Admin { command } => admin::run(command, db).await,
        Command::Serve => serve(db, config, false).await,
        Command::Work => {
            let (stop, stopped) = watch::channel(false);
            let signal = shutdown_signal();
            tokio::spawn(async move {
                signal.await;
                let _ = stop.send(true);
            });
            ips_worker::run(db, config, stopped).await
        }
        Command::All => serve(db, config, true).await,
    }
}

/// Serves the API (and, with `with_worker`, runs the worker beside it) until SIGTERM or
/// Ctrl-C; then stops taking connections, drains in-flight requests, and stops the worker.
async fn serve(db: Db, config: Config, with_worker: bool) -> anyhow::Result<()> {
    // Before the port opens: a SIGTERM sent as soon as it answers must find our handler, not the
    // default action, which kills the process without draining anything.
    let signal = shutdown_signal();
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
    let (stop, stopped) = watch::channel(false);
    let worker =
        with_worker.then(|| tokio::spawn(ips_worker::run(db.clone(), config.clone(), stopped)));
    let state = ips_api::AppState::new(db, config.clone());
    let running = ips_api::build_server(listener, state)?;
    tracing::info!(address = %config.bind, worker = with_worker, "IPS Companion is listening");
    let handle = running.handle.clone();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down: draining requests");
        let _ = stop.send(true);
        handle.stop(true).await;
    });
    running.server.await?;
    if let Some(worker) = worker {
        worker.await??;
    }
    Ok(())
}

/// Takes over SIGTERM and Ctrl-C (SIGINT) at once, and returns the wait for either. The handlers are
/// registered when this is called, not when the wait is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, interrupt) {
                (Some(mut term), Some(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Some(mut term), None) => {
                    term.recv().await;
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
