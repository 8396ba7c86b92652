//! Sinks: where encoded events are delivered.
//!
//! A [`Sink`] resolves `send` only once its destination has accepted the batch. It
//! retries transient failures itself, with capped exponential backoff and jitter, until
//! it succeeds or the daemon's hard stop fires; it reports events the destination
//! rejects for good as [`Rejected`], which the dispatcher writes to the dead-letter
//! store. Sinks know the canonical event and nothing of the Own API.

pub mod dead_letter;
pub mod file;
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod monitor;
pub mod syslog;
pub mod util;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::SinkConfig;
use crate::event::Event;
use crate::telemetry::Health;

pub use dead_letter::DeadLetterStore;

pub use crate::event::Format;

/// One event and its encoded bytes.
#[derive(Debug)]
pub struct Record<'a> {
    pub event: &'a Event,
    pub payload: &'a [u8],
}

/// An event the destination refused for good; `index` points into the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    /// A short, bounded category for the metric label, such as `too_large`.
    pub reason: &'static str,
    /// What the destination said, for the dead letter.
    pub detail: String,
}

/// The send was abandoned because the daemon is stopping; nothing is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("delivery abandoned: the daemon is stopping")]
pub struct Aborted;

/// Why a sink is not reachable or not usable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HealthError(pub String);

/// A destination for audit events.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The configured, unique name.
    fn name(&self) -> &str;

    /// Checks that the destination is reachable and usable, without sending events.
    async fn health(&self) -> Result<(), HealthError>;

    /// Delivers a batch. Resolves `Ok` once the destination holds every record except
    /// the returned rejected ones; `Err(Aborted)` only when `stop` fired first. The
    /// records of one call all come from the same source.
    async fn send(
        &self,
        records: &[Record<'_>],
        stop: &CancellationToken,
    ) -> Result<Vec<Rejected>, Aborted>;

    /// The `reason` labels of this sink's error metric, so that each series exists from
    /// the start and alerts on its increase see the first error.
    fn error_reasons(&self) -> &'static [&'static str] {
        &[]
    }

    /// The `reason` labels this sink gives refused events.
    fn rejection_reasons(&self) -> &'static [&'static str] {
        &[]
    }

    /// Flushes and releases resources at shutdown.
    async fn close(&self) {}
}

/// Why a sink could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("sink {name}: {reason}")]
    Invalid { name: String, reason: String },
}

/// Builds the sink a configuration describes.
pub async fn build(config: &SinkConfig, health: &Health) -> Result<Arc<dyn Sink>, BuildError> {
    let status = util::Status::new(config.name(), health.clone());
    match config {
        SinkConfig::File(c) => Ok(Arc::new(file::FileSink::open(c, status).await?)),
        #[cfg(feature = "kafka")]
        SinkConfig::Kafka(c) => Ok(Arc::new(kafka::KafkaSink::new(c, status)?)),
        #[cfg(not(feature = "kafka"))]
        SinkConfig::Kafka(c) => Err(BuildError::Invalid {
            name: c.name.clone(),
            reason: "this build has no Kafka support; build with the \"kafka\" feature".into(),
        }),
        SinkConfig::Http(c) => Ok(Arc::new(http::HttpSink::new(c, status)?)),
        SinkConfig::Syslog(c) => Ok(Arc::new(syslog::SyslogSink::new(c, status)?)),
    }
}
