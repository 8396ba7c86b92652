//! Delivering one request's events: retrying what can pass, and splitting a batch the
//! endpoint refuses to find the events it refuses.
//!
//! Connect errors, timeouts, 408, 429, 5xx and redirects are retried with capped
//! exponential backoff and jitter, or after the server's `Retry-After`, until the
//! endpoint takes the request, the senders stop, or `total_timeout` runs out. A 400 or
//! 413 for several events splits them in halves, each sent on its own, down to the single
//! events that are refused; only those are dead-lettered.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::sinks::{Aborted, util};
use crate::telemetry::names;

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// Worth retrying; `retry_after` is how long the server asked to wait.
    Transient {
        reason: &'static str,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good. `splittable` when fewer events might pass (400, 413).
    Refused {
        reason: &'static str,
        detail: String,
        splittable: bool,
    },
}

/// Where requests go. The body is prepared once per request and sent at each attempt.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    type Body: Send + Sync;

    fn prepare(&self, pieces: &[&[u8]]) -> Result<Self::Body, String>;

    async fn post(&self, body: &Self::Body) -> Outcome;
}

/// An event refused for good; `index` points into the pieces given to `deliver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub index: usize,
    pub reason: &'static str,
    pub detail: String,
}

/// The stop tokens of every send whose events are in a request: the request is given up
/// only once all of them have fired.
#[derive(Clone, Default)]
pub struct Stops(Vec<CancellationToken>);

impl Stops {
    pub fn new(tokens: impl IntoIterator<Item = CancellationToken>) -> Self {
        Self(tokens.into_iter().collect())
    }

    pub async fn all_fired(&self) {
        for token in &self.0 {
            token.cancelled().await;
        }
    }
}

/// How long to wait between attempts, and for how long to try.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub first_delay: Duration,
    pub max_backoff: Duration,
    pub total_timeout: Option<Duration>,
}

/// Delivers through an endpoint with retries and splitting.
pub struct Retrying<E> {
    pub endpoint: E,
    pub policy: Policy,
    pub sink: String,
    pub status: util::Status,
    /// Set while deliveries fail, so that a good health probe does not mark the sink ready.
    pub failing: Arc<AtomicBool>,
}

/// How one request ended after its retries.
enum Settled {
    Accepted,
    Refused {
        reason: &'static str,
        detail: String,
        splittable: bool,
    },
}

impl<E: Endpoint> Retrying<E> {
    /// Delivers `pieces`, returning those refused for good.
    pub async fn deliver(&self, pieces: &[&[u8]], stops: &Stops) -> Result<Vec<Refusal>, Aborted> {
        let mut refused = Vec::new();
        // A stack of ranges still to send; the top is the earliest, to keep the order.
        let mut todo: Vec<Range<usize>> = std::iter::once(0..pieces.len()).collect();
        while let Some(range) = todo.pop() {
            match self.settle(&pieces[range.clone()], stops).await? {
                Settled::Accepted => {}
                Settled::Refused {
                    reason,
                    detail,
                    splittable: true,
                } if range.len() > 1 => {
                    if range.len() == pieces.len() {
                        tracing::warn!(sink = %self.sink, events = range.len(), reason, error = %detail,
                            "the HTTP endpoint refused a batch; splitting it to find the events it refuses");
                    } else {
                        tracing::debug!(sink = %self.sink, events = range.len(), reason,
                            "the HTTP endpoint refused part of a batch; splitting it further");
                    }
                    let middle = range.start + range.len() / 2;
                    todo.push(middle..range.end);
                    todo.push(range.start..middle);
                }
                Settled::Refused { reason, detail, .. } => {
                    refused.extend(range.map(|index| Refusal {
                        index,
                        reason,
                        detail: detail.clone(),
                    }));
                }
            }
        }
        Ok(refused)
    }

    /// Sends one request until it is accepted or refused for good.
    async fn settle(&self, pieces: &[&[u8]], stops: &Stops) -> Result<Settled, Aborted> {
        let body = match self.endpoint.prepare(pieces) {
            Ok(body) => body,
            Err(detail) => {
                return Ok(Settled::Refused {
                    reason: "encoding",
                    detail,
                    splittable: false,
                });
            }
        };
        let started = Instant::now();
        let mut delays = util::backoff(self.policy.first_delay, self.policy.max_backoff);
        loop {
            let outcome = tokio::select! {
                () = stops.all_fired() => return Err(Aborted),
                outcome = self.endpoint.post(&body) => outcome,
            };
            let (reason, detail, retry_after) = match outcome {
                Outcome::Accepted => {
                    self.failing.store(false, Ordering::Relaxed);
                    self.status.ok();
                    return Ok(Settled::Accepted);
                }
                Outcome::Refused {
                    reason,
                    detail,
                    splittable,
                } => {
                    // 409, 422 and the like on a whole request: nothing to split.
                    if !splittable {
                        self.mark_failing(reason, &detail);
                    }
                    return Ok(Settled::Refused {
                        reason,
                        detail,
                        splittable,
                    });
                }
                Outcome::Transient {
                    reason,
                    detail,
                    retry_after,
                } => (reason, detail, retry_after),
            };
            self.mark_failing(reason, &detail);
            let backoff = || delays.next().unwrap_or(self.policy.max_backoff);
            let mut delay = retry_after.map_or_else(backoff, |d| d.min(MAX_RETRY_AFTER));
            if let Some(total) = self.policy.total_timeout {
                let left = total.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Ok(self.given_up(total, reason, detail));
                }
                delay = delay.min(left);
            }
            metrics::counter!(names::HTTP_SINK_RETRIES, "sink" => self.sink.clone(), "reason" => reason)
                .increment(1);
            if let Some(hint) = operator_hint(reason) {
                tracing::error!(sink = %self.sink, events = pieces.len(), reason, error = %detail,
                    retry_in = ?delay, "the HTTP endpoint did not take the request: {hint}");
            } else {
                tracing::warn!(sink = %self.sink, events = pieces.len(), reason, error = %detail,
                    retry_in = ?delay, "the HTTP endpoint did not take the request; retrying");
            }
            tokio::select! {
                () = stops.all_fired() => return Err(Aborted),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn mark_failing(&self, reason: &'static str, detail: &str) {
        self.failing.store(true, Ordering::Relaxed);
        self.status.failed(reason, detail);
    }

    fn given_up(&self, total: Duration, reason: &str, detail: String) -> Settled {
        tracing::error!(sink = %self.sink, reason, error = %detail, total_timeout = ?total,
            "the HTTP endpoint did not take a request within total_timeout; its events go to \
             the dead-letter file");
        Settled::Refused {
            reason: "retries_exhausted",
            detail: format!(
                "not accepted within total_timeout ({}): {detail}",
                humantime::format_duration(total)
            ),
            splittable: false,
        }
    }
}

/// What the operator must do about a failure that waiting alone does not fix.
fn operator_hint(reason: &str) -> Option<&'static str> {
    match reason {
        "unauthorized" => Some(
            "it refuses the credentials; fix [sinks.auth] or the secret it reads, then \
             reload (SIGHUP) or restart; the events wait and are retried",
        ),
        "not_found" => Some(
            "it does not know the URL; fix url, then reload (SIGHUP) or restart; the \
                 events wait and are retried",
        ),
        _ => None,
    }
}

#[cfg(test)]
#[path = "deliver_tests.rs"]
mod tests;
