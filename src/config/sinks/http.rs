//! The HTTP sink's configuration. Each field's doc comment is its user documentation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::default_max_backoff;
use crate::secret::SecretSource;

/// Posts events to an HTTP endpoint: a webhook, a log collector or Splunk's HTTP Event
/// Collector.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSinkConfig {
    /// Unique name; labels metrics and dead letters.
    pub name: String,
    /// The endpoint, such as `https://splunk.example.net:8088/services/collector/event`.
    /// Redirects are not followed.
    pub url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default)]
    pub method: HttpMethod,
    /// How a request body holds its events: `json_array` (default), `ndjson`, `single`
    /// (one event per request, the body is the event) or `splunk_hec`.
    #[serde(default)]
    pub encoding: HttpEncoding,
    /// `none` (default) or `gzip`, sent with `Content-Encoding: gzip`.
    #[serde(default)]
    pub compression: HttpCompression,
    /// When a request is sent: whichever limit is reached first.
    #[serde(default)]
    pub batch: HttpBatchConfig,
    /// Time limit of one attempt: connecting, sending the body and reading the answer.
    #[serde(default = "default_http_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Time limit of establishing the connection (TCP and TLS).
    #[serde(default = "default_http_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long one request is retried before its events go to the dead-letter file with
    /// reason `retries_exhausted`. Unset (the default): retried until delivered, while the
    /// checkpoint waits.
    #[serde(default, with = "humantime_serde")]
    pub total_timeout: Option<Duration>,
    /// Longest wait between retries (backoff doubles from 500ms, with jitter). A
    /// `Retry-After` is honoured instead, up to one hour.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// The `Authorization` header.
    #[serde(default)]
    pub auth: Option<HttpAuthConfig>,
    /// Extra headers with fixed values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra headers whose values are secrets, each read from a file or a variable.
    #[serde(default)]
    pub secret_headers: BTreeMap<String, HttpSecretHeader>,
    /// An HMAC-SHA256 signature of the timestamp and the body, in headers.
    #[serde(default)]
    pub signing: Option<HttpSigningConfig>,
    /// TLS to the endpoint (for `https://` URLs).
    #[serde(default)]
    pub tls: Option<HttpTlsConfig>,
    /// The Splunk HEC envelope's fields (with `encoding = "splunk_hec"`).
    #[serde(default)]
    pub hec: Option<HttpHecConfig>,
    /// A URL answered with a 2xx while the endpoint is usable, probed with `GET` at start,
    /// by `check`, and every `health_interval` for `/readyz`. Unset: no probe.
    #[serde(default)]
    pub health_url: Option<String>,
    /// How often `health_url` is probed.
    #[serde(default = "default_http_health_interval", with = "humantime_serde")]
    pub health_interval: Duration,
    /// Read apart from the sink's own fields; see [`super::OutputConfig`].
    #[serde(skip)]
    pub output: super::OutputConfig,
}

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum HttpMethod {
    #[default]
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
}

/// How a request body holds its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpEncoding {
    #[default]
    JsonArray,
    Ndjson,
    Single,
    SplunkHec,
}

/// Request body compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpCompression {
    #[default]
    None,
    Gzip,
}

/// When the HTTP sink sends a request.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpBatchConfig {
    /// Most events in one request.
    #[serde(default = "default_http_max_events")]
    pub max_events: usize,
    /// Most bytes in one request body, before compression. A single larger event is sent
    /// alone.
    #[serde(default = "default_http_max_bytes")]
    pub max_bytes: usize,
    /// Longest time events wait for others to join their request. Only sources sharing the
    /// sink can add to it: a request is sent at once when every source that uses the sink
    /// has handed over its events.
    #[serde(default = "default_http_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for HttpBatchConfig {
    fn default() -> Self {
        Self {
            max_events: default_http_max_events(),
            max_bytes: default_http_max_bytes(),
            max_age: default_http_max_age(),
        }
    }
}

/// The `Authorization` header of the HTTP sink.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpAuthConfig {
    /// `bearer` (`Bearer <token>`), `basic` (username and password) or `splunk`
    /// (`Splunk <token>`, for HEC).
    pub strategy: HttpAuthStrategy,
    /// File holding the token (`bearer`, `splunk`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the token (`bearer`, `splunk`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// The user name (`basic`).
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the password (`basic`).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password (`basic`).
    #[serde(default)]
    pub password_env: Option<String>,
}

impl HttpAuthConfig {
    /// Where the token comes from, when exactly one place is configured.
    pub fn token(&self) -> Option<SecretSource> {
        one_source(&self.token_file, &self.token_env)
    }

    /// Where the password comes from, when exactly one place is configured.
    pub fn password(&self) -> Option<SecretSource> {
        one_source(&self.password_file, &self.password_env)
    }
}

/// How the HTTP sink authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpAuthStrategy {
    Bearer,
    Basic,
    Splunk,
}

/// A header value kept secret: from a file or an environment variable, exactly one.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSecretHeader {
    #[serde(default)]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub env: Option<String>,
}

impl HttpSecretHeader {
    pub fn source(&self) -> Option<SecretSource> {
        one_source(&self.file, &self.env)
    }
}

/// HMAC-SHA256 signing of each request (the scheme is in the README).
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSigningConfig {
    /// File holding the shared key; its content, trimmed, is the key's bytes.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the key.
    #[serde(default)]
    pub key_env: Option<String>,
    /// Header carrying `sha256=<hex>`.
    #[serde(default = "default_http_signature_header")]
    pub signature_header: String,
    /// Header carrying the Unix time, in seconds, that is signed with the body.
    #[serde(default = "default_http_timestamp_header")]
    pub timestamp_header: String,
}

impl HttpSigningConfig {
    /// Where the key comes from, when exactly one place is configured.
    pub fn key(&self) -> Option<SecretSource> {
        one_source(&self.key_file, &self.key_env)
    }
}

/// TLS settings of the HTTP sink.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpTlsConfig {
    /// PEM file of the CA certificates that sign the endpoint's certificate; it replaces
    /// the system's store. The system's store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for endpoints that require one.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Accept any certificate, expired, self-signed or for another host: anyone on the
    /// path can then read and change the events. For a test endpoint only.
    #[serde(default)]
    pub danger_accept_invalid_certificates: bool,
}

/// The fields of the Splunk HEC envelope around each event.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpHecConfig {
    /// `host`; the daemon's host name when absent.
    #[serde(default)]
    pub host: Option<String>,
    /// `source`; `{source}` and `{region}` are replaced by the event's source and region.
    #[serde(default = "default_hec_source")]
    pub source: String,
    /// `sourcetype`.
    #[serde(default = "default_hec_sourcetype")]
    pub sourcetype: String,
    /// `index`; left out when absent, so that the token's default index applies.
    #[serde(default)]
    pub index: Option<String>,
}

impl Default for HttpHecConfig {
    fn default() -> Self {
        Self {
            host: None,
            source: default_hec_source(),
            sourcetype: default_hec_sourcetype(),
            index: None,
        }
    }
}

fn one_source(file: &Option<PathBuf>, env: &Option<String>) -> Option<SecretSource> {
    match (file, env) {
        (Some(path), None) => Some(SecretSource::File(path.clone())),
        (None, Some(name)) => Some(SecretSource::Env(name.clone())),
        _ => None,
    }
}
fn default_http_request_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_http_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_http_health_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_http_max_events() -> usize {
    500
}
fn default_http_max_bytes() -> usize {
    1_000_000
}
fn default_http_max_age() -> Duration {
    Duration::from_secs(1)
}
fn default_http_signature_header() -> String {
    "X-Own-Audit-Signature".to_owned()
}
fn default_http_timestamp_header() -> String {
    "X-Own-Audit-Timestamp".to_owned()
}
fn default_hec_source() -> String {
    "own:{source}".to_owned()
}
fn default_hec_sourcetype() -> String {
    "own:audit".to_owned()
}
