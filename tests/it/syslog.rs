//! The syslog sink against a real rsyslog on 127.0.0.1: UDP, TCP with octet counting,
//! TCP with newline framing, and TLS with a client certificate.
//!
//! Every check of a message's form goes through rsyslog's own parsers: its RFC 5424
//! parser for the header and `mmpstrucdata` for the structured data.

mod expect;
mod rsyslog;

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

use crate::harness::*;
use expect::*;
use rsyslog::{Input, Rsyslog};

/// Runs a backfill through rsyslog and checks every message it parsed.
fn backfill(input: Input, events: u64) {
    let rsyslog = Rsyslog::start(input);
    let sim = Sim::start(&["--events", &events.to_string()]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, "");
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let expected = sim.all_ids();
    let received = rsyslog.wait_for_messages(expected.len());
    let mut ids: Vec<u64> = received
        .iter()
        .map(|m| m.id().expect("an event id"))
        .collect();
    if input == Input::Udp {
        ids.sort_unstable();
    }
    assert_exactly_once_in_order(&ids, &expected);
    let events = canonical(&setup);
    for message in &received {
        assert_parsed(message, &events[&message.id().unwrap()], daemon.pid());
    }
    assert_eq!(daemon.stop().code(), Some(0));
}

#[test]
fn a_backfill_over_tcp_arrives_complete_and_rsyslog_parses_every_message() {
    backfill(Input::Tcp, 2500);
}

#[test]
fn a_backfill_over_tcp_with_newline_framing_arrives_complete_and_parses() {
    backfill(Input::TcpNewline, 2500);
}

#[test]
fn a_backfill_over_tls_with_a_client_certificate_arrives_complete_and_parses() {
    backfill(Input::Tls, 2500);
}

#[test]
fn a_backfill_over_udp_arrives_complete_and_parses() {
    backfill(Input::Udp, 1500);
}

/// RFC 3164, through rsyslog's parser for the BSD format.
#[test]
fn rfc3164_messages_carry_the_header_fields_and_the_event() {
    let rsyslog = Rsyslog::start(Input::TcpNewline);
    let sim = Sim::start(&["--events", "300"]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, "standard = \"rfc3164\"\n");
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let received = rsyslog.wait_for_messages(300);
    let events = canonical(&setup);
    let mut ids = Vec::new();
    for message in &received {
        let raw = message.get("raw");
        let body = message
            .body()
            .unwrap_or_else(|| panic!("MSG is not the event: {raw}"));
        let id = body["event_id"].as_u64().expect("an event id");
        assert_eq!(body, events[&id], "{raw}");
        assert_eq!(message.get("hostname"), "it-host", "{raw}");
        assert_eq!(message.get("app_name"), "own-audit-forwarder", "{raw}");
        assert_eq!(message.get("procid"), daemon.pid().to_string(), "{raw}");
        assert_eq!(
            message.get("sd"),
            "",
            "RFC 3164 has no structured data: {raw}"
        );
        let warning = matches!(
            body["key"].as_str(),
            Some("user.login_failed" | "api_token.revoked")
        );
        assert_eq!(
            message.get("severity"),
            if warning { "4" } else { "6" },
            "{raw}"
        );
        ids.push(id);
    }
    assert_exactly_once_in_order(&ids, &sim.all_ids());
}

/// Events with newlines, `]`, quotes, backslashes, control characters and non-ASCII text
/// in their key, email and parameters.
fn hostile(input: Input) {
    let rsyslog = Rsyslog::start(input);
    let sim = Sim::start(&["--events", "600", "--hostile-every", "3"]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, "");
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let expected = sim.all_ids();
    let received = rsyslog.wait_for_messages(expected.len());
    let mut ids: Vec<u64> = received
        .iter()
        .map(|m| m.id().expect("an event id"))
        .collect();
    ids.sort_unstable();
    assert_exactly_once_in_order(&ids, &expected);
    let events = canonical(&setup);
    let mut hostile = 0;
    for message in &received {
        let event = &events[&message.id().unwrap()];
        hostile += usize::from(event["key"].as_str().is_some_and(|k| k.contains('|')));
        assert_parsed(message, event, daemon.pid());
    }
    assert_eq!(hostile, 200, "the simulator sent every third event hostile");
}

#[test]
fn hostile_fields_arrive_as_one_message_each_intact_with_newline_framing() {
    hostile(Input::TcpNewline);
}

#[test]
fn hostile_fields_arrive_as_one_message_each_intact_over_udp() {
    hostile(Input::Udp);
}

fn restart_mid_stream(input: Input) {
    let mut rsyslog = Rsyslog::start(input);
    // Pages come slowly enough that both restarts fall in the middle of the backfill.
    let sim = Sim::start(&["--events", "20000", "--latency", "500ms"]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, "");
    let daemon = setup.start(&sim);
    for received in [3000, 9000] {
        rsyslog.wait_for_count(received);
        let checkpoint = setup.checkpoint().unwrap_or(0);
        assert!(
            checkpoint < sim.last_event_id(),
            "the backfill ended before the restart"
        );
        rsyslog.restart();
    }
    wait_for_checkpoint(&setup, sim.last_event_id());

    let expected = sim.all_ids();
    let held = held_ids(&rsyslog, &expected);
    let lost: Vec<&u64> = expected.iter().filter(|id| !held.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} events were lost, first {:?}",
        lost.len(),
        lost.first()
    );
    let reconnects = metric(&daemon, "own_audit_sink_reconnects_total{sink=\"siem\"}");
    assert!(
        reconnects >= 2.0,
        "{reconnects} reconnects for two restarts"
    );
    let resent = metric(
        &daemon,
        "own_audit_sink_messages_resent_total{sink=\"siem\"}",
    );
    assert!(resent > 0.0, "nothing was sent again after the reconnects");
    eprintln!(
        "{input:?}: {} messages for {} events, {resent} sent again after {reconnects} reconnects",
        rsyslog.count(),
        expected.len()
    );
    assert_eq!(daemon.stop().code(), Some(0));
}

#[test]
fn rsyslog_restarted_mid_stream_loses_no_event_over_tcp() {
    restart_mid_stream(Input::Tcp);
}

#[test]
fn rsyslog_restarted_mid_stream_loses_no_event_over_tls() {
    restart_mid_stream(Input::Tls);
}

/// Oversized events (256 KiB of parameters) against the given limit.
fn oversized(input: Input, limit: usize) {
    let rsyslog = Rsyslog::start(input);
    let sim = Sim::start(&["--events", "1500", "--oversized-every", "500"]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, &format!("max_message_bytes = {limit}\n"));
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let received = rsyslog.wait_for_messages(1500);
    let lines = std::fs::read_to_string(setup.output()).unwrap();
    let lines: HashMap<u64, &str> = lines
        .lines()
        .map(|l| {
            (
                serde_json::from_str::<Value>(l).unwrap()["event_id"]
                    .as_u64()
                    .unwrap(),
                l,
            )
        })
        .collect();
    let mut truncated = 0;
    for message in &received {
        let raw = message.get("raw");
        assert!(
            raw.len() <= limit,
            "a message of {} bytes, over {limit}",
            raw.len()
        );
        let line = lines[&message.id().expect("an event id")];
        let msg = message.get("msg");
        if msg == line {
            continue;
        }
        truncated += 1;
        let marker = format!("...[truncated from {} bytes]", line.len());
        let kept = msg
            .strip_suffix(&marker)
            .unwrap_or_else(|| panic!("no marker: {msg:.200}"));
        assert!(
            line.starts_with(kept),
            "the kept part differs from the event"
        );
        assert!(kept.len() > limit / 2, "only {} bytes kept", kept.len());
        assert_eq!(
            message.sd()["own_audit@32473"]["key"].as_str(),
            Some(line_key(line).as_str())
        );
    }
    assert_eq!(truncated, 3, "events 500, 1000 and 1500 are oversized");
    let counted = metric(
        &daemon,
        "own_audit_sink_messages_truncated_total{sink=\"siem\"}",
    );
    assert_eq!(counted, 3.0);
}

fn line_key(line: &str) -> String {
    let event: Value = serde_json::from_str(line).unwrap();
    param_value(event["key"].as_str().unwrap_or_default())
}

#[test]
fn an_oversized_event_is_cut_at_the_limit_with_a_marker_and_counted_over_tcp() {
    oversized(Input::Tcp, 8192);
}

#[test]
fn an_oversized_event_never_makes_a_datagram_over_2048_bytes() {
    oversized(Input::Udp, 2048);
}

/// `check` connects with TLS and verifies the certificate's name unless told not to.
#[test]
fn check_reports_a_certificate_for_another_name_and_accepts_it_when_told_to() {
    let rsyslog = Rsyslog::start(Input::Tls);
    let sim = Sim::start(&[]);
    let run_check = |tls_extra: &str| {
        let mut setup = Setup::new();
        setup.extra_sink = format!("{}{tls_extra}", sink_toml(&rsyslog, ""));
        let config = setup.write_config(&sim);
        let output = Command::new(binary())
            .args(["check", "--config"])
            .arg(&config)
            .output()
            .expect("run check");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };

    let (code, said) = run_check("server_name = \"logs.example.net\"\n");
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("FAIL  reachable: TLS handshake with 127.0.0.1:"),
        "{said}"
    );
    assert!(said.contains("not valid for name"), "{said}");

    let (code, said) = run_check("server_name = \"logs.example.net\"\nverify_hostname = false\n");
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run_check("");
    assert_eq!(code, Some(0), "{said}");
}

/// CEF over syslog, as ArcSight takes it: rsyslog receives each event once, its MSG is
/// the CEF line, and the independent CEF checker accepts every line rsyslog stored.
#[test]
fn cef_over_syslog_reaches_rsyslog_as_one_valid_cef_line_per_event() {
    let rsyslog = Rsyslog::start(Input::Tcp);
    let sim = Sim::start(&["--events", "400", "--hostile-every", "9"]);
    let mut setup = Setup::new();
    setup.extra_sink = sink_toml(&rsyslog, "format = \"cef\"\n");
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let received = rsyslog.wait_for_messages(400);
    let mut ids = Vec::new();
    let mut lines = String::new();
    for message in &received {
        let msg = message.get("msg").trim_start();
        assert!(msg.starts_with("CEF:0|Own|Own Audit Log|"), "{msg}");
        let id = msg
            .split(" externalId=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no externalId in {msg}"));
        assert_eq!(
            message.id(),
            Some(id),
            "the structured data and the CEF disagree"
        );
        ids.push(id);
        lines.push_str(msg);
        lines.push('\n');
    }
    assert_exactly_once_in_order(&ids, &sim.all_ids());
    let file = setup.path("received.cef");
    std::fs::write(&file, lines).unwrap();
    crate::formats::check("cef", &[], &[file]);
}
