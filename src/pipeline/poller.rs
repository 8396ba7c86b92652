//! The poller: pages through the audit log and hands batches to the dispatcher.
//!
//! It fetches with `from=<cursor>`, where the cursor is the last event id fetched (ahead
//! of the checkpoint while batches wait in the channel). Full pages are fetched back to
//! back; after a short page it waits the poll interval. Events at or below the cursor
//! are dropped, so a server that reads `from` as inclusive yields no duplicates.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Batch, Progress, Shared};
use crate::config::SourceConfig;
use crate::event::{Event, Origin};
use crate::own::PAGE_LIMIT;
use crate::own::auth::{Access, AccessToken, Refresher};
use crate::own::events::{EventsClient, FetchError};
use crate::sinks::dead_letter::DeadEvent;
use crate::telemetry::names;

/// Longest wait honoured from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub struct Poller {
    pub config: SourceConfig,
    pub client: EventsClient,
    pub refresher: Refresher,
    pub origin: Arc<Origin>,
    pub shared: Shared,
    pub progress: Arc<Progress>,
}

/// What to do after one fetch.
enum Next {
    /// Fetch again at once.
    Now,
    /// Wait this long first.
    After(Duration),
}

impl Poller {
    pub async fn run(self, start: Option<u64>, tx: mpsc::Sender<Batch>, stop: CancellationToken) {
        let mut cursor = start;
        let mut failures = Failures::new(self.config.max_backoff);
        let mut access = self.refresher.subscribe();
        loop {
            let token = tokio::select! {
                () = stop.cancelled() => return,
                token = self.wait_for_token(&mut access) => token,
            };
            let Some(token) = token else { return };
            let next = match self.poll_once(&mut cursor, &token, &tx, &stop).await {
                Ok(next) => {
                    failures.reset();
                    next
                }
                Err(PollError::Stopped) => return,
                Err(PollError::Fetch(error)) => self.on_error(error, &mut failures),
            };
            if let Next::After(wait) = next {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// Waits for a usable access token; `None` when the refresher is gone.
    async fn wait_for_token(
        &self,
        access: &mut tokio::sync::watch::Receiver<Access>,
    ) -> Option<AccessToken> {
        let state = access
            .wait_for(|a| matches!(a, Access::Ready(_)))
            .await
            .ok()?;
        match &*state {
            Access::Ready(token) => Some(token.clone()),
            _ => None,
        }
    }

    /// Fetches one page (refreshing once on 401) and queues its new events.
    async fn poll_once(
        &self,
        cursor: &mut Option<u64>,
        token: &AccessToken,
        tx: &mpsc::Sender<Batch>,
        stop: &CancellationToken,
    ) -> Result<Next, PollError> {
        let entries = match self.client.fetch(*cursor, &token.secret).await {
            Err(FetchError::Unauthorized) => {
                tracing::info!(source = %self.config.name,
                    "the Own API refused the access token; renewing it once");
                self.refresher
                    .force_refresh(token.generation)
                    .await
                    .map_err(|e| {
                        FetchError::Network(format!("renewing the access token failed: {e}"))
                    })?;
                let renewed = match &*self.refresher.subscribe().borrow() {
                    Access::Ready(renewed) => renewed.secret.clone(),
                    _ => return Err(FetchError::Unauthorized.into()),
                };
                self.client.fetch(*cursor, &renewed).await?
            }
            other => other?,
        };
        self.mark_polled();

        let page_len = entries.len();
        let events = self.to_events(entries, *cursor).await;
        let full = page_len >= PAGE_LIMIT;
        if full && events.is_empty() {
            return Err(FetchError::Malformed(format!(
                "a full page of {page_len} entries holds no event after {cursor:?}"
            ))
            .into());
        }
        if let Some(last) = events.last() {
            *cursor = Some(last.id);
        }
        self.progress.add_fetched(events.len());
        metrics::counter!(names::EVENTS_FETCHED, "source" => self.config.name.clone())
            .increment(events.len() as u64);
        if !events.is_empty() || !full {
            let batch = Batch {
                events,
                caught_up: !full,
            };
            tokio::select! {
                () = stop.cancelled() => return Err(PollError::Stopped),
                sent = tx.send(batch) => sent.map_err(|_| PollError::Stopped)?,
            }
            metrics::gauge!(names::BATCHES_QUEUED, "source" => self.config.name.clone())
                .set((tx.max_capacity() - tx.capacity()) as f64);
        }
        Ok(if full {
            Next::Now
        } else {
            Next::After(self.config.poll_interval)
        })
    }

    /// Turns entries into events above the cursor, in ascending id order. An entry
    /// without a usable id goes to the dead-letter store, since it cannot be ordered.
    async fn to_events(&self, entries: Vec<Box<RawValue>>, cursor: Option<u64>) -> Vec<Event> {
        let received = jiff::Timestamp::now();
        let mut events = Vec::with_capacity(entries.len());
        for entry in entries {
            match Event::from_api(entry, &self.origin, received) {
                Ok(event) => events.push(event),
                Err(bad) => {
                    self.dead_letter_entry(&bad.entry, &bad.error.to_string())
                        .await
                }
            }
        }
        if !events.is_sorted_by_key(|e| e.id) {
            tracing::warn!(source = %self.config.name, "the Own API sent a page out of order; sorting it");
            events.sort_by_key(|e| e.id);
        }
        events.dedup_by_key(|e| e.id);
        if let Some(cursor) = cursor {
            events.retain(|e| e.id > cursor);
        }
        events
    }

    async fn dead_letter_entry(&self, entry: &RawValue, reason: &str) {
        let source = self.config.name.as_str();
        tracing::error!(
            source,
            reason,
            "an API entry cannot be forwarded; kept as a dead letter"
        );
        let letter = DeadEvent::Raw {
            source,
            value: entry,
        };
        if let Err(error) = self
            .shared
            .dead_letters
            .store(letter, "-", "unreadable_entry", reason)
            .await
        {
            tracing::error!(source, error = %error, path = %self.shared.dead_letters.path().display(),
                "cannot write the dead-letter file; the unreadable entry is lost");
        }
    }

    fn mark_polled(&self) {
        let name = &self.config.name;
        let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        metrics::gauge!(names::LAST_POLL, "source" => name.clone()).set(now);
        if !self.shared.health.source_ready(name) {
            tracing::info!(source = %name, "polling the Own API");
        }
        self.shared.health.source(name, true, "polling");
    }

    fn on_error(&self, error: FetchError, failures: &mut Failures) -> Next {
        let name = &self.config.name;
        let backoff = failures.next_delay();
        let delay = match &error {
            FetchError::RateLimited {
                retry_after: Some(after),
            } => (*after).min(MAX_RETRY_AFTER),
            _ => backoff,
        };
        let denied = matches!(error, FetchError::Forbidden(_));
        if denied || failures.count >= 3 {
            self.shared.health.source(name, false, error.to_string());
            let what = if denied {
                "polling is denied"
            } else {
                "polling keeps failing"
            };
            tracing::error!(source = %name, error = %error, retry_in = ?delay, attempts = failures.count,
                "{what}; retrying");
        } else {
            tracing::warn!(source = %name, error = %error, retry_in = ?delay, "polling failed; retrying");
        }
        Next::After(delay)
    }
}

enum PollError {
    Stopped,
    Fetch(FetchError),
}

impl From<FetchError> for PollError {
    fn from(error: FetchError) -> Self {
        PollError::Fetch(error)
    }
}

/// Consecutive failures and their backoff.
struct Failures {
    count: u32,
    max: Duration,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
}

impl Failures {
    fn new(max: Duration) -> Self {
        Self {
            count: 0,
            max,
            delays: Box::new(crate::sinks::util::backoff(Duration::from_secs(1), max)),
        }
    }

    fn reset(&mut self) {
        if self.count > 0 {
            *self = Self::new(self.max);
        }
    }

    fn next_delay(&mut self) -> Duration {
        self.count += 1;
        self.delays.next().unwrap_or(self.max)
    }
}
