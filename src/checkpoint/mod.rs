//! The cursor store: where each source resumes after a restart.
//!
//! A checkpoint names the last event that every sink acknowledged. It only moves
//! forward, one whole batch at a time, after delivery. The embedded store is one
//! versioned JSON file per source, written atomically ([`FileStore`]).

pub mod file;

pub use file::FileStore;

use serde::{Deserialize, Serialize};

/// The format version written today.
pub const VERSION: u32 = 1;

/// A source's durable position in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The stored form's version; readers refuse versions they do not know.
    pub version: u32,
    /// The source this checkpoint belongs to.
    pub source: String,
    /// The last event id every sink acknowledged.
    pub last_event_id: u64,
    /// That event's time, UTC RFC 3339, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<String>,
    /// When this checkpoint was written, UTC RFC 3339.
    pub updated_at: String,
}

impl Checkpoint {
    pub fn new(source: &str, last_event_id: u64, last_event_time: Option<String>) -> Self {
        Self {
            version: VERSION,
            source: source.to_owned(),
            last_event_id,
            last_event_time,
            updated_at: crate::event::format_rfc3339(jiff::Timestamp::now()),
        }
    }
}

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "checkpoint {path} is corrupt ({reason}); the source is stopped rather than restarted \
         from the beginning. Inspect the file, then repair it with `own-audit-forwarder \
         checkpoint set --config FILE --source {source_name} --event-id N`, or delete it to \
         start from the configured start_from"
    )]
    Corrupt {
        path: String,
        source_name: String,
        reason: String,
    },
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Durable storage of one source's checkpoint.
pub trait CheckpointStore: Send + Sync {
    /// The stored checkpoint; `None` when none was ever written.
    fn load(&self) -> Result<Option<Checkpoint>, CheckpointError>;
    /// Stores the checkpoint durably before returning.
    fn save(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError>;
}
