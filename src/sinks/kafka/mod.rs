//! The Kafka sink: each event becomes one message, keyed by its event id.
//!
//! Built on librdkafka's idempotent producer with `acks=all` by default. A batch is
//! acknowledged only when the delivery report of every one of its messages says the
//! broker committed it. Messages whose delivery failed for a reason that can pass
//! (broker down, leader election, timeouts, a full local queue) are produced again,
//! with backoff, until they succeed or the daemon stops; messages the broker can never
//! take (too large, topic authorization failed, invalid topic) are returned as
//! rejected, for the dead-letter store.

mod errors;
mod settings;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::join_all;
use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio_util::sync::CancellationToken;

use super::{Aborted, BuildError, HealthError, Record, Rejected, Sink, util};
use crate::config::{KafkaKey, KafkaSinkConfig};
use crate::telemetry::names;

pub use settings::topic_for;

/// How long a metadata request may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client-level error (authentication, TLS, brokers down) is taken as the
/// cause of the delivery failures that follow it.
const CAUSE_TTL: Duration = Duration::from_secs(60);

/// Produces events to a Kafka topic.
pub struct KafkaSink {
    name: String,
    topic: String,
    key: KafkaKey,
    producer: FutureProducer<Context>,
    status: util::Status,
    max_backoff: Duration,
    cause: Cause,
}

/// The last client-level error librdkafka reported, shared with the client context. A
/// refused login shows up in deliveries only as timeouts; this names the real cause.
#[derive(Clone, Default)]
struct Cause(Arc<Mutex<Option<Seen>>>);

/// A client-level error: its label, librdkafka's words, and when it came.
type Seen = (&'static str, String, Instant);

impl Cause {
    fn set(&self, label: &'static str, reason: &str) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some((label, reason.to_owned(), Instant::now()));
    }

    /// The recent client-level error, if there is one.
    fn recent(&self) -> Option<(&'static str, String)> {
        let slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (label, reason, at) = slot.as_ref()?;
        (at.elapsed() < CAUSE_TTL).then(|| (*label, reason.clone()))
    }

    fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Receives librdkafka's client-level errors (broker down, authentication failed) and
/// turns them into warnings and readiness.
struct Context {
    status: util::Status,
    sink: String,
    cause: Cause,
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        let kind = errors::label(&error);
        let hint = errors::hint(kind);
        if errors::needs_operator(kind) {
            tracing::error!(sink = %self.sink, error = %error, reason, kind, "kafka client error: {hint}");
        } else {
            tracing::warn!(sink = %self.sink, error = %error, reason, kind, "kafka client error: {hint}");
        }
        // A refused login also drops the connection, which librdkafka reports next as
        // "brokers down"; keep the login failure as the reason shown.
        match self.cause.recent() {
            Some((cause, earlier)) if kind == "broker_down" && errors::needs_operator(cause) => {
                util::record_error(&self.sink, kind);
                self.status.unready(&format!("{cause}: {earlier}"));
            }
            _ => {
                self.cause.set(kind, reason);
                self.status.failed(kind, reason);
            }
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::warn!(sink = %self.sink, facility, "librdkafka: {message}")
            }
            _ => tracing::debug!(sink = %self.sink, facility, "librdkafka: {message}"),
        }
    }
}

impl KafkaSink {
    pub fn new(config: &KafkaSinkConfig, status: util::Status) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::Invalid {
            name: config.name.clone(),
            reason,
        };
        let client = settings::client_config(config).map_err(|e| invalid(e.to_string()))?;
        let cause = Cause::default();
        let context = Context {
            status: status.clone(),
            sink: config.name.clone(),
            cause: cause.clone(),
        };
        let producer = client
            .create_with_context(context)
            .map_err(|e| invalid(format!("cannot create the Kafka producer: {e}")))?;
        Ok(Self {
            name: config.name.clone(),
            topic: config.topic.clone(),
            key: config.key,
            producer,
            status,
            max_backoff: config.max_backoff,
            cause,
        })
    }

    /// Produces the given records once; returns the indexes still to retry.
    async fn produce_once(
        &self,
        records: &[Record<'_>],
        pending: &[usize],
        rejected: &mut Vec<Rejected>,
    ) -> Vec<usize> {
        // A batch comes from one source, so every record goes to the same topic.
        let Some(first) = pending.first() else {
            return Vec::new();
        };
        let origin = &records[*first].event.origin;
        let topic = topic_for(&self.topic, &origin.source, &origin.region);
        let ids: Vec<String> = pending
            .iter()
            .map(|&i| records[i].event.id.to_string())
            .collect();
        let deliveries = pending.iter().enumerate().map(|(n, &i)| {
            let record = &records[i];
            let mut message = FutureRecord::to(&topic)
                .payload(record.payload)
                .headers(headers(record, "json"));
            if self.key == KafkaKey::EventId {
                message = message.key(ids[n].as_str());
            }
            // Waits while the local queue is full, rather than failing.
            let send = self.producer.send(message, Duration::from_secs(5));
            async move { (i, send.await) }
        });
        let mut retry = Vec::new();
        let mut failure = None;
        for (i, result) in join_all(deliveries).await {
            let Err((error, _)) = result else { continue };
            let kind = errors::label(&error);
            if errors::is_permanent(&error) {
                rejected.push(Rejected {
                    index: i,
                    reason: kind,
                    detail: error.to_string(),
                });
            } else {
                failure.get_or_insert((kind, error.to_string()));
                retry.push(i);
            }
        }
        if let Some((kind, detail)) = failure {
            self.report_failure(kind, &detail);
        }
        retry
    }

    /// Counts one failed attempt and marks the sink not ready, naming a recent
    /// client-level error as the cause when there is one.
    fn report_failure(&self, kind: &'static str, detail: &str) {
        match self.cause.recent() {
            Some((cause, reason)) if kind == "timeout" => {
                util::record_error(&self.name, kind);
                self.status.unready(&format!("{cause}: {reason}"));
            }
            _ => self.status.failed(kind, detail),
        }
    }
}

/// Headers every message carries: the event type, source, region and format.
fn headers(record: &Record<'_>, format: &str) -> OwnedHeaders {
    let origin = &record.event.origin;
    OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: "event_key",
            value: Some(record.event.key.as_str()),
        })
        .insert(Header {
            key: "source",
            value: Some(origin.source.as_str()),
        })
        .insert(Header {
            key: "region",
            value: Some(origin.region.as_str()),
        })
        .insert(Header {
            key: "format",
            value: Some(format),
        })
}

#[async_trait]
impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn error_reasons(&self) -> &'static [&'static str] {
        errors::TRANSIENT_LABELS
    }

    fn rejection_reasons(&self) -> &'static [&'static str] {
        errors::PERMANENT_LABELS
    }

    /// Asks a broker for metadata: it must answer, and a topic without placeholders
    /// must exist (or be creatable, when the broker creates topics on first use).
    async fn health(&self) -> Result<(), HealthError> {
        let producer = self.producer.clone();
        let topic = (!self.topic.contains('{')).then(|| self.topic.clone());
        let name = self.name.clone();
        let probe = tokio::task::spawn_blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(topic.as_deref(), METADATA_TIMEOUT)
                .map_err(|e| format!("no broker answered a metadata request: {e}"))?;
            let Some(topic) = topic else { return Ok(()) };
            match metadata.topics().iter().find(|t| t.name() == topic) {
                Some(t) if t.error().is_none() => Ok(()),
                Some(t) => Err(format!(
                    "topic {topic:?} is not usable ({:?}); create it, or grant the producer \
                     access to it",
                    t.error()
                )),
                None => Err(format!("topic {topic:?} does not exist; create it")),
            }
        });
        let result = probe.await.map_err(|e| HealthError(e.to_string()))?;
        let cause = self.cause.recent();
        result.map_err(|reason| {
            let reason = match cause {
                Some((cause, detail)) if errors::needs_operator(cause) => {
                    format!("{cause}: {detail}")
                }
                _ => reason,
            };
            tracing::debug!(sink = %name, reason, "kafka health check failed");
            HealthError(reason)
        })
    }

    async fn send(
        &self,
        records: &[Record<'_>],
        stop: &CancellationToken,
    ) -> Result<Vec<Rejected>, Aborted> {
        let started = Instant::now();
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut rejected = Vec::new();
        let mut delays = util::backoff(Duration::from_millis(500), self.max_backoff);
        loop {
            let produce = self.produce_once(records, &pending, &mut rejected);
            pending = tokio::select! {
                // Messages already handed to librdkafka may still be delivered; the
                // checkpoint does not move, so they are produced again at the next start.
                () = stop.cancelled() => return Err(Aborted),
                retry = produce => retry,
            };
            metrics::gauge!(names::SINK_QUEUE_DEPTH, "sink" => self.name.clone())
                .set(f64::from(self.producer.in_flight_count()));
            if pending.is_empty() {
                break;
            }
            let delay = delays.next().unwrap_or(self.max_backoff);
            tracing::warn!(sink = %self.name, undelivered = pending.len(), retry_in = ?delay,
                "kafka did not take every message; producing the rest again");
            tokio::select! {
                () = stop.cancelled() => return Err(Aborted),
                () = tokio::time::sleep(delay) => {}
            }
        }
        self.cause.clear();
        self.status.ok();
        metrics::histogram!(names::SINK_SEND_DURATION, "sink" => self.name.clone())
            .record(started.elapsed().as_secs_f64());
        let delivered = records.len() - rejected.len();
        let bytes: usize = records.iter().map(|r| r.payload.len()).sum();
        if let Some(first) = records.first() {
            util::record_sent(&self.name, &first.event.origin.source, delivered, bytes);
        }
        Ok(rejected)
    }

    async fn close(&self) {
        let producer = self.producer.clone();
        let name = self.name.clone();
        let flushed =
            tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10))).await;
        if !matches!(flushed, Ok(Ok(()))) {
            tracing::warn!(sink = %name, "kafka messages were still in flight at shutdown; \
                they are produced again at the next start");
        }
    }
}
