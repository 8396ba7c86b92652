//! The configuration types. Each field's doc comment is its user documentation; the
//! example file `config/own-audit-forwarder.toml` repeats it field by field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::sinks::SinkConfig;

/// The token endpoint of Own's authorization server.
pub const DEFAULT_TOKEN_URL: &str = "https://auth.owndata.com/oauth2/aus4c3z3l8FqrbqDU4h7/v1/token";
/// The public OAuth client id of Own's API.
pub const DEFAULT_CLIENT_ID: &str = "0oa4c413eq8wwcEzP4h7";
/// Regions seen in Own's public material; others are accepted with a warning.
pub const KNOWN_REGIONS: &[&str] = &[
    "app1", "useast2", "hipaa1", "hipaa4", "usgov2", "ca1", "ca4", "emea1", "emea2", "emea4",
    "uk1", "au1", "au4",
];

/// The whole configuration of the daemon.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder for checkpoints, rotated refresh tokens and dead letters.
    pub state_dir: PathBuf,
    pub pipeline: PipelineConfig,
    pub telemetry: TelemetryConfig,
    pub sources: Vec<SourceConfig>,
    pub sinks: Vec<SinkConfig>,
    pub redaction: RedactionConfig,
    /// Things that are allowed but look wrong, such as an unknown region.
    pub warnings: Vec<String>,
}

/// The top-level scalar settings, deserialized apart from the source and sink lists.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Settings {
    pub state_dir: Option<PathBuf>,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub redaction: RedactionConfig,
}

/// Fields removed or replaced by a keyed hash in every event, before any sink, dead
/// letter or log sees them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RedactionConfig {
    /// Dotted paths of fields to remove, such as `ip_address` or `parameters.user_agent`;
    /// `*` stands for every field of an object.
    pub drop: Vec<String>,
    /// Dotted paths of fields replaced by the HMAC-SHA256 of their value (64 hex digits):
    /// the same value always gives the same token under the same key.
    pub hash: Vec<String>,
    /// File holding the hash key, at least 16 bytes; required when `hash` is set.
    pub hash_key_file: Option<PathBuf>,
    /// Environment variable holding the hash key, when no file is given.
    pub hash_key_env: Option<String>,
}

impl RedactionConfig {
    /// Where the hash key comes from, when exactly one place is configured.
    pub fn hash_key(&self) -> Option<crate::secret::SecretSource> {
        use crate::secret::SecretSource;
        match (&self.hash_key_file, &self.hash_key_env) {
            (Some(path), None) => Some(SecretSource::File(path.clone())),
            (None, Some(name)) => Some(SecretSource::Env(name.clone())),
            _ => None,
        }
    }
}

/// How batches move between the pollers and the sinks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PipelineConfig {
    /// Batches (pages) a source may fetch ahead of delivery. Bounds memory on a backlog.
    pub channel_capacity: usize,
    /// How long a stop waits for in-flight batches to be delivered.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            channel_capacity: 4,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The metrics and health listener, and logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    /// Address of the `/metrics`, `/healthz` and `/readyz` listener; `off` disables it.
    #[serde(deserialize_with = "listen_address")]
    pub listen: Option<SocketAddr>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `own_audit_forwarder=debug`.
    pub log_level: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
        }
    }
}

fn listen_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() || text == "off" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid listen address {text:?}: expected IP:PORT such as 127.0.0.1:9464, or \"off\""
        ))
    })
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// One Own account in one region, with its own cursor and checkpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Unique name; labels metrics and names the checkpoint file.
    pub name: String,
    /// Own region such as `app1` or `emea1`; gives `https://{region}.owndata.com/api/v1/`.
    #[serde(default)]
    pub region: Option<String>,
    /// Full API base URL; overrides `region` for the host (proxies, new regions, the
    /// simulator, the older `*.ownbackup.com` hosts).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The OAuth token endpoint.
    #[serde(default = "default_token_url")]
    pub token_url: String,
    /// The OAuth client id.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// File holding the Own API token (the OAuth refresh token).
    #[serde(default)]
    pub api_token_file: Option<PathBuf>,
    /// Environment variable holding the Own API token, when no file is given.
    #[serde(default)]
    pub api_token_env: Option<String>,
    /// When the API token was generated (RFC 3339), for the 180-day expiry metric.
    /// Without it, the time the daemon first saw this token is used.
    #[serde(default)]
    pub api_token_generated_at: Option<String>,
    /// Wait after a page shorter than 1000 events.
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Where a source with no checkpoint starts: `beginning` or an event id.
    #[serde(default)]
    pub start_from: StartFrom,
    /// Timeout of one API or token request, body included.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Longest wait between retries of a failing API call.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Access token renewal timing.
    #[serde(default)]
    pub token_refresh: TokenRefreshConfig,
    /// Glob patterns over event keys; when not empty, only matching events are
    /// forwarded. Others still move the checkpoint, as handled.
    #[serde(default)]
    pub include_keys: Vec<String>,
    /// Glob patterns of event keys never forwarded; applied after `include_keys`.
    #[serde(default)]
    pub exclude_keys: Vec<String>,
}

/// When the access token is renewed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TokenRefreshConfig {
    /// Renew after this fraction of the token's lifetime (0.1 to 0.95).
    pub fraction: f64,
    /// Never renew sooner than this after a grant.
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    /// Never wait longer than this between renewals.
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Retry interval while the API token is rejected (`invalid_grant`). The token file
    /// is also watched, and a replaced token is tried at once.
    #[serde(with = "humantime_serde")]
    pub invalid_grant_retry: Duration,
}

impl Default for TokenRefreshConfig {
    fn default() -> Self {
        Self {
            fraction: 0.75,
            min_interval: Duration::from_secs(30),
            max_interval: Duration::from_secs(3600),
            invalid_grant_retry: Duration::from_secs(900),
        }
    }
}

/// Where a source with no checkpoint begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartFrom {
    /// The oldest event the API still holds.
    #[default]
    Beginning,
    /// The events after this id.
    EventId(u64),
}

impl<'de> Deserialize<'de> for StartFrom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StartVisitor;

        impl serde::de::Visitor<'_> for StartVisitor {
            type Value = StartFrom;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"beginning\" or an event id (a whole number, 0 or more)")
            }

            fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<StartFrom, E> {
                Ok(StartFrom::EventId(id))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<StartFrom, E> {
                if text == "beginning" {
                    return Ok(StartFrom::Beginning);
                }
                text.parse().map(StartFrom::EventId).map_err(|_| {
                    E::custom(format!(
                        "invalid start_from {text:?}: expected \"beginning\" or an event id"
                    ))
                })
            }
        }

        d.deserialize_any(StartVisitor)
    }
}

impl std::fmt::Display for StartFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartFrom::Beginning => f.write_str("the beginning"),
            StartFrom::EventId(id) => write!(f, "after event {id}"),
        }
    }
}

impl SourceConfig {
    /// The API base URL, always ending in `/`.
    pub fn api_base(&self) -> String {
        let base = match (&self.base_url, &self.region) {
            (Some(url), _) => url.clone(),
            (None, Some(region)) => format!("https://{region}.owndata.com/api/v1/"),
            (None, None) => String::new(),
        };
        if base.ends_with('/') {
            base
        } else {
            format!("{base}/")
        }
    }

    /// The region label: the configured region, else `custom`.
    pub fn region_label(&self) -> &str {
        self.region.as_deref().unwrap_or("custom")
    }
}

fn default_token_url() -> String {
    DEFAULT_TOKEN_URL.to_owned()
}
fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.to_owned()
}
fn default_poll_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}
