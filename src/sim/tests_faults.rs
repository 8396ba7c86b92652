//! HTTP tests of injected faults.

use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::sim::tests_support::{error_shape, options, sim};
use crate::sim::{FaultKind, SimOptions};

#[tokio::test]
async fn status_faults_answer_once_then_the_page_comes() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    let cases = [
        ("429", "Too Many Requests"),
        ("500", "Internal Server Error"),
        ("503", "Service Unavailable"),
        ("403", "Forbidden"),
        ("401", "Unauthorized"),
    ];
    for (kind, error) in cases {
        sim.fault(json!({ "kind": kind })).await;
        let reply = sim.events(&token, None).await;
        assert_eq!(reply.status.to_string(), kind);
        assert_eq!(error_shape(&reply), error);
        assert_eq!(
            sim.events(&token, None).await.events().len(),
            5,
            "after {kind}"
        );
    }

    sim.fault(json!({ "kind": 502 })).await;
    let reply = sim.events(&token, None).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("content-type").as_deref(), Some("text/html"));
}

#[tokio::test]
async fn retry_after_is_sent_as_given() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;

    sim.fault(json!({ "kind": "429", "retry_after": "2" }))
        .await;
    assert_eq!(
        sim.events(&token, None)
            .await
            .header("retry-after")
            .as_deref(),
        Some("2")
    );

    sim.fault(json!({ "kind": "429", "retry_after": 7 })).await;
    assert_eq!(
        sim.events(&token, None)
            .await
            .header("retry-after")
            .as_deref(),
        Some("7")
    );

    let date = "Wed, 21 Oct 2037 07:28:00 GMT";
    sim.fault(json!({ "kind": "429", "retry_after": date }))
        .await;
    assert_eq!(
        sim.events(&token, None)
            .await
            .header("retry-after")
            .as_deref(),
        Some(date)
    );

    sim.fault(json!({ "kind": "429", "retry_after": "date+30" }))
        .await;
    let header = sim
        .events(&token, None)
        .await
        .header("retry-after")
        .unwrap_or_default();
    let at = httpdate::parse_http_date(&header).expect("an HTTP date");
    let ahead = at.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        (Duration::from_secs(25)..=Duration::from_secs(31)).contains(&ahead),
        "{header}"
    );

    sim.fault(json!({ "kind": "429", "retry_after": null }))
        .await;
    let reply = sim.events(&token, None).await;
    assert_eq!((reply.status, reply.header("retry-after")), (429, None));
}

#[tokio::test]
async fn truncated_body_is_never_valid_json() {
    let sim = sim(options(1000)).await;
    let token = sim.access_token().await;
    sim.fault(json!({ "kind": "truncated" })).await;

    let response = sim.events_response(&token, None).await;
    assert_eq!(response.status().as_u16(), 200);
    let announced = response.content_length();
    match response.bytes().await {
        Err(_) => {}
        Ok(body) => {
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
            assert!(announced.is_some_and(|length| length > body.len() as u64));
        }
    }
    assert_eq!(sim.events(&token, None).await.events().len(), 1000);
}

#[tokio::test]
async fn malformed_bodies_are_not_arrays() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    sim.fault(json!({ "kind": "malformed", "count": 3 })).await;

    for _ in 0..3 {
        let reply = sim.events(&token, None).await;
        assert_eq!(reply.status, 200);
        let parsed = serde_json::from_slice::<serde_json::Value>(&reply.body);
        assert!(!parsed.is_ok_and(|body| body.is_array()));
    }
}

#[tokio::test]
async fn latency_fault_and_option_delay_requests() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    sim.fault(json!({ "kind": "latency", "ms": 150 })).await;

    let started = Instant::now();
    assert_eq!(sim.events(&token, None).await.events().len(), 5);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let slow = crate::sim::tests_support::sim(SimOptions {
        latency: Duration::from_millis(100),
        ..options(5)
    })
    .await;
    let token = slow.access_token().await;
    let started = Instant::now();
    assert_eq!(slow.events(&token, None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn queued_faults_honour_count_and_after() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    sim.fault(json!({ "kind": "429", "count": 2, "after": 1, "retry_after": "1" }))
        .await;
    sim.fault(json!({ "kind": "500" })).await;

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(sim.events(&token, None).await.status);
    }
    assert_eq!(statuses, [200, 429, 429, 500, 200]);

    let stats = sim.stats().await;
    let recent: Vec<u16> = stats
        .recent_events_requests
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(recent, statuses);
    assert!(
        stats
            .recent_events_requests
            .windows(2)
            .all(|pair| pair[0].at <= pair[1].at)
    );
    assert_eq!(
        stats.recent_events_requests[1].fault.as_deref(),
        Some("429")
    );
    assert_eq!(stats.events_requests_by_status.get(&429), Some(&2));
    assert_eq!(stats.events_served, 10);
}

#[tokio::test]
async fn faults_can_be_cleared() {
    let sim = sim(options(5)).await;
    let token = sim.access_token().await;
    sim.fault(json!({ "kind": "503", "count": 10 })).await;
    assert_eq!(sim.stats().await.faults_queued, 1);

    let response = sim
        .client
        .delete(sim.url("/_sim/fault"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(sim.events(&token, None).await.status, 200);
}

#[tokio::test]
async fn fault_rate_draws_from_the_chosen_kinds() {
    let options = SimOptions {
        fault_rate: 1.0,
        faults: vec![FaultKind::InternalError],
        ..options(5)
    };
    let sim = sim(options).await;
    let token = sim.access_token().await;
    for _ in 0..5 {
        assert_eq!(sim.events(&token, None).await.status, 500);
    }
    assert_eq!(
        sim.handle.stats().events_requests_by_status.get(&500),
        Some(&5)
    );
}

#[tokio::test]
async fn faults_wait_for_an_authorized_request() {
    let sim = sim(options(5)).await;
    sim.fault(json!({ "kind": "429" })).await;
    assert_eq!(sim.events("not-a-token", None).await.status, 401);

    let token = sim.access_token().await;
    assert_eq!(sim.events(&token, None).await.status, 429);
}
