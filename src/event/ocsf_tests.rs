use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::*;
use crate::event::{Format, Origin};

fn encode_text(entry: &str) -> String {
    let raw = RawValue::from_string(entry.to_owned()).unwrap();
    let origin = std::sync::Arc::new(Origin {
        source: "prod-us".into(),
        region: "emea1".into(),
        host: "fw-1".into(),
        version: "9.9.9",
    });
    let event = Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).unwrap();
    let mut out = Vec::new();
    encode_ocsf(&event, &mut out);
    String::from_utf8(out).unwrap()
}

fn encode(entry: Value) -> Value {
    serde_json::from_str(&encode_text(&entry.to_string())).unwrap()
}

#[test]
fn golden_files() {
    crate::event::fixtures::check_golden(Format::Ocsf, "ocsf");
}

#[test]
fn a_login_is_an_authentication_logon_of_the_user() {
    let out = encode(json!({
        "event_id": 42, "created_at": "2019-08-24T14:15:22Z", "key": "user.login",
        "ip_address": "203.0.113.45", "user_email": "jane@example.com", "user_id": 12345,
        "source": "web app", "service_id": 300008
    }));
    assert_eq!(
        (out["class_uid"].clone(), out["category_uid"].clone()),
        (json!(3002), json!(3))
    );
    assert_eq!(out["activity_id"], 1);
    assert_eq!(out["type_uid"], 300201);
    assert_eq!(out["type_name"], "Authentication: Logon");
    assert_eq!(
        (out["status_id"].clone(), out["status"].clone()),
        (json!(1), json!("Success"))
    );
    assert_eq!(out["time"], 1_566_656_122_000_i64);
    assert_eq!(
        out["user"],
        json!({"name": "jane@example.com", "email_addr": "jane@example.com", "uid": "12345"})
    );
    assert_eq!(out["service"]["name"], "Own");
    assert_eq!(out["src_endpoint"], json!({"ip": "203.0.113.45"}));
    assert!(out.get("actor").is_none() && out.get("api").is_none());
    assert_eq!(out["metadata"]["uid"], "42");
    assert_eq!(out["metadata"]["version"], "1.3.0");
    assert_eq!(out["metadata"]["original_time"], "2019-08-24T14:15:22Z");
    assert_eq!(out["metadata"]["loggers"][0]["device"]["hostname"], "fw-1");
    assert_eq!(out["cloud"], json!({"provider": "Own", "region": "emea1"}));
    assert_eq!(
        out["unmapped"],
        json!({"source": "web app", "service_id": "300008", "own_audit_source": "prod-us"})
    );
}

#[test]
fn a_failed_login_fails_and_a_logout_is_a_logoff() {
    let failed = encode(json!({"event_id": 1, "key": "user.login_failed", "user_id": 5}));
    assert_eq!(
        (failed["status_id"].clone(), failed["severity_id"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(failed["user"], json!({"uid": "5"}));
    let logout = encode(json!({"event_id": 1, "key": "user.logout"}));
    assert_eq!(
        (logout["activity_id"].clone(), logout["type_uid"].clone()),
        (json!(2), json!(300202))
    );
    assert_eq!(logout["user"], json!({"name": "unknown"}));
    assert!(logout.get("src_endpoint").is_none());
}

#[test]
fn other_actions_are_api_activity_by_the_actor() {
    let created = encode(json!({"event_id": 1, "key": "user.created", "user_email": "a@b.co"}));
    assert_eq!(
        (created["class_uid"].clone(), created["activity_id"].clone()),
        (json!(6003), json!(1))
    );
    assert_eq!(created["actor"]["user"]["email_addr"], "a@b.co");
    assert_eq!(created["api"]["operation"], "user.created");
    assert_eq!(created["src_endpoint"], json!({"name": "unknown"}));
    assert!(created.get("user").is_none() && created.get("service").is_none());
    let revoked = encode(json!({"event_id": 1, "key": "api_token.revoked"}));
    assert_eq!(revoked["type_name"], "API Activity: Delete");
    let settings = encode(json!({"event_id": 1, "key": "security_settings.updated"}));
    assert_eq!(settings["activity_id"], 3);
}

#[test]
fn an_unknown_key_is_an_other_api_activity_named_after_it() {
    let out = encode(json!({"event_id": 1, "key": "widget.frobnicated"}));
    assert_eq!(
        (out["activity_id"].clone(), out["type_uid"].clone()),
        (json!(99), json!(600399))
    );
    assert_eq!(out["activity_name"], "widget.frobnicated");
    assert_eq!(
        (out["status_id"].clone(), out["severity_id"].clone()),
        (json!(0), json!(1))
    );
    let keyless = encode(json!({"event_id": 2}));
    assert_eq!(keyless["activity_name"], "Other");
    assert_eq!(keyless["api"]["operation"], "unknown");
    assert_eq!(keyless["actor"]["user"], json!({"name": "unknown"}));
    assert!(keyless.get("message").is_none());
}

#[test]
fn hostile_text_and_names_stay_inside_values() {
    let text = encode_text(
        r#"{"event_id":1,"key":"user.login\",\"class_uid\":1","user_email":"o'b\"x\"@ex.com\n",
        "class_uid":7,"unmapped":{"a":1},"own_audit_source":"theirs"}"#,
    );
    assert!(!text.contains('\n'));
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["class_uid"], 3002);
    assert_eq!(out["user"]["name"], "o'b\"x\"@ex.com\n");
    assert!(out["user"].get("email_addr").is_none());
    let unmapped = &out["unmapped"];
    assert_eq!(unmapped["own_audit_source"], "prod-us");
    assert_eq!(
        unmapped["fields"],
        json!({"class_uid": 7, "unmapped": {"a": 1}, "own_audit_source": "theirs"})
    );
}

#[test]
fn an_address_that_is_not_one_is_unmapped() {
    let auth = encode(json!({"event_id": 1, "key": "user.login", "ip_address": "1.2.3"}));
    assert!(auth.get("src_endpoint").is_none());
    assert_eq!(auth["unmapped"]["ip_address"], "1.2.3");
    let api = encode(json!({"event_id": 1, "ip_address": "proxy|x"}));
    assert_eq!(api["src_endpoint"], json!({"name": "unknown"}));
    assert_eq!(api["unmapped"]["ip_address"], "proxy|x");
}

#[test]
fn an_unreadable_time_is_flagged_and_kept() {
    let out = encode(json!({"event_id": 1, "created_at": "yesterday"}));
    assert_eq!(out["time"], 0);
    assert_eq!(out["metadata"]["original_time"], "yesterday");
    assert_eq!(out["unmapped"]["created_at_invalid"], true);
    let number = encode(json!({"event_id": 1, "created_at": 1566656122, "key": {"k": 1}}));
    assert_eq!(number["time"], 1_566_656_122_000_i64);
    assert!(number["metadata"].get("original_time").is_none());
    assert_eq!(number["unmapped"]["created_at"], 1566656122);
    assert_eq!(number["unmapped"]["fields"]["key"], json!({"k": 1}));
}

#[test]
fn overlong_values_are_cut_where_mapped_and_kept_whole_in_unmapped() {
    let key = "k".repeat(MAX_STRING) + "é";
    let out = encode(json!({"event_id": 1, "key": key, "user_email": "a@b.co"}));
    assert_eq!(
        out["api"]["operation"].as_str().map(str::len),
        Some(MAX_STRING)
    );
    assert_eq!(out["unmapped"]["key"], key.as_str());
    assert!(out["unmapped"].get("user_email").is_none());
    assert_eq!(out["actor"]["user"]["email_addr"], "a@b.co");
    assert_eq!(clip("é"), "é");

    let email = format!("{}@b.c{}", "a".repeat(65_000), "o".repeat(1000));
    let out = encode(json!({"event_id": 1, "key": "user.login", "user_email": email}));
    assert!(out["user"].get("email_addr").is_none());
    assert_eq!(out["user"]["name"].as_str().map(str::len), Some(MAX_STRING));
    assert_eq!(out["unmapped"]["user_email"], email.as_str());
}

#[test]
fn addresses_and_host_names_follow_ocsf_rules() {
    for good in ["jane.doe@example.com", "o'brien+x@a-b.example.co", "a@b.c"] {
        assert!(is_email(good), "{good}");
    }
    for bad in [
        "", "a@b", "@b.c", "a@.c", "a@b.", "a b@c.d", "ä@b.c", "a@b.c\n", "a@b@c.d",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
    assert!(is_hostname("siem-fw-1.example.com") && is_hostname("a"));
    for bad in ["", "-a", "a-", "a..b", "a_b", "a."] {
        assert!(!is_hostname(bad), "{bad}");
    }
}
