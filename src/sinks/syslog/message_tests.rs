use std::sync::Arc;

use serde_json::value::RawValue;

use super::*;
use crate::config::{Severity, SeverityRule, SinkConfig, load_str};
use crate::event::Origin;

fn config(extra: &str) -> SyslogSinkConfig {
    let toml = format!(
        "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\napi_token_env = \"T\"\n\
         [[sinks]]\ntype = \"syslog\"\nname = \"siem\"\naddress = \"logs\"\nhostname = \"fw-1\"\n\
         procid = \"42\"\n{extra}"
    );
    match load_str(&toml).unwrap().sinks.remove(0) {
        SinkConfig::Syslog(syslog) => *syslog,
        other => panic!("not syslog: {other:?}"),
    }
}

fn event(json: &str) -> Event {
    let origin = Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "fw-1".into(),
        version: "0.1.0",
    });
    let raw = RawValue::from_string(json.to_owned()).unwrap();
    Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).unwrap()
}

const LOGIN: &str = r#"{"event_id":42857,"created_at":"2019-08-24T14:15:22Z","ip_address":"203.0.113.45","key":"user.login","parameters":{},"service_id":null,"source":"web app","user_email":"jane.doe@example.com","user_id":12345}"#;

fn text(message: &Message) -> &str {
    std::str::from_utf8(&message.bytes).unwrap()
}

#[test]
fn an_event_becomes_one_rfc5424_message_with_its_key_fields() {
    let formatter = Formatter::new(&config(""), false).unwrap();
    let message = formatter.message(&event(LOGIN), b"{\"json\":true}");
    assert_eq!(
        text(&message),
        "<134>1 2019-08-24T14:15:22.000Z fw-1 own-audit-forwarder 42 user.login \
         [own_audit@32473 event_id=\"42857\" key=\"user.login\" user_email=\"jane.doe@example.com\" \
         user_id=\"12345\" ip_address=\"203.0.113.45\" source=\"web app\" source_name=\"prod-us\" \
         region=\"app1\"] {\"json\":true}"
    );
    assert!(!message.truncated);
}

#[test]
fn severity_rules_and_the_facility_set_the_priority() {
    let mut syslog = config("facility = \"authpriv\"\n");
    syslog.severity_rules = vec![SeverityRule {
        keys: vec!["user.login*".into()],
        severity: Severity::Warning,
    }];
    let formatter = Formatter::new(&syslog, false).unwrap();
    let message = formatter.message(&event(LOGIN), b"{}");
    assert!(text(&message).starts_with("<84>1 "), "{}", text(&message)); // 10 * 8 + 4
}

#[test]
fn hostile_fields_cannot_forge_a_header_a_parameter_or_a_line() {
    let hostile = r#"{"event_id":7,"created_at":"2019-08-24T14:15:22.123456Z","key":"export.requested\n|CEF:0|Evil|x|1|2|3|10|","user_email":"eve\r\n<13>Jan  1 00:00:00 forged\"] x=\"y\\@example.org","source":"é漢字😀"}"#;
    let formatter = Formatter::new(&config(""), false).unwrap();
    let message = formatter.message(&event(hostile), b"{}");
    let line = text(&message);
    assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
    assert!(
        line.starts_with("<134>1 2019-08-24T14:15:22.123456Z fw-1 own-audit-forwarder 42 export.requested_|CEF:0|Evil|x|1 "),
        "{line}"
    );
    assert!(
        line.contains(r#" key="export.requested\n|CEF:0|Evil|x|1|2|3|10|" "#),
        "{line}"
    );
    assert!(
        line.contains(
            r#" user_email="eve\r\n<13>Jan  1 00:00:00 forged\"\] x=\"y\\@example.org" "#
        ),
        "{line}"
    );
    assert!(line.contains(r#" source="é漢字😀" "#), "{line}");
}

#[test]
fn an_oversized_body_is_cut_at_a_character_boundary_with_a_marker() {
    let formatter = Formatter::new(&config("max_message_bytes = 1024\n"), false).unwrap();
    let body = "é".repeat(5000);
    let message = formatter.message(&event(LOGIN), body.as_bytes());
    let line = text(&message);
    assert!(message.truncated);
    assert!(
        message.bytes.len() <= 1024 && message.bytes.len() >= 1020,
        "{}",
        line.len()
    );
    assert!(line.ends_with("é...[truncated from 10000 bytes]"), "{line}");
    assert!(line.contains("[own_audit@32473 event_id=\"42857\" key=\"user.login\""));
}

#[test]
fn structured_data_too_large_for_the_limit_is_cut_to_the_event_id() {
    let huge = format!(
        r#"{{"event_id":9,"created_at":"2019-08-24T14:15:22Z","key":"k","user_email":"{}"}}"#,
        "x".repeat(3000)
    );
    let formatter = Formatter::new(&config("max_message_bytes = 1024\n"), false).unwrap();
    let message = formatter.message(&event(&huge), b"{\"event_id\":9}");
    let line = text(&message);
    assert!(message.truncated);
    assert!(message.bytes.len() <= 1024);
    assert!(
        line.contains(
            " k [own_audit@32473 event_id=\"9\"] {\"event_id\":9}...[truncated from 14 bytes]"
        ),
        "{line}"
    );
}

#[test]
fn rfc3164_has_the_bsd_header_and_no_structured_data() {
    let formatter = Formatter::new(&config("standard = \"rfc3164\"\n"), false).unwrap();
    let early = LOGIN.replace("2019-08-24", "2019-08-04");
    let message = formatter.message(&event(&early), b"{}");
    assert_eq!(
        text(&message),
        "<134>Aug  4 14:15:22 fw-1 own-audit-forwarder[42]: {}"
    );
}

#[test]
fn newline_framing_escapes_control_characters_in_the_body() {
    let formatter = Formatter::new(&config("framing = \"newline\"\n"), true).unwrap();
    let message = formatter.message(&event(LOGIN), b"line one\nline two");
    assert!(text(&message).ends_with(r"] line one\nline two"));
}

#[test]
fn an_empty_key_is_the_nil_msgid_and_is_left_out_of_the_parameters() {
    let formatter = Formatter::new(&config(""), false).unwrap();
    let message = formatter.message(
        &event(r#"{"event_id":1,"created_at":"2019-08-24T14:15:22Z"}"#),
        b"{}",
    );
    assert!(
        text(&message).ends_with(
            " 42 - [own_audit@32473 event_id=\"1\" source_name=\"prod-us\" region=\"app1\"] {}"
        ),
        "{}",
        text(&message)
    );
}
