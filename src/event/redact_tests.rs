use super::*;
use serde_json::json;

const KEY: &str = "0123456789abcdef-test-key";

fn redactor(drop: &[&str], hash: &[&str]) -> Redactor {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Redactor::new(&own(drop), &own(hash), Some(&Secret::new(KEY))).unwrap()
}

fn run(r: &Redactor, entry: Value) -> Value {
    let raw = RawValue::from_string(entry.to_string()).unwrap();
    serde_json::from_str(r.redact(raw).get()).unwrap()
}

fn token(text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn fields_are_dropped_or_replaced_by_a_stable_keyed_hash() {
    let r = redactor(
        &["ip_address", "parameters.user_agent"],
        &["user_email", "user_id"],
    );
    let entry = json!({"event_id": 1, "key": "user.login", "ip_address": "203.0.113.9",
        "user_email": "jane@example.com", "user_id": 12345,
        "parameters": {"user_agent": "Mozilla", "method": "sso"}});
    let out = run(&r, entry.clone());
    assert!(out.get("ip_address").is_none());
    assert_eq!(out["parameters"], json!({"method": "sso"}));
    assert_eq!(out["user_email"], token("jane@example.com"));
    assert_eq!(out["user_id"], token("12345"));
    assert_eq!(out["event_id"], 1);
    assert_eq!(out["key"], "user.login");
    // The same value gives the same token, event after event.
    assert_eq!(run(&r, entry)["user_email"], out["user_email"]);
    assert!(!out.to_string().contains("jane"));
}

#[test]
fn a_different_key_gives_a_different_token() {
    let other = Redactor::new(
        &[],
        &["user_email".into()],
        Some(&Secret::new("another-key-16bytes")),
    )
    .unwrap();
    let entry = json!({"event_id": 1, "user_email": "jane@example.com"});
    assert_ne!(run(&other, entry)["user_email"], token("jane@example.com"));
}

#[test]
fn wildcards_and_arrays_reach_nested_values() {
    let r = redactor(&["parameters.*.password"], &["parameters.users.email"]);
    let out = run(
        &r,
        json!({"event_id": 1, "parameters": {
        "a": {"password": "p1", "x": 1}, "b": {"password": "p2"},
        "users": [{"email": "a@x"}, {"email": "b@x"}, {"name": "c"}]}}),
    );
    assert_eq!(out["parameters"]["a"], json!({"x": 1}));
    assert_eq!(out["parameters"]["b"], json!({}));
    assert_eq!(out["parameters"]["users"][0]["email"], token("a@x"));
    assert_eq!(out["parameters"]["users"][1]["email"], token("b@x"));
    assert_eq!(out["parameters"]["users"][2], json!({"name": "c"}));
}

#[test]
fn entries_without_the_fields_are_kept_byte_for_byte() {
    let r = redactor(&["ip_address"], &["user_email"]);
    let text = r#"{"event_id": 1,  "created_at": "2019-08-24T14:15:22Z", "user_email": null}"#;
    let raw = RawValue::from_string(text.to_owned()).unwrap();
    assert_eq!(r.redact(raw).get(), text);
    let raw = RawValue::from_string("[1, 2]".to_owned()).unwrap();
    assert_eq!(r.redact(raw).get(), "[1, 2]");
}

#[test]
fn bad_paths_missing_and_short_keys_are_refused() {
    let key = Secret::new(KEY);
    for bad in ["", "a..b", "event_id", "key", "created_at.x", "*", "*.x"] {
        let err = Redactor::new(&[bad.to_owned()], &[], Some(&key)).err();
        assert!(matches!(err, Some(RedactError::Path { .. })), "{bad:?}");
    }
    let err = Redactor::new(&[], &["user_email".into()], None).err();
    assert_eq!(err, Some(RedactError::NoKey));
    let err = Redactor::new(&[], &["user_email".into()], Some(&Secret::new("short"))).err();
    assert_eq!(err, Some(RedactError::ShortKey(5)));
    assert!(Redactor::new(&["ip_address".into()], &[], None).is_ok());
}

#[test]
fn the_order_of_the_remaining_fields_is_kept() {
    let r = redactor(&["ip_address", "parameters.a"], &[]);
    let text =
        r#"{"event_id":1,"ip_address":"x","key":"k","parameters":{"a":1,"b":2,"c":3},"z":0}"#;
    let raw = RawValue::from_string(text.to_owned()).unwrap();
    assert_eq!(
        r.redact(raw).get(),
        r#"{"event_id":1,"key":"k","parameters":{"b":2,"c":3},"z":0}"#
    );
}
