//! Probes every sink's health on a timer, so that `/readyz` follows a destination that
//! goes away or comes back while no batch is being sent.
//!
//! Deliveries report their own failures and successes as they happen; the probe covers
//! the quiet times between them. A probe that fails marks the sink not ready and logs a
//! warning once per change, not at every probe.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Sink;
use crate::telemetry::Health;

/// How often each sink is probed.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// Probes `sinks` every `interval` until `stop` fires.
pub async fn run(
    sinks: Arc<Vec<Arc<dyn Sink>>>,
    health: Health,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut failing = vec![false; sinks.len()];
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; start-up has just probed every sink.
    ticks.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        for (sink, failing) in sinks.iter().zip(failing.iter_mut()) {
            let result = tokio::select! {
                () = stop.cancelled() => return,
                result = sink.health() => result,
            };
            match result {
                Ok(()) => {
                    if std::mem::take(failing) {
                        tracing::info!(sink = %sink.name(), "the sink is reachable again");
                    }
                    health.sink_ok(sink.name());
                }
                Err(error) => {
                    if !std::mem::replace(failing, true) {
                        tracing::warn!(sink = %sink.name(), error = %error,
                            "the sink's health check failed; deliveries to it wait");
                    }
                    health.sink(sink.name(), false, error.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::sinks::{Aborted, HealthError, Record, Rejected};

    struct Flaky {
        up: AtomicBool,
    }

    #[async_trait]
    impl Sink for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }

        async fn health(&self) -> Result<(), HealthError> {
            if self.up.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err(HealthError("connection refused".into()))
            }
        }

        async fn send(
            &self,
            _records: &[Record<'_>],
            _stop: &CancellationToken,
        ) -> Result<Vec<Rejected>, Aborted> {
            Ok(Vec::new())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_follows_the_probe_both_ways() {
        let flaky = Arc::new(Flaky {
            up: AtomicBool::new(true),
        });
        let health = Health::default();
        health.add_source("s");
        health.source("s", true, "polling");
        health.sink("flaky", true, "reachable");
        let stop = CancellationToken::new();
        let sinks: Arc<Vec<Arc<dyn Sink>>> = Arc::new(vec![flaky.clone()]);
        let task = tokio::spawn(run(sinks, health.clone(), INTERVAL, stop.clone()));

        flaky.up.store(false, Ordering::SeqCst);
        tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
        let report = health.report();
        assert!(!report.ready);
        assert_eq!(report.sinks["flaky"].detail, "connection refused");

        flaky.up.store(true, Ordering::SeqCst);
        tokio::time::sleep(INTERVAL).await;
        assert!(health.report().ready);

        stop.cancel();
        task.await.unwrap();
    }
}
