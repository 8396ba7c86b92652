//! The daemon assembled: telemetry, sinks, sources, reloads, and an orderly stop.
//!
//! Used by `run` and by `demo`. The caller decides when to stop by cancelling the token
//! it passes in; [`Running::shutdown`] then drains within the grace period.
//! [`Running::reload`] applies a new configuration while events flow.

mod reload;
pub mod systemd;

pub use reload::{Changes, ReloadError};

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, RedactionConfig, SinkConfig};
use crate::event::Redactor;
use crate::pipeline::{Pipeline, Progress, Route, Shared};
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
    #[error("redaction: {0}")]
    Redaction(String),
}

/// A started daemon.
pub struct Running {
    config: Config,
    /// The listener and logging in effect, which a reload cannot change.
    telemetry_started: crate::config::TelemetryConfig,
    pipeline: Pipeline,
    shared: Shared,
    routes: watch::Sender<Arc<Vec<Route>>>,
    redactor: watch::Sender<Arc<Redactor>>,
    /// Ends the health probe of the current sinks.
    monitor: CancellationToken,
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
    let (redactor_tx, redactor) = watch::channel(Arc::new(build_redactor(&config.redaction)?));
    let hard = CancellationToken::new();
    let mut routes = Vec::new();
    for sink_config in &config.sinks {
        let sink = build_sink(sink_config, &health).await?;
        routes.push(Route::new(sink, sink_config, &hard));
    }
    let sinks: Vec<Arc<dyn Sink>> = routes.iter().map(|r| Arc::clone(&r.sink)).collect();
    let (routes_tx, routes) = watch::channel(Arc::new(routes));
    let shared = Shared {
        state_dir: config.state_dir.clone(),
        routes,
        redactor,
        dead_letters: DeadLetterStore::new(&config.state_dir),
        health: health.clone(),
        channel_capacity: config.pipeline.channel_capacity,
    };
    let pipeline = Pipeline::start(&config.sources, &shared, &stop, &hard);
    let monitor = start_monitor(sinks, &health, &stop);
    tracing::info!(sources = config.sources.len(), sinks = config.sinks.len(),
        telemetry = %telemetry_addr.map_or("off".to_owned(), |a| a.to_string()), version = env!("CARGO_PKG_VERSION"), "own-audit-forwarder started");
    Ok(Running {
        config: config.clone(),
        telemetry_started: config.telemetry.clone(),
        pipeline,
        shared,
        routes: routes_tx,
        redactor: redactor_tx,
        monitor,
        stop,
        hard,
        telemetry,
        telemetry_addr,
        health,
        _lock: lock,
    })
}

/// The redaction the configuration asks for, with its hash key read.
pub fn build_redactor(config: &RedactionConfig) -> Result<Redactor, StartError> {
    let key = match config.hash_key() {
        Some(source) => Some(
            source
                .read()
                .map_err(|e| StartError::Redaction(format!("cannot read the hash key: {e}")))?,
        ),
        None => None,
    };
    Redactor::new(&config.drop, &config.hash, key.as_ref())
        .map_err(|e| StartError::Redaction(e.to_string()))
}

/// Builds a sink and checks its health. An unhealthy sink is still used: its sends
/// retry until the destination comes back.
async fn build_sink(config: &SinkConfig, health: &Health) -> Result<Arc<dyn Sink>, StartError> {
    health.add_sink(config.name());
    let sink = sinks::build(config, health).await?;
    telemetry::names::init_sink(sink.name(), sink.error_reasons(), sink.rejection_reasons());
    match sink.health().await {
        Ok(()) => health.sink(sink.name(), true, "reachable"),
        Err(error) => {
            tracing::warn!(sink = %sink.name(), error = %error,
                "the sink is not reachable yet; deliveries wait for it");
            health.sink(sink.name(), false, error.to_string());
        }
    }
    Ok(sink)
}

/// Probes `sinks` in the background until the returned token or `stop` fires.
fn start_monitor(
    sinks: Vec<Arc<dyn Sink>>,
    health: &Health,
    stop: &CancellationToken,
) -> CancellationToken {
    let token = stop.child_token();
    tokio::spawn(sinks::monitor::run(
        Arc::new(sinks),
        health.clone(),
        sinks::monitor::INTERVAL,
        token.clone(),
    ));
    token
}

impl Running {
    /// Each source's progress, by name.
    pub fn progress(&self) -> BTreeMap<String, Arc<Progress>> {
        self.pipeline.progress()
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn telemetry_addr(&self) -> Option<SocketAddr> {
        self.telemetry_addr
    }

    /// The configuration running now.
    pub fn config(&self) -> &Config {
        &self.config
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
        self.monitor.cancel();
        for route in self.routes.borrow().iter() {
            route.sink.close().await;
        }
        if let Some(task) = self.telemetry {
            let _ = task.await;
        }
        tracing::info!("own-audit-forwarder stopped");
    }
}
