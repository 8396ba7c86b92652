//! The OAuth side: the API token (a refresh token), the access tokens granted for it,
//! and the Okta-style token endpoint.
//!
//! Like Own, the simulator knows one API token at a time: issuing a new one revokes the
//! old. Access tokens are random opaque strings, each with its own expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde::Serialize;

use crate::sim::server::{AppState, json_response, lock};

/// The one scope Own grants.
pub(crate) const SCOPE: &str = "api:access";

/// Scopes a client may ask for besides [`SCOPE`].
const EXTRA_SCOPES: [&str; 1] = ["offline_access"];

/// Okta's answer to every unusable refresh token, whatever the reason.
const INVALID_GRANT: &str = "The refresh token is invalid or expired.";

/// How the token endpoint behaves.
#[derive(Debug, Clone)]
pub(crate) struct TokenOptions {
    pub client_id: String,
    pub expires_in: u64,
    pub rotate: bool,
    pub api_token_lifetime: Duration,
}

#[derive(Debug)]
struct ApiToken {
    value: String,
    issued: Instant,
}

#[derive(Debug, Default)]
struct Tokens {
    api_token: Option<ApiToken>,
    /// Access token to its expiry.
    access: HashMap<String, Instant>,
    /// Every token granted (access and rotated refresh tokens), newest last, at most
    /// [`ISSUED_KEPT`], so tests can check that none of them leaks.
    issued: std::collections::VecDeque<String>,
}

/// How many granted tokens the stats remember.
const ISSUED_KEPT: usize = 1000;

/// Whether an access token may read events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Granted,
    Expired,
    Unknown,
}

/// A successful grant, in the shape of Okta's response.
#[derive(Debug, Serialize)]
struct Grant {
    token_type: &'static str,
    expires_in: u64,
    access_token: String,
    scope: String,
    refresh_token: String,
}

/// A refused grant, in the OAuth error shape.
#[derive(Debug, Serialize)]
pub(crate) struct GrantError {
    #[serde(skip)]
    status: StatusCode,
    error: &'static str,
    error_description: String,
}

impl GrantError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> GrantError {
        GrantError {
            status,
            error,
            error_description: description.into(),
        }
    }

    fn bad_request(error: &'static str, description: impl Into<String>) -> GrantError {
        GrantError::new(StatusCode::BAD_REQUEST, error, description)
    }
}

/// The token state of one simulator.
#[derive(Debug)]
pub(crate) struct TokenStore {
    options: TokenOptions,
    tokens: Mutex<Tokens>,
}

impl TokenStore {
    pub(crate) fn new(options: TokenOptions, api_token: String) -> TokenStore {
        let api_token = ApiToken {
            value: api_token,
            issued: Instant::now(),
        };
        let tokens = Tokens {
            api_token: Some(api_token),
            access: HashMap::new(),
            issued: std::collections::VecDeque::new(),
        };
        TokenStore {
            options,
            tokens: Mutex::new(tokens),
        }
    }

    /// Checks a form of the token endpoint and grants an access token.
    fn grant(&self, form: &HashMap<String, String>) -> Result<Grant, GrantError> {
        let field = |name: &str| {
            form.get(name)
                .map(String::as_str)
                .filter(|value| !value.is_empty())
        };

        match field("grant_type") {
            None => {
                return Err(GrantError::bad_request(
                    "invalid_request",
                    "grant_type is missing",
                ));
            }
            Some("refresh_token") => {}
            Some(other) => {
                let description = format!("The authorization grant type is not supported: {other}");
                return Err(GrantError::bad_request(
                    "unsupported_grant_type",
                    description,
                ));
            }
        }
        if field("client_id") != Some(self.options.client_id.as_str()) {
            let description = "Client authentication failed. Either the client or the client \
                               credentials are invalid.";
            return Err(GrantError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                description,
            ));
        }
        let scope = check_scope(field("scope"))?;
        let Some(refresh_token) = field("refresh_token") else {
            return Err(GrantError::bad_request(
                "invalid_request",
                "refresh_token is missing",
            ));
        };

        self.exchange(refresh_token, scope)
    }

    fn exchange(&self, refresh_token: &str, scope: String) -> Result<Grant, GrantError> {
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
        let Some(current) = tokens
            .api_token
            .as_mut()
            .filter(|t| t.value == refresh_token)
        else {
            return Err(GrantError::bad_request("invalid_grant", INVALID_GRANT));
        };
        if now.duration_since(current.issued) >= self.options.api_token_lifetime {
            return Err(GrantError::bad_request("invalid_grant", INVALID_GRANT));
        }

        if self.options.rotate {
            current.value = random_token(40);
        }
        let refresh_token = current.value.clone();
        let access_token = random_token(48);
        let expiry = now + Duration::from_secs(self.options.expires_in);
        tokens.access.retain(|_, expires| *expires > now);
        tokens.access.insert(access_token.clone(), expiry);
        for token in [&access_token, &refresh_token] {
            if tokens.issued.len() >= ISSUED_KEPT {
                tokens.issued.pop_front();
            }
            tokens.issued.push_back(token.clone());
        }

        Ok(Grant {
            token_type: "Bearer",
            expires_in: self.options.expires_in,
            access_token,
            scope,
            refresh_token,
        })
    }

    /// Every token granted lately: access tokens and (rotated) refresh tokens.
    pub(crate) fn issued(&self) -> Vec<String> {
        lock(&self.tokens).issued.iter().cloned().collect()
    }

    /// Whether `access_token` is one this simulator granted and that is still valid.
    pub(crate) fn check_access(&self, access_token: &str) -> Access {
        match lock(&self.tokens).access.get(access_token) {
            Some(expires) if *expires > Instant::now() => Access::Granted,
            Some(_) => Access::Expired,
            None => Access::Unknown,
        }
    }

    /// Invalidates every access token; returns how many there were.
    pub(crate) fn revoke_access(&self) -> usize {
        let mut tokens = lock(&self.tokens);
        let revoked = tokens.access.len();
        tokens.access.clear();
        revoked
    }

    /// Revokes the API token: no grant succeeds until a new one is issued.
    pub(crate) fn revoke_api_token(&self) {
        lock(&self.tokens).api_token = None;
    }

    /// Issues `value` as the API token, revoking the previous one.
    pub(crate) fn replace_api_token(&self, value: String) {
        lock(&self.tokens).api_token = Some(ApiToken {
            value,
            issued: Instant::now(),
        });
    }
}

/// Accepts a missing scope (the grant's own) or any set of known scopes that holds
/// `api:access`; returns the scope to report.
fn check_scope(requested: Option<&str>) -> Result<String, GrantError> {
    let Some(requested) = requested else {
        return Ok(SCOPE.to_owned());
    };
    let known = |scope: &&str| *scope == SCOPE || EXTRA_SCOPES.contains(scope);
    let scopes: Vec<&str> = requested
        .split(' ')
        .filter(|scope| !scope.is_empty())
        .collect();
    if !scopes.iter().all(known) || !scopes.contains(&SCOPE) {
        let description = format!("One or more scopes are not configured: {requested}");
        return Err(GrantError::bad_request("invalid_scope", description));
    }
    Ok(scopes.join(" "))
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `POST /oauth2/v1/token`: the refresh-token grant.
pub(crate) async fn token_endpoint(
    State(state): State<AppState>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let result = match form {
        Ok(Form(form)) => state.tokens.grant(&form),
        Err(rejection) => Err(GrantError::bad_request(
            "invalid_request",
            rejection.body_text(),
        )),
    };

    let (status, mut response, error) = match result {
        Ok(grant) => (StatusCode::OK, json_response(StatusCode::OK, &grant), None),
        Err(refused) => {
            let response = json_response(refused.status, &refused);
            (refused.status, response, Some(refused.error))
        }
    };
    state.stats.record_token_request(status.as_u16(), error);

    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(rotate: bool, lifetime: Duration) -> TokenStore {
        let options = TokenOptions {
            client_id: "client".into(),
            expires_in: 60,
            rotate,
            api_token_lifetime: lifetime,
        };
        TokenStore::new(options, "api".into())
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn good_form(refresh_token: &str) -> HashMap<String, String> {
        form(&[
            ("grant_type", "refresh_token"),
            ("scope", "api:access"),
            ("refresh_token", refresh_token),
            ("client_id", "client"),
        ])
    }

    fn error_of(result: Result<Grant, GrantError>) -> Option<&'static str> {
        result.err().map(|error| error.error)
    }

    #[test]
    fn grant_then_check() {
        let store = store(false, Duration::from_secs(60));
        let grant = store.grant(&good_form("api"));
        let Ok(grant) = grant else {
            panic!("grant refused")
        };

        assert_eq!(grant.refresh_token, "api");
        assert_eq!(store.check_access(&grant.access_token), Access::Granted);
        assert_eq!(store.check_access("other"), Access::Unknown);
        assert_eq!(store.revoke_access(), 1);
        assert_eq!(store.check_access(&grant.access_token), Access::Unknown);
    }

    #[test]
    fn refusals_have_oauth_error_codes() {
        let store = store(false, Duration::from_secs(60));
        let mut bad_scope = good_form("api");
        bad_scope.insert("scope".into(), "admin".into());
        let mut bad_client = good_form("api");
        bad_client.insert("client_id".into(), "nope".into());
        let mut bad_grant = good_form("api");
        bad_grant.insert("grant_type".into(), "password".into());

        assert_eq!(error_of(store.grant(&bad_scope)), Some("invalid_scope"));
        assert_eq!(error_of(store.grant(&bad_client)), Some("invalid_client"));
        assert_eq!(
            error_of(store.grant(&bad_grant)),
            Some("unsupported_grant_type")
        );
        assert_eq!(
            error_of(store.grant(&good_form("wrong"))),
            Some("invalid_grant")
        );
        assert_eq!(error_of(store.grant(&form(&[]))), Some("invalid_request"));
    }

    #[test]
    fn api_token_expires_after_its_lifetime() {
        let store = store(false, Duration::ZERO);
        assert_eq!(
            error_of(store.grant(&good_form("api"))),
            Some("invalid_grant")
        );
    }

    #[test]
    fn scope_may_be_omitted_or_widened() {
        assert_eq!(check_scope(None).ok().as_deref(), Some("api:access"));
        let widened = check_scope(Some("api:access offline_access"));
        assert_eq!(widened.ok().as_deref(), Some("api:access offline_access"));
        assert!(check_scope(Some("offline_access")).is_err());
    }
}
