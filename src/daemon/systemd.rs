//! systemd's service notifications: readiness, reloads, stopping, and the watchdog.
//!
//! Under a unit with `Type=notify`, systemd passes `NOTIFY_SOCKET` and waits for
//! `READY=1` before it counts the service as started; with `WatchdogSec=` it also passes
//! `WATCHDOG_USEC` and restarts the service when no `WATCHDOG=1` arrives in time. The
//! watchdog is petted from the async runtime at half that interval, so a runtime that
//! stops making progress stops petting it. Without `NOTIFY_SOCKET` every call here does
//! nothing, so the same binary runs under any supervisor.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

fn send(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(error = %error, "cannot notify systemd");
    }
}

/// Sources and sinks have started.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload has begun; `ready` follows when it is done.
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading];
    // systemd 253 and later require the monotonic time with RELOADING=1.
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    send(&states);
}

/// The daemon is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Pets the watchdog until `stop`, when systemd asked for one.
pub fn spawn_watchdog(stop: CancellationToken) {
    let Some(timeout) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = (timeout / 2).max(Duration::from_millis(100));
    tracing::debug!(timeout = ?timeout, every = ?every, "petting the systemd watchdog");
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => send(&[NotifyState::Watchdog]),
            }
        }
    });
}
