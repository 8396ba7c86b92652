//! HTTP tests of the events endpoint: paging, `from`, determinism, growth, contents.

use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::sim::SimOptions;
use crate::sim::tests_support::{error_shape, ids, options, sim};

/// Pages through the whole log as a careful client would: `from` the last id seen,
/// dropping ids not above it, until a short page.
async fn read_all(options: SimOptions) -> (Vec<u64>, usize) {
    let sim = sim(options).await;
    let token = sim.access_token().await;
    let (mut seen, mut requests, mut from) = (Vec::new(), 0, None);
    loop {
        let page = sim.events(&token, from).await.events();
        requests += 1;
        let fresh: Vec<u64> = ids(&page)
            .into_iter()
            .filter(|id| from.is_none_or(|from| *id > from))
            .collect();
        seen.extend(&fresh);
        if page.len() < 1000 {
            return (seen, requests);
        }
        from = fresh.last().copied().or(from);
    }
}

#[tokio::test]
async fn exclusive_paging_reads_every_event_once() {
    let (ids, requests) = read_all(options(2500)).await;
    assert_eq!(ids.len(), 2500);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn inclusive_paging_repeats_the_from_event() {
    let sim = sim(SimOptions {
        inclusive_from: true,
        ..options(1500)
    })
    .await;
    let token = sim.access_token().await;
    let first = ids(&sim.events(&token, None).await.events());
    let second = ids(&sim.events(&token, Some(first[999])).await.events());

    assert_eq!(second[0], first[999]);
    assert_eq!(second.len(), 501);

    let (all, _) = read_all(SimOptions {
        inclusive_from: true,
        ..options(2500)
    })
    .await;
    assert_eq!(all.len(), 2500);
}

#[tokio::test]
async fn exact_multiple_of_a_page_ends_with_an_empty_page() {
    let (ids, requests) = read_all(options(2000)).await;
    assert_eq!(ids.len(), 2000);
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn empty_page_after_the_last_event_and_for_an_empty_log() {
    let sim = sim(options(10)).await;
    let token = sim.access_token().await;
    let last = *ids(&sim.events(&token, None).await.events())
        .last()
        .expect("10 events");

    assert!(sim.events(&token, Some(last)).await.events().is_empty());
    assert!(sim.events(&token, Some(u64::MAX)).await.events().is_empty());
    assert_eq!(sim.handle.stats().last_event_id, Some(last));

    let empty = crate::sim::tests_support::sim(options(0)).await;
    let token = empty.access_token().await;
    assert!(empty.events(&token, None).await.events().is_empty());
    assert_eq!(empty.handle.stats().last_event_id, None);
}

#[tokio::test]
async fn from_in_a_gap_returns_the_ids_above_it() {
    for inclusive_from in [false, true] {
        let sim = sim(SimOptions {
            inclusive_from,
            ..options(1000)
        })
        .await;
        let token = sim.access_token().await;
        let all = ids(&sim.events(&token, None).await.events());
        let gap = all
            .windows(2)
            .position(|pair| pair[1] - pair[0] > 1)
            .expect("a gap");

        let page = ids(&sim.events(&token, Some(all[gap] + 1)).await.events());
        assert_eq!(page, all[gap + 1..], "inclusive_from = {inclusive_from}");
    }
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let (one, two) = (sim(options(3000)).await, sim(options(3000)).await);
    let (token_one, token_two) = (one.access_token().await, two.access_token().await);
    for from in [None, Some(10_500), Some(12_345)] {
        let page_one = one.events(&token_one, from).await;
        assert_eq!(page_one.body, two.events(&token_two, from).await.body);
        assert_eq!(page_one.events().len(), 1000);
    }

    let other = sim(SimOptions {
        seed: 43,
        ..options(3000)
    })
    .await;
    let token = other.access_token().await;
    assert_ne!(
        one.events(&token_one, None).await.body,
        other.events(&token, None).await.body
    );
}

#[tokio::test]
async fn a_million_events_cost_nothing() {
    let sim = sim(options(1_000_000)).await;
    let token = sim.access_token().await;
    let last = sim.handle.stats().last_event_id.expect("a last id");

    let started = std::time::Instant::now();
    let page = sim.events(&token, Some(last - 1500)).await.events();
    assert!(!page.is_empty() && page.len() < 1000);
    assert_eq!(ids(&page).last(), Some(&last));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bad_from_is_a_400_in_the_error_shape() {
    let sim = sim(options(10)).await;
    let token = sim.access_token().await;
    for query in ["from=abc", "from=-5", "from=", "from=1.5"] {
        let reply = sim
            .get(&format!("/api/v1/events?{query}"), Some(&token))
            .await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(error_shape(&reply), "Bad Request");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let sim = sim(options(10)).await;
    let reply = sim.get("/api/v1/nothing", None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(error_shape(&reply), "Not Found");

    let reply = sim.admin_raw("/api/v1/events", "").await;
    assert_eq!(reply.status, 405);
    assert_eq!(error_shape(&reply), "Method Not Allowed");
}

#[tokio::test]
async fn trickle_and_append_grow_the_log() {
    let sim = sim(SimOptions {
        events: 5,
        trickle: 100.0,
        ..options(5)
    })
    .await;
    let token = sim.access_token().await;
    tokio::time::sleep(Duration::from_millis(120)).await;

    let grown = sim.stats().await.log_events;
    assert!(grown >= 15, "{grown} events after 120 ms at 100 per second");
    let page = sim.events(&token, None).await.events();
    assert!(page.len() as u64 >= grown);

    let newest = page.last().expect("events")["created_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let newest: jiff::Timestamp = newest.parse().expect("a timestamp");
    let age = jiff::Timestamp::now().as_second() - newest.as_second();
    assert!(
        (0..5).contains(&age),
        "newest trickled event is {age} s old"
    );

    let appended = sim
        .admin("/_sim/append", json!({ "count": 1500 }))
        .await
        .json();
    assert!(appended["log_events"].as_u64().unwrap_or_default() >= grown + 1500);
}

#[tokio::test]
async fn events_carry_the_documented_fields_and_some_unknown_ones() {
    let sim = sim(options(700)).await;
    let token = sim.access_token().await;
    let page = sim.events(&token, None).await.events();
    let documented = [
        "event_id",
        "created_at",
        "ip_address",
        "key",
        "parameters",
        "service_id",
        "source",
        "user_email",
        "user_id",
    ];

    for event in &page {
        let object = event.as_object().expect("an object");
        assert!(
            documented.iter().all(|field| object.contains_key(*field)),
            "{event}"
        );
        assert!(event["parameters"].is_object() && event["user_id"].is_u64());
        assert!(
            event["created_at"]
                .as_str()
                .is_some_and(|text| text.parse::<jiff::Timestamp>().is_ok())
        );
    }
    assert!(page.iter().any(|event| event.get("org_id").is_some()));
    assert!(page.iter().any(|event| event["ip_address"].is_null()));
    assert!(page.iter().any(|event| event["service_id"].is_u64()));
    let formats: std::collections::HashSet<usize> = page
        .iter()
        .map(|event| event["created_at"].as_str().map_or(0, str::len))
        .collect();
    assert!(formats.len() >= 4, "timestamp lengths {formats:?}");
}

#[tokio::test]
async fn hostile_and_oversized_events_stay_valid_json() {
    let sim = sim(SimOptions {
        hostile_every: 10,
        oversized_every: 50,
        ..options(100)
    })
    .await;
    let token = sim.access_token().await;
    let reply = sim.events(&token, None).await;
    let page = reply.events();

    let hostile: Vec<&Json> = page.iter().skip(9).step_by(10).collect();
    assert_eq!(hostile.len(), 10);
    assert!(
        hostile
            .iter()
            .all(|event| event["key"].as_str().is_some_and(|key| key.contains('|')))
    );
    assert!(page.iter().any(|event| {
        event["user_email"]
            .as_str()
            .is_some_and(|e| e.contains('\n'))
    }));
    assert!(reply.body.len() > 2 * 256 * 1024);
}

#[tokio::test]
async fn timestamp_variants_can_be_turned_off() {
    let sim = sim(SimOptions {
        timestamp_variants: false,
        unknown_fields: false,
        ..options(300)
    })
    .await;
    let token = sim.access_token().await;
    let page = sim.events(&token, None).await.events();

    assert!(
        page.iter()
            .all(|event| event["created_at"].as_str().is_some_and(|t| t.len() == 20))
    );
    assert!(
        page.iter()
            .all(|event| event.as_object().is_some_and(|object| object.len() == 9))
    );
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_keep_alive_connections() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    assert_eq!(sim.events(&token, None).await.status, 200);
    let addr = sim.handle.addr();

    let started = std::time::Instant::now();
    sim.handle.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
