use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::*;
use crate::event::{Format, Origin};

fn origin() -> Arc<Origin> {
    Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "fw|1".into(),
        version: "9.9",
    })
}

fn encode(entry: Value) -> String {
    let raw = RawValue::from_string(entry.to_string()).unwrap();
    let received = "2026-01-02T03:04:05.678Z".parse().unwrap();
    let event = Event::from_api(raw, &origin(), received).unwrap();
    let mut out = Vec::new();
    encode_cef(&event, &mut out);
    String::from_utf8(out).unwrap()
}

/// A line read the way the CEF rules define it: the header fields, unescaped, and the
/// extension pairs, unescaped, in order.
struct Parsed {
    header: Vec<String>,
    pairs: Vec<(String, String)>,
}

impl Parsed {
    fn get(&self, key: &str) -> Option<&str> {
        let mut found = self.pairs.iter().filter(|(k, _)| k == key);
        let value = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "{key} appears twice");
        value
    }

    fn keys(&self) -> Vec<&str> {
        self.pairs.iter().map(|(k, _)| k.as_str()).collect()
    }
}

fn parse(line: &str) -> Parsed {
    assert!(!line.contains(['\n', '\r']), "a line break in {line:?}");
    let mut header = vec![String::new()];
    let mut chars = line.chars();
    while header.len() < 8 {
        match chars.next().expect("7 header fields") {
            '\\' => header.last_mut().unwrap().push(chars.next().unwrap()),
            '|' => header.push(String::new()),
            c => header.last_mut().unwrap().push(c),
        }
    }
    header.pop();

    // The extension as (character, escaped) so that an escaped `=` or space stays text.
    let mut ext = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => ext.push((chars.next().expect("an escape"), true)),
            c => ext.push((c, false)),
        }
    }
    let pieces: Vec<&[(char, bool)]> = ext.split(|&(c, escaped)| c == '=' && !escaped).collect();
    let text = |part: &[(char, bool)]| -> String {
        part.iter()
            .map(|&(c, escaped)| match (c, escaped) {
                ('n', true) => '\n',
                ('r', true) => '\r',
                (c, _) => c,
            })
            .collect()
    };
    let mut pairs = Vec::new();
    let mut key = text(pieces[0]);
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let split = if i == pieces.len() - 1 {
            piece.len()
        } else {
            piece
                .iter()
                .rposition(|&(c, e)| c == ' ' && !e)
                .expect("a key")
        };
        pairs.push((key, text(&piece[..split])));
        key = text(piece.get(split + 1..).unwrap_or_default());
    }
    Parsed { header, pairs }
}

#[test]
fn an_ordinary_login_maps_to_the_standard_keys() {
    let line = encode(json!({
        "event_id": 42857, "created_at": "2019-08-24T14:15:22.000Z",
        "ip_address": "203.0.113.45", "key": "user.login", "parameters": {"method": "sso"},
        "service_id": 300008, "source": "web app", "user_email": "jane.doe@example.com",
        "user_id": 12345
    }));
    let cef = parse(&line);
    assert_eq!(
        cef.header,
        [
            "CEF:0",
            "Own",
            "Own Audit Log",
            "9.9",
            "user.login",
            "User logged in",
            "1"
        ]
    );
    assert_eq!(cef.get("rt"), Some("1566656122000"));
    assert_eq!(cef.get("externalId"), Some("42857"));
    assert_eq!(cef.get("act"), Some("user.login"));
    assert_eq!(cef.get("cat"), Some("logon"));
    assert_eq!(cef.get("outcome"), Some("success"));
    assert_eq!(cef.get("suser"), Some("jane.doe@example.com"));
    assert_eq!(cef.get("suid"), Some("12345"));
    assert_eq!(cef.get("src"), Some("203.0.113.45"));
    assert_eq!(cef.get("dvchost"), Some("fw|1"));
    assert_eq!(cef.get("deviceExternalId"), Some("prod-us"));
    assert_eq!(cef.get("cs1Label"), Some("channel"));
    assert_eq!(cef.get("cs1"), Some("web app"));
    assert_eq!(cef.get("cs2"), Some("300008"));
    assert_eq!(cef.get("cs3"), Some(r#"{"method":"sso"}"#));
    assert_eq!(cef.get("cs4"), Some("app1"));
    assert_eq!(cef.get("cs5"), None);
    assert_eq!(cef.get("cs6"), None);
    assert_eq!(cef.get("msg"), None);
}

#[test]
fn hostile_text_cannot_forge_a_key_a_header_field_or_a_line() {
    let hostile = "a=b cs1=forged suser=root\\|x|y\r\nCEF:0|Evil|x|1|2|3|10|act=deleted \\";
    let line = encode(json!({
        "event_id": 1, "key": hostile, "user_email": hostile, "source": hostile,
        "parameters": {"k": hostile}, "x=y z": hostile
    }));
    let cef = parse(&line);
    assert_eq!(cef.header.len(), 7);
    assert_eq!(cef.header[4], hostile.replace(['\r', '\n'], " "));
    assert_eq!(cef.header[5], cef.header[4]);
    assert_eq!(cef.header[6], "1");
    assert_eq!(
        cef.keys(),
        [
            "rt",
            "externalId",
            "act",
            "cat",
            "outcome",
            "suser",
            "dvchost",
            "deviceExternalId",
            "cs1Label",
            "cs1",
            "cs3Label",
            "cs3",
            "cs4Label",
            "cs4",
            "cs6Label",
            "cs6",
            "msg"
        ]
    );
    assert_eq!(cef.get("act"), Some(hostile));
    assert_eq!(cef.get("suser"), Some(hostile));
    assert_eq!(cef.get("cs1"), Some(hostile));
    let parameters: Value = serde_json::from_str(cef.get("cs3").unwrap()).unwrap();
    assert_eq!(parameters, json!({"k": hostile}));
    let other: Value = serde_json::from_str(cef.get("cs6").unwrap()).unwrap();
    assert_eq!(other, json!({"x=y z": hostile}));
}

#[test]
fn header_fields_escape_backslash_and_pipe_and_drop_control_characters() {
    let mut out = Vec::new();
    write_header_field(&mut out, "a\\b|c\nd\te\u{0}é");
    assert_eq!(String::from_utf8(out).unwrap(), "a\\\\b\\|c d e é");
    assert!(is_plain_header_text("user.login é"));
    assert!(!is_plain_header_text("a|b"));
    assert!(!is_plain_header_text("a\u{85}b"));
}

#[test]
fn extension_values_escape_backslash_equals_and_line_breaks_only() {
    let mut out = Vec::new();
    escape_value(&mut out, "a\\b=c\nd\re|f g\té");
    assert_eq!(String::from_utf8(out).unwrap(), "a\\\\b\\=c\\nd\\re|f g\té");
}

#[test]
fn an_ipv6_address_goes_in_c6a2_with_its_label() {
    let cef = parse(&encode(json!({"event_id": 1, "ip_address": "2001:db8::7"})));
    assert_eq!(cef.get("src"), None);
    assert_eq!(cef.get("c6a2"), Some("2001:db8::7"));
    assert_eq!(cef.get("c6a2Label"), Some("Source IPv6 Address"));
}

#[test]
fn an_unparseable_address_is_kept_in_a_custom_string() {
    let cef = parse(&encode(json!({"event_id": 1, "ip_address": "not|an=ip\\"})));
    assert_eq!(cef.get("src"), None);
    assert_eq!(cef.get("c6a2"), None);
    assert_eq!(cef.get("cs5Label"), Some("ipAddress"));
    assert_eq!(cef.get("cs5"), Some("not|an=ip\\"));
}

#[test]
fn an_empty_or_missing_key_gets_a_placeholder_signature_and_no_act() {
    for entry in [json!({"event_id": 3, "key": ""}), json!({"event_id": 3})] {
        let cef = parse(&encode(entry));
        assert_eq!(cef.header[4], "unknown");
        assert_eq!(cef.header[5], "unknown");
        assert_eq!(cef.get("act"), None);
        assert_eq!(cef.get("cat"), Some("other"));
    }
}

#[test]
fn a_key_that_is_not_a_string_is_kept_in_other_fields() {
    let cef = parse(&encode(json!({"event_id": 3, "key": {"k": 1}})));
    assert_eq!(cef.header[4], "unknown");
    assert_eq!(cef.get("cs6"), Some(r#"{"key":{"k":1}}"#));
}

#[test]
fn an_unreadable_time_is_flagged_and_a_time_not_in_utc_is_kept() {
    let cef = parse(&encode(json!({"event_id": 3, "created_at": "soon"})));
    assert_eq!(cef.get("rt"), Some("1767323045678"));
    assert!(cef.get("msg").unwrap().contains("created_at"));
    assert_eq!(cef.get("cs6"), Some(r#"{"created_at":"soon"}"#));

    let cef = parse(&encode(json!({"event_id": 3, "created_at": 1523269842})));
    assert_eq!(cef.get("rt"), Some("1523269842000"));
    assert_eq!(cef.get("msg"), None);
    assert_eq!(cef.get("cs6"), Some(r#"{"created_at":1523269842}"#));

    let cef = parse(&encode(
        json!({"event_id": 3, "created_at": "2018-04-09T10:30:42Z"}),
    ));
    assert_eq!(cef.get("cs6"), None);
}

#[test]
fn documented_fields_of_an_odd_shape_are_kept_in_other_fields() {
    let cef = parse(&encode(json!({
        "event_id": 3, "user_id": {"nested": [1, 2]}, "source": 5, "tenant": null
    })));
    assert_eq!(cef.get("suid"), None);
    assert_eq!(cef.get("cs1"), Some("5"));
    let other: BTreeMap<String, Value> = serde_json::from_str(cef.get("cs6").unwrap()).unwrap();
    assert_eq!(other["user_id"], json!({"nested": [1, 2]}));
    assert_eq!(other["tenant"], Value::Null);
}

#[test]
fn every_severity_of_the_mapping_reaches_the_header() {
    let cef = parse(&encode(json!({"event_id": 3, "key": "service.deleted"})));
    assert_eq!(cef.header[5], "Service deleted");
    assert_eq!(cef.header[6], "10");
    assert_eq!(cef.get("cat"), Some("delete"));
    let cef = parse(&encode(json!({"event_id": 3, "key": "sso.login_failure"})));
    assert_eq!(cef.header[5], "sso.login_failure");
    assert_eq!(cef.get("outcome"), Some("failure"));
}

#[test]
fn golden_files() {
    crate::event::fixtures::check_golden(Format::Cef, "cef");
}
