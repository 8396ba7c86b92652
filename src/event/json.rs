//! The `json` format: the canonical event as one JSON object.
//!
//! Own's fields come first, in the order Own sent them, with `created_at` rewritten to
//! UTC RFC 3339. Then one object, `own_audit`, says where the event came from:
//!
//! ```json
//! {"event_id":42857,"created_at":"2019-08-24T14:15:22.000Z","key":"user.login",...,
//!  "own_audit":{"source":"prod-us","region":"app1","host":"siem-fw-1","version":"0.1.0"}}
//! ```
//!
//! `created_at` is always a valid UTC time. When Own wrote it with an offset, without a
//! zone or as a number, the original is kept as `own_audit.created_at_original`. When it
//! was missing or unreadable, the time the daemon received the event stands in,
//! `own_audit.created_at_invalid` is `true`, and the original (if any) is kept too. Should
//! Own ever send a top-level field named `own_audit`, it is kept as `own_audit.own_field`.

use serde::Serialize;
use serde_json::Value;

use super::{Event, format_rfc3339, write_raw_compact};

/// The key of the object the daemon adds to each event.
pub const ENVELOPE_KEY: &str = "own_audit";

#[derive(Serialize)]
struct Envelope<'a> {
    source: &'a str,
    region: &'a str,
    host: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at_original: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    created_at_invalid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_field: Option<Value>,
}

/// Appends the event as one line of JSON (without the newline) to `out`.
pub fn encode_json(event: &Event, out: &mut Vec<u8>) {
    let normalized = format_rfc3339(event.timestamp);

    out.push(b'{');
    let mut first = true;
    let mut created_at_original = None;
    let mut own_field = None;
    for (name, value) in event.fields.iter() {
        if name == ENVELOPE_KEY {
            own_field = serde_json::from_str(value).ok();
        } else if name == "created_at" {
            if !(event.created_at_valid && is_utc_rfc3339(value)) {
                created_at_original = serde_json::from_str(value).ok();
            }
            write_pair(out, &mut first, name, &normalized);
        } else {
            write_key(out, &mut first, name);
            write_raw_compact(out, value);
        }
    }
    if event.fields.raw("created_at").is_none() {
        // Keep the shape stable for receivers: every event has created_at.
        write_pair(out, &mut first, "created_at", &normalized);
    }
    let envelope = Envelope {
        source: &event.origin.source,
        region: &event.origin.region,
        host: &event.origin.host,
        version: event.origin.version,
        created_at_original,
        created_at_invalid: !event.created_at_valid,
        own_field,
    };
    write_pair(out, &mut first, ENVELOPE_KEY, &envelope);
    out.push(b'}');
}

/// Whether a raw `created_at` is already a UTC RFC 3339 string (`...Z`), which the
/// normalized form only reformats.
fn is_utc_rfc3339(raw: &str) -> bool {
    raw.len() > 2 && raw.starts_with('"') && raw.ends_with("Z\"")
}

fn write_key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    // Serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, name);
    out.push(b':');
}

fn write_pair<T: Serialize + ?Sized>(out: &mut Vec<u8>, first: &mut bool, name: &str, value: &T) {
    write_key(out, first, name);
    // The values written here are strings and plain structs, which cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;
    use serde_json::json;
    use serde_json::value::RawValue;
    use std::sync::Arc;

    fn origin() -> Arc<Origin> {
        Arc::new(Origin {
            source: "s".into(),
            region: "app1".into(),
            host: "h".into(),
            version: "9",
        })
    }

    fn encode(entry: Value) -> Value {
        let raw = RawValue::from_string(entry.to_string()).unwrap();
        let event = Event::from_api(raw, &origin(), jiff::Timestamp::UNIX_EPOCH).unwrap();
        let mut out = Vec::new();
        encode_json(&event, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn unknown_fields_are_kept_and_time_is_normalized() {
        let out = encode(json!({
            "event_id": 7, "created_at": "2018-04-09T12:30:42+02:00", "key": "user.login",
            "tenant": {"id": 5}, "parameters": {"a": [1, 2]}
        }));
        assert_eq!(out["created_at"], "2018-04-09T10:30:42.000Z");
        assert_eq!(out["tenant"], json!({"id": 5}));
        assert_eq!(out["parameters"], json!({"a": [1, 2]}));
        assert_eq!(
            out["own_audit"]["created_at_original"],
            "2018-04-09T12:30:42+02:00"
        );
        assert_eq!(out["own_audit"]["source"], "s");
        assert_eq!(out["own_audit"]["region"], "app1");
    }

    #[test]
    fn an_unreadable_or_missing_time_is_flagged_kept_and_replaced_by_the_receipt_time() {
        let out = encode(json!({"event_id": 7, "created_at": "soon"}));
        assert_eq!(out["created_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(out["own_audit"]["created_at_invalid"], true);
        assert_eq!(out["own_audit"]["created_at_original"], "soon");
        let out = encode(json!({"event_id": 7}));
        assert_eq!(out["created_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(out["own_audit"]["created_at_invalid"], true);
    }

    #[test]
    fn a_utc_time_is_only_reformatted() {
        let out = encode(json!({"event_id": 7, "created_at": "2018-04-09T10:30:42Z"}));
        assert_eq!(out["created_at"], "2018-04-09T10:30:42.000Z");
        assert!(out["own_audit"].get("created_at_original").is_none());
    }

    #[test]
    fn hostile_content_cannot_add_keys() {
        let out = encode(json!({"event_id": 1, "user_email": "a\",\"x\":\"y\n\u{0}é"}));
        assert_eq!(out["user_email"], "a\",\"x\":\"y\n\u{0}é");
        assert!(out.get("x").is_none());
    }

    #[test]
    fn golden_files() {
        crate::event::fixtures::check_golden(crate::event::Format::Json, "json");
    }

    #[test]
    fn a_field_named_like_the_envelope_is_kept_apart() {
        let out = encode(json!({"event_id": 1, "own_audit": "theirs", "own_audit_original": 2}));
        assert_eq!(out["own_audit"]["own_field"], "theirs");
        assert_eq!(out["own_audit_original"], 2);
        assert_eq!(out["own_audit"]["source"], "s");
    }
}
