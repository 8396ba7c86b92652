//! Starting, stopping, the checkpoint commands, validation and telemetry.

use std::process::Command;

use crate::harness::*;

#[test]
fn sigterm_mid_backfill_drains_checkpoints_and_exits_0_so_a_restart_repeats_nothing() {
    let sim = Sim::start(&["--events", "30000", "--latency", "25ms"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for("a partial backfill", || {
        (setup.checkpoint()? > 5000).then_some(())
    });
    let logs_before = daemon.log.clone();
    assert_eq!(daemon.stop().code(), Some(0));
    let logs = std::fs::read_to_string(logs_before).unwrap();
    assert!(
        logs.contains("own-audit-forwarder stopped"),
        "no orderly stop in:\n{logs}"
    );

    let written = setup.output_ids();
    assert_eq!(
        written.last().copied(),
        setup.checkpoint(),
        "the checkpoint lags what was written"
    );
    assert!(
        setup.checkpoint() < Some(sim.last_event_id()),
        "the backfill finished before the stop"
    );

    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
}

#[test]
fn a_corrupt_checkpoint_stops_the_source_with_a_clear_error_instead_of_starting_over() {
    let sim = Sim::start(&["--events", "500"]);
    let setup = Setup::new();
    std::fs::create_dir_all(setup.path("state/checkpoints")).unwrap();
    std::fs::write(
        setup.checkpoint_path(),
        "{\"version\":1,\"source\":\"sim\",\"last_ev",
    )
    .unwrap();
    let mut daemon = setup.start(&sim);
    let readyz = format!("http://{}/readyz", daemon.telemetry());
    wait_for("the corrupt-checkpoint error", || {
        daemon.logs().contains("is corrupt").then_some(())
    });
    assert_eq!(http_status(&readyz), 503);
    assert!(http_text(&readyz).contains("checkpoint set --config FILE --source sim"));
    assert!(daemon.alive());
    assert!(
        setup.events().is_empty(),
        "events were forwarded from the beginning"
    );
    assert_eq!(sim.stats()["events_requests_total"], 0);
}

fn cli(args: &[&str], config: &std::path::Path) -> (i32, String) {
    let out = Command::new(binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn checkpoint_show_and_set_work_on_a_stopped_daemon_only() {
    let sim = Sim::start(&["--events", "1500"]);
    let setup = Setup::new();
    let config = setup.write_config(&sim);
    let (code, text) = cli(&["checkpoint", "show"], &config);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\"checkpoint\":null"), "{text}");

    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let (code, text) = cli(
        &["checkpoint", "set", "--source", "sim", "--event-id", "1"],
        &config,
    );
    assert_eq!(code, 1, "set was allowed while the daemon runs: {text}");
    assert!(
        text.contains("another own-audit-forwarder is running"),
        "{text}"
    );
    assert_eq!(daemon.stop().code(), Some(0));

    let (code, text) = cli(&["checkpoint", "show", "--source", "sim"], &config);
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!("\"last_event_id\":{}", sim.last_event_id())),
        "{text}"
    );
    let replay_from = sim.all_ids()[1199];
    let (code, text) = cli(
        &[
            "checkpoint",
            "set",
            "--source",
            "sim",
            "--event-id",
            &replay_from.to_string(),
        ],
        &config,
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(setup.checkpoint(), Some(replay_from));

    // The replay repeats exactly the 300 events after the new checkpoint.
    let _daemon = setup.start(&sim);
    wait_for("the replay", || {
        (setup.output_ids().len() == 1800).then_some(())
    });
    assert_eq!(setup.output_ids()[1500..], sim.all_ids()[1200..]);
}

#[test]
fn validate_exits_0_on_the_example_and_1_listing_every_problem() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/own-audit-forwarder.toml");
    let (code, text) = cli(&["validate"], &example);
    assert_eq!(code, 0, "{text}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "state_dir = 5\n[[sources]]\nname = \"x\"\nregoin = \"app1\"\n",
    )
    .unwrap();
    let (code, text) = cli(&["validate"], &bad);
    assert_eq!(code, 1);
    for expected in [
        "sources[0].regoin: unknown field",
        "state_dir",
        "sinks: none configured",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn check_reports_every_part_and_moves_no_checkpoint() {
    let sim = Sim::start(&["--events", "1500"]);
    let setup = Setup::new();
    let config = setup.write_config(&sim);
    let (code, text) = cli(&["check"], &config);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("authentication") && text.contains("fetched 1000 events"),
        "{text}"
    );
    assert_eq!(setup.checkpoint(), None);

    std::fs::write(setup.path("api-token"), "wrong\n").unwrap();
    let (code, text) = cli(&["check"], &config);
    assert_eq!(code, 1);
    assert!(
        text.contains("FAIL") && text.contains("invalid_grant"),
        "{text}"
    );
    assert!(!text.contains("wrong\n"), "{text}");
}

#[test]
fn metrics_carry_the_documented_names() {
    let sim = Sim::start(&["--events", "1200"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let addr = daemon.telemetry();
    let text = wait_for("the forwarded counter", || {
        let text = http_text(&format!("http://{addr}/metrics"));
        text.contains("own_audit_events_forwarded_total{source=\"sim\"} 1200")
            .then_some(text)
    });
    for name in [
        "own_audit_build_info",
        "own_audit_events_fetched_total",
        "own_audit_events_sent_total",
        "own_audit_api_requests_total",
        "own_audit_api_request_duration_seconds_bucket",
        "own_audit_sink_send_duration_seconds_bucket",
        "own_audit_checkpoint_event_id",
        "own_audit_checkpoint_event_timestamp_seconds",
        "own_audit_last_successful_poll_timestamp_seconds",
        "own_audit_access_token_expiry_timestamp_seconds",
        "own_audit_api_token_expiry_timestamp_seconds",
        "own_audit_source_up",
        "own_audit_sink_up",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    assert_eq!(http_text(&format!("http://{addr}/healthz")).trim(), "ok");
}

#[test]
fn the_health_command_reports_a_running_daemon_and_fails_without_one() {
    let sim = Sim::start(&["--events", "200"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let addr = daemon.telemetry();
    let health = |args: &[&str]| {
        std::process::Command::new(binary())
            .arg("health")
            .args(args)
            .env_remove("OWN_AUDIT__TELEMETRY__LISTEN")
            .output()
            .expect("run health")
    };
    assert!(health(&["--address", &addr]).status.success());
    assert!(health(&["--address", &addr, "--ready"]).status.success());
    let wildcard = addr.replace("127.0.0.1", "0.0.0.0");
    assert!(health(&["--address", &wildcard]).status.success());
    daemon.stop();
    let down = health(&["--address", &addr, "--timeout", "2s"]);
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach"));
    let bad = health(&["--address", "nowhere"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an IP:PORT"));
}
