//! The command line: `run`, `validate`, `check`, `demo`, `sim`, `health` and `checkpoint`.

mod check;
mod checkpoint;
mod demo;
mod health;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::telemetry::logging;

/// Forwards the Own (formerly OwnBackup) event audit log to SIEMs, with a checkpointed
/// cursor and at-least-once delivery.
#[derive(Debug, Parser)]
#[command(name = "own-audit-forwarder", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration file is.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// The TOML configuration file; `OWN_AUDIT__...` variables override its fields.
    #[arg(
        long,
        short,
        env = "OWN_AUDIT_CONFIG",
        default_value = "/etc/own-audit-forwarder/own-audit-forwarder.toml"
    )]
    config: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon until SIGTERM or SIGINT.
    Run(ConfigArg),
    /// Check a configuration file and list every problem; exit 0 when it is valid.
    Validate(ConfigArg),
    /// Test the live setup: authenticate, fetch one page (moving no checkpoint), probe
    /// each sink; print a report and exit 0 when everything works.
    Check(ConfigArg),
    /// Run the simulator and the real pipeline into ./demo-output/events.ndjson.
    Demo(demo::DemoArgs),
    /// Serve a simulated Own API (token and events endpoints) for tests and trials.
    Sim(crate::sim::SimOptions),
    /// Ask a running daemon's /healthz (or /readyz with --ready); exit 0 on a 200. For
    /// container health checks.
    Health(health::HealthArgs),
    /// Show or set a source's checkpoint.
    #[command(subcommand)]
    Checkpoint(checkpoint::CheckpointCommand),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(args) => run(&args.config).await,
            Command::Validate(args) => Ok(validate(&args.config)),
            Command::Check(args) => check::run(&load(&args.config)?).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Sim(options) => sim(options).await,
            Command::Health(args) => Ok(health::run(args).await),
            Command::Checkpoint(command) => command.run(),
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    config::load(path).with_context(|| format!("cannot use the configuration {}", path.display()))
}

fn validate(path: &std::path::Path) -> ExitCode {
    match config::load(path) {
        Ok(config) => {
            for warning in &config.warnings {
                println!("warning: {warning}");
            }
            println!(
                "{}: valid ({} source{}, {} sink{})",
                path.display(),
                config.sources.len(),
                plural(config.sources.len()),
                config.sinks.len(),
                plural(config.sinks.len())
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn run(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    use crate::daemon::systemd;
    use tokio::signal::unix::{SignalKind, signal};

    let config = load(path)?;
    logging::init(config.telemetry.log_format, &config.telemetry.log_level);
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let stop = CancellationToken::new();
    let mut running = crate::daemon::start(&config, stop.clone()).await?;
    systemd::ready("forwarding");
    systemd::spawn_watchdog(stop.clone());
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                systemd::reloading();
                reload(path, &mut running).await;
                systemd::ready("forwarding");
            }
        }
    }
    systemd::stopping();
    let grace = running.config().pipeline.shutdown_grace;
    tracing::info!(grace = ?grace, "stopping: delivering what was fetched");
    running.shutdown(grace).await;
    Ok(ExitCode::SUCCESS)
}

/// Reads the configuration file again and applies it; logs why when it cannot.
async fn reload(path: &std::path::Path, running: &mut crate::daemon::Running) {
    tracing::info!(path = %path.display(), "SIGHUP: reloading the configuration");
    let next = match config::load(path) {
        Ok(next) => next,
        Err(error) => {
            tracing::error!("the new configuration is refused; the running one stays. {error}");
            return;
        }
    };
    for warning in &next.warnings {
        tracing::warn!("configuration: {warning}");
    }
    match running.reload(next).await {
        Ok(changes) => tracing::info!(
            sources_added = ?changes.sources_added,
            sources_removed = ?changes.sources_removed,
            sources_restarted = ?changes.sources_restarted,
            sinks_added = ?changes.sinks_added,
            sinks_removed = ?changes.sinks_removed,
            sinks_rebuilt = ?changes.sinks_rebuilt,
            redaction = %changes.redaction,
            "configuration reloaded"
        ),
        Err(error) => tracing::error!(error = %error,
            "the new configuration is refused; the running one stays"),
    }
}

/// Waits for SIGTERM or SIGINT, for the commands that do not reload (`demo`, `sim`).
pub(crate) async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = hup.recv() => tracing::warn!(
                "SIGHUP received: this command does not reload its configuration; only `run` \
                 does"),
        }
    }
}

async fn sim(options: crate::sim::SimOptions) -> anyhow::Result<ExitCode> {
    logging::init(config::LogFormat::Text, "info");
    let handle = crate::sim::start(options)
        .await
        .context("cannot start the simulator")?;
    println!("simulated Own API listening on http://{}", handle.addr());
    println!("  base_url  = \"{}\"", handle.base_url());
    println!("  token_url = \"{}\"", handle.token_url());
    wait_for_stop_signal().await?;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
