//! API faults: rate limits, server errors and broken pages.

use crate::harness::*;
use serde_json::{Value, json};

/// The arrival times and statuses of the simulator's recent events requests.
fn requests(sim: &Sim) -> Vec<(f64, u64)> {
    let stats = sim.stats();
    let list = stats["recent_events_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|r| {
            (
                r["at"].as_f64().unwrap_or(0.0),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn assert_retry_waited(sim: &Sim, at_least: f64) {
    let seen = requests(sim);
    let i = seen
        .iter()
        .position(|(_, status)| *status == 429)
        .expect("a 429 was served");
    let (limited, _) = seen[i];
    let (retried, _) = seen.get(i + 1).copied().expect("a request after the 429");
    assert!(
        retried - limited >= at_least,
        "retried after {:.2}s, Retry-After said {at_least}s",
        retried - limited
    );
}

#[test]
fn retry_after_in_seconds_and_as_a_date_is_honoured() {
    for retry_after in ["3", "date+3"] {
        let sim = Sim::start(&["--events", "2500"]);
        sim.admin(
            "fault",
            json!({"kind": "429", "retry_after": retry_after, "after": 1}),
        );
        let setup = Setup::new();
        let daemon = setup.start(&sim);
        wait_for_checkpoint(&setup, sim.last_event_id());
        // An HTTP date has whole-second resolution, so allow for the rounding down.
        assert_retry_waited(&sim, if retry_after == "3" { 2.95 } else { 1.95 });
        assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
        assert!(
            daemon.logs().contains("rate limiting"),
            "no rate-limit warning logged"
        );
    }
}

#[test]
fn malformed_and_truncated_pages_are_retried_without_moving_the_checkpoint() {
    let sim = Sim::start(&["--events", "2500"]);
    for kind in ["malformed", "truncated", "malformed"] {
        sim.admin("fault", json!({"kind": kind, "after": 1}));
    }
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
    let logs = daemon.logs();
    assert!(
        logs.contains("malformed page"),
        "no malformed-page warning in:\n{logs}"
    );
    assert_eq!(
        sim.stats()["faults_queued"],
        0,
        "not every broken page was served"
    );
}

#[test]
fn a_burst_of_server_errors_is_retried_and_nothing_is_lost() {
    let sim = Sim::start(&["--events", "4500"]);
    for kind in ["500", "502", "503", "500"] {
        sim.admin("fault", json!({"kind": kind, "after": 2}));
    }
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
    let statuses: Vec<u64> = requests(&sim).iter().map(|(_, s)| *s).collect();
    assert!(
        statuses.iter().filter(|s| **s >= 500).count() >= 4,
        "{statuses:?}"
    );
    let warned = daemon
        .log_lines()
        .iter()
        .filter(|l: &&Value| l["level"] == "WARN")
        .count();
    assert!(warned >= 2, "retries were not logged");
}

#[test]
fn random_faults_and_hostile_events_still_give_the_exact_log() {
    let sim = Sim::start(&[
        "--events",
        "6000",
        "--fault-rate",
        "0.3",
        "--hostile-every",
        "5",
        "--oversized-every",
        "997",
        "--seed",
        "7",
    ]);
    let setup = Setup::new();
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
}
