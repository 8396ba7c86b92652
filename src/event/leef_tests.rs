use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::*;
use crate::event::{Format, Origin};

fn origin() -> Arc<Origin> {
    Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "fw^1".into(),
        version: "9.9",
    })
}

fn encode_with(entry: Value, delimiter: char) -> String {
    let raw = RawValue::from_string(entry.to_string()).unwrap();
    let received = "2026-01-02T03:04:05.678Z".parse().unwrap();
    let event = Event::from_api(raw, &origin(), received).unwrap();
    let mut out = Vec::new();
    encode_leef(&event, delimiter, &mut out);
    String::from_utf8(out).unwrap()
}

fn encode(entry: Value) -> String {
    encode_with(entry, '\t')
}

/// A line read the way QRadar reads it: header fields on `|`, attributes on the
/// delimiter, each at its first `=`; then the values unescaped.
struct Parsed {
    header: Vec<String>,
    delimiter: String,
    attrs: Vec<(String, String)>,
}

impl Parsed {
    fn get(&self, key: &str) -> Option<&str> {
        let mut found = self.attrs.iter().filter(|(k, _)| k == key);
        let value = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "{key} appears twice");
        value
    }

    fn keys(&self) -> Vec<&str> {
        self.attrs.iter().map(|(k, _)| k.as_str()).collect()
    }
}

fn parse(line: &str) -> Parsed {
    assert!(!line.contains(['\n', '\r']), "a line break in {line:?}");
    let rest = line.strip_prefix("LEEF:2.0|").expect("a LEEF 2.0 line");
    let mut header = vec![String::new()];
    let mut chars = rest.char_indices();
    let mut end = 0;
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => header.last_mut().unwrap().push(chars.next().unwrap().1),
            '|' if header.len() == 4 => {
                end = at + 1;
                break;
            }
            '|' => header.push(String::new()),
            c => header.last_mut().unwrap().push(c),
        }
    }
    let rest = &rest[end..];
    let (delimiter, attrs) = rest.split_once('|').expect("a delimiter field");
    let separator = match delimiter.strip_prefix('x') {
        Some(hex) => char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap(),
        None => delimiter.chars().next().unwrap(),
    };
    let attrs = attrs
        .split(separator)
        .map(|attr| {
            let (key, value) = attr.split_once('=').expect("key=value");
            (key.to_owned(), unescape(value))
        })
        .collect();
    Parsed {
        header,
        delimiter: delimiter.to_owned(),
        attrs,
    }
}

fn unescape(value: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let (&kind, tail) = rest.split_first().expect("an escape");
        rest = tail;
        match kind {
            b'\\' => bytes.push(b'\\'),
            b'n' => bytes.push(b'\n'),
            b'r' => bytes.push(b'\r'),
            b't' => bytes.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(&rest[..2]).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                rest = &rest[2..];
            }
            other => panic!("unknown escape \\{}", other as char),
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn an_ordinary_login_maps_to_the_predefined_attributes() {
    let line = encode(json!({
        "event_id": 42857, "created_at": "2019-08-24T14:15:22.123456Z",
        "ip_address": "203.0.113.45", "key": "user.login", "parameters": {"method": "sso"},
        "service_id": 300008, "source": "web app", "user_email": "jane.doe@example.com",
        "user_id": 12345
    }));
    let leef = parse(&line);
    assert_eq!(leef.header, ["Own", "Own Audit Log", "9.9", "user.login"]);
    assert_eq!(leef.delimiter, "x09");
    assert_eq!(leef.get("devTime"), Some("2019-08-24T14:15:22.123Z"));
    assert_eq!(
        leef.get("devTimeFormat"),
        Some("yyyy-MM-dd'T'HH:mm:ss.SSSX")
    );
    assert_eq!(leef.get("cat"), Some("logon"));
    assert_eq!(leef.get("sev"), Some("1"));
    assert_eq!(leef.get("eventId"), Some("42857"));
    assert_eq!(leef.get("ownKey"), None);
    assert_eq!(leef.get("outcome"), Some("success"));
    assert_eq!(leef.get("usrName"), Some("jane.doe@example.com"));
    assert_eq!(leef.get("userId"), Some("12345"));
    assert_eq!(leef.get("src"), Some("203.0.113.45"));
    assert_eq!(leef.get("channel"), Some("web app"));
    assert_eq!(leef.get("serviceId"), Some("300008"));
    assert_eq!(leef.get("parameters"), Some(r#"{"method":"sso"}"#));
    assert_eq!(leef.get("sourceName"), Some("prod-us"));
    assert_eq!(leef.get("region"), Some("app1"));
    assert_eq!(leef.get("forwarderHost"), Some("fw^1"));
    assert_eq!(leef.get("createdAtInvalid"), None);
    assert_eq!(leef.get("otherFields"), None);
}

#[test]
fn hostile_text_cannot_forge_an_attribute_a_header_field_or_a_line() {
    let hostile =
        "a=b\tsev=10^usrName=root\\x5E|y\r\nLEEF:2.0|Evil|x|1|id|^|src=1.2.3.4\u{0}\u{85}";
    for delimiter in ['\t', '^', '¦', ' '] {
        let line = encode_with(
            json!({
                "event_id": 1, "key": hostile, "user_email": hostile, "source": hostile,
                "parameters": {"k": hostile}, "x=y\tz": hostile
            }),
            delimiter,
        );
        let leef = parse(&line);
        assert_eq!(leef.header.len(), 4, "{line}");
        assert_eq!(
            leef.header[3],
            hostile.replace(|c: char| c.is_control(), " ")
        );
        assert_eq!(
            leef.keys(),
            [
                "devTime",
                "devTimeFormat",
                "cat",
                "sev",
                "eventId",
                "ownKey",
                "outcome",
                "usrName",
                "channel",
                "parameters",
                "sourceName",
                "region",
                "forwarderHost",
                "createdAtInvalid",
                "otherFields"
            ],
            "{line}"
        );
        assert_eq!(leef.get("ownKey"), Some(hostile));
        assert_eq!(leef.get("usrName"), Some(hostile));
        assert_eq!(leef.get("channel"), Some(hostile));
        assert_eq!(leef.get("forwarderHost"), Some("fw^1"));
        let parameters: Value = serde_json::from_str(leef.get("parameters").unwrap()).unwrap();
        assert_eq!(parameters, json!({"k": hostile}));
        let other: Value = serde_json::from_str(leef.get("otherFields").unwrap()).unwrap();
        assert_eq!(other, json!({"x=y\tz": hostile}));
    }
}

#[test]
fn the_delimiter_field_is_the_character_or_its_hex_code() {
    let field = |delimiter| {
        let mut out = Vec::new();
        write_delimiter_field(&mut out, delimiter);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(field('^'), "^");
    assert_eq!(field('\t'), "x09");
    assert_eq!(field(' '), "x20");
    assert_eq!(field('¦'), "xA6");
    assert_eq!(field('\u{1f}'), "x1F");
}

#[test]
fn a_delimiter_that_cannot_separate_attributes_falls_back_on_the_tab() {
    for delimiter in [
        '=', '|', '\\', 'a', '7', 'é', '\n', '\r', '-', ':', '.', '\'', '_',
    ] {
        let leef = parse(&encode_with(json!({"event_id": 1}), delimiter));
        assert_eq!(leef.delimiter, "x09");
        assert_eq!(leef.get("eventId"), Some("1"));
    }
}

#[test]
fn values_escape_backslash_controls_and_the_delimiter_reversibly() {
    let escaped = |value: &str, delimiter| {
        let mut out = Vec::new();
        escape_value(&mut out, value, delimiter);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(escaped("a\\b=c|d^e", '\t'), "a\\\\b=c|d^e");
    assert_eq!(
        escaped("a\tb\nc\rd\u{0}e\u{7f}", '^'),
        "a\\tb\\nc\\rd\\x00e\\x7F"
    );
    assert_eq!(escaped("a^b", '^'), "a\\x5Eb");
    assert_eq!(escaped("a¦b é", '¦'), "a\\xC2\\xA6b é");
    for value in ["x\\x5E", "\\\\n", "é\u{85}\u{2028}"] {
        assert_eq!(unescape(&escaped(value, '^')), value);
    }
}

#[test]
fn an_ipv6_address_is_a_source_and_an_unparseable_one_is_kept() {
    let leef = parse(&encode(json!({"event_id": 1, "ip_address": "2001:db8::7"})));
    assert_eq!(leef.get("src"), Some("2001:db8::7"));
    let leef = parse(&encode(json!({"event_id": 1, "ip_address": "not|an=ip\\"})));
    assert_eq!(leef.get("src"), None);
    assert_eq!(leef.get("ipAddress"), Some("not|an=ip\\"));
}

#[test]
fn an_empty_key_gets_a_placeholder_event_id() {
    for entry in [json!({"event_id": 3, "key": ""}), json!({"event_id": 3})] {
        let leef = parse(&encode(entry));
        assert_eq!(leef.header[3], "unknown");
        assert_eq!(leef.get("ownKey"), None);
        assert_eq!(leef.get("cat"), Some("other"));
    }
}

#[test]
fn a_long_key_is_cut_in_the_header_and_kept_whole() {
    let key = "é".repeat(300);
    let leef = parse(&encode(json!({"event_id": 3, "key": key})));
    assert_eq!(leef.header[3].chars().count(), 255);
    assert_eq!(leef.get("ownKey"), Some(key.as_str()));
}

#[test]
fn an_unreadable_time_is_flagged_and_kept() {
    let leef = parse(&encode(json!({"event_id": 3, "created_at": "soon"})));
    assert_eq!(leef.get("devTime"), Some("2026-01-02T03:04:05.678Z"));
    assert_eq!(leef.get("createdAtInvalid"), Some("true"));
    assert_eq!(leef.get("otherFields"), Some(r#"{"created_at":"soon"}"#));
}

#[test]
fn golden_files() {
    crate::event::fixtures::check_golden(Format::Leef { delimiter: '\t' }, "leef");
    crate::event::fixtures::check_golden(Format::Leef { delimiter: '^' }, "leef-caret");
}
