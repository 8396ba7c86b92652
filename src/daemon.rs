//! The daemon assembled: telemetry, sinks, sources, and an orderly stop.
//!
//! Used by `run` and by `demo`. The caller decides when to stop by cancelling the token
//! it passes in; [`Running::shutdown`] then drains within the grace period.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::pipeline::{Pipeline, Progress, Shared};
use crate::sinks::{self, DeadLetterStore, Sink};
use crate::telemetry::{self, Health};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "another own-audit-forwarder is running with the state directory {path}; two daemons \
         must never share a cursor"
    )]
    Locked { path: String },
    #[error(
        "cannot listen for telemetry on {addr}: {source}; set telemetry.listen (or \
         OWN_AUDIT__TELEMETRY__LISTEN) to a free address, or \"off\""
    )]
    Telemetry {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sink(#[from] sinks::BuildError),
}

/// A started daemon.
pub struct Running {
    pipeline: Pipeline,
    sinks: Arc<Vec<Arc<dyn Sink>>>,
    stop: CancellationToken,
    hard: CancellationToken,
    telemetry: Option<JoinHandle<()>>,
    telemetry_addr: Option<SocketAddr>,
    health: Health,
    _lock: File,
}

/// Takes the state directory's lock; held for the life of the returned file.
pub fn lock_state_dir(config: &Config) -> Result<File, StartError> {
    let dir = &config.state_dir;
    let path = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|source| StartError::StateDir {
        path: path.clone(),
        source,
    })?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(|source| StartError::StateDir {
            path: path.clone(),
            source,
        })?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::Locked { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(StartError::StateDir { path, source }),
    }
}

/// Starts everything; polling begins at once. `stop` ends polling when cancelled.
pub async fn start(config: &Config, stop: CancellationToken) -> Result<Running, StartError> {
    let lock = lock_state_dir(config)?;
    let health = Health::default();
    telemetry::server::recorder();

    let (telemetry, telemetry_addr) = match config.telemetry.listen {
        Some(addr) => {
            let listener = telemetry::server::bind(addr)
                .await
                .map_err(|source| StartError::Telemetry { addr, source })?;
            let bound = listener.local_addr().ok();
            let task = tokio::spawn(telemetry::server::serve(
                listener,
                health.clone(),
                stop.child_token(),
            ));
            (Some(task), bound)
        }
        None => (None, None),
    };

    for warning in &config.warnings {
        tracing::warn!("configuration: {warning}");
    }
    for source in &config.sources {
        telemetry::names::init_source(&source.name);
    }
    let sinks = Arc::new(build_sinks(config, &health).await?);
    let shared = Shared {
        state_dir: config.state_dir.clone(),
        sinks: Arc::clone(&sinks),
        dead_letters: DeadLetterStore::new(&config.state_dir),
        health: health.clone(),
        channel_capacity: config.pipeline.channel_capacity,
    };
    let hard = CancellationToken::new();
    let pipeline = Pipeline::start(&config.sources, &shared, &stop, &hard);
    tokio::spawn(sinks::monitor::run(
        Arc::clone(&sinks),
        health.clone(),
        sinks::monitor::INTERVAL,
        stop.child_token(),
    ));
    tracing::info!(sources = config.sources.len(), sinks = sinks.len(),
        telemetry = %telemetry_addr.map_or("off".to_owned(), |a| a.to_string()), version = env!("CARGO_PKG_VERSION"), "own-audit-forwarder started");
    Ok(Running {
        pipeline,
        sinks,
        stop,
        hard,
        telemetry,
        telemetry_addr,
        health,
        _lock: lock,
    })
}

/// Builds every sink and checks each one's health. An unhealthy sink is still used: its
/// sends retry until the destination comes back.
async fn build_sinks(config: &Config, health: &Health) -> Result<Vec<Arc<dyn Sink>>, StartError> {
    let mut built = Vec::new();
    for sink_config in &config.sinks {
        health.add_sink(sink_config.name());
        let sink = sinks::build(sink_config, health).await?;
        telemetry::names::init_sink(sink.name(), sink.error_reasons(), sink.rejection_reasons());
        match sink.health().await {
            Ok(()) => health.sink(sink.name(), true, "reachable"),
            Err(error) => {
                tracing::warn!(sink = %sink.name(), error = %error,
                    "the sink is not reachable yet; deliveries wait for it");
                health.sink(sink.name(), false, error.to_string());
            }
        }
        built.push(sink);
    }
    Ok(built)
}

impl Running {
    /// Each source's progress, by name.
    pub fn progress(&self) -> &BTreeMap<String, Arc<Progress>> {
        self.pipeline.progress()
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn telemetry_addr(&self) -> Option<SocketAddr> {
        self.telemetry_addr
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Stops polling, delivers what was fetched within `grace`, then closes the sinks.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        let hard = self.hard.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tracing::warn!(grace = ?grace,
                "the shutdown grace period ran out; abandoning deliveries in progress");
            hard.cancel();
        });
        self.pipeline.join().await;
        timer.abort();
        for sink in self.sinks.iter() {
            sink.close().await;
        }
        if let Some(task) = self.telemetry {
            let _ = task.await;
        }
        tracing::info!("own-audit-forwarder stopped");
    }
}
