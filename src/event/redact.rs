//! Redaction: fields removed, or replaced by a keyed hash, before anything else sees the
//! event.
//!
//! The poller redacts each API entry as it arrives, before the entry becomes an event,
//! so no encoder, sink, dead letter or log line ever holds the original value. A field
//! is named by a dotted path from the top of the entry: `user_email`,
//! `parameters.user_agent`. A segment `*` stands for every field of an object; a path
//! that meets an array applies to each element. A field name that itself holds a dot
//! cannot be named.
//!
//! `hash` replaces a value with the HMAC-SHA256 of its text (a string's characters, any
//! other value's compact JSON) under a secret key, written as 64 lowercase hex digits. The
//! same value under the same key always gives the same token, so a SIEM can still count
//! and correlate a user's events, while without the key the token cannot be reversed or
//! checked against a guess. `event_id`, `key` and `created_at` cannot be redacted: the
//! daemon needs them to order, classify and checkpoint events.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::Sha256;

use crate::secret::Secret;

/// Fields that must stay as Own sent them.
pub const PROTECTED: &[&str] = &["event_id", "key", "created_at"];

/// The shortest hash key accepted, in bytes; a shorter one could be guessed.
pub const MIN_KEY_BYTES: usize = 16;

/// What to do with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Drop,
    Hash,
}

/// The configured redactions, ready to apply.
pub struct Redactor {
    rules: Vec<(Vec<String>, Rule)>,
    mac: Option<Hmac<Sha256>>,
}

/// Why a redaction cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    #[error("{path:?} is not a field path: {reason}")]
    Path { path: String, reason: &'static str },
    #[error("fields are to be hashed but no hash key is configured")]
    NoKey,
    #[error("the hash key is {0} bytes long; use at least {MIN_KEY_BYTES} random bytes")]
    ShortKey(usize),
}

impl Redactor {
    /// A redactor dropping the `drop` paths and hashing the `hash` paths with `key`.
    pub fn new(
        drop: &[String],
        hash: &[String],
        key: Option<&Secret>,
    ) -> Result<Self, RedactError> {
        let mut rules = Vec::new();
        for (paths, rule) in [(drop, Rule::Drop), (hash, Rule::Hash)] {
            for path in paths {
                rules.push((parse_path(path)?, rule));
            }
        }
        let mac = match key {
            None if hash.is_empty() => None,
            None => return Err(RedactError::NoKey),
            Some(key) if key.expose().len() < MIN_KEY_BYTES => {
                return Err(RedactError::ShortKey(key.expose().len()));
            }
            // HMAC takes a key of any length, so this cannot fail.
            Some(key) => Hmac::new_from_slice(key.expose().as_bytes()).ok(),
        };
        Ok(Self { rules, mac })
    }

    /// Whether nothing is redacted.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The entry with every configured field dropped or hashed. An entry that holds none
    /// of them, or is not a JSON object, is given back byte for byte.
    pub fn redact(&self, entry: Box<RawValue>) -> Box<RawValue> {
        if self.rules.is_empty() {
            return entry;
        }
        let Ok(Value::Object(mut top)) = serde_json::from_str::<Value>(entry.get()) else {
            return entry;
        };
        let mut changed = false;
        for (path, rule) in &self.rules {
            if let Some(value) = top.get_mut(&path[0]) {
                if path.len() == 1 && *rule == Rule::Drop {
                    top.shift_remove(&path[0]);
                    changed = true;
                } else {
                    changed |= self.apply(value, &path[1..], *rule);
                }
            }
        }
        if !changed {
            return entry;
        }
        serde_json::value::to_raw_value(&top).unwrap_or(entry)
    }

    /// Applies `rule` at `path` below `value`; true when anything changed.
    fn apply(&self, value: &mut Value, path: &[String], rule: Rule) -> bool {
        let Some((segment, rest)) = path.split_first() else {
            return self.hash_in_place(value);
        };
        match value {
            Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                self.apply(item, path, rule) | changed
            }),
            Value::Object(map) if segment == "*" => {
                if rest.is_empty() && rule == Rule::Drop {
                    let had = !map.is_empty();
                    map.clear();
                    return had;
                }
                map.values_mut()
                    .fold(false, |changed, v| self.apply(v, rest, rule) | changed)
            }
            Value::Object(map) if rest.is_empty() && rule == Rule::Drop => {
                map.shift_remove(segment).is_some()
            }
            Value::Object(map) => match map.get_mut(segment) {
                Some(inner) => self.apply(inner, rest, rule),
                None => false,
            },
            _ => false,
        }
    }

    /// Replaces a value by its keyed hash; null is left alone, as it holds nothing.
    fn hash_in_place(&self, value: &mut Value) -> bool {
        let Some(mac) = &self.mac else { return false };
        let text = match &mut *value {
            Value::Null => return false,
            Value::String(s) => std::mem::take(s),
            other => other.to_string(),
        };
        let mut mac = mac.clone();
        mac.update(text.as_bytes());
        *value = Value::String(hex::encode(mac.finalize().into_bytes()));
        true
    }
}

/// Splits and checks a dotted path.
fn parse_path(path: &str) -> Result<Vec<String>, RedactError> {
    let fail = |reason| RedactError::Path {
        path: path.to_owned(),
        reason,
    };
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(fail(
            "it has an empty segment; write names joined by single dots",
        ));
    }
    if segments[0] == "*" {
        return Err(fail(
            "it cannot start with *, which would remove the whole event",
        ));
    }
    if PROTECTED.contains(&segments[0].as_str()) {
        return Err(fail(
            "event_id, key and created_at are needed to order and classify events",
        ));
    }
    Ok(segments)
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
