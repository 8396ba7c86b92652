//! One source: its checkpoint, refresher, poller and dispatcher, started together.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::dispatch::Dispatcher;
use super::poller::Poller;
use super::{Progress, Shared};
use crate::checkpoint::{CheckpointStore, FileStore};
use crate::config::{SourceConfig, StartFrom};
use crate::event::{KeyFilter, Origin};
use crate::own::auth::Refresher;
use crate::own::events::EventsClient;
use crate::telemetry::names;

/// A configured source, ready to run.
pub struct SourceSpec {
    config: SourceConfig,
    shared: Shared,
    progress: Arc<Progress>,
}

impl SourceSpec {
    pub fn new(config: SourceConfig, shared: Shared) -> Self {
        shared.health.add_source(&config.name);
        Self {
            config,
            shared,
            progress: Arc::new(Progress::default()),
        }
    }

    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// Runs until `stop`, then delivers what was fetched until done or `hard`.
    pub async fn run(self, stop: CancellationToken, hard: CancellationToken) {
        let name = self.config.name.clone();
        if let Err(reason) = self.run_inner(stop, hard).await {
            tracing::error!(source = %name, "the source is stopped: {reason}");
            self.shared.health.source(&name, false, reason.clone());
            self.progress.fail(reason);
        }
    }

    async fn run_inner(
        &self,
        stop: CancellationToken,
        hard: CancellationToken,
    ) -> Result<(), String> {
        let config = &self.config;
        let shared = &self.shared;
        let store = FileStore::new(&shared.state_dir, &config.name);
        let start = self.start_position(&store)?;

        let http = crate::own::http_client(config.request_timeout)
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let client = EventsClient::new(&config.name, http.clone(), &config.api_base())?;
        let refresher = Refresher::new(config, &shared.state_dir, http, shared.health.clone());
        let origin = Origin::new(&config.name, config.region_label());

        let (tx, rx) = mpsc::channel(shared.channel_capacity);
        let poller = Poller {
            config: config.clone(),
            client,
            refresher: refresher.clone(),
            origin,
            shared: shared.clone(),
            progress: Arc::clone(&self.progress),
        };
        let dispatcher = Dispatcher {
            source: config.name.clone(),
            store: Box::new(store),
            shared: shared.clone(),
            progress: Arc::clone(&self.progress),
            // Validated with the configuration.
            filter: KeyFilter::new(&config.include_keys, &config.exclude_keys).unwrap_or_default(),
        };
        let refresher_task = tokio::spawn(refresher.run(stop.clone()));
        tracing::info!(source = %config.name, base_url = %config.api_base(),
            from = %start.map_or("the beginning".to_owned(), |id| format!("after event {id}")),
            "source started");
        let ((), ()) = tokio::join!(poller.run(start, tx, stop), dispatcher.run(rx, hard));
        refresher_task.abort();
        tracing::info!(source = %config.name, checkpoint = self.progress.checkpoint(), "source stopped");
        Ok(())
    }

    /// Where polling begins: after the checkpoint, else as `start_from` says.
    fn start_position(&self, store: &FileStore) -> Result<Option<u64>, String> {
        let name = &self.config.name;
        match store.load().map_err(|e| e.to_string())? {
            Some(checkpoint) => {
                tracing::info!(source = %name, event_id = checkpoint.last_event_id,
                    "resuming after the checkpoint");
                for gauge in [names::CHECKPOINT_EVENT_ID, names::NEWEST_EVENT_ID] {
                    metrics::gauge!(gauge, "source" => name.clone())
                        .set(checkpoint.last_event_id as f64);
                }
                self.progress.add_forwarded(0, checkpoint.last_event_id);
                Ok(Some(checkpoint.last_event_id))
            }
            None => {
                let start = match self.config.start_from {
                    StartFrom::Beginning => None,
                    StartFrom::EventId(id) => Some(id),
                };
                tracing::info!(source = %name, start_from = %self.config.start_from,
                    path = %store.path().display(), "no checkpoint yet; starting as configured");
                Ok(start)
            }
        }
    }
}
