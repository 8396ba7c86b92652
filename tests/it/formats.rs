//! The SIEM formats, key filters and redaction, end to end: the daemon against the
//! simulator, its output read back by parsers that no one here wrote.
//!
//! The parsers (pycef for CEF, the published OCSF schemas through `jsonschema`, Elastic's
//! published ECS field list, and a QRadar-style LEEF split) are installed by
//! `scripts/install-format-tools.sh`, which the test command runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

use crate::harness::*;

/// Where the format checkers are installed.
fn tools() -> PathBuf {
    let dir = std::env::var_os("OAF_FORMAT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/own-audit-forwarder/format-tools")
        });
    assert!(
        dir.join("venv/bin/python").exists() && dir.join("ecs_flat.json").exists(),
        "the format checkers are not installed in {}; run scripts/install-format-tools.sh",
        dir.display()
    );
    dir
}

/// Runs `tests/formats/check_<format>.py` on `files`; panics with its output unless it
/// accepts every line. Returns the number of events it checked.
pub fn check(format: &str, extra: &[&str], files: &[PathBuf]) -> u64 {
    let tools = tools();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/formats/check_{format}.py"));
    let output = Command::new(tools.join("venv/bin/python"))
        .arg(&script)
        .args(extra)
        .args(files)
        .env("OAF_FORMAT_TOOLS", &tools)
        .output()
        .expect("run the format checker");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {format} checker refused the output:\n{stdout}\n{stderr}"
    );
    stdout
        .split_whitespace()
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("the {format} checker printed no count: {stdout}"))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn golden(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a golden file").path())
        .collect();
    files.sort();
    files
}

/// A file sink named `name` writing `format` to `<name>.out`.
fn file_sink(setup: &Setup, name: &str, fields: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"file\"\nname = \"{name}\"\npath = \"{}\"\n{fields}\n",
        setup.path(&format!("{name}.out")).display()
    )
}

#[test]
fn every_format_passes_an_independent_parser_on_hostile_and_ordinary_events() {
    let sim = Sim::start(&["--events", "2500", "--hostile-every", "5"]);
    let mut setup = Setup::new();
    for (name, fields) in [
        ("ecs", "format = \"ecs\""),
        ("ocsf", "format = \"ocsf\""),
        ("cef", "format = \"cef\""),
        ("leef", "format = \"leef\""),
        ("leef-caret", "format = \"leef\"\nleef_delimiter = \"^\""),
    ] {
        setup.extra_sink += &file_sink(&setup, name, fields);
    }
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    daemon.stop();

    let total = sim.all_ids().len();
    for name in ["ecs", "ocsf", "cef", "leef", "leef-caret"] {
        let out = setup.path(&format!("{name}.out"));
        assert_eq!(lines(&out).len(), total, "{name}: one line per event");
        let format = name.trim_end_matches("-caret");
        assert_eq!(check(format, &[], &[out]), total as u64, "{name}");
    }
    for (format, dir) in [
        ("ecs", "ecs"),
        ("ocsf", "ocsf"),
        ("cef", "cef"),
        ("leef", "leef"),
        ("leef", "leef-caret"),
    ] {
        assert!(check(format, &[], &golden(dir)) >= 5, "{dir} golden files");
    }
}

#[test]
fn the_checkers_refuse_broken_events() {
    // A checker that accepts anything would make the test above worthless.
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        (
            "ecs",
            r#"{"@timestamp":"yesterday","event":{"kind":"happening"},"user":{"emial":"x"}}"#,
        ),
        ("ocsf", r#"{"class_uid":3002,"time":"soon"}"#),
        (
            "cef",
            "CEF:0|Own|Own Audit Log|v1|user.login|User logged in|1|rt=now suser=a=b",
        ),
        (
            "leef",
            "LEEF:2.0|Own|Own Audit Log|v1|user.login|^|devTime=now",
        ),
    ];
    for (format, line) in bad {
        let path = dir.path().join(format);
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let status = Command::new(tools().join("venv/bin/python"))
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("tests/formats/check_{format}.py")),
            )
            .arg(&path)
            .env("OAF_FORMAT_TOOLS", tools())
            .output()
            .expect("run the checker")
            .status;
        assert!(!status.success(), "the {format} checker accepted {line}");
    }
}

#[test]
fn source_and_sink_filters_pick_events_by_key_and_filtered_events_are_checkpointed() {
    let sim = Sim::start(&["--events", "3000"]);
    let mut setup = Setup::new();
    setup.extra_source = "exclude_keys = [\"api_token.used\"]".into();
    setup.extra_sink =
        "include_keys = [\"user.*\", \"backup.*\"]\nexclude_keys = [\"*.logout\"]\n".into();
    setup.extra_sink += &file_sink(&setup, "rest", "exclude_keys = [\"user.*\"]");
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let metrics = http_text(&format!("http://{}/metrics", daemon.telemetry()));
    daemon.stop();

    let raw = sim.all_events();
    let key = |e: &Value| e["key"].as_str().unwrap_or_default().to_owned();
    let ids = |pred: &dyn Fn(&str) -> bool| -> Vec<u64> {
        raw.iter()
            .filter(|e| pred(&key(e)))
            .map(|e| e["event_id"].as_u64().unwrap())
            .collect()
    };
    let kept_by_source = |k: &str| k != "api_token.used";
    let to_out = ids(&|k| {
        kept_by_source(k)
            && (k.starts_with("user.") || k.starts_with("backup."))
            && !k.ends_with(".logout")
    });
    let to_rest = ids(&|k| kept_by_source(k) && !k.starts_with("user."));
    assert!(
        to_out.len() > 500 && to_rest.len() > 500,
        "the log is too uniform"
    );
    assert_exactly_once_in_order(&setup.output_ids(), &to_out);
    let rest: Vec<u64> = read_ndjson(&setup.path("rest.out"))
        .iter()
        .map(|e| e["event_id"].as_u64().unwrap())
        .collect();
    assert_exactly_once_in_order(&rest, &to_rest);

    let by_source = raw.len() - ids(&kept_by_source).len();
    assert!(by_source > 0);
    assert!(
        metrics.contains(&format!(
            "own_audit_source_events_filtered_total{{source=\"sim\"}} {by_source}"
        )),
        "{metrics}"
    );
    let by_rest = ids(&kept_by_source).len() - to_rest.len();
    assert!(
        metrics.contains(&format!(
            "own_audit_sink_events_filtered_total{{sink=\"rest\"}} {by_rest}"
        )),
        "{metrics}"
    );
}

#[test]
fn redacted_values_appear_in_no_sink_output_and_hashes_are_stable() {
    const KEY: &str = "redaction-key-for-tests-0123456789";
    let sim = Sim::start(&["--events", "1500", "--hostile-every", "11"]);
    let mut setup = Setup::new();
    std::fs::write(setup.path("hash.key"), format!("{KEY}\n")).unwrap();
    for (name, format) in [
        ("ecs", "ecs"),
        ("ocsf", "ocsf"),
        ("cef", "cef"),
        ("leef", "leef"),
    ] {
        setup.extra_sink += &file_sink(&setup, name, &format!("format = \"{format}\""));
    }
    setup.extra_sink += &format!(
        "[redaction]\ndrop = [\"ip_address\", \"parameters.user_agent\"]\nhash = [\"user_email\"]\n\
         hash_key_file = \"{}\"\n",
        setup.path("hash.key").display()
    );
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let logs = daemon.logs();
    daemon.stop();

    let raw = sim.all_events();
    let mut secrets = BTreeSet::new();
    let mut tokens = BTreeMap::new();
    for event in &raw {
        for field in ["ip_address", "user_email"] {
            if let Some(text) = event[field].as_str().filter(|t| t.len() > 3) {
                secrets.insert(text.to_owned());
            }
        }
        if let Some(agent) = event["parameters"]["user_agent"].as_str() {
            secrets.insert(agent.to_owned());
        }
        if let Some(email) = event["user_email"].as_str() {
            tokens.insert(event["event_id"].as_u64().unwrap(), token(KEY, email));
        }
    }
    assert!(
        secrets.len() > 20,
        "too few values to look for: {}",
        secrets.len()
    );

    let outputs: Vec<(String, String)> = [
        "events.ndjson",
        "ecs.out",
        "ocsf.out",
        "cef.out",
        "leef.out",
    ]
    .iter()
    .map(|name| {
        (
            name.to_string(),
            std::fs::read_to_string(setup.path(name)).unwrap(),
        )
    })
    .chain([("log".to_string(), logs)])
    .collect();
    for (name, text) in &outputs {
        assert!(!text.is_empty(), "{name} is empty");
        for secret in &secrets {
            // JSON outputs escape some characters; look for the raw and escaped forms.
            let escaped = serde_json::to_string(secret).unwrap();
            assert!(
                !text.contains(secret.as_str()) && !text.contains(escaped.trim_matches('"')),
                "{name} holds the redacted value {secret:?}"
            );
        }
    }

    // The same address always maps to the same token, the one the key gives.
    let json = setup.events();
    assert_eq!(json.len(), raw.len());
    for event in &json {
        let id = event["event_id"].as_u64().unwrap();
        assert!(
            event.get("ip_address").is_none(),
            "event {id} kept ip_address"
        );
        if let Some(want) = tokens.get(&id) {
            assert_eq!(
                event["user_email"].as_str(),
                Some(want.as_str()),
                "event {id}"
            );
        }
    }
    let ecs = read_ndjson(&setup.path("ecs.out"));
    let with_email = ecs
        .iter()
        .filter(|e| e["user"]["email"].is_string())
        .count();
    assert!(with_email > 100);
    for event in &ecs {
        if let Some(email) = event["user"]["email"].as_str() {
            assert_eq!(email.len(), 64, "not a token: {email}");
        }
    }
}

fn token(key: &str, value: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
