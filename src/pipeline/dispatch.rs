//! The dispatcher: delivers batches to every sink, then moves the checkpoint.
//!
//! Batches are taken one at a time, in the order fetched. The source's key filter drops
//! the events it does not want; the rest are encoded once per format the sinks want, and
//! each sink is sent, concurrently, the events its own filter takes. Events a sink
//! refuses for good are written to the dead-letter store. Only when every sink has
//! acknowledged the batch and every refusal is stored does the checkpoint move to the
//! batch's last event, filtered or not: a filtered event counts as handled.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Route;
use super::{Batch, Progress, Shared};
use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::event::{Event, Format, KeyFilter, format_rfc3339};
use crate::sinks::dead_letter::DeadEvent;
use crate::sinks::{Aborted, Record, Rejected};
use crate::telemetry::names;

pub struct Dispatcher {
    pub source: String,
    pub store: Box<dyn CheckpointStore>,
    pub shared: Shared,
    pub progress: Arc<Progress>,
    /// The source's own key filter.
    pub filter: KeyFilter,
}

/// A batch encoded in one format: one buffer, one range per event.
struct Encoded {
    bytes: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl Dispatcher {
    /// Delivers batches until the channel closes, or until `hard` abandons one.
    pub async fn run(self, mut rx: mpsc::Receiver<Batch>, hard: CancellationToken) {
        while let Some(batch) = rx.recv().await {
            metrics::gauge!(names::BATCHES_QUEUED, "source" => self.source.clone())
                .set(rx.len() as f64);
            if batch.events.is_empty() {
                self.progress
                    .set_caught_up(batch.caught_up && rx.is_empty());
                continue;
            }
            self.progress.set_caught_up(false);
            if self.deliver(&batch.events, &hard).await.is_err() {
                tracing::warn!(source = %self.source, undelivered = batch.events.len() + rx.len() * 1000,
                    "stopping with batches undelivered; they are fetched again at the next start");
                return;
            }
            self.progress
                .set_caught_up(batch.caught_up && rx.is_empty());
            if batch.caught_up {
                tracing::debug!(source = %self.source, checkpoint = self.progress.checkpoint(), "caught up");
            }
        }
    }

    async fn deliver(&self, batch: &[Event], hard: &CancellationToken) -> Result<(), Aborted> {
        let events = self.take(batch);
        let routes = Arc::clone(&self.shared.routes.borrow());
        if !events.is_empty() {
            let encoded = encode(&routes, &events);
            let sends = routes
                .iter()
                .map(|route| self.deliver_to(route, &events, &encoded, hard));
            for result in join_all(sends).await {
                let refused = result?;
                if let Some((sink, first, rejected)) = refused.first() {
                    tracing::error!(source = %self.source, sink = %sink, events = refused.len(),
                        first_event_id = first.id, reason = rejected.reason,
                        detail = %rejected.detail,
                        "a sink refused events for good; storing them as dead letters");
                }
                for (sink, event, rejected) in &refused {
                    self.dead_letter(event, sink, rejected, hard).await?;
                }
            }
        }
        self.save_checkpoint(batch, events.len(), hard).await
    }

    /// Sends the events to one route; when a reload retires it mid-send, to its
    /// replacement, or to no one when the sink was removed.
    async fn deliver_to<'a>(
        &self,
        route: &Route,
        events: &[&'a Event],
        encoded: &HashMap<Format, Encoded>,
        hard: &CancellationToken,
    ) -> Result<Vec<(String, &'a Event, Rejected)>, Aborted> {
        let mut route = route.clone();
        loop {
            let own;
            let bytes = match encoded.get(&route.format) {
                Some(bytes) => bytes,
                None => {
                    own = encode_all(route.format, events);
                    &own
                }
            };
            match send(&route, events, bytes).await {
                Ok(rejected) => {
                    let name = route.name().to_owned();
                    return Ok(rejected
                        .into_iter()
                        .map(|(e, r)| (name.clone(), e, r))
                        .collect());
                }
                Err(Aborted) if hard.is_cancelled() => return Err(Aborted),
                Err(Aborted) => match self.replacement(&route) {
                    Some(next) => {
                        tracing::info!(source = %self.source, sink = %route.name(),
                            "the sink was replaced by a reload; sending the batch to the new one");
                        route = next;
                    }
                    None => {
                        tracing::info!(source = %self.source, sink = %route.name(),
                            "the sink was removed by a reload; it takes no more events");
                        return Ok(Vec::new());
                    }
                },
            }
        }
    }

    /// The route now published under a retired route's name, unless it is retired too.
    fn replacement(&self, retired: &Route) -> Option<Route> {
        let routes = self.shared.routes.borrow();
        routes
            .iter()
            .find(|r| r.name() == retired.name() && !r.retired.is_cancelled())
            .cloned()
    }

    /// The events of a batch the source's filter takes.
    fn take<'a>(&self, batch: &'a [Event]) -> Vec<&'a Event> {
        let events: Vec<&Event> = batch
            .iter()
            .filter(|e| self.filter.allows(&e.key))
            .collect();
        let dropped = batch.len() - events.len();
        if dropped > 0 {
            metrics::counter!(names::SOURCE_EVENTS_FILTERED, "source" => self.source.clone())
                .increment(dropped as u64);
        }
        events
    }

    /// Stores a refused event, retrying until the store takes it or `hard` fires.
    async fn dead_letter(
        &self,
        event: &Event,
        sink: &str,
        rejected: &Rejected,
        hard: &CancellationToken,
    ) -> Result<(), Aborted> {
        tracing::debug!(source = %self.source, sink, event_id = event.id, reason = rejected.reason,
            detail = %rejected.detail, "storing a dead letter");
        let store = &self.shared.dead_letters;
        retry(
            hard,
            "cannot write the dead-letter file",
            &self.source,
            || {
                store.store(
                    DeadEvent::Event(event),
                    sink,
                    rejected.reason,
                    &rejected.detail,
                )
            },
        )
        .await
    }

    /// Moves the checkpoint to the batch's last event; `forwarded` of its events passed
    /// the source's filter and were delivered.
    async fn save_checkpoint(
        &self,
        events: &[Event],
        forwarded: usize,
        hard: &CancellationToken,
    ) -> Result<(), Aborted> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let checkpoint =
            Checkpoint::new(&self.source, last.id, Some(format_rfc3339(last.timestamp)));
        retry(
            hard,
            "cannot write the checkpoint",
            &self.source,
            || async { self.store.save(&checkpoint).map_err(std::io::Error::other) },
        )
        .await?;

        let source = self.source.clone();
        metrics::gauge!(names::CHECKPOINT_EVENT_ID, "source" => source.clone()).set(last.id as f64);
        metrics::gauge!(names::CHECKPOINT_EVENT_TIME, "source" => source.clone())
            .set(last.timestamp.as_millisecond() as f64 / 1000.0);
        metrics::counter!(names::EVENTS_FORWARDED, "source" => source).increment(forwarded as u64);
        self.progress.add_forwarded(forwarded, last.id);
        Ok(())
    }
}

/// Encodes the events once per format some route wants.
fn encode(routes: &[Route], events: &[&Event]) -> HashMap<Format, Encoded> {
    let mut out = HashMap::new();
    for route in routes {
        out.entry(route.format)
            .or_insert_with(|| encode_all(route.format, events));
    }
    out
}

fn encode_all(format: Format, events: &[&Event]) -> Encoded {
    let mut bytes = Vec::with_capacity(events.len() * 512);
    let mut ranges = Vec::with_capacity(events.len());
    for event in events {
        let start = bytes.len();
        format.encode(event, &mut bytes);
        ranges.push(start..bytes.len());
    }
    Encoded { bytes, ranges }
}

/// Sends a route the events its filter takes; gives back the refused ones.
async fn send<'a>(
    route: &Route,
    events: &[&'a Event],
    encoded: &Encoded,
) -> Result<Vec<(&'a Event, Rejected)>, Aborted> {
    let taken: Vec<usize> = (0..events.len())
        .filter(|&i| route.takes(events[i]))
        .collect();
    let skipped = events.len() - taken.len();
    if skipped > 0 {
        metrics::counter!(names::SINK_EVENTS_FILTERED, "sink" => route.sink.name().to_owned())
            .increment(skipped as u64);
    }
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let records: Vec<Record<'_>> = taken
        .iter()
        .map(|&i| Record {
            event: events[i],
            payload: &encoded.bytes[encoded.ranges[i].clone()],
        })
        .collect();
    let rejected = route.sink.send(&records, &route.retired).await?;
    Ok(rejected
        .into_iter()
        .filter_map(|r| Some((*events.get(*taken.get(r.index)?)?, r)))
        .collect())
}

/// Retries a local write with backoff until it succeeds or `hard` fires.
async fn retry<F, Fut>(
    hard: &CancellationToken,
    what: &str,
    source: &str,
    mut attempt: F,
) -> Result<(), Aborted>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    let mut delays =
        crate::sinks::util::backoff(Duration::from_millis(100), Duration::from_secs(30));
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(30));
                tracing::error!(source, error = %error, retry_in = ?delay, "{what}; retrying");
                tokio::select! {
                    () = hard.cancelled() => return Err(Aborted),
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
