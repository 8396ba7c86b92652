//! The sink configurations. Each field's doc comment is its user documentation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::SecretSource;

mod http;
mod output;
mod syslog;
pub use http::*;
pub use output::*;
pub use syslog::*;

/// One configured sink. The `type` field picks the variant.
#[derive(Debug, Clone)]
pub enum SinkConfig {
    File(FileSinkConfig),
    Kafka(Box<KafkaSinkConfig>),
    Http(Box<HttpSinkConfig>),
    Syslog(Box<SyslogSinkConfig>),
}

impl SinkConfig {
    /// The sink's unique name.
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::File(c) => &c.name,
            SinkConfig::Kafka(c) => &c.name,
            SinkConfig::Http(c) => &c.name,
            SinkConfig::Syslog(c) => &c.name,
        }
    }

    /// The format and key filter, which every sink type shares.
    pub fn output(&self) -> &OutputConfig {
        match self {
            SinkConfig::File(c) => &c.output,
            SinkConfig::Kafka(c) => &c.output,
            SinkConfig::Http(c) => &c.output,
            SinkConfig::Syslog(c) => &c.output,
        }
    }

    /// Whether the sink reads secret or certificate files, or secrets from the
    /// environment, when it is built: a reload builds such a sink again so that a
    /// rotated secret takes effect.
    pub fn reads_secrets(&self) -> bool {
        match self {
            SinkConfig::File(_) => false,
            SinkConfig::Kafka(c) => c.sasl.is_some() || c.tls.is_some(),
            SinkConfig::Http(c) => {
                c.auth.is_some()
                    || !c.secret_headers.is_empty()
                    || c.signing.is_some()
                    || c.tls.is_some()
            }
            SinkConfig::Syslog(c) => c.tls.is_some(),
        }
    }

    pub(crate) fn set_output(&mut self, output: OutputConfig) {
        match self {
            SinkConfig::File(c) => c.output = output,
            SinkConfig::Kafka(c) => c.output = output,
            SinkConfig::Http(c) => c.output = output,
            SinkConfig::Syslog(c) => c.output = output,
        }
    }

    /// The fields of [`OutputConfig`], which a sink's table may hold beside its own.
    pub const OUTPUT_FIELDS: &'static [&'static str] =
        &["format", "leef_delimiter", "include_keys", "exclude_keys"];

    /// The sink types, for error messages.
    pub const TYPES: &'static [&'static str] = &["file", "kafka", "http", "syslog"];
}

/// Writes NDJSON to a file or to stdout.
#[derive(Debug, Clone, Deserialize)]
pub struct FileSinkConfig {
    /// Unique name; labels metrics and dead letters.
    pub name: String,
    /// Output path, or `-` for stdout. The folder must exist.
    pub path: PathBuf,
    /// Call fsync before acknowledging each batch (durable across power loss).
    #[serde(default)]
    pub fsync: bool,
    /// Read apart from the sink's own fields; see [`OutputConfig`].
    #[serde(skip)]
    pub output: OutputConfig,
}

/// Produces each event as one Kafka message.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSinkConfig {
    /// Unique name; labels metrics and dead letters.
    pub name: String,
    /// Bootstrap brokers, `host:port` each.
    pub brokers: Vec<String>,
    /// Topic; `{source}` and `{region}` are replaced by the event's source name and region.
    pub topic: String,
    /// The message key: `event_id` (default) or `none`.
    #[serde(default)]
    pub key: KafkaKey,
    /// `none` (default), `gzip`, `snappy`, `lz4` or `zstd`.
    #[serde(default)]
    pub compression: KafkaCompression,
    /// `all` (default, the only setting that guarantees no loss), `1` or `0`.
    #[serde(default = "default_acks")]
    pub acks: String,
    /// Idempotent producer: no duplicates or reordering from librdkafka's own retries.
    #[serde(default = "yes")]
    pub enable_idempotence: bool,
    /// How long librdkafka waits to fill a batch.
    #[serde(default = "default_linger", with = "humantime_serde")]
    pub linger: Duration,
    /// Largest batch librdkafka sends to one partition, in bytes.
    #[serde(default = "default_batch_size")]
    pub batch_size: u64,
    /// Largest message the producer sends, in bytes; bigger events are dead-lettered.
    /// Keep it at or below the topic's `max.message.bytes`.
    #[serde(default = "default_message_max_bytes")]
    pub message_max_bytes: u64,
    /// How long librdkafka tries to deliver a message before the sink takes over with
    /// its own retries (librdkafka's `message.timeout.ms`).
    #[serde(default = "default_delivery_timeout", with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// Longest wait between the sink's retries of undelivered messages.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// TLS to the brokers.
    #[serde(default)]
    pub tls: Option<KafkaTlsConfig>,
    /// SASL authentication.
    #[serde(default)]
    pub sasl: Option<KafkaSaslConfig>,
    /// Any other librdkafka property, passed through as is; applied last.
    #[serde(default)]
    pub librdkafka_options: BTreeMap<String, String>,
    /// Read apart from the sink's own fields; see [`OutputConfig`].
    #[serde(skip)]
    pub output: OutputConfig,
}

/// The message key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaKey {
    #[default]
    EventId,
    None,
}

/// Message compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaCompression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl KafkaCompression {
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaCompression::None => "none",
            KafkaCompression::Gzip => "gzip",
            KafkaCompression::Snappy => "snappy",
            KafkaCompression::Lz4 => "lz4",
            KafkaCompression::Zstd => "zstd",
        }
    }
}

/// TLS settings for Kafka.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaTlsConfig {
    /// PEM file of the CA certificates that sign the brokers' certificates; the
    /// system's store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for brokers that require one.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Check that the broker's certificate names the host connected to.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

/// SASL settings for Kafka.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSaslConfig {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: SaslMechanism,
    pub username: String,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

impl KafkaSaslConfig {
    /// Where the password comes from, when exactly one place is configured.
    pub fn password(&self) -> Option<SecretSource> {
        match (&self.password_file, &self.password_env) {
            (Some(path), None) => Some(SecretSource::File(path.clone())),
            (None, Some(name)) => Some(SecretSource::Env(name.clone())),
            _ => None,
        }
    }
}

/// A SASL mechanism librdkafka supports without Kerberos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

fn yes() -> bool {
    true
}
fn default_acks() -> String {
    "all".to_owned()
}
fn default_linger() -> Duration {
    Duration::from_millis(5)
}
fn default_batch_size() -> u64 {
    1_000_000
}
fn default_message_max_bytes() -> u64 {
    1_000_000
}
fn default_delivery_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(30)
}
