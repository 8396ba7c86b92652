//! The main path: backfill, paging edge cases, crash recovery.

use crate::harness::*;
use serde_json::json;

#[test]
fn a_10000_event_backfill_lands_exactly_once_in_order() {
    let sim = Sim::start(&["--events", "10000"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
    let first = &setup.events()[0];
    for field in ["event_id", "created_at", "key", "user_email", "own_audit"] {
        assert!(first.get(field).is_some(), "{field} missing from {first}");
    }
    assert_eq!(first["own_audit"]["source"], "sim");
    assert_eq!(daemon.stop().code(), Some(0));
}

#[test]
fn an_inclusive_from_gives_no_duplicates() {
    let sim = Sim::start(&["--events", "3500", "--inclusive-from"]);
    let setup = Setup::new();
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    // Several more polls of the caught-up log, each of which repeats the last event.
    let polls = sim.stats()["events_requests_total"].as_u64().unwrap_or(0);
    wait_for("more polls", || {
        (sim.stats()["events_requests_total"].as_u64()? > polls + 3).then_some(())
    });
    sim.admin("append", json!({"count": 5}));
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
}

#[test]
fn an_exact_multiple_of_a_page_and_an_empty_log_are_caught_up_not_errors() {
    let sim = Sim::start(&["--events", "3000"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let addr = daemon.telemetry();
    wait_for("/readyz 200", || {
        (http_status(&format!("http://{addr}/readyz")) == 200).then_some(())
    });
    sim.admin("append", json!({"count": 1}));
    wait_for_checkpoint(&setup, sim.last_event_id());
    assert_exactly_once_in_order(&setup.output_ids(), &sim.all_ids());
    assert!(
        !daemon.logs().contains("\"level\":\"WARN\""),
        "warnings in:\n{}",
        daemon.logs()
    );

    let empty = Sim::start(&["--events", "0"]);
    let setup = Setup::new();
    let daemon = setup.start(&empty);
    let addr = daemon.telemetry();
    wait_for("/readyz 200 on an empty log", || {
        (http_status(&format!("http://{addr}/readyz")) == 200).then_some(())
    });
    empty.admin("append", json!({"count": 3}));
    wait_for_checkpoint(&setup, empty.last_event_id());
    assert_eq!(setup.output_ids(), empty.all_ids());
}

#[test]
fn kill_9_mid_backfill_loses_nothing_and_repeats_only_the_batch_in_flight() {
    let sim = Sim::start(&["--events", "40000", "--latency", "30ms"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for("a partial backfill", || {
        (setup.checkpoint()? > 12_000).then_some(())
    });
    daemon.kill9();
    let at_kill = setup.checkpoint().expect("a checkpoint");
    assert!(
        at_kill < sim.last_event_id(),
        "the backfill finished before the kill"
    );

    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let expected = sim.all_ids();
    let got = setup.output_ids();

    let mut seen = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    let mut unique = Vec::new();
    for id in got {
        if seen.insert(id) {
            unique.push(id)
        } else {
            duplicates.push(id)
        }
    }
    assert_exactly_once_in_order(&unique, &expected);
    assert!(
        duplicates.len() <= 1000,
        "{} duplicates: more than one page",
        duplicates.len()
    );
    if let (Some(first), Some(last)) = (duplicates.first(), duplicates.last()) {
        assert!(*first > at_kill, "a checkpointed event was repeated");
        let span = expected
            .iter()
            .filter(|id| (first..=last).contains(id))
            .count();
        assert_eq!(
            span,
            duplicates.len(),
            "duplicates are not one contiguous in-flight batch"
        );
    }
}
