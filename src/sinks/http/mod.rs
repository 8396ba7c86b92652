//! The HTTP sink: events in batched, optionally gzipped and signed requests to any HTTP
//! endpoint, Splunk's HTTP Event Collector included.
//!
//! A batch is acknowledged when the endpoint answers 2xx to every request that holds its
//! events. Transient failures are retried until they pass (see [`deliver`]); events the
//! endpoint refuses for good are returned as rejected, for the dead-letter store. The
//! parts: [`batch`] gathers events into requests, [`encode`] frames them, [`request`]
//! sends one and reads its answer, [`sign`] adds the HMAC signature, and [`client`] reads
//! the secrets and sets up TLS.

mod batch;
mod client;
mod deliver;
mod encode;
mod request;
mod sign;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{Aborted, BuildError, HealthError, Record, Rejected, Sink, util};
use crate::config::{HttpCompression, HttpEncoding, HttpMethod, HttpSinkConfig};
use crate::telemetry::names;

/// The labels of failed attempts, each retried, and of refusals that mark the sink down.
const ERROR_REASONS: &[&str] = &[
    "timeout",
    "connect",
    "network",
    "redirect",
    "status_408",
    "status_429",
    "status_5xx",
    "unexpected_status",
    "unauthorized",
    "not_found",
    "refused",
    "health_check",
];
/// The labels of events sent to the dead-letter store.
const REJECTION_REASONS: &[&str] = &[
    "bad_request",
    "too_large",
    "refused",
    "retries_exhausted",
    "encoding",
];

/// The first retry's delay; later ones double up to `max_backoff`.
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Delivers events to an HTTP endpoint.
pub struct HttpSink {
    name: String,
    encoding: HttpEncoding,
    hec: encode::Hec,
    /// Whether payloads are JSON values (else lines of text, such as CEF).
    json: bool,
    queue: mpsc::Sender<batch::Submission>,
    probe: Option<Arc<request::Probe>>,
    /// Ends the background health probe when the sink is dropped.
    _probing: Option<DropGuard>,
}

impl HttpSink {
    /// Reads the secrets, builds the client, and starts the batcher (and the health probe,
    /// if configured). Needs a Tokio runtime.
    pub fn new(config: &HttpSinkConfig, status: util::Status) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::Invalid {
            name: config.name.clone(),
            reason,
        };
        let setup = client::setup(config).map_err(|e| invalid(e.to_string()))?;
        let url = parse_url(&config.url, "url").map_err(invalid)?;
        let probe = match &config.health_url {
            Some(health_url) => Some(Arc::new(request::Probe {
                client: setup.client.clone(),
                url: parse_url(health_url, "health_url").map_err(invalid)?,
                headers: setup.probe_headers.clone(),
                secrets: setup.secrets.clone(),
            })),
            None => None,
        };
        let failing = Arc::new(AtomicBool::new(false));
        let delivery = deliver::Retrying {
            endpoint: endpoint(config, setup, url),
            policy: deliver::Policy {
                first_delay: FIRST_RETRY,
                max_backoff: config.max_backoff,
                total_timeout: config.total_timeout,
            },
            sink: config.name.clone(),
            status: status.clone(),
            failing: Arc::clone(&failing),
        };
        // Each source has at most one send in flight, so this never fills up in practice.
        let (queue, batches) = mpsc::channel(64);
        tokio::spawn(batch::run(batches, limits(config), delivery));
        let probing = probe.as_ref().map(|probe| {
            let stop = CancellationToken::new();
            let watch = HealthWatch {
                probe: Arc::clone(probe),
                status,
                failing,
                every: config.health_interval,
            };
            tokio::spawn(watch.run(stop.clone()));
            stop.drop_guard()
        });
        init_metrics(&config.name);
        Ok(Self {
            name: config.name.clone(),
            encoding: config.encoding,
            hec: encode::Hec::new(&config.hec.clone().unwrap_or_default()),
            json: config.output.format().is_json(),
            queue,
            probe,
            _probing: probing,
        })
    }
}

fn endpoint(
    config: &HttpSinkConfig,
    setup: client::Setup,
    url: reqwest::Url,
) -> request::HttpEndpoint {
    request::HttpEndpoint {
        sink: config.name.clone(),
        client: setup.client,
        method: match config.method {
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
        },
        url,
        headers: setup.headers,
        encoding: config.encoding,
        gzip: config.compression == HttpCompression::Gzip,
        signer: setup.signer,
        secrets: setup.secrets,
    }
}

fn limits(config: &HttpSinkConfig) -> batch::Limits {
    batch::Limits {
        max_events: match config.encoding {
            HttpEncoding::Single => 1,
            _ => config.batch.max_events,
        },
        max_bytes: config.batch.max_bytes,
        max_age: config.batch.max_age,
    }
}

fn parse_url(text: &str, field: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(text).map_err(|e| format!("{field}: not a valid URL ({e})"))
}

fn init_metrics(sink: &str) {
    for status in request::STATUS_LABELS {
        metrics::counter!(names::HTTP_SINK_REQUESTS, "sink" => sink.to_owned(), "status" => *status)
            .increment(0);
    }
    metrics::counter!(names::HTTP_SINK_REQUEST_BYTES, "sink" => sink.to_owned()).increment(0);
    let retried = ERROR_REASONS
        .iter()
        .filter(|r| !matches!(**r, "refused" | "health_check"));
    for reason in retried {
        metrics::counter!(names::HTTP_SINK_RETRIES, "sink" => sink.to_owned(), "reason" => *reason)
            .increment(0);
    }
}

/// Probes the health URL every `every`, for `/readyz`.
struct HealthWatch {
    probe: Arc<request::Probe>,
    status: util::Status,
    failing: Arc<AtomicBool>,
    every: Duration,
}

impl HealthWatch {
    async fn run(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
            match self.probe.check().await {
                // Failing deliveries say more than a good probe.
                Ok(()) if self.failing.load(Ordering::Relaxed) => {}
                Ok(()) => self.status.ok(),
                Err(error) => {
                    tracing::debug!(error = %error, "the HTTP sink's health check failed");
                    self.status.failed("health_check", &error.0);
                }
            }
        }
    }
}

#[async_trait]
impl Sink for HttpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn error_reasons(&self) -> &'static [&'static str] {
        ERROR_REASONS
    }

    fn rejection_reasons(&self) -> &'static [&'static str] {
        REJECTION_REASONS
    }

    /// Probes `health_url` if one is configured; without one there is nothing to ask
    /// short of sending events, and the sink counts as reachable until a request fails.
    async fn health(&self) -> Result<(), HealthError> {
        match &self.probe {
            Some(probe) => probe.check().await,
            None => Ok(()),
        }
    }

    async fn send(
        &self,
        records: &[Record<'_>],
        stop: &CancellationToken,
    ) -> Result<Vec<Rejected>, Aborted> {
        let Some(first) = records.first() else {
            return Ok(Vec::new());
        };
        let started = Instant::now();
        let (reply, answer) = oneshot::channel();
        let submission = batch::Submission {
            source: first.event.origin.source.clone(),
            pieces: records
                .iter()
                .map(|r| encode::piece(self.encoding, &self.hec, self.json, r))
                .collect(),
            stop: stop.clone(),
            reply,
        };
        let rejected = tokio::select! {
            () = stop.cancelled() => return Err(Aborted),
            answer = async {
                self.queue.send(submission).await.ok()?;
                answer.await.ok()
            } => answer,
        };
        let Some(rejected) = rejected else {
            // The batcher drops the answer only once every sender in its requests stopped.
            if !stop.is_cancelled() {
                tracing::error!(sink = %self.name,
                    "the HTTP sink's delivery task has ended; restart the daemon");
            }
            return Err(Aborted);
        };
        metrics::histogram!(names::SINK_SEND_DURATION, "sink" => self.name.clone())
            .record(started.elapsed().as_secs_f64());
        let bytes = records
            .iter()
            .enumerate()
            .filter(|(i, _)| !rejected.iter().any(|r| r.index == *i))
            .map(|(_, r)| r.payload.len())
            .sum();
        let delivered = records.len() - rejected.len();
        util::record_sent(&self.name, &first.event.origin.source, delivered, bytes);
        Ok(rejected)
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
