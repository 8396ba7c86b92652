//! The events every encoder's golden-file tests encode, and the golden-file check.
//!
//! Three cases: an ordinary login; one whose every field is null, and one with nothing
//! but an id (the missing-field cases); and one whose values hold each character some
//! format must escape (`|`, `=`, `\`, quotes, line breaks, a tab, a NUL) and non-ASCII
//! text. The golden files live in `tests/golden/<format>/<case>.txt`, one encoded event
//! per line; `UPDATE_GOLDEN=1 cargo test` rewrites them after a deliberate change.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::{Event, Format, Origin};

/// The time that stands in when an event's `created_at` is missing.
const RECEIVED: &str = "2026-01-02T03:04:05.678Z";

fn origin() -> Arc<Origin> {
    Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "siem-fw-1".into(),
        version: "0.0.0-test",
    })
}

fn event(json: &str) -> Event {
    let raw = RawValue::from_string(json.to_owned()).expect("fixture is JSON");
    let received = RECEIVED.parse().expect("fixture time");
    Event::from_api(raw, &origin(), received).expect("fixture is an event")
}

/// An ordinary login, as the API documents it, with one unknown field.
pub fn ordinary() -> Vec<Event> {
    vec![event(
        r#"{"event_id":42857,"created_at":"2019-08-24T14:15:22.000Z","ip_address":"203.0.113.45","key":"user.login","parameters":{"method":"sso","user_agent":"Mozilla/5.0"},"service_id":300008,"source":"web app","user_email":"jane.doe@example.com","user_id":12345,"tenant":{"id":7}}"#,
    )]
}

/// Every field null, then every field but the id missing.
pub fn empty() -> Vec<Event> {
    vec![
        event(
            r#"{"event_id":1,"created_at":null,"ip_address":null,"key":null,"parameters":null,"service_id":null,"source":null,"user_email":null,"user_id":null}"#,
        ),
        event(r#"{"event_id":2}"#),
    ]
}

/// Values holding every character some format escapes, non-ASCII text, an address that
/// is not one, and an IPv6 address.
pub fn hostile() -> Vec<Event> {
    vec![
        event(
            r#"{"event_id":900001,"created_at":"2024-02-29T23:59:59.999+02:00","ip_address":"not|an=ip\\","key":"user.login | cs1=forged\\|x","parameters":{"note":"a=b|c\\d\"e\r\nf\tg\u0000h","ünï":"日本語 ☃"},"service_id":"3|4","source":"web=app\nCEF:0|forged|","user_email":"o'brien+\"x\"@exämple.com","user_id":"12|34=5","x=y|z":"new\nline"}"#,
        ),
        event(
            r#"{"event_id":900002,"created_at":"2024-03-01T00:00:00Z","ip_address":"2001:db8::7","key":"export.downloaded\nLEEF:2.0|x","parameters":{},"source":"api","user_email":"\\\\server\\share","user_id":7}"#,
        ),
    ]
}

/// Encodes each case in `format` and compares it with its golden file, or rewrites the
/// file when `UPDATE_GOLDEN` is set.
pub fn check_golden(format: Format, dir: &str) {
    for (case, events) in [
        ("ordinary", ordinary()),
        ("empty", empty()),
        ("hostile", hostile()),
    ] {
        let mut text = Vec::new();
        for event in &events {
            format.encode(event, &mut text);
            text.push(b'\n');
        }
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(dir)
            .join(format!("{case}.txt"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().expect("golden folder")).expect("mkdir");
            std::fs::write(&path, &text).expect("write golden file");
            continue;
        }
        let golden = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&golden),
            "{} differs from the encoder's output; if the change is deliberate, run with \
             UPDATE_GOLDEN=1 and review the diff",
            path.display()
        );
    }
}
