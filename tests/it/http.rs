//! The HTTP sink against a real HTTP server on 127.0.0.1 that records every request and
//! answers as each test orders.

mod certs;
mod receiver;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use self::receiver::{Fault, Receiver, event_id};
use crate::harness::*;

/// An HTTP sink table for the harness's configuration; `extra` goes after the plain
/// fields, so it may open sub-tables.
fn hook(url: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"http\"\nname = \"hook\"\nurl = \"{url}\"\nmax_backoff = \"1s\"\n\
         request_timeout = \"2s\"\n{extra}\n"
    )
}

/// Starts the simulator, the receiver and the daemon with `sink`, and waits until every
/// event is checkpointed.
fn deliver_all(sim: &Sim, sink: String) -> (Setup, Daemon) {
    let mut setup = Setup::new();
    setup.extra_sink = sink;
    let daemon = setup.start(sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    (setup, daemon)
}

fn dead_letters(setup: &Setup) -> Vec<Value> {
    read_ndjson(&setup.path("state/dead-letter.ndjson"))
}

#[test]
fn each_event_arrives_exactly_once_across_503s_429s_and_a_stall() {
    let sim = Sim::start(&["--events", "2500"]);
    let receiver = Receiver::start();
    receiver.fail_next(&[
        Fault::Status(503),
        Fault::Status(503),
        Fault::RetryAfter(2),
        Fault::Stall(Duration::from_secs(4)),
        Fault::Status(500),
        Fault::Status(408),
    ]);
    let sink = hook(
        &format!("{}/in", receiver.url("http")),
        "[sinks.batch]\nmax_events = 200",
    );
    let (_setup, daemon) = deliver_all(&sim, sink);

    assert_exactly_once_in_order(&receiver.accepted(), &sim.all_ids());
    let requests = receiver.requests();
    let slowed = requests
        .iter()
        .position(|r| r.status == 429)
        .expect("a 429");
    let waited = requests[slowed + 1].at - requests[slowed].at;
    assert!(
        waited >= Duration::from_millis(1950),
        "Retry-After ignored: {waited:?}"
    );
    let metrics = http_text(&format!("http://{}/metrics", daemon.telemetry()));
    for series in [
        "own_audit_http_sink_requests_total{sink=\"hook\",status=\"5xx\"}",
        "own_audit_http_sink_retries_total{sink=\"hook\",reason=\"timeout\"}",
        "own_audit_http_sink_request_duration_seconds_count{sink=\"hook\"}",
    ] {
        assert!(
            metrics.contains(series),
            "{series} missing from:\n{metrics}"
        );
    }
}

#[test]
fn a_poison_event_is_isolated_by_splitting_and_only_it_is_dead_lettered() {
    let sim = Sim::start(&["--events", "2200"]);
    let ids = sim.all_ids();
    let receiver = Receiver::start();
    receiver.poison(ids[700], 400);
    receiver.poison(ids[1500], 413);
    let sink = hook(
        &format!("{}/in", receiver.url("http")),
        "[sinks.batch]\nmax_events = 500",
    );
    let (setup, _daemon) = deliver_all(&sim, sink);

    let others: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|id| *id != ids[700] && *id != ids[1500])
        .collect();
    assert_exactly_once_in_order(&receiver.accepted(), &others);
    let letters = dead_letters(&setup);
    let refused: Vec<(u64, &str)> = letters
        .iter()
        .map(|l| {
            (
                l["event"]["event_id"].as_u64().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [(ids[700], "bad_request"), (ids[1500], "too_large")]
    );
    assert!(letters.iter().all(|l| l["sink"] == "hook"), "{letters:?}");
    // The file sink beside it got everything.
    assert_exactly_once_in_order(&setup.output_ids(), &ids);
}

#[test]
fn gzip_bodies_decode_and_say_so_in_content_encoding() {
    let sim = Sim::start(&["--events", "1500"]);
    let receiver = Receiver::start();
    let sink = hook(
        &format!("{}/in", receiver.url("http")),
        "compression = \"gzip\"\nencoding = \"ndjson\"",
    );
    let _running = deliver_all(&sim, sink);

    let requests = receiver.requests();
    for request in &requests {
        assert_eq!(request.header("content-encoding"), "gzip");
        assert_eq!(request.header("content-type"), "application/x-ndjson");
        assert_eq!(request.raw[..2], [0x1f, 0x8b], "not a gzip stream");
        assert!(!request.values.is_empty(), "a body that did not decode");
    }
    assert_exactly_once_in_order(&receiver.accepted(), &sim.all_ids());
}

#[test]
fn the_hmac_signature_verifies_with_an_independent_implementation() {
    let sim = Sim::start(&["--events", "1200"]);
    let receiver = Receiver::start();
    let setup_dir = tempfile::tempdir().unwrap();
    let key_file = setup_dir.path().join("signing-key");
    std::fs::write(&key_file, "s3cret-signing-key\n").unwrap();
    let sink = hook(
        &format!("{}/in", receiver.url("http")),
        &format!(
            "compression = \"gzip\"\n[sinks.signing]\nkey_file = \"{}\"",
            key_file.display()
        ),
    );
    let (_setup, daemon) = deliver_all(&sim, sink);

    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"s3cret-signing-key");
    let now = jiff::Timestamp::now().as_second();
    for request in receiver.requests() {
        let timestamp = request.header("x-own-audit-timestamp");
        let sent: i64 = timestamp.parse().expect("a Unix time");
        assert!((now - sent).abs() < 600, "timestamp {sent} is not fresh");
        let signature = request.header("x-own-audit-signature");
        let mac = hex::decode(signature.strip_prefix("sha256=").expect("sha256=")).unwrap();
        let signed = [timestamp.as_bytes(), b".", &request.raw].concat();
        assert!(
            aws_lc_rs::hmac::verify(&key, &signed, &mac).is_ok(),
            "bad signature"
        );
        let mut tampered = signed.clone();
        tampered.push(b' ');
        assert!(aws_lc_rs::hmac::verify(&key, &tampered, &mac).is_err());
    }
    assert!(!daemon.logs().contains("s3cret-signing-key"));
}

#[test]
fn hec_payloads_match_splunks_documented_envelope() {
    let sim = Sim::start(&["--events", "1100"]);
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("hec-token");
    std::fs::write(&token_file, "11111111-2222-3333-4444-555555555555\n").unwrap();
    let sink = hook(
        &format!("{}/services/collector/event", receiver.url("http")),
        &format!(
            "encoding = \"splunk_hec\"\n[sinks.auth]\nstrategy = \"splunk\"\ntoken_file = \"{}\"\n\
             [sinks.hec]\nindex = \"security\"",
            token_file.display()
        ),
    );
    let _running = deliver_all(&sim, sink);

    let requests = receiver.requests();
    let expected: BTreeSet<&str> =
        ["time", "host", "source", "sourcetype", "index", "event"].into();
    for request in &requests {
        assert_eq!(request.path, "/services/collector/event");
        assert_eq!(
            request.header("authorization"),
            "Splunk 11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(request.header("content-type"), "application/json");
        // Concatenated JSON objects, nothing else in between.
        let text = String::from_utf8(request.raw.clone()).unwrap();
        assert!(text.starts_with("{\"time\":") && text.contains("}{\"time\":"));
        for envelope in &request.values {
            let keys: BTreeSet<&str> = envelope
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(keys, expected, "{envelope}");
            let event = &envelope["event"];
            let created: jiff::Timestamp = event["created_at"].as_str().unwrap().parse().unwrap();
            let time = envelope["time"].as_f64().expect("time is a number");
            assert!(
                (time - created.as_millisecond() as f64 / 1000.0).abs() < 0.0005,
                "{envelope}"
            );
            assert_eq!(envelope["host"], event["own_audit"]["host"]);
            assert_eq!(envelope["source"], "own:sim");
            assert_eq!(envelope["sourcetype"], "own:audit");
            assert_eq!(envelope["index"], "security");
        }
    }
    let ids: Vec<u64> = requests
        .iter()
        .flat_map(|r| r.values.iter().filter_map(event_id))
        .collect();
    assert_exactly_once_in_order(&ids, &sim.all_ids());
}

#[test]
fn tls_with_a_self_signed_ca_works_only_when_that_ca_is_configured() {
    let certs = certs::generate();
    let sim = Sim::start(&["--events", "1000"]);
    let receiver = Receiver::start_tls(certs.server.clone(), certs.server_key.clone());
    let base = receiver.url("https");
    let sink = |tls: &str| {
        hook(
            &format!("{base}/in"),
            &format!("health_url = \"{base}/health\"\n{tls}"),
        )
    };

    let mut untrusting = Setup::new();
    untrusting.extra_sink = sink("");
    let report = check(&untrusting, &sim);
    assert!(
        report.contains("FAIL") && report.contains("certificate"),
        "{report}"
    );
    let daemon = untrusting.start(&sim);
    wait_for("a refused TLS handshake in the log", || {
        daemon
            .logs()
            .contains("the HTTP endpoint did not take the request")
            .then_some(())
    });
    assert!(
        receiver.requests().is_empty(),
        "a request got through without the CA"
    );
    assert_eq!(untrusting.checkpoint(), None);
    assert_eq!(daemon.stop().code(), Some(0));

    let mut careless = Setup::new();
    careless.extra_sink = sink("[sinks.tls]\ndanger_accept_invalid_certificates = true");
    let report = check(&careless, &sim);
    assert!(report.contains("everything works"), "{report}");

    let mut trusting = Setup::new();
    let ca_file = trusting.path("ca.pem");
    std::fs::write(&ca_file, &certs.ca).unwrap();
    trusting.extra_sink = sink(&format!("[sinks.tls]\nca_file = \"{}\"", ca_file.display()));
    let report = check(&trusting, &sim);
    assert!(report.contains("everything works"), "{report}");
    let _daemon = trusting.start(&sim);
    wait_for_checkpoint(&trusting, sim.last_event_id());
    assert_exactly_once_in_order(&receiver.accepted(), &sim.all_ids());
}

/// The output of `check` on the setup's configuration.
fn check(setup: &Setup, sim: &Sim) -> String {
    let config = setup.write_config(sim);
    let output = Command::new(binary())
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .expect("run check");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_503_storm_loses_nothing_and_the_checkpoint_never_passes_the_2xx_answers() {
    let sim = Sim::start(&["--events", "6000", "--latency", "20ms"]);
    let receiver = Arc::new(Receiver::start());
    let mut setup = Setup::new();
    setup.extra_sink = hook(
        &format!("{}/in", receiver.url("http")),
        "[sinks.batch]\nmax_events = 250",
    );
    let daemon = setup.start(&sim);
    wait_for("some deliveries", || {
        (receiver.accepted().len() >= 500).then_some(())
    });
    receiver.storm(true);

    // Samples the checkpoint, then what the receiver acknowledged: the checkpoint must
    // never name an event the receiver has not answered 2xx for.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (receiver, watching) = (Arc::clone(&receiver), Arc::clone(&watching));
        let checkpoint_path = setup.checkpoint_path();
        std::thread::spawn(move || {
            let mut violations = Vec::new();
            while watching.load(Ordering::Relaxed) {
                let checkpoint = std::fs::read(&checkpoint_path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|v| v["last_event_id"].as_u64());
                let acked = receiver.accepted().last().copied().unwrap_or(0);
                if let Some(checkpoint) = checkpoint.filter(|c| *c > acked) {
                    violations.push((checkpoint, acked));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            violations
        })
    };
    let telemetry = daemon.telemetry();
    wait_for("ten refused attempts", || {
        (receiver
            .requests()
            .iter()
            .filter(|r| r.status == 503)
            .count()
            >= 10)
            .then_some(())
    });
    let readyz = http_text(&format!("http://{telemetry}/readyz"));
    assert!(readyz.contains("status_5xx"), "{readyz}");
    assert!(setup.checkpoint() < Some(sim.last_event_id()));
    receiver.storm(false);

    wait_for_checkpoint(&setup, sim.last_event_id());
    watching.store(false, Ordering::Relaxed);
    assert_eq!(watcher.join().unwrap(), []);
    assert_exactly_once_in_order(&receiver.accepted(), &sim.all_ids());
    let metrics = http_text(&format!("http://{telemetry}/metrics"));
    assert!(
        metrics.contains("own_audit_sink_up{sink=\"hook\"} 1"),
        "{metrics}"
    );
}

#[test]
fn the_health_url_is_probed_for_readyz() {
    let sim = Sim::start(&["--events", "0"]);
    let receiver = Receiver::start();
    receiver.health(503);
    let base = receiver.url("http");
    let mut setup = Setup::new();
    setup.extra_sink = hook(
        &format!("{base}/in"),
        &format!("health_url = \"{base}/health\"\nhealth_interval = \"1s\""),
    );
    let daemon = setup.start(&sim);
    let readyz = format!("http://{}/readyz", daemon.telemetry());
    wait_for("the sink reported down", || {
        let body: Value = serde_json::from_str(&http_text(&readyz)).ok()?;
        let hook = &body["sinks"]["hook"];
        (hook["ready"] == false && hook["detail"].as_str()?.contains("503")).then_some(())
    });
    receiver.health(200);
    wait_for("/readyz 200", || {
        (http_status(&readyz) == 200).then_some(())
    });
}
