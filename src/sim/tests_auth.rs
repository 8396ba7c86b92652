//! HTTP tests of the token endpoint and of access to the events endpoint.

use std::time::Duration;

use serde_json::json;

use crate::sim::SimOptions;
use crate::sim::tests_support::{error_shape, options, sim};

fn oauth_error(reply: &crate::sim::tests_support::Reply) -> String {
    let body = reply.json();
    assert!(
        body["error_description"].is_string(),
        "no error_description in {body}"
    );
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn grant_has_the_okta_shape_and_opens_the_events() {
    let sim = sim(SimOptions {
        expires_in: 300,
        ..options(5)
    })
    .await;
    let reply = sim.grant("sim-api-token").await;
    let body = reply.json();

    assert_eq!(reply.status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "api:access");
    assert_eq!(body["refresh_token"], "sim-api-token");
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));

    let token = body["access_token"].as_str().unwrap_or_default();
    assert!(token.len() >= 32);
    assert_eq!(sim.events(token, None).await.events().len(), 5);
    assert_ne!(sim.access_token().await, token);
}

#[tokio::test]
async fn own_token_path_works_too() {
    let sim = sim(options(1)).await;
    let url = sim.url("/oauth2/aus4c3z3l8FqrbqDU4h7/v1/token");
    let form = [
        ("grant_type", "refresh_token"),
        ("scope", "api:access"),
        ("refresh_token", "sim-api-token"),
        ("client_id", "0oa4c413eq8wwcEzP4h7"),
    ];
    let response = sim
        .client
        .post(url)
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn refusals_follow_the_oauth_shape() {
    let sim = sim(options(1)).await;
    let form = |grant_type, scope, client_id| {
        [
            ("grant_type", grant_type),
            ("scope", scope),
            ("refresh_token", "sim-api-token"),
            ("client_id", client_id),
        ]
    };
    let client = "0oa4c413eq8wwcEzP4h7";
    let cases = [
        (form("refresh_token", "admin", client), 400, "invalid_scope"),
        (
            form("refresh_token", "api:access", "wrong"),
            401,
            "invalid_client",
        ),
        (
            form("client_credentials", "api:access", client),
            400,
            "unsupported_grant_type",
        ),
    ];
    for (form, status, error) in cases {
        let reply = sim.token_form(&form).await;
        assert_eq!(
            (reply.status, oauth_error(&reply)),
            (status, error.to_owned())
        );
    }

    let reply = sim.grant("not-the-token").await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (400, "invalid_grant".to_owned())
    );

    let stats = sim.stats().await;
    assert_eq!(
        (stats.token_requests_ok, stats.token_requests_failed),
        (0, 4)
    );
    assert_eq!(
        stats.recent_token_requests[0].error.as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn revoked_api_token_gets_invalid_grant_until_a_new_one_is_issued() {
    let sim = sim(options(1)).await;
    assert_eq!(sim.grant("sim-api-token").await.status, 200);

    sim.admin("/_sim/revoke-api-token", json!({})).await;
    let reply = sim.grant("sim-api-token").await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (400, "invalid_grant".to_owned())
    );

    sim.admin("/_sim/api-token", json!({ "token": "second" }))
        .await;
    assert_eq!(sim.grant("second").await.status, 200);
    sim.admin("/_sim/api-token", json!({ "token": "third" }))
        .await;
    assert_eq!(sim.grant("second").await.status, 400);
    assert_eq!(sim.grant("third").await.status, 200);
}

#[tokio::test]
async fn rotation_revokes_the_token_used() {
    let sim = sim(SimOptions {
        rotate_refresh_token: true,
        ..options(1)
    })
    .await;
    let first = sim.grant("sim-api-token").await.json();
    let rotated = first["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(rotated, "sim-api-token");

    let reply = sim.grant("sim-api-token").await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (400, "invalid_grant".to_owned())
    );
    let second = sim.grant(&rotated).await.json();
    assert_ne!(second["refresh_token"], rotated.as_str());
}

#[tokio::test]
async fn api_token_expires_after_its_lifetime() {
    let lifetime = Duration::from_millis(500);
    let sim = sim(SimOptions {
        api_token_lifetime: lifetime,
        ..options(1)
    })
    .await;
    assert_eq!(sim.grant("sim-api-token").await.status, 200);

    tokio::time::sleep(Duration::from_millis(550)).await;
    let reply = sim.grant("sim-api-token").await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (400, "invalid_grant".to_owned())
    );
}

#[tokio::test]
async fn events_need_a_valid_bearer_token() {
    let sim = sim(options(1)).await;
    let reply = sim.get("/api/v1/events", None).await;
    assert_eq!(
        (reply.status, error_shape(&reply)),
        (401, "Unauthorized".to_owned())
    );
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|value| value.starts_with("Bearer"))
    );

    let reply = sim.events("made-up", None).await;
    assert_eq!(
        (reply.status, error_shape(&reply)),
        (401, "Unauthorized".to_owned())
    );
}

#[tokio::test]
async fn revoke_access_gives_401_until_a_refresh() {
    let sim = sim(options(3)).await;
    let token = sim.access_token().await;
    assert_eq!(sim.events(&token, None).await.status, 200);

    sim.admin("/_sim/revoke-access", json!({})).await;
    assert_eq!(sim.events(&token, None).await.status, 401);

    let fresh = sim.access_token().await;
    assert_eq!(sim.events(&fresh, None).await.events().len(), 3);
}

#[tokio::test]
async fn access_tokens_expire() {
    let sim = sim(SimOptions {
        expires_in: 1,
        ..options(1)
    })
    .await;
    let token = sim.access_token().await;
    assert_eq!(sim.events(&token, None).await.status, 200);

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let reply = sim.events(&token, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["message"], "the access token expired");
}

#[tokio::test]
async fn bad_admin_bodies_are_400s() {
    let sim = sim(options(1)).await;
    let cases = [
        ("/_sim/api-token", "{"),
        ("/_sim/api-token", r#"{"token": ""}"#),
        ("/_sim/append", r#"{"count": "many"}"#),
        ("/_sim/append", r#"{"count": 0}"#),
        ("/_sim/fault", r#"{"kind": "418"}"#),
        ("/_sim/fault", r#"{"kind": "latency"}"#),
        ("/_sim/fault", r#"{"kind": "429", "count": 0}"#),
        ("/_sim/fault", r#"{"kind": "429", "retry-after": "2"}"#),
        ("/_sim/fault", "not json"),
    ];
    for (path, body) in cases {
        let reply = sim.admin_raw(path, body).await;
        assert_eq!(reply.status, 400, "{path} {body}");
        assert_eq!(error_shape(&reply), "Bad Request");
    }
}
