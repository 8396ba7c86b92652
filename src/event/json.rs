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
//! When Own's `created_at` was written in another form, the original text is kept as
//! `own_audit.created_at_original`; when it could not be read at all,
//! `own_audit.created_at_invalid` is `true` and `created_at` is left as Own sent it.

use serde::Serialize;
use serde_json::value::RawValue;

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
    created_at_original: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    created_at_invalid: bool,
}

/// Appends the event as one line of JSON (without the newline) to `out`.
pub fn encode_json(event: &Event, out: &mut Vec<u8>) {
    let normalized = format_rfc3339(event.timestamp);
    let raw_created = event.fields.raw("created_at");
    let rewritten = event.created_at_valid
        && raw_created.is_some_and(|raw| raw.trim_matches('"') != normalized);
    let original: Option<&RawValue> = raw_created
        .filter(|_| rewritten)
        .and_then(|raw| serde_json::from_str(raw).ok());

    out.push(b'{');
    let mut first = true;
    for (name, value) in event.fields.iter() {
        if name == ENVELOPE_KEY {
            // Own's own field of that name would clash with the envelope; it is kept
            // under a prefixed name instead.
            write_key(out, &mut first, "own_audit_original");
            write_raw_compact(out, value);
        } else if name == "created_at" && event.created_at_valid {
            write_pair(out, &mut first, name, &normalized);
        } else {
            write_key(out, &mut first, name);
            write_raw_compact(out, value);
        }
    }
    if raw_created.is_none() {
        // Keep the shape stable for receivers: every event has created_at.
        write_pair(out, &mut first, "created_at", &normalized);
    }
    let envelope = Envelope {
        source: &event.origin.source,
        region: &event.origin.region,
        host: &event.origin.host,
        version: event.origin.version,
        created_at_original: original,
        created_at_invalid: !event.created_at_valid,
    };
    write_pair(out, &mut first, ENVELOPE_KEY, &envelope);
    out.push(b'}');
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
    use serde_json::{Value, json};
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
    fn an_unreadable_time_is_flagged_and_kept() {
        let out = encode(json!({"event_id": 7, "created_at": "soon"}));
        assert_eq!(out["created_at"], "soon");
        assert_eq!(out["own_audit"]["created_at_invalid"], true);
    }

    #[test]
    fn hostile_content_cannot_add_keys() {
        let out = encode(json!({"event_id": 1, "user_email": "a\",\"x\":\"y\n\u{0}é"}));
        assert_eq!(out["user_email"], "a\",\"x\":\"y\n\u{0}é");
        assert!(out.get("x").is_none());
    }

    #[test]
    fn a_field_named_like_the_envelope_is_kept_apart() {
        let out = encode(json!({"event_id": 1, "own_audit": "theirs"}));
        assert_eq!(out["own_audit_original"], "theirs");
        assert_eq!(out["own_audit"]["source"], "s");
    }
}
