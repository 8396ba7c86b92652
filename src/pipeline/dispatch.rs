//! The dispatcher: delivers batches to every sink, then moves the checkpoint.
//!
//! Batches are taken one at a time, in the order fetched. Each is encoded once per
//! format the sinks want and sent to every sink concurrently. Events a sink refuses for
//! good are written to the dead-letter store. Only when every sink has acknowledged the
//! batch and every refusal is stored does the checkpoint move to the batch's last event.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Batch, Progress, Shared};
use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::event::{Event, format_rfc3339};
use crate::sinks::dead_letter::DeadEvent;
use crate::sinks::{Aborted, Format, Record, Rejected};
use crate::telemetry::names;

pub struct Dispatcher {
    pub source: String,
    pub store: Box<dyn CheckpointStore>,
    pub shared: Shared,
    pub progress: Arc<Progress>,
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

    async fn deliver(&self, events: &[Event], hard: &CancellationToken) -> Result<(), Aborted> {
        let encoded = self.encode(events);
        let sends = self.shared.sinks.iter().map(|sink| {
            let encoded = &encoded[&sink.format()];
            let records: Vec<Record<'_>> = events
                .iter()
                .zip(&encoded.ranges)
                .map(|(event, range)| Record {
                    event,
                    payload: &encoded.bytes[range.clone()],
                })
                .collect();
            async move { (sink.name(), sink.send(&records, hard).await) }
        });
        let results = join_all(sends).await;
        for (sink, result) in results {
            for rejected in result? {
                self.dead_letter(&events[rejected.index], sink, &rejected, hard)
                    .await?;
            }
        }
        self.save_checkpoint(events, hard).await
    }

    fn encode(&self, events: &[Event]) -> HashMap<Format, Encoded> {
        let mut out = HashMap::new();
        for sink in self.shared.sinks.iter() {
            out.entry(sink.format())
                .or_insert_with(|| encode_all(sink.format(), events));
        }
        out
    }

    /// Stores a refused event, retrying until the store takes it or `hard` fires.
    async fn dead_letter(
        &self,
        event: &Event,
        sink: &str,
        rejected: &Rejected,
        hard: &CancellationToken,
    ) -> Result<(), Aborted> {
        tracing::error!(source = %self.source, sink, event_id = event.id, reason = rejected.reason,
            detail = %rejected.detail, "a sink refused an event for good; storing it as a dead letter");
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

    async fn save_checkpoint(
        &self,
        events: &[Event],
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
        metrics::counter!(names::EVENTS_FORWARDED, "source" => source)
            .increment(events.len() as u64);
        self.progress.add_forwarded(events.len(), last.id);
        Ok(())
    }
}

fn encode_all(format: Format, events: &[Event]) -> Encoded {
    let mut bytes = Vec::with_capacity(events.len() * 512);
    let mut ranges = Vec::with_capacity(events.len());
    for event in events {
        let start = bytes.len();
        format.encode(event, &mut bytes);
        ranges.push(start..bytes.len());
    }
    Encoded { bytes, ranges }
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
