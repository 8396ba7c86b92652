//! The canonical event and its encoders.
//!
//! An [`Event`] keeps every field Own sent, unknown ones included, in the order Own sent
//! them, and adds what the daemon knows: the normalized UTC time, and where the event came
//! from ([`Origin`]). Encoders turn an event into the bytes of one output format; they
//! never fail on odd content.

mod cef;
mod ecs;
mod fields;
mod filter;
#[cfg(test)]
pub(crate) mod fixtures;
mod json;
mod known;
mod leef;
pub mod mapping;
mod ocsf;
pub mod redact;
mod time;

use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

pub use cef::encode_cef;
pub use ecs::encode_ecs;
pub use fields::{Fields, write_raw_compact};
pub use filter::{KeyFilter, PatternError, check_patterns};
pub use json::encode_json;
pub use known::{Known, raw_as_text};
pub use leef::encode_leef;
pub use ocsf::encode_ocsf;
pub use redact::{RedactError, Redactor};
pub use time::{format_rfc3339, parse_created_at};

/// The vendor every schema encoder names as the source of the events.
const VENDOR: &str = "Own";
/// The product every schema encoder names.
const PRODUCT: &str = "Own Audit Log";

/// An output format: how an event becomes the bytes a sink sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The canonical event as one JSON object.
    Json,
    /// Elastic Common Schema 8.x, one JSON object.
    Ecs,
    /// Open Cybersecurity Schema Framework 1.x, one JSON object.
    Ocsf,
    /// ArcSight Common Event Format, one `CEF:0|...` line.
    Cef,
    /// IBM QRadar Log Event Extended Format 2.0, one `LEEF:2.0|...` line whose
    /// attributes are separated by `delimiter`.
    Leef { delimiter: char },
}

impl Format {
    /// Appends one event, without a line break, to `out`.
    pub fn encode(self, event: &Event, out: &mut Vec<u8>) {
        match self {
            Format::Json => encode_json(event, out),
            Format::Ecs => encode_ecs(event, out),
            Format::Ocsf => encode_ocsf(event, out),
            Format::Cef => encode_cef(event, out),
            Format::Leef { delimiter } => encode_leef(event, delimiter, out),
        }
    }

    /// Whether an encoded event is a JSON value (else it is one line of text).
    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::Ecs | Format::Ocsf)
    }

    /// The format's configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ecs => "ecs",
            Format::Ocsf => "ocsf",
            Format::Cef => "cef",
            Format::Leef { .. } => "leef",
        }
    }
}

/// Where an event came from and who forwarded it; shared by every event of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source's configured name.
    pub source: String,
    /// The Own region, or `custom` for a custom base URL.
    pub region: String,
    /// The host name of the machine running the daemon.
    pub host: String,
    /// The daemon's version.
    pub version: &'static str,
}

impl Origin {
    pub fn new(source: &str, region: &str) -> Arc<Self> {
        Arc::new(Self {
            source: source.to_owned(),
            region: region.to_owned(),
            host: local_host_name(),
            version: env!("CARGO_PKG_VERSION"),
        })
    }
}

/// The name of this machine, or `unknown` when it cannot be read.
pub fn local_host_name() -> String {
    gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// One audit event as the daemon carries it.
#[derive(Debug, Clone)]
pub struct Event {
    /// Own's `event_id`: unique, ascending with time.
    pub id: u64,
    /// The event type, Own's `key`; empty when Own sent none.
    pub key: String,
    /// `created_at` as a UTC instant; the time the daemon received the event when Own's
    /// value could not be read (then `created_at_valid` is false).
    pub timestamp: jiff::Timestamp,
    /// Whether Own's `created_at` was readable.
    pub created_at_valid: bool,
    /// Every field exactly as Own sent it.
    pub fields: Fields,
    pub origin: Arc<Origin>,
}

/// An API entry that could not become an event, given back whole.
#[derive(Debug, Clone)]
pub struct UnreadableEntry {
    pub error: EventError,
    pub entry: Box<RawValue>,
}

/// Why an API entry could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("entry is not a JSON object")]
    NotAnObject,
    #[error("event_id is missing or is not a non-negative integer")]
    BadId,
}

impl Event {
    /// Builds the canonical event from one entry of the API's array.
    ///
    /// Fails only when the entry has no usable `event_id`, since without one it cannot be
    /// ordered or checkpointed. An unreadable `created_at` is kept as sent and the receipt
    /// time stands in, so the event is never dropped for it.
    pub fn from_api(
        entry: Box<RawValue>,
        origin: &Arc<Origin>,
        received: jiff::Timestamp,
    ) -> Result<Self, UnreadableEntry> {
        let fields = Fields::parse(entry).map_err(|entry| UnreadableEntry {
            error: EventError::NotAnObject,
            entry,
        })?;
        let Some(id) = fields.value("event_id").as_ref().and_then(event_id) else {
            let entry = fields.entry().to_owned();
            return Err(UnreadableEntry {
                error: EventError::BadId,
                entry,
            });
        };
        let key = fields.string("key").unwrap_or_default();
        let parsed = fields
            .value("created_at")
            .as_ref()
            .and_then(parse_created_at);
        Ok(Self {
            id,
            key,
            timestamp: parsed.unwrap_or(received),
            created_at_valid: parsed.is_some(),
            fields,
            origin: Arc::clone(origin),
        })
    }
}

/// Reads an event id written as a JSON integer, or as a string of digits.
fn event_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
