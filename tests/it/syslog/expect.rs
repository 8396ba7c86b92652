//! What the tests expect of a message, and how they read the daemon's metrics.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::rsyslog::{Input, Received, Rsyslog};
use crate::harness::*;

/// The sink's table, with the transport, framing and TLS files `rsyslog` expects.
pub fn sink_toml(rsyslog: &Rsyslog, extra: &str) -> String {
    let transport = match rsyslog.input {
        Input::Udp => "udp",
        Input::Tcp | Input::TcpNewline => "tcp",
        Input::Tls => "tls",
    };
    let mut toml = format!(
        "[[sinks]]\ntype = \"syslog\"\nname = \"siem\"\naddress = \"{}\"\n\
         transport = \"{transport}\"\nhostname = \"it-host\"\nmax_backoff = \"1s\"\n\
         severity_rules = [{{ keys = [\"user.login_failed\", \"api_token.revoked\"], \
         severity = \"warning\" }}]\n{extra}",
        rsyslog.address()
    );
    if rsyslog.input == Input::TcpNewline {
        toml.push_str("framing = \"newline\"\n");
    }
    if let Some(pki) = &rsyslog.pki {
        toml.push_str(&format!(
            "[sinks.tls]\nca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key.display()
        ));
    }
    toml
}

/// A header field as the sink cleans it: printable ASCII, `_` for the rest.
pub fn header_field(value: &str, max: usize) -> String {
    let cleaned: String = value
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if cleaned.is_empty() {
        "-".into()
    } else {
        cleaned
    }
}

/// A parameter value as an RFC 5424 reader sees it: exact, but for control characters,
/// which the sink writes as `\n`, `\r`, `\t` or `\u00XX`.
pub fn param_value(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

/// The canonical events, as the file sink wrote them, by id.
pub fn canonical(setup: &Setup) -> HashMap<u64, Value> {
    setup
        .events()
        .into_iter()
        .map(|e| (e["event_id"].as_u64().expect("an id"), e))
        .collect()
}

/// Asserts what rsyslog parsed from one message against the event it carries.
pub fn assert_parsed(message: &Received, event: &Value, daemon_pid: u32) {
    let raw = message.get("raw");
    assert_eq!(message.get("version"), "1", "not parsed as RFC 5424: {raw}");
    let sd = message.sd();
    let params = &sd["own_audit@32473"];
    assert!(params.is_object(), "mmpstrucdata found no SD in: {raw}");
    assert_eq!(
        message.body().as_ref(),
        Some(event),
        "MSG differs from the event: {raw}"
    );

    let key = event["key"].as_str().unwrap_or_default();
    assert_eq!(message.get("msgid"), header_field(key, 32), "{raw}");
    assert_eq!(
        params["key"].as_str(),
        Some(param_value(key).as_str()),
        "{raw}"
    );
    for name in ["user_email", "ip_address", "source"] {
        if let Some(value) = event[name].as_str() {
            assert_eq!(
                params[name].as_str(),
                Some(param_value(value).as_str()),
                "{raw}"
            );
        }
    }
    if let Some(user_id) = event["user_id"].as_u64() {
        assert_eq!(
            params["user_id"].as_str(),
            Some(user_id.to_string().as_str())
        );
    }
    assert_eq!(params["source_name"], "sim");
    assert_eq!(params["region"], "custom");

    assert_eq!(message.get("hostname"), "it-host");
    assert_eq!(message.get("app_name"), "own-audit-forwarder");
    assert_eq!(message.get("procid"), daemon_pid.to_string());
    assert_eq!(message.get("facility"), "16", "local0");
    let warning = matches!(key, "user.login_failed" | "api_token.revoked");
    assert_eq!(
        message.get("severity"),
        if warning { "4" } else { "6" },
        "{raw}"
    );
    let sent: jiff::Timestamp = event["created_at"].as_str().unwrap().parse().unwrap();
    let stamped: jiff::Timestamp = message.get("timestamp").parse().expect("a timestamp");
    assert_eq!(stamped, sent, "{raw}");
}

/// Event ids rsyslog holds, waiting until it holds every one of `expected` (or giving up
/// after the harness's patience, for the assertion to say what is missing).
pub fn held_ids(rsyslog: &Rsyslog, expected: &[u64]) -> HashSet<u64> {
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut parsed = 0;
    loop {
        let count = rsyslog.count();
        if count > parsed {
            parsed = count;
            let held: HashSet<u64> = rsyslog.received().iter().filter_map(Received::id).collect();
            if expected.iter().all(|id| held.contains(id)) {
                return held;
            }
        }
        if std::time::Instant::now() > deadline {
            return rsyslog.received().iter().filter_map(Received::id).collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

pub fn metric(daemon: &Daemon, line_start: &str) -> f64 {
    let text = http_text(&format!("http://{}/metrics", daemon.telemetry()));
    text.lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
}
