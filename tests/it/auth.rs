//! Access tokens: renewal on 401, a refused API token, and secrets kept out of logs.

use std::time::{Duration, Instant};

use crate::harness::*;
use serde_json::json;

#[test]
fn a_401_mid_stream_renews_the_token_once_and_the_stream_goes_on() {
    let sim = Sim::start(&["--events", "12000", "--latency", "20ms"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for("a partial backfill", || {
        (setup.checkpoint()? > 3000).then_some(())
    });
    let grants_before = sim.stats()["token_requests_ok"].as_u64().unwrap_or(0);
    sim.admin("revoke-access", json!({}));
    wait_for_checkpoint(&setup, sim.last_event_id());

    let grants_after = sim.stats()["token_requests_ok"].as_u64().unwrap_or(0);
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
    assert_eq!(
        grants_after,
        grants_before + 1,
        "expected exactly one forced renewal"
    );
    assert!(
        daemon.logs().contains("renewing it once"),
        "the renewal was not logged"
    );
}

#[test]
fn a_refused_api_token_fails_readyz_says_what_to_do_and_recovers_without_busy_looping() {
    let sim = Sim::start(&["--events", "1500"]);
    let mut setup = Setup::new();
    setup.extra_source = "[sources.token_refresh]\ninvalid_grant_retry = \"3s\"".into();
    let mut daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let readyz = format!("http://{}/readyz", daemon.telemetry());
    assert_eq!(http_status(&readyz), 200);

    sim.admin("revoke-api-token", json!({}));
    sim.admin("revoke-access", json!({}));
    wait_for("/readyz to fail", || {
        (http_status(&readyz) == 503).then_some(())
    });
    let report = http_text(&readyz);
    assert!(report.contains("invalid_grant"), "{report}");
    let logs = daemon.logs();
    assert!(
        logs.contains("Generate a new API token"),
        "no operator action in:\n{logs}"
    );
    assert!(
        logs.contains("\"level\":\"ERROR\""),
        "not logged as an error"
    );

    // While refused: the process stays up and asks rarely (every 3s here).
    let failed_before = sim.stats()["token_requests_failed"].as_u64().unwrap_or(0);
    let watched = Instant::now();
    std::thread::sleep(Duration::from_secs(7));
    let failed = sim.stats()["token_requests_failed"].as_u64().unwrap_or(0) - failed_before;
    let allowed = watched.elapsed().as_secs() / 3 + 1;
    assert!(
        failed <= allowed,
        "{failed} grant attempts in {:?}",
        watched.elapsed()
    );
    assert!(daemon.alive(), "the daemon exited");

    // The operator puts a new token in place; polling resumes.
    sim.admin("api-token", json!({"token": "second-token"}));
    std::fs::write(setup.path("api-token"), "second-token\n").unwrap();
    sim.admin("append", json!({"count": 10}));
    wait_for_checkpoint(&setup, sim.last_event_id());
    wait_for("/readyz to pass again", || {
        (http_status(&readyz) == 200).then_some(())
    });
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
}

#[test]
fn no_secret_appears_in_any_log_even_at_trace_level() {
    let sim = Sim::start(&[
        "--events",
        "2500",
        "--rotate-refresh-token",
        "--expires-in",
        "2",
    ]);
    let mut setup = Setup::new();
    setup.extra_source = "[sources.token_refresh]\nmin_interval = \"1s\"".into();
    let config = setup.write_config(&sim);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("info,own_audit_forwarder=debug", "trace");
    std::fs::write(&config, text).unwrap();
    let daemon = setup.start_with_config(&config);
    wait_for_checkpoint(&setup, sim.last_event_id());
    wait_for("a few renewals", || {
        (sim.stats()["token_requests_ok"].as_u64()? >= 3).then_some(())
    });
    sim.admin("revoke-access", json!({}));
    sim.admin("append", json!({"count": 2}));
    wait_for_checkpoint(&setup, sim.last_event_id());

    let state = std::fs::read_to_string(setup.path("state/tokens/sim.json")).expect("token state");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let rotated = state["rotated_token"]
        .as_str()
        .expect("a rotated token was stored")
        .to_owned();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(setup.path("state/tokens/sim.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the token state is readable by others");

    let logs = daemon.logs();
    assert!(
        logs.len() > 10_000,
        "trace logging produced little: {} bytes",
        logs.len()
    );
    let mut secrets = vec!["sim-api-token".to_owned(), rotated];
    secrets.extend(sim.issued_tokens());
    assert!(
        secrets.len() >= 4,
        "too few secrets to check: {}",
        secrets.len()
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
    }
    let addr = daemon.telemetry();
    let metrics = http_text(&format!("http://{addr}/metrics"));
    let readyz = http_text(&format!("http://{addr}/readyz"));
    for secret in &secrets {
        assert!(!metrics.contains(secret.as_str()) && !readyz.contains(secret.as_str()));
    }
}
