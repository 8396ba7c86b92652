//! A simulator of the Own API, for the `sim` and `demo` subcommands and for black-box
//! tests of the daemon.
//!
//! It serves, on one HTTP listener:
//!
//! - `POST /oauth2/v1/token` (and Own's real path
//!   `/oauth2/aus4c3z3l8FqrbqDU4h7/v1/token`): the Okta-style refresh-token grant. It
//!   answers `200` with `token_type`, `expires_in`, `access_token`, `scope` and
//!   `refresh_token`, or an OAuth error: `400 invalid_grant` for an unknown, revoked or
//!   expired API token, `400 invalid_scope`, `400 unsupported_grant_type`,
//!   `400 invalid_request` for a missing field, `401 invalid_client`. Refresh-token
//!   rotation is optional, and API tokens expire after `--api-token-lifetime`.
//! - `GET /api/v1/events[?from=<id>]`: a bare JSON array of at most 1000 events in
//!   ascending `event_id`, behind `Authorization: Bearer <access token>`. `from` is
//!   exclusive unless `--inclusive-from`; a `from` between two ids returns the events
//!   above it. A `from` that is not an integer gets `400`, a missing, unknown, revoked
//!   or expired token `401`, unknown paths `404`, all in the documented error shape
//!   `{"error": "...", "message": "..."}`.
//! - Admin endpoints under `/_sim/` for tests: `GET /_sim/stats`, `POST` and `DELETE
//!   /_sim/fault`, `POST /_sim/revoke-access`, `POST /_sim/revoke-api-token`,
//!   `POST /_sim/api-token` and `POST /_sim/append`. See `admin.rs`.
//!
//! # The log
//!
//! The log is generated, not stored: event `i` is a pure function of `(seed, i)`, so a
//! log of a million events costs nothing until it is read, and the same seed gives the
//! same log byte for byte (with the same `--epoch`, which defaults to the start of the
//! current UTC day). Ids start near 10,000 and grow by one to five. Past events cover the
//! 90 days before the epoch; `--trickle` adds live events, stamped with the moment they
//! appear. Logins and backups dominate; keys, users, services, addresses (from the
//! documentation ranges, sometimes `""` or `null`) and parameters are varied and
//! realistic.
//!
//! `created_at` is always a UTC instant. With `--timestamp-variants` (on by default) it
//! takes one of these forms, chosen per event:
//!
//! | form | example |
//! |---|---|
//! | seconds, `Z` | `2019-08-24T14:15:22Z` |
//! | milliseconds, `Z` | `2018-04-09T10:30:42.123Z` |
//! | microseconds, `Z` | `2018-04-09T10:30:42.123456Z` |
//! | seconds, `+00:00` | `2018-04-09T10:30:42+00:00` |
//! | seconds, other offset (`+02:00`, `-05:00`, `+05:30`, `+09:00`) | `2018-04-09T12:30:42+02:00` |
//!
//! Without variants every timestamp has the first form.
//!
//! One event in seven (with `--unknown-fields`, on by default) carries undocumented
//! top-level fields after the documented ones: `org_id`, `tenant` (an object), and on
//! some `correlation_id` and `risk_score`. `--hostile-every` and `--oversized-every`
//! make every Nth event hostile (see `hostile.rs`) or give it a 256 KiB parameter.
//!
//! # Faults
//!
//! Faults apply to events requests that passed authentication. `--fault-rate` draws them
//! at random from `--faults`; `POST /_sim/fault` queues them one after another. The
//! kinds are `429` (with an optional `Retry-After`), `500`, `502` (an HTML body), `503`,
//! `401` for a token that is still valid, `403`, `truncated` (a `200` whose connection
//! closes halfway through the announced length), `malformed` (a `200` whose body is not
//! an array), and `latency`.

mod admin;
mod content;
mod faults;
mod generator;
mod hostile;
mod keys;
mod options;
mod server;
mod stats;
mod tokens;
mod value;

#[cfg(test)]
mod tests_auth;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::FaultKind;
pub use options::SimOptions;
pub use stats::{EventsRequest, SimStats, TokenRequest};

use content::ContentOptions;
use faults::Faults;
use generator::{Log, LogOptions};
use server::Shared;
use stats::Recorder;
use tokens::{TokenOptions, TokenStore};

/// How long [`SimHandle::shutdown`] waits for requests in flight before it cuts them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An option has a value the simulator cannot use.
    #[error("invalid simulator option {option}: {reason}")]
    InvalidOption {
        /// The flag, e.g. `--fault-rate`.
        option: &'static str,
        /// What a valid value looks like.
        reason: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The error of the operating system.
        #[source]
        source: std::io::Error,
    },
}

/// A running simulator. Dropping the handle stops the server too, without waiting.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts a simulator: binds `opts.listen` (port 0 picks a free port) and serves on a
/// spawned task until [`SimHandle::shutdown`] or until the handle is dropped.
pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
    opts.validate()
        .map_err(|(option, reason)| SimError::InvalidOption { option, reason })?;
    let bind_error = |source| SimError::Bind {
        addr: opts.listen,
        source,
    };
    let listener = TcpListener::bind(opts.listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;

    let shared = Arc::new(shared_state(&opts));
    let app = server::router(Arc::clone(&shared));
    let (stop, stopped) = oneshot::channel::<()>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move { serve.await });

    tracing::info!(
        addr = %addr,
        events = opts.events,
        seed = opts.seed,
        trickle = opts.trickle,
        "Own API simulator started."
    );
    Ok(SimHandle {
        addr,
        shared,
        stop,
        task,
    })
}

fn shared_state(opts: &SimOptions) -> Shared {
    let epoch_micros = opts
        .epoch
        .map_or_else(start_of_today, |epoch| epoch.as_microsecond());
    let content = ContentOptions {
        seed: opts.seed,
        hostile_every: opts.hostile_every,
        oversized_every: opts.oversized_every,
        unknown_fields: opts.unknown_fields,
    };
    let log = LogOptions {
        past_events: opts.events,
        trickle: opts.trickle,
        epoch_micros,
        timestamp_variants: opts.timestamp_variants,
        content,
    };
    let tokens = TokenOptions {
        client_id: opts.client_id.clone(),
        expires_in: opts.expires_in,
        rotate: opts.rotate_refresh_token,
        api_token_lifetime: opts.api_token_lifetime,
    };

    Shared {
        log: Log::new(log),
        tokens: TokenStore::new(tokens, opts.api_token.clone()),
        faults: Faults::new(opts.fault_rate, opts.faults.clone(), opts.seed),
        stats: Recorder::default(),
        latency: opts.latency,
        inclusive_from: opts.inclusive_from,
    }
}

/// Midnight UTC of the current day, in microseconds since the Unix epoch.
fn start_of_today() -> i64 {
    let now = Timestamp::now().as_microsecond();
    now - now.rem_euclid(MICROS_PER_DAY)
}

impl SimHandle {
    /// The address the simulator listens on, with the actual port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, `http://ADDR/api/v1/`, to which `events` is appended.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1/", self.addr)
    }

    /// The token endpoint, `http://ADDR/oauth2/v1/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}{}", self.addr, server::TOKEN_PATH)
    }

    /// The stats as `GET /_sim/stats` would serve them now.
    pub fn stats(&self) -> SimStats {
        self.shared.stats()
    }

    /// Stops accepting connections, lets requests in flight finish for up to five
    /// seconds, then cuts the rest.
    pub async fn shutdown(self) {
        let SimHandle {
            addr,
            stop,
            mut task,
            ..
        } = self;
        let _ = stop.send(());

        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => tracing::info!(addr = %addr, "Own API simulator stopped."),
            Ok(Ok(Err(error))) => {
                tracing::warn!(addr = %addr, error = %error, "Own API simulator failed.")
            }
            Ok(Err(error)) => {
                tracing::warn!(addr = %addr, error = %error, "Own API simulator task failed.")
            }
            Err(_) => {
                tracing::warn!(addr = %addr, "Own API simulator shutdown grace ran out.");
                task.abort();
            }
        }
    }
}
