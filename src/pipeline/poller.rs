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
use crate::own::events::{EventsClient, FetchError, Page};
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
        let mut malformed = MalformedStreak::default();
        let mut access = self.refresher.subscribe();
        loop {
            let token = tokio::select! {
                () = stop.cancelled() => return,
                token = self.wait_for_token(&mut access) => token,
            };
            let Some(token) = token else { return };
            let lenient = malformed.is_stubborn(cursor);
            // A request that hangs must not hold up a stop.
            let polled = tokio::select! {
                () = stop.cancelled() => return,
                polled = self.poll_once(&mut cursor, &token, &tx, &stop, lenient) => polled,
            };
            let next = match polled {
                Ok(next) => {
                    failures.reset();
                    malformed = MalformedStreak::default();
                    next
                }
                Err(PollError::Stopped) => return,
                Err(PollError::Fetch(error)) => {
                    malformed.note(&error, cursor);
                    self.on_error(error, &mut failures)
                }
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

    /// Fetches one page, renewing the access token once on 401.
    async fn fetch(
        &self,
        cursor: Option<u64>,
        token: &AccessToken,
        lenient: bool,
    ) -> Result<Page, FetchError> {
        match self.client.fetch(cursor, &token.secret, lenient).await {
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
                    _ => return Err(FetchError::Unauthorized),
                };
                self.client.fetch(cursor, &renewed, lenient).await
            }
            other => other,
        }
    }

    /// Fetches one page and queues its new events. The cursor moves only once every
    /// entry of the page is queued or durably set aside.
    async fn poll_once(
        &self,
        cursor: &mut Option<u64>,
        token: &AccessToken,
        tx: &mpsc::Sender<Batch>,
        stop: &CancellationToken,
        lenient: bool,
    ) -> Result<Next, PollError> {
        let page = self.fetch(*cursor, token, lenient).await?;
        self.mark_polled();

        let full = page.len() >= PAGE_LIMIT;
        let page_len = page.len();
        let Sorted { events, rejects } = self.sort_page(page, *cursor);
        if full && events.is_empty() {
            return Err(FetchError::Malformed(format!(
                "a full page of {page_len} entries holds no readable event after {}; the cursor \
                 cannot move past it",
                cursor.map_or("the start".to_owned(), |c| format!("event {c}"))
            ))
            .into());
        }
        self.store_rejects(&rejects).await?;

        if let Some(last) = events.last() {
            *cursor = Some(last.id);
            metrics::gauge!(names::NEWEST_EVENT_ID, "source" => self.config.name.clone())
                .set(last.id as f64);
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

    /// Turns a page into events above the cursor, in ascending id order, and the entries
    /// that cannot be forwarded: no usable id, not valid JSON, or a second, different
    /// entry under an id already on the page.
    fn sort_page(&self, page: Page, cursor: Option<u64>) -> Sorted {
        let received = jiff::Timestamp::now();
        let mut rejects = Vec::new();
        let mut events = Vec::with_capacity(page.entries.len());
        let redactor = Arc::clone(&self.shared.redactor.borrow());
        for entry in page.entries {
            let entry = redactor.redact(entry);
            match Event::from_api(entry, &self.origin, received) {
                Ok(event) => events.push(event),
                Err(bad) => rejects.push(Reject::Raw(bad.entry, bad.error.to_string())),
            }
        }
        for bad in page.unparsable {
            rejects.push(Reject::Text(
                bad.text,
                format!("not valid JSON: {}", bad.reason),
            ));
        }
        if !events.is_sorted_by_key(|e| e.id) {
            tracing::warn!(source = %self.config.name, "the Own API sent a page out of order; sorting it");
            events.sort_by_key(|e| e.id);
        }
        let mut unique: Vec<Event> = Vec::with_capacity(events.len());
        for event in events {
            match unique.last() {
                Some(last) if last.id == event.id => {
                    if last.fields.entry().get() != event.fields.entry().get() {
                        let reason =
                            format!("a different entry with event_id {} came first", event.id);
                        rejects.push(Reject::Raw(event.fields.entry().to_owned(), reason));
                    }
                }
                _ => unique.push(event),
            }
        }
        if let Some(cursor) = cursor {
            let late = unique.iter().filter(|e| e.id < cursor).count();
            if late > 0 {
                tracing::warn!(source = %self.config.name, late, cursor,
                    "the Own API returned events older than the cursor; they were forwarded before, \
                     or arrived late, and are not forwarded again");
            }
            unique.retain(|e| e.id > cursor);
        }
        Sorted {
            events: unique,
            rejects,
        }
    }

    /// Stores every set-aside entry durably; on failure the page is fetched again.
    async fn store_rejects(&self, rejects: &[Reject]) -> Result<(), PollError> {
        let source = self.config.name.as_str();
        for reject in rejects {
            let (letter, reason) = match reject {
                Reject::Raw(entry, reason) => (
                    DeadEvent::Raw {
                        source,
                        value: entry,
                    },
                    reason,
                ),
                Reject::Text(text, reason) => (DeadEvent::Text { source, text }, reason),
            };
            tracing::error!(source, reason = %reason,
                "an API entry cannot be forwarded; storing it as a dead letter");
            self.shared
                .dead_letters
                .store(letter, "-", "unreadable_entry", reason)
                .await
                .map_err(|e| {
                    FetchError::Local(format!(
                        "cannot write the dead-letter file {}: {e}; the page is fetched again",
                        self.shared.dead_letters.path().display()
                    ))
                })?;
        }
        Ok(())
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

/// A page's events and the entries set aside.
struct Sorted {
    events: Vec<Event>,
    rejects: Vec<Reject>,
}

/// An entry that cannot be forwarded, and why.
enum Reject {
    Raw(Box<RawValue>, String),
    Text(String, String),
}

/// Consecutive malformed pages at one cursor. After a few, the page is read entry by
/// entry, so that one entry no parser accepts is set aside instead of blocking the source.
#[derive(Default)]
struct MalformedStreak {
    cursor: Option<Option<u64>>,
    count: u32,
}

impl MalformedStreak {
    const STUBBORN: u32 = 3;

    fn note(&mut self, error: &FetchError, cursor: Option<u64>) {
        if !matches!(error, FetchError::Malformed(_)) {
            return;
        }
        if self.cursor == Some(cursor) {
            self.count += 1;
        } else {
            *self = Self {
                cursor: Some(cursor),
                count: 1,
            };
        }
    }

    fn is_stubborn(&self, cursor: Option<u64>) -> bool {
        self.cursor == Some(cursor) && self.count >= Self::STUBBORN
    }
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
