//! Plumbing shared by the sinks: retry delays and metric helpers.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::telemetry::Health;

/// An endless series of retry delays: exponential from `min` to `max`, with jitter.
pub fn backoff(min: Duration, max: Duration) -> impl Iterator<Item = Duration> + Send {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build()
}

/// A sink's view of its own readiness and error metrics.
#[derive(Clone)]
pub struct Status {
    name: String,
    health: Health,
}

impl Status {
    pub fn new(name: &str, health: Health) -> Self {
        Self {
            name: name.to_owned(),
            health,
        }
    }

    /// Counts a failed attempt and marks the sink not ready.
    pub fn failed(&self, reason: &'static str, detail: &str) {
        record_error(&self.name, reason);
        self.health
            .sink(&self.name, false, format!("{reason}: {detail}"));
    }

    /// Marks the sink ready after a success, if it was not.
    pub fn ok(&self) {
        self.health.sink_ok(&self.name);
    }
}

/// Counts a sink's accepted events and bytes.
pub fn record_sent(sink: &str, source: &str, events: usize, bytes: usize) {
    use crate::telemetry::names;
    metrics::counter!(names::EVENTS_SENT, "sink" => sink.to_owned(), "source" => source.to_owned())
        .increment(events as u64);
    metrics::counter!(names::SINK_BYTES, "sink" => sink.to_owned()).increment(bytes as u64);
}

/// Counts one failed sink attempt.
pub fn record_error(sink: &str, reason: &'static str) {
    metrics::counter!(crate::telemetry::names::SINK_ERRORS, "sink" => sink.to_owned(), "reason" => reason)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_never_end() {
        let delays: Vec<_> = backoff(Duration::from_millis(100), Duration::from_secs(2))
            .take(50)
            .collect();
        assert_eq!(delays.len(), 50);
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(4)),
            "{delays:?}"
        );
        assert!(delays[10] >= Duration::from_secs(2), "{delays:?}");
    }
}
