use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::*;
use crate::event::{Format, Origin};

fn encode_text(entry: &str) -> String {
    let raw = RawValue::from_string(entry.to_owned()).unwrap();
    let origin = std::sync::Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "fw-1".into(),
        version: "9.9.9",
    });
    let event = Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).unwrap();
    let mut out = Vec::new();
    encode_ecs(&event, &mut out);
    String::from_utf8(out).unwrap()
}

fn encode(entry: Value) -> Value {
    serde_json::from_str(&encode_text(&entry.to_string())).unwrap()
}

#[test]
fn golden_files() {
    crate::event::fixtures::check_golden(Format::Ecs, "ecs");
}

#[test]
fn a_login_is_an_authentication_start() {
    let out = encode(json!({
        "event_id": 42, "created_at": "2019-08-24T14:15:22Z", "key": "user.login",
        "ip_address": "203.0.113.45", "user_email": "jane@example.com", "user_id": 12345,
        "source": "web app", "service_id": 300008
    }));
    assert_eq!(out["@timestamp"], "2019-08-24T14:15:22.000Z");
    assert_eq!(out["ecs"]["version"], "8.11.0");
    let event = &out["event"];
    assert_eq!(event["kind"], "event");
    assert_eq!(event["category"], json!(["authentication"]));
    assert_eq!(event["type"], json!(["start"]));
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["action"], "user.login");
    assert_eq!(event["id"], "42");
    assert_eq!(event["severity"], 1);
    assert_eq!(
        out["user"],
        json!({"email": "jane@example.com", "name": "jane@example.com", "id": "12345"})
    );
    assert_eq!(out["source"]["ip"], "203.0.113.45");
    assert_eq!(
        out["agent"],
        json!({"type": "own-audit-forwarder", "name": "fw-1", "version": "9.9.9"})
    );
    assert_eq!(
        out["labels"],
        json!({"own_audit_source": "prod-us", "own_region": "app1"})
    );
    assert_eq!(
        out["own"],
        json!({"source": "web app", "service_id": "300008"})
    );
    assert!(out.get("host").is_none());
}

#[test]
fn a_failed_login_fails_and_other_actions_find_their_category() {
    let failed = encode(json!({"event_id": 1, "key": "user.login_failed"}));
    assert_eq!(failed["event"]["outcome"], "failure");
    assert_eq!(failed["event"]["category"], json!(["authentication"]));
    let logout = encode(json!({"event_id": 1, "key": "user.logout"}));
    assert_eq!(logout["event"]["type"], json!(["end"]));
    let created = encode(json!({"event_id": 1, "key": "user.created"}));
    assert_eq!(created["event"]["category"], json!(["iam"]));
    assert_eq!(created["event"]["type"], json!(["user", "creation"]));
    let settings = encode(json!({"event_id": 1, "key": "security_settings.updated"}));
    assert_eq!(settings["event"]["category"], json!(["configuration"]));
    let download = encode(json!({"event_id": 1, "key": "export.downloaded"}));
    assert_eq!(download["event"]["type"], json!(["access"]));
    assert_eq!(download["event"]["severity"], 8);
}

#[test]
fn an_unknown_key_gets_a_safe_reading() {
    let out = encode(json!({"event_id": 3, "key": "widget.frobnicated"}));
    assert_eq!(out["event"]["category"], json!(["api"]));
    assert_eq!(out["event"]["type"], json!(["info"]));
    assert_eq!(out["event"]["outcome"], "unknown");
    assert_eq!(out["message"], "widget.frobnicated");
    let keyless = encode(json!({"event_id": 4, "created_at": "2019-08-24T14:15:22Z"}));
    assert!(keyless["event"].get("action").is_none());
    assert!(keyless.get("message").is_none() && keyless.get("user").is_none());
    assert!(keyless.get("own").is_none());
}

#[test]
fn hostile_text_and_names_stay_inside_values() {
    let text = encode_text(
        r#"{"event_id":1,"key":"a\",\"x\":\"y","user_email":"e\"}\n","event.kind":"alert",
        "agent":{"name":"forged"},"created_at_original":"mine"}"#,
    );
    assert!(!text.contains('\n'));
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["event"]["action"], "a\",\"x\":\"y");
    assert_eq!(out["event"]["kind"], "event");
    assert_eq!(out["user"]["email"], "e\"}\n");
    assert_eq!(out["agent"]["name"], "fw-1");
    let fields = &out["own"]["fields"];
    assert_eq!(fields["event.kind"], "alert");
    assert_eq!(fields["agent"], json!({"name": "forged"}));
    assert_eq!(fields["created_at_original"], "mine");
    let roots: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        roots,
        [
            "@timestamp",
            "ecs",
            "message",
            "event",
            "user",
            "related",
            "observer",
            "agent",
            "labels",
            "own"
        ]
    );
}

#[test]
fn a_key_that_is_not_a_string_is_kept() {
    let out = encode(json!({"event_id": 1, "key": ["a", 1]}));
    assert!(out["event"].get("action").is_none());
    assert_eq!(out["own"]["fields"]["key"], json!(["a", 1]));
    let plain = encode(json!({"event_id": 1, "key": ""}));
    assert!(plain["own"].get("fields").is_none());
}

#[test]
fn an_address_that_is_not_one_is_kept_under_own() {
    let out = encode(json!({"event_id": 1, "ip_address": "10.0.0.300, proxy"}));
    assert!(out.get("source").is_none() && out.get("related").is_none());
    assert_eq!(out["own"]["ip_address"], "10.0.0.300, proxy");
    let v6 = encode(json!({"event_id": 1, "ip_address": "2001:db8::7"}));
    assert_eq!(v6["source"]["ip"], "2001:db8::7");
    assert_eq!(v6["related"]["ip"], json!(["2001:db8::7"]));
}

#[test]
fn an_unreadable_time_is_flagged_and_kept() {
    let out = encode(json!({"event_id": 1, "created_at": {"when": "soon"}}));
    assert_eq!(out["@timestamp"], "1970-01-01T00:00:00.000Z");
    assert_eq!(out["own"]["created_at_invalid"], true);
    assert_eq!(out["own"]["created_at_original"], json!({"when": "soon"}));
    let offset = encode(json!({"event_id": 1, "created_at": "2018-04-09T12:30:42+02:00"}));
    assert_eq!(offset["@timestamp"], "2018-04-09T10:30:42.000Z");
    assert_eq!(
        offset["own"]["created_at_original"],
        "2018-04-09T12:30:42+02:00"
    );
    assert!(offset["own"].get("created_at_invalid").is_none());
}

#[test]
fn raw_values_lose_only_their_line_breaks() {
    let text = encode_text(
        "{\"event_id\":1,\"parameters\":{\n \"a\": [1, 2.50]\r\n},\"t\": {\"b\": null}}",
    );
    assert!(!text.contains(['\n', '\r']));
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["own"]["parameters"], json!({"a": [1, 2.5]}));
    assert!(text.contains(r#""fields":{"t":{"b": null}}"#), "{text}");
}
