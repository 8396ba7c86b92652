//! The HTTP surface: routes, the events endpoint, and the error shapes shared by all.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::sim::admin;
use crate::sim::faults::{self, Fault, FaultKind, Faults};
use crate::sim::generator::Log;
use crate::sim::stats::{EventsRequest, Recorder, SimStats, unix_now};
use crate::sim::tokens::{self, Access, TokenStore};

/// Path of the token endpoint that [`crate::sim::SimHandle::token_url`] names.
pub(crate) const TOKEN_PATH: &str = "/oauth2/v1/token";

/// The token path of Own's real authorization server, served too.
const OWN_TOKEN_PATH: &str = "/oauth2/aus4c3z3l8FqrbqDU4h7/v1/token";

/// Path of the events endpoint.
pub(crate) const EVENTS_PATH: &str = "/api/v1/events";

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub log: Log,
    pub tokens: TokenStore,
    pub faults: Faults,
    pub stats: Recorder,
    /// Added to every events request.
    pub latency: Duration,
    pub inclusive_from: bool,
}

impl Shared {
    pub(crate) fn stats(&self) -> SimStats {
        let log = self.log.snapshot();
        self.stats.snapshot(
            log.len(),
            log.last_id(),
            self.faults.queued(),
            self.tokens.issued(),
        )
    }
}

/// The state handed to every handler.
pub(crate) type AppState = Arc<Shared>;

/// Locks a mutex, carrying on if another thread panicked while holding it: every
/// critical section here leaves its data consistent at each step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An error in the API's documented shape: `{"error": "...", "message": "..."}`.
#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request", message)
    }

    /// A `401` with the `WWW-Authenticate` challenge of a bearer-token API.
    pub(crate) fn unauthorized(message: &str) -> Response {
        let error = ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message);
        let mut response = error.into_response();
        let challenge = HeaderValue::from_static("Bearer error=\"invalid_token\"");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self)
    }
}

/// `body` as JSON with `status`; a `500` in the error shape if it cannot be serialized.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(error) => {
            let body = format!(r#"{{"error":"Internal Server Error","message":"{error}"}}"#);
            json_bytes(StatusCode::INTERNAL_SERVER_ERROR, body.into_bytes())
        }
    }
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// All routes of the simulator.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(tokens::token_endpoint))
        .route(OWN_TOKEN_PATH, post(tokens::token_endpoint))
        .route(EVENTS_PATH, get(events))
        .merge(admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Not Found",
        "the requested resource does not exist",
    )
}

async fn method_not_allowed() -> ApiError {
    let message = "the method is not allowed for the requested resource";
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        message,
    )
}

/// The query of the events endpoint. Other parameters are ignored, as the real API
/// documents none.
#[derive(Debug, Deserialize)]
struct EventsQuery {
    from: Option<String>,
}

/// `GET /api/v1/events[?from=<id>]`.
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let at = unix_now();
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }

    let mut request = EventsRequest {
        at,
        status: 0,
        from: None,
        returned: 0,
        fault: None,
    };
    let (response, complete) = serve_events(&state, &headers, query, &mut request).await;
    request.status = response.status().as_u16();
    state.stats.record_events_request(request, complete);
    response
}

/// Answers an events request, noting in `request` what it asked and got. The flag says
/// whether a whole page went out.
async fn serve_events(
    state: &Shared,
    headers: &HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
    request: &mut EventsRequest,
) -> (Response, bool) {
    if let Err(message) = authorize(state, headers) {
        return (ApiError::unauthorized(message), false);
    }
    request.from = match parse_from(query) {
        Ok(from) => from,
        Err(error) => return (error.into_response(), false),
    };

    let fault = state.faults.next();
    request.fault = fault.as_ref().map(Fault::label);
    if let Some(Fault::Latency(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }

    let page = match &fault {
        Some(Fault::Respond { kind, .. }) if *kind != FaultKind::Truncated => Vec::new(),
        _ => match build_page(state, request.from) {
            Ok((page, returned)) => {
                request.returned = returned;
                page
            }
            Err(error) => return (error.into_response(), false),
        },
    };

    match fault {
        Some(Fault::Respond { kind, retry_after }) => {
            let response = faults::respond(&state.faults, kind, retry_after.as_ref(), page);
            (response, false)
        }
        _ => (json_bytes(StatusCode::OK, page), true),
    }
}

/// Checks the bearer token of an events request; the error is the message of the `401`.
fn authorize(state: &Shared, headers: &HeaderMap) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let token = value.and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let Some(token) = token else {
        return Err("a bearer access token is required");
    };

    match state.tokens.check_access(token) {
        Access::Granted => Ok(()),
        Access::Expired => Err("the access token expired"),
        Access::Unknown => Err("the access token is not valid"),
    }
}

fn parse_from(query: Result<Query<EventsQuery>, QueryRejection>) -> Result<Option<u64>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let Some(from) = query.from else {
        return Ok(None);
    };
    match from.parse() {
        Ok(from) => Ok(Some(from)),
        Err(_) => {
            let message = format!("from must be a non-negative integer event id, got {from:?}");
            Err(ApiError::bad_request(message))
        }
    }
}

/// The JSON page that follows `from`, and how many events it holds.
fn build_page(state: &Shared, from: Option<u64>) -> Result<(Vec<u8>, u64), ApiError> {
    let snapshot = state.log.snapshot();
    let range = snapshot.page(from, state.inclusive_from);
    let returned = range.end - range.start;
    let page = snapshot.page_json(range).map_err(|error| {
        tracing::error!(error = %error, "Simulator could not serialize an events page.");
        let message = "the events page could not be built";
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            message,
        )
    })?;
    Ok((page, returned))
}
