//! The dead-letter store: events a sink refused for good, kept durably with the reason.
//!
//! `STATE_DIR/dead-letter.ndjson` gets one JSON line per refused event and sink:
//!
//! ```json
//! {"time":"...","source":"prod","sink":"siem","reason":"too_large","detail":"...","event":{...}}
//! ```
//!
//! `event` is the canonical JSON event, so a dead letter can be replayed by hand. A line
//! is fsynced before the event counts as handled.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::event::{Event, encode_json, format_rfc3339, write_raw_compact};
use crate::telemetry::names;

/// Appends refused events to one NDJSON file.
#[derive(Clone)]
pub struct DeadLetterStore {
    path: PathBuf,
    file: Arc<Mutex<Option<File>>>,
}

#[derive(Serialize)]
struct Letter<'a> {
    time: String,
    source: &'a str,
    sink: &'a str,
    reason: &'a str,
    detail: &'a str,
    event: &'a RawValue,
}

impl DeadLetterStore {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("dead-letter.ndjson"),
            file: Arc::new(Mutex::new(None)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores one refused event durably. `sink` is `-` for an entry the daemon itself
    /// could not read (such as an event without an id).
    pub async fn store(
        &self,
        event: DeadEvent<'_>,
        sink: &str,
        reason: &'static str,
        detail: &str,
    ) -> std::io::Result<()> {
        let mut raw = Vec::new();
        let source = match event {
            DeadEvent::Event(event) => {
                encode_json(event, &mut raw);
                event.origin.source.as_str()
            }
            DeadEvent::Raw { source, value } => {
                write_raw_compact(&mut raw, value.get());
                source
            }
            DeadEvent::Text { source, text } => {
                serde_json::to_writer(&mut raw, text)?;
                source
            }
        };
        let raw = String::from_utf8(raw).map_err(std::io::Error::other)?;
        let raw = RawValue::from_string(raw).map_err(std::io::Error::other)?;
        let letter = Letter {
            time: format_rfc3339(jiff::Timestamp::now()),
            source,
            sink,
            reason,
            detail,
            event: &raw,
        };
        let mut line = serde_json::to_vec(&letter)?;
        line.push(b'\n');

        let (path, file) = (self.path.clone(), Arc::clone(&self.file));
        tokio::task::spawn_blocking(move || append_synced(&path, &file, &line)).await??;
        metrics::counter!(names::EVENTS_DEAD_LETTERED, "sink" => sink.to_owned(), "reason" => reason)
            .increment(1);
        Ok(())
    }
}

/// What is being dead-lettered.
pub enum DeadEvent<'a> {
    Event(&'a Event),
    Raw {
        source: &'a str,
        value: &'a RawValue,
    },
    /// An entry that is not valid JSON, kept as a JSON string.
    Text {
        source: &'a str,
        text: &'a str,
    },
}

fn append_synced(path: &Path, slot: &Mutex<Option<File>>, line: &[u8]) -> std::io::Result<()> {
    let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
    let file = match guard.as_mut() {
        Some(file) => file,
        None => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = File::options()
                .create(true)
                .read(true)
                .append(true)
                .open(path)?;
            super::util::repair_tail(&file)?;
            guard.insert(file)
        }
    };
    let start = file.metadata()?.len();
    let result = file.write_all(line).and_then(|()| file.sync_data());
    if result.is_err() {
        // Never leave half a letter: cut back to where this one began.
        let _ = file.set_len(start);
        *guard = None;
    }
    result
}
