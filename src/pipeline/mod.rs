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
mod source;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use progress::Progress;
pub use source::SourceSpec;

use crate::config::SourceConfig;
use crate::event::Event;
use crate::sinks::{DeadLetterStore, Sink};
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
    pub sinks: Arc<Vec<Arc<dyn Sink>>>,
    pub dead_letters: DeadLetterStore,
    pub health: Health,
    pub channel_capacity: usize,
}

/// The running pipeline.
pub struct Pipeline {
    tasks: JoinSet<()>,
    progress: BTreeMap<String, Arc<Progress>>,
}

impl Pipeline {
    /// Starts one poller and one dispatcher per source.
    pub fn start(
        sources: &[SourceConfig],
        shared: &Shared,
        stop: &CancellationToken,
        hard: &CancellationToken,
    ) -> Self {
        let mut tasks = JoinSet::new();
        let mut progress = BTreeMap::new();
        for config in sources {
            let spec = SourceSpec::new(config.clone(), shared.clone());
            progress.insert(config.name.clone(), spec.progress());
            tasks.spawn(spec.run(stop.clone(), hard.clone()));
        }
        Self { tasks, progress }
    }

    /// Each source's progress, by name.
    pub fn progress(&self) -> &BTreeMap<String, Arc<Progress>> {
        &self.progress
    }

    /// Waits until every source has stopped.
    pub async fn join(mut self) {
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = %error, "a source task failed");
            }
        }
    }
}
