//! The pipeline: per source, a poller feeding a dispatcher through a bounded channel.
//!
//! ```text
//! refresher ─watch─> poller ──(bounded batches)──> dispatcher ──> every sink
//!                      ^ cursor                        └─> checkpoint, once all acked
//! ```
//!
//! Sources are independent: each has its own tasks, cursor and checkpoint, and a failing
//! source never stalls another. Sinks are shared by every source.
//!
//! Stopping takes two tokens. `stop` ends polling; the dispatchers then deliver what was
//! already fetched. `hard` fires when the grace period runs out and abandons deliveries
//! in progress, leaving their checkpoints where they were.

mod dispatch;
mod poller;
mod progress;
mod route;
mod source;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use progress::Progress;
pub use route::{Route, Routes};
pub use source::SourceSpec;

use crate::config::SourceConfig;
use crate::event::{Event, Redactor};
use crate::sinks::DeadLetterStore;
use crate::telemetry::Health;

/// Events fetched in one page, in ascending id order, not yet delivered.
#[derive(Debug)]
pub struct Batch {
    pub events: Vec<Event>,
    /// The page that gave this batch was the last of the backlog.
    pub caught_up: bool,
}

/// What every source shares.
#[derive(Clone)]
pub struct Shared {
    pub state_dir: PathBuf,
    /// The sinks, with the format and events each takes.
    pub routes: Routes,
    /// Applied to every API entry before it becomes an event; a reload may replace it.
    pub redactor: watch::Receiver<Arc<Redactor>>,
    pub dead_letters: DeadLetterStore,
    pub health: Health,
    pub channel_capacity: usize,
}

/// The running pipeline: one task per source, each with its own stop tokens so that a
/// reload can stop or start one source and leave the others running.
pub struct Pipeline {
    sources: BTreeMap<String, RunningSource>,
    stop: CancellationToken,
    hard: CancellationToken,
}

struct RunningSource {
    config: SourceConfig,
    stop: CancellationToken,
    hard: CancellationToken,
    progress: Arc<Progress>,
    task: JoinHandle<()>,
}

impl Pipeline {
    /// Starts one poller and one dispatcher per source. Cancelling `stop` ends every
    /// source's polling; `hard` abandons every delivery.
    pub fn start(
        sources: &[SourceConfig],
        shared: &Shared,
        stop: &CancellationToken,
        hard: &CancellationToken,
    ) -> Self {
        let mut pipeline = Self {
            sources: BTreeMap::new(),
            stop: stop.clone(),
            hard: hard.clone(),
        };
        for config in sources {
            pipeline.add(config.clone(), shared);
        }
        pipeline
    }

    /// Starts a source.
    pub fn add(&mut self, config: SourceConfig, shared: &Shared) {
        let stop = self.stop.child_token();
        let hard = self.hard.child_token();
        let spec = SourceSpec::new(config.clone(), shared.clone());
        let progress = spec.progress();
        let task = tokio::spawn(spec.run(stop.clone(), hard.clone()));
        let name = config.name.clone();
        let running = RunningSource {
            config,
            stop,
            hard,
            progress,
            task,
        };
        self.sources.insert(name, running);
    }

    /// Stops a source: polling ends, what was fetched is delivered within `grace`, then
    /// its deliveries are abandoned (they are fetched again when it starts next).
    pub async fn remove(&mut self, name: &str, grace: Duration, health: &Health) {
        let Some(source) = self.sources.remove(name) else {
            return;
        };
        source.stop.cancel();
        let mut task = source.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!(source = %name, grace = ?grace,
                "the source did not finish delivering within the grace period; abandoning");
            source.hard.cancel();
            let _ = task.await;
        }
        health.remove_source(name);
    }

    /// The configuration each source runs with, by name.
    pub fn configs(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.values().map(|s| &s.config)
    }

    /// Each source's progress, by name.
    pub fn progress(&self) -> BTreeMap<String, Arc<Progress>> {
        self.sources
            .iter()
            .map(|(name, s)| (name.clone(), Arc::clone(&s.progress)))
            .collect()
    }

    /// Waits until every source has stopped.
    pub async fn join(self) {
        for (name, source) in self.sources {
            if let Err(error) = source.task.await {
                tracing::error!(source = %name, error = %error, "a source task failed");
            }
        }
    }
}
