//! Admin endpoints under `/_sim/`, for tests to steer the simulator and read its stats.
//!
//! Bodies are JSON. A body that does not parse, or names an unknown field, gets a `400`
//! in the API's error shape.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::sim::faults::{Fault, FaultKind, RetryAfter};
use crate::sim::server::{ApiError, AppState, json_response};

/// Most events one `POST /_sim/append` may add.
const MAX_APPEND: u64 = 10_000_000;

/// The admin routes, to merge into the simulator's router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/fault", post(queue_fault).delete(clear_faults))
        .route("/_sim/revoke-access", post(revoke_access))
        .route("/_sim/revoke-api-token", post(revoke_api_token))
        .route("/_sim/api-token", post(issue_api_token))
        .route("/_sim/append", post(append))
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
}

fn ok(body: serde_json::Value) -> Response {
    json_response(StatusCode::OK, &body)
}

async fn stats(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.stats())
}

/// A fault kind as a name (`"429"`, `"truncated"`) or as a bare status code (`429`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KindName {
    Name(String),
    Code(u16),
}

/// A `Retry-After` as text, `"date+N"`, or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RetryAfterField {
    Text(String),
    Seconds(u64),
}

/// The body of `POST /_sim/fault`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    kind: KindName,
    #[serde(default = "one")]
    count: u64,
    #[serde(default)]
    retry_after: Option<RetryAfterField>,
    #[serde(default)]
    after: u64,
    /// Delay of a `latency` fault, in milliseconds.
    ms: Option<u64>,
}

fn one() -> u64 {
    1
}

impl FaultRequest {
    fn fault(&self) -> Result<Fault, ApiError> {
        let name = match &self.kind {
            KindName::Name(name) => name.clone(),
            KindName::Code(code) => code.to_string(),
        };
        if name == "latency" {
            let ms = self
                .ms
                .ok_or_else(|| ApiError::bad_request("a latency fault needs \"ms\""))?;
            return Ok(Fault::Latency(std::time::Duration::from_millis(ms)));
        }

        let kind = FaultKind::from_name(&name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown fault kind {name:?}; expected 429, 500, 502, 503, 401, 403, \
                 truncated, malformed or latency"
            ))
        })?;
        let retry_after = self.retry_after.as_ref().map(|field| match field {
            RetryAfterField::Text(text) => RetryAfter::parse(text),
            RetryAfterField::Seconds(seconds) => RetryAfter::Verbatim(seconds.to_string()),
        });
        Ok(Fault::Respond { kind, retry_after })
    }
}

/// `POST /_sim/fault`: queues a fault for the next `count` events requests after
/// `after` others.
async fn queue_fault(State(state): State<AppState>, body: Bytes) -> Response {
    let queued = parse::<FaultRequest>(&body).and_then(|request| {
        if request.count == 0 {
            return Err(ApiError::bad_request("count must be at least 1"));
        }
        let fault = request.fault()?;
        Ok(state.faults.enqueue(fault, request.count, request.after))
    });
    match queued {
        Ok(queued) => ok(json!({ "queued": queued })),
        Err(error) => error.into_response(),
    }
}

/// `DELETE /_sim/fault`: drops every queued fault.
async fn clear_faults(State(state): State<AppState>) -> Response {
    ok(json!({ "cleared": state.faults.clear() }))
}

/// `POST /_sim/revoke-access`: every access token stops working.
async fn revoke_access(State(state): State<AppState>) -> Response {
    ok(json!({ "revoked": state.tokens.revoke_access() }))
}

/// `POST /_sim/revoke-api-token`: the API token stops working.
async fn revoke_api_token(State(state): State<AppState>) -> Response {
    state.tokens.revoke_api_token();
    ok(json!({ "revoked": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiTokenRequest {
    token: String,
}

/// `POST /_sim/api-token`: issues a new API token and revokes the old one.
async fn issue_api_token(State(state): State<AppState>, body: Bytes) -> Response {
    let request = match parse::<ApiTokenRequest>(&body) {
        Ok(request) if !request.token.is_empty() => request,
        Ok(_) => return ApiError::bad_request("token must not be empty").into_response(),
        Err(error) => return error.into_response(),
    };
    state.tokens.replace_api_token(request.token);
    ok(json!({ "issued": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendRequest {
    count: u64,
}

/// `POST /_sim/append`: adds events to the log at once.
async fn append(State(state): State<AppState>, body: Bytes) -> Response {
    let count = match parse::<AppendRequest>(&body) {
        Ok(request) if (1..=MAX_APPEND).contains(&request.count) => request.count,
        Ok(_) => {
            let message = format!("count must be between 1 and {MAX_APPEND}");
            return ApiError::bad_request(message).into_response();
        }
        Err(error) => return error.into_response(),
    };

    state.log.append(count);
    let log = state.log.snapshot();
    ok(json!({ "log_events": log.len(), "last_event_id": log.last_id() }))
}
