//! The canonical event: normalized time, every field kept.

use crate::harness::*;
use serde_json::Value;

/// The raw log as the simulator serves it, by id.
fn raw_events(sim: &Sim) -> std::collections::BTreeMap<u64, Value> {
    sim.all_events()
        .into_iter()
        .map(|e| (e["event_id"].as_u64().unwrap(), e))
        .collect()
}

#[test]
fn timestamps_are_normalized_to_utc_and_unknown_fields_are_kept() {
    let sim = Sim::start(&["--events", "1200", "--hostile-every", "9"]);
    let setup = Setup::new();
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let raw = raw_events(&sim);
    let out = setup.events();
    assert_eq!(out.len(), raw.len());

    let mut forms = std::collections::BTreeSet::new();
    let mut unknown_kept = 0;
    for event in &out {
        let id = event["event_id"].as_u64().unwrap();
        let original = &raw[&id];
        let created = event["created_at"]
            .as_str()
            .expect("created_at is a string");
        assert!(
            is_normal_utc(created),
            "{created} is not the normal UTC form"
        );
        let sent = original["created_at"].as_str().unwrap();
        let want: jiff::Timestamp = sent.parse().unwrap();
        let got: jiff::Timestamp = created.parse().unwrap();
        assert_eq!(got, want, "event {id}: {sent} became {created}");
        forms.insert(shape(sent));

        for (name, value) in original.as_object().unwrap() {
            if name != "created_at" {
                assert_eq!(&event[name], value, "event {id}: field {name} changed");
            }
        }
        if original.get("org_id").is_some() {
            unknown_kept += 1;
        }
    }
    assert!(
        forms.len() >= 4,
        "the log exercised too few time forms: {forms:?}"
    );
    assert!(
        unknown_kept > 10,
        "too few events with unknown fields: {unknown_kept}"
    );
}

fn is_normal_utc(text: &str) -> bool {
    let b = text.as_bytes();
    (b.len() == 24 || b.len() == 30)
        && b[10] == b'T'
        && b[19] == b'.'
        && text.ends_with('Z')
        && text[20..text.len() - 1].bytes().all(|c| c.is_ascii_digit())
}

/// The form of a timestamp: digits replaced, so `+02:00` and `Z` forms differ.
fn shape(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect()
}
