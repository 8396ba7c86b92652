//! systemd notifications and SIGHUP reloads, against the real binary.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The messages a fake systemd received on its notification socket, as they came.
struct Notifications {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl Notifications {
    fn bind(path: &std::path::Path) -> Self {
        let socket = UnixDatagram::bind(path).expect("bind the notification socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("a read timeout");
        Self {
            socket,
            seen: Vec::new(),
        }
    }

    /// Waits for a datagram holding `line`; returns the datagram.
    fn expect(&mut self, line: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(message.clone());
                if message.lines().any(|l| l == line) {
                    return message;
                }
            }
        }
        panic!("no {line} in {:?}", self.seen);
    }
}

#[test]
fn systemd_hears_ready_watchdog_reloading_and_stopping() {
    let sim = Sim::start(&["--events", "500"]);
    let setup = Setup::new();
    let config = setup.write_config(&sim);
    let socket = setup.path("notify.sock");
    let mut notes = Notifications::bind(&socket);
    let daemon = setup.start_with_env(
        &config,
        &[
            ("NOTIFY_SOCKET", socket.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let ready = notes.expect("READY=1");
    assert!(ready.contains("STATUS=forwarding"), "{ready}");
    for _ in 0..3 {
        notes.expect("WATCHDOG=1");
    }
    daemon.signal("HUP");
    let reloading = notes.expect("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    notes.expect("READY=1");
    wait_for_checkpoint(&setup, sim.last_event_id());
    let status = daemon.stop();
    assert!(status.success());
    notes.expect("STOPPING=1");
}

#[test]
fn without_a_notify_socket_nothing_is_sent_and_nothing_fails() {
    let sim = Sim::start(&["--events", "300"]);
    let setup = Setup::new();
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let logs = daemon.logs();
    assert!(daemon.stop().success());
    assert!(!logs.contains("cannot notify systemd"), "{logs}");
}

fn file_sink(setup: &Setup, name: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"file\"\nname = \"{name}\"\npath = \"{}\"\n",
        setup.path(&format!("{name}.out")).display()
    )
}

fn ids_in(setup: &Setup, name: &str) -> Vec<u64> {
    read_ndjson(&setup.path(&format!("{name}.out")))
        .iter()
        .map(|e| e["event_id"].as_u64().unwrap())
        .collect()
}

/// Asserts `ids` are a run of consecutive entries of `all`, each once, in order.
fn assert_contiguous(ids: &[u64], all: &[u64], what: &str) {
    assert!(!ids.is_empty(), "{what} received nothing");
    let start = all.iter().position(|id| *id == ids[0]).expect("a known id");
    assert_eq!(
        ids,
        &all[start..start + ids.len()],
        "{what} has a gap or a duplicate"
    );
}

#[test]
fn sighup_adds_and_removes_sinks_while_events_flow_and_loses_nothing() {
    let sim = Sim::start(&["--events", "2000", "--trickle", "40"]);
    let mut setup = Setup::new();
    setup.extra_sink = file_sink(&setup, "old");
    let config = setup.write_config(&sim);
    let daemon = setup.start_with_config(&config);
    wait_for_checkpoint(&setup, sim.last_event_id());

    setup.extra_sink = file_sink(&setup, "new");
    setup.write_config(&sim);
    daemon.signal("HUP");
    wait_for("the reload to be logged", || {
        daemon
            .logs()
            .contains("configuration reloaded")
            .then_some(())
    });
    // Let events keep flowing into the new set of sinks, then catch up and stop.
    let before = sim.all_ids().len();
    wait_for("more events", || {
        (sim.all_ids().len() >= before + 80).then_some(())
    });
    wait_for_checkpoint(&setup, sim.last_event_id());
    let logs = daemon.logs();
    let reloaded = daemon
        .log_lines()
        .into_iter()
        .find(|line| line["message"] == "configuration reloaded")
        .expect("a reload line");
    assert!(daemon.stop().success());

    let all = sim.all_ids();
    let forwarded: Vec<u64> = all
        .iter()
        .copied()
        .filter(|id| *id <= setup.checkpoint().unwrap())
        .collect();
    assert_exactly_once_in_order(&setup.output_ids(), &forwarded);
    let old = ids_in(&setup, "old");
    assert_eq!(
        old[0], all[0],
        "the removed sink had every event until the reload"
    );
    assert_contiguous(&old, &all, "the removed sink");
    let new = ids_in(&setup, "new");
    assert_contiguous(&new, &all, "the added sink");
    assert_eq!(
        new.last(),
        forwarded.last(),
        "the added sink has every event since the reload"
    );
    // At most the batch in flight at the swap reaches neither: the removed sink was
    // retired during it and the added one starts with the next.
    let at = |id: u64| all.iter().position(|x| *x == id).unwrap();
    assert!(
        at(new[0]) <= at(*old.last().unwrap()) + 1001,
        "more than one batch fell between the removed and the added sink"
    );
    assert!(new.len() >= 80);

    assert_eq!(
        logs.matches("source started").count(),
        1,
        "the unchanged source restarted"
    );
    assert_eq!(reloaded["sinks_added"], "[\"new\"]", "{reloaded}");
    assert_eq!(reloaded["sinks_removed"], "[\"old\"]", "{reloaded}");
    assert_eq!(reloaded["sources_restarted"], "[]", "{reloaded}");
}

#[test]
fn an_invalid_configuration_is_refused_on_sighup_and_the_running_one_keeps_going() {
    let sim = Sim::start(&["--events", "800", "--trickle", "40"]);
    let setup = Setup::new();
    let config = setup.write_config(&sim);
    let daemon = setup.start_with_config(&config);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("type = \"file\"", "type = \"fiel\"")).unwrap();
    daemon.signal("HUP");
    wait_for("the refusal to be logged", || {
        let logs = daemon.logs();
        logs.contains("the new configuration is refused")
            .then_some(logs)
    });
    let logs = daemon.logs();
    assert!(logs.contains("unknown sink type \\\"fiel\\\""), "{logs}");

    // A hash key that cannot be read refuses the reload too, after the file parsed.
    let with_key = format!(
        "{good}\n[redaction]\nhash = [\"user_email\"]\nhash_key_file = \"{}\"\n",
        setup.path("missing.key").display()
    );
    std::fs::write(&config, with_key).unwrap();
    daemon.signal("HUP");
    wait_for("the second refusal", || {
        (daemon
            .logs()
            .matches("the new configuration is refused")
            .count()
            >= 2)
            .then_some(())
    });
    assert!(
        daemon.logs().contains("cannot read the hash key"),
        "{}",
        daemon.logs()
    );

    let target = sim.last_event_id() + 40;
    wait_for("more events", || {
        (sim.last_event_id() >= target).then_some(())
    });
    wait_for_checkpoint(&setup, target);
    let logs = daemon.logs();
    assert!(daemon.stop().success());
    assert!(!logs.contains("configuration reloaded"));
    let all = sim.all_ids();
    let forwarded: Vec<u64> = all.iter().copied().filter(|id| *id <= target).collect();
    let out: Vec<u64> = setup
        .output_ids()
        .into_iter()
        .filter(|id| *id <= target)
        .collect();
    assert_exactly_once_in_order(&out, &forwarded);
}

#[test]
fn sighup_starts_a_new_source_and_new_redaction_without_restarting_the_running_source() {
    let sim = Sim::start(&["--events", "1500", "--trickle", "40"]);
    let mut setup = Setup::new();
    let config = setup.write_config(&sim);
    let daemon = setup.start_with_config(&config);
    wait_for_checkpoint(&setup, sim.last_event_id());

    std::fs::write(setup.path("hash.key"), "a-redaction-key-of-32-characters\n").unwrap();
    setup.extra_sink = format!(
        "[[sources]]\nname = \"second\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\n\
         api_token_file = \"{}\"\npoll_interval = \"300ms\"\n\
         [redaction]\nhash = [\"user_email\"]\nhash_key_file = \"{}\"\n",
        sim.base_url(),
        sim.token_url(),
        setup.path("api-token").display(),
        setup.path("hash.key").display()
    );
    setup.write_config(&sim);
    daemon.signal("HUP");
    let second = setup.path("state/checkpoints/second.json");
    wait_for("the new source to catch up", || {
        let body = std::fs::read(&second).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&body).ok()?;
        (value["last_event_id"].as_u64()? >= 1500).then_some(())
    });
    let logs = daemon.logs();
    assert!(daemon.stop().success());

    assert_eq!(logs.matches("source started").count(), 2, "{logs}");
    let reloaded = logs
        .lines()
        .find(|l| l.contains("configuration reloaded"))
        .unwrap();
    assert!(
        reloaded.contains(r#""sources_added":"[\"second\"]""#),
        "{reloaded}"
    );
    let events = setup.events();
    let from_second: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["own_audit"]["source"] == "second")
        .collect();
    let ids: Vec<u64> = from_second
        .iter()
        .map(|e| e["event_id"].as_u64().unwrap())
        .collect();
    let all = sim.all_ids();
    assert_exactly_once_in_order(&ids, &all[..ids.len()]);
    // The new source started under the new redaction: no address is left in clear.
    for event in &from_second {
        if let Some(email) = event["user_email"].as_str() {
            assert!(!email.contains('@') && email.len() == 64, "{email}");
        }
    }
}
