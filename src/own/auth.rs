//! The access token refresher.
//!
//! Own's API token is an OAuth refresh token; it buys short-lived access tokens from the
//! token endpoint. The refresher renews the access token at a fraction of its lifetime,
//! clamped between a minimum and a maximum and moved earlier by a little jitter, and
//! publishes the current one over a `watch` channel. A poller that meets `401` asks for
//! one forced refresh; concurrent requests share a single grant.
//!
//! When the token endpoint rejects the API token itself (`invalid_grant` and its
//! kin), only the operator can help. The refresher says what to do, marks the source
//! unhealthy, and tries again rarely, or at once when the token file changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::token_state::{self, TokenState};
use crate::config::{SourceConfig, TokenRefreshConfig};
use crate::secret::{Secret, SecretError, SecretSource};
use crate::telemetry::{Health, names};

/// Own deletes an API token this long after it was generated.
pub const API_TOKEN_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);
/// Lifetime assumed when the token endpoint gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The shortest and longest lifetimes believed from the token endpoint.
const MIN_LIFETIME: Duration = Duration::from_secs(1);
const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a rejected token's file is checked for a replacement.
const TOKEN_FILE_CHECK: Duration = Duration::from_secs(30);

/// The access token state a poller sees.
#[derive(Debug, Clone)]
pub enum Access {
    /// No grant has succeeded yet.
    Pending,
    /// A usable access token.
    Ready(AccessToken),
    /// The API token or client was refused; the text says what the operator must do.
    Rejected(String),
}

/// A granted access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub secret: Secret,
    pub expires_at: Instant,
    /// Counts grants; a forced refresh names the generation it found stale.
    pub generation: u64,
}

/// Why a grant failed.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The operator must act; retrying soon cannot help.
    #[error("{0}")]
    Rejected(String),
    /// The endpoint or network failed; retry with backoff.
    #[error("{0}")]
    Transient(String),
}

impl From<SecretError> for GrantError {
    fn from(error: SecretError) -> Self {
        GrantError::Rejected(format!("cannot read the Own API token: {error}"))
    }
}

/// Renews one source's access token. Cheap to clone.
#[derive(Clone)]
pub struct Refresher {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    api_token: SecretSource,
    generated_at: Option<jiff::Timestamp>,
    state_path: PathBuf,
    state: std::sync::Mutex<TokenState>,
    config: TokenRefreshConfig,
    max_backoff: Duration,
    health: Health,
    tx: watch::Sender<Access>,
    flight: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct Grant {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Refresher {
    pub fn new(
        config: &SourceConfig,
        state_dir: &Path,
        http: reqwest::Client,
        health: Health,
    ) -> Self {
        let api_token = match (&config.api_token_file, &config.api_token_env) {
            (Some(path), _) => SecretSource::File(path.clone()),
            (None, Some(name)) => SecretSource::Env(name.clone()),
            (None, None) => SecretSource::Env("OWN_API_TOKEN".to_owned()),
        };
        let state_path = token_state::path(state_dir, &config.name);
        let state = token_state::load(&state_path);
        let (tx, _) = watch::channel(Access::Pending);
        Self {
            inner: Arc::new(Inner {
                source: config.name.clone(),
                http,
                token_url: config.token_url.clone(),
                client_id: config.client_id.clone(),
                api_token,
                generated_at: config
                    .api_token_generated_at
                    .as_deref()
                    .and_then(|t| t.parse().ok()),
                state_path,
                state: std::sync::Mutex::new(state),
                config: config.token_refresh.clone(),
                max_backoff: config.max_backoff,
                health,
                tx,
                flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The current access state; changes are published here.
    pub fn subscribe(&self) -> watch::Receiver<Access> {
        self.inner.tx.subscribe()
    }

    /// Forces a grant unless another one already replaced generation `stale`.
    pub async fn force_refresh(&self, stale: u64) -> Result<(), GrantError> {
        let _flight = self.inner.flight.lock().await;
        if let Access::Ready(token) = &*self.inner.tx.borrow()
            && token.generation != stale
        {
            return Ok(());
        }
        let result = self.grant_and_publish().await.map(drop);
        if let Err(GrantError::Rejected(action)) = &result {
            // The background loop sees this and switches to rare retries.
            self.reject(action.clone());
        }
        result
    }

    /// One grant now, for `check`: the new access token, or why there is none.
    pub async fn authenticate(&self) -> Result<(AccessToken, Duration), GrantError> {
        let _flight = self.inner.flight.lock().await;
        let lifetime = self.grant_and_publish().await?;
        match &*self.inner.tx.borrow() {
            Access::Ready(token) => Ok((token.clone(), lifetime)),
            _ => Err(GrantError::Transient(
                "no access token was published".into(),
            )),
        }
    }

    /// Renews the token until `stop` fires.
    pub async fn run(self, stop: CancellationToken) {
        let max = self.inner.max_backoff;
        let mut delays = crate::sinks::util::backoff(Duration::from_secs(1), max);
        let mut access = self.subscribe();
        loop {
            let outcome = {
                let _flight = self.inner.flight.lock().await;
                self.grant_and_publish().await
            };
            let wait = match outcome {
                Ok(lifetime) => {
                    delays = crate::sinks::util::backoff(Duration::from_secs(1), max);
                    Some(self.renewal_delay(lifetime))
                }
                Err(GrantError::Transient(reason)) => {
                    let delay = delays.next().unwrap_or(max);
                    tracing::warn!(source = %self.inner.source, error = %reason, retry_in = ?delay,
                        "cannot renew the Own access token; retrying");
                    Some(delay)
                }
                Err(GrantError::Rejected(action)) => {
                    self.reject(action);
                    None
                }
            };
            let rejected = match wait {
                None => true,
                Some(wait) => tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => false,
                    // A forced refresh was refused while this loop slept.
                    _ = access.wait_for(|a| matches!(a, Access::Rejected(_))) => true,
                },
            };
            if rejected && !self.wait_for_new_token(&stop).await {
                return;
            }
        }
    }

    fn reject(&self, action: String) {
        let inner = &self.inner;
        let checks_file_every = match inner.api_token {
            SecretSource::File(_) => format!("{}s", TOKEN_FILE_CHECK.as_secs()),
            SecretSource::Env(_) => "never (environment variable)".to_owned(),
        };
        tracing::error!(source = %inner.source, retry_in = ?inner.config.invalid_grant_retry,
            checks_token_file_every = %checks_file_every, "{action}");
        inner.health.source(&inner.source, false, action.clone());
        inner.tx.send_replace(Access::Rejected(action));
    }

    /// Waits for the retry interval, or less when the token file changes. False on stop.
    async fn wait_for_new_token(&self, stop: &CancellationToken) -> bool {
        let before = self.inner.api_token.read().ok().map(|s| s.fingerprint());
        let deadline = Instant::now() + self.inner.config.invalid_grant_retry;
        while Instant::now() < deadline {
            let step = TOKEN_FILE_CHECK.min(deadline - Instant::now());
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(step) => {}
            }
            let now = self.inner.api_token.read().ok().map(|s| s.fingerprint());
            if now.is_some() && now != before {
                tracing::info!(source = %self.inner.source, "the API token changed; trying it");
                return true;
            }
        }
        true
    }

    /// When to renew: a fraction of the lifetime, clamped, minus up to 10% jitter; before
    /// the token expires, but never sooner than `min_interval`, so that a server granting
    /// tokens of no lifetime is not asked in a loop.
    fn renewal_delay(&self, lifetime: Duration) -> Duration {
        let c = &self.inner.config;
        let planned = lifetime
            .mul_f64(c.fraction)
            .clamp(c.min_interval, c.max_interval);
        let planned = planned
            .min(lifetime.mul_f64(0.9))
            .mul_f64(rand::random_range(0.9..=1.0));
        planned.max(c.min_interval)
    }

    /// One grant; publishes the new token and returns its lifetime.
    async fn grant_and_publish(&self) -> Result<Duration, GrantError> {
        let inner = &self.inner;
        let configured = inner.api_token.read()?;
        let presented = self.track_configured(&configured);
        let result = self.grant(&presented).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(GrantError::Rejected(_)) => "rejected",
            Err(GrantError::Transient(_)) => "error",
        };
        metrics::counter!(names::TOKEN_REFRESHES, "source" => inner.source.clone(), "result" => outcome)
            .increment(1);
        let grant = result?;

        if let Some(rotated) = grant
            .refresh_token
            .filter(|t| !t.is_empty() && t != presented.expose())
        {
            self.store_rotated(rotated);
        }
        // Okta grants 5 minutes to a day; anything outside is clamped, never trusted.
        let lifetime = grant.expires_in.map_or(DEFAULT_LIFETIME, |secs| {
            Duration::from_secs(secs.clamp(MIN_LIFETIME.as_secs(), MAX_LIFETIME.as_secs()))
        });
        let expires_at = Instant::now() + lifetime;
        let generation = match &*inner.tx.borrow() {
            Access::Ready(token) => token.generation + 1,
            _ => 1,
        };
        let wall_expiry = jiff::Timestamp::now().as_second() as f64 + lifetime.as_secs_f64();
        metrics::gauge!(names::ACCESS_TOKEN_EXPIRY, "source" => inner.source.clone())
            .set(wall_expiry);
        self.publish_api_token_expiry();
        inner.tx.send_replace(Access::Ready(AccessToken {
            secret: Secret::new(grant.access_token),
            expires_at,
            generation,
        }));
        tracing::debug!(source = %inner.source, lifetime = ?lifetime, "renewed the Own access token");
        Ok(lifetime)
    }

    async fn grant(&self, refresh_token: &Secret) -> Result<Grant, GrantError> {
        let inner = &self.inner;
        let form = [
            ("grant_type", "refresh_token"),
            ("scope", "api:access"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", inner.client_id.as_str()),
        ];
        let response = inner
            .http
            .post(&inner.token_url)
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                GrantError::Transient(format!("token request failed: {}", without_url(&e)))
            })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(GrantError::Rejected(format!(
                "the token endpoint {} redirects ({status}) to {}; redirects are not followed, \
                 since they would carry the API token elsewhere. Set token_url to the final address",
                inner.token_url,
                super::redirect_target(&response)
            )));
        }
        let body = super::read_body(response, super::MAX_SMALL_BODY)
            .await
            .map_err(|e| {
                GrantError::Transient(match e {
                    super::BodyError::TooLarge(limit) => {
                        format!("the token response is over {limit} bytes")
                    }
                    super::BodyError::Broken(reason) => {
                        format!("token response broke off: {reason}")
                    }
                })
            })?;
        if status.is_success() {
            // serde's message could quote a field's value, which may be a token.
            return serde_json::from_slice::<Grant>(&body).map_err(|e| {
                GrantError::Transient(format!(
                    "the token endpoint sent an unreadable grant (at line {} column {}): it needs \
                     access_token as a string and expires_in as a number of seconds",
                    e.line(),
                    e.column()
                ))
            });
        }
        // The server's own words are scrubbed whole, then shortened.
        let text = refresh_token.scrub(&String::from_utf8_lossy(&body));
        match serde_json::from_str::<OAuthError>(&text) {
            Ok(oauth) if status.is_client_error() && status.as_u16() != 429 => {
                let said = super::excerpt(oauth.error_description.as_deref().unwrap_or(""));
                let error = super::excerpt(&oauth.error);
                Err(GrantError::Rejected(self.operator_action(&error, &said)))
            }
            _ if status.as_u16() == 404 => Err(GrantError::Rejected(format!(
                "the token endpoint {} answered 404 Not Found; check token_url (Own's is {})",
                inner.token_url,
                crate::config::DEFAULT_TOKEN_URL
            ))),
            _ => Err(GrantError::Transient(format!(
                "the token endpoint answered {status}: {}",
                super::excerpt(&text)
            ))),
        }
    }

    fn operator_action(&self, error: &str, said: &str) -> String {
        let inner = &self.inner;
        let token = inner.api_token.describe();
        match error {
            "invalid_grant" => format!(
                "the Own API token was refused (invalid_grant: {said}). It has expired (API tokens \
                 last 180 days), was revoked, or was replaced by a newer one. Generate a new API \
                 token in the Own app and put it in the {token}; the daemon retries every {} and \
                 picks up a replaced token file within {}s",
                humantime::format_duration(inner.config.invalid_grant_retry),
                TOKEN_FILE_CHECK.as_secs()
            ),
            "invalid_client" | "unauthorized_client" => format!(
                "the token endpoint refused client id {:?} ({error}: {said}); check client_id and \
                 token_url of source {}",
                inner.client_id, inner.source
            ),
            _ => format!(
                "the token endpoint {} refused the request ({error}: {said}); check token_url and \
                 client_id of source {}",
                inner.token_url, inner.source
            ),
        }
    }

    /// Notes a newly configured token and returns the token to present.
    fn track_configured(&self, configured: &Secret) -> Secret {
        let inner = &self.inner;
        let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.configured_fingerprint != configured.fingerprint() {
            *state = TokenState {
                version: 1,
                configured_fingerprint: configured.fingerprint(),
                first_seen: crate::event::format_rfc3339(jiff::Timestamp::now()),
                rotated_token: None,
            };
            if let Err(error) = token_state::save(&inner.state_path, &state) {
                tracing::warn!(source = %inner.source, error = %error,
                    path = %inner.state_path.display(), "cannot write the token state file");
            }
        }
        state.effective(configured)
    }

    /// Stores a rotated refresh token (mode 0600) before its access token is published.
    fn store_rotated(&self, rotated: String) {
        let inner = &self.inner;
        let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
        state.rotated_token = Some(rotated);
        state.first_seen = crate::event::format_rfc3339(jiff::Timestamp::now());
        match token_state::save(&inner.state_path, &state) {
            Ok(()) => tracing::info!(source = %inner.source,
                path = %inner.state_path.display(), "the token endpoint rotated the API token; stored the new one"),
            Err(error) => tracing::error!(source = %inner.source, error = %error,
                path = %inner.state_path.display(),
                "the token endpoint rotated the API token but it cannot be stored; a restart \
                 now would need a new API token. Fix the state directory's permissions or space"),
        }
    }

    /// Publishes when the API token reaches Own's 180-day limit: from the configured
    /// generation time, else the earliest of the token file's change time and the time
    /// the daemon first saw the token.
    fn publish_api_token_expiry(&self) {
        let inner = &self.inner;
        let first_seen = {
            let state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
            state.first_seen.parse::<jiff::Timestamp>().ok()
        };
        let file_time = match &inner.api_token {
            SecretSource::File(path) if first_seen.is_some() => file_mtime(path),
            _ => None,
        };
        let generated = inner
            .generated_at
            .or_else(|| match (first_seen, file_time) {
                (Some(seen), Some(file)) => Some(seen.min(file)),
                (seen, file) => seen.or(file),
            });
        if let Some(generated) = generated {
            let expiry = generated.as_second() as f64 + API_TOKEN_LIFETIME.as_secs_f64();
            metrics::gauge!(names::API_TOKEN_EXPIRY, "source" => inner.source.clone()).set(expiry);
        }
    }
}

fn file_mtime(path: &Path) -> Option<jiff::Timestamp> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    jiff::Timestamp::try_from(modified).ok()
}

/// A reqwest error's text without the URL it carries. Token URLs hold no secret, but an
/// error message should not vary with one either.
pub(crate) fn without_url(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = String::from(if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the response body broke off"
    } else {
        "request failed"
    });
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
