//! The events endpoint: one page of the audit log per call.
//!
//! `GET {base}events` returns the oldest events, `GET {base}events?from=ID` the ones
//! after `ID`, as a bare JSON array of at most [`PAGE_LIMIT`](super::PAGE_LIMIT) objects.
//! This module fetches and checks one page; the source loop in `pipeline` does the
//! paging, the cursor and the retries.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use serde_json::value::RawValue;

use super::auth::without_url;
use crate::secret::Secret;
use crate::telemetry::names;

/// Why a page could not be fetched. None of these moves the cursor.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the Own API refused the access token (401)")]
    Unauthorized,
    #[error(
        "the Own API denied access (403: {0}); the user behind the API token needs a role that \
         can read the audit log"
    )]
    Forbidden(String),
    #[error("the Own API is rate limiting (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the Own API failed ({status}: {message})")]
    Server { status: u16, message: String },
    #[error("the Own API refused the request ({status}: {message})")]
    Client { status: u16, message: String },
    #[error("the Own API sent a malformed page: {0}")]
    Malformed(String),
    #[error("the Own API could not be reached: {0}")]
    Network(String),
}

impl FetchError {
    /// The bounded `status` label of the request metric.
    fn label(&self) -> &'static str {
        match self {
            FetchError::Unauthorized => "401",
            FetchError::Forbidden(_) => "403",
            FetchError::RateLimited { .. } => "429",
            FetchError::Server { .. } => "5xx",
            FetchError::Client { .. } => "4xx",
            FetchError::Malformed(_) => "malformed",
            FetchError::Network(_) => "network",
        }
    }
}

/// Fetches pages of one source's audit log.
#[derive(Clone)]
pub struct EventsClient {
    source: String,
    http: reqwest::Client,
    url: reqwest::Url,
}

impl EventsClient {
    /// `base` is the API base URL ending in `/`, such as `https://app1.owndata.com/api/v1/`.
    pub fn new(source: &str, http: reqwest::Client, base: &str) -> Result<Self, String> {
        let base =
            reqwest::Url::parse(base).map_err(|e| format!("invalid base URL {base:?}: {e}"))?;
        let url = base
            .join("events")
            .map_err(|e| format!("invalid base URL {base}: {e}"))?;
        Ok(Self {
            source: source.to_owned(),
            http,
            url,
        })
    }

    /// Fetches the page after `from` (or the first page), as raw JSON entries.
    pub async fn fetch(
        &self,
        from: Option<u64>,
        token: &Secret,
    ) -> Result<Vec<Box<RawValue>>, FetchError> {
        let started = Instant::now();
        let result = self.fetch_once(from, token).await;
        metrics::histogram!(names::API_REQUEST_DURATION, "source" => self.source.clone())
            .record(started.elapsed().as_secs_f64());
        let label = match &result {
            Ok(_) => "2xx",
            Err(error) => error.label(),
        };
        metrics::counter!(names::API_REQUESTS, "source" => self.source.clone(), "status" => label)
            .increment(1);
        result
    }

    async fn fetch_once(
        &self,
        from: Option<u64>,
        token: &Secret,
    ) -> Result<Vec<Box<RawValue>>, FetchError> {
        let mut request = self.http.get(self.url.clone()).bearer_auth(token.expose());
        if let Some(from) = from {
            request = request.query(&[("from", from)]);
        }
        let response = request
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Network(without_url(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response.bytes().await.map_err(|e| {
            if status.is_success() {
                FetchError::Malformed(without_url(&e))
            } else {
                FetchError::Network(without_url(&e))
            }
        })?;
        match status.as_u16() {
            200..=299 => parse_page(&body),
            401 => Err(FetchError::Unauthorized),
            403 => Err(FetchError::Forbidden(error_message(&body))),
            429 => Err(FetchError::RateLimited { retry_after }),
            500..=599 => Err(FetchError::Server {
                status: status.as_u16(),
                message: error_message(&body),
            }),
            code => Err(FetchError::Client {
                status: code,
                message: error_message(&body),
            }),
        }
    }
}

/// Checks that a body is a JSON array and splits it into its entries, each kept as raw
/// JSON text.
fn parse_page(body: &[u8]) -> Result<Vec<Box<RawValue>>, FetchError> {
    let entries: Vec<Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        FetchError::Malformed(match e.classify() {
            serde_json::error::Category::Data => {
                format!(
                    "expected a JSON array of events, got: {}",
                    super::excerpt(body)
                )
            }
            _ => format!("not valid JSON ({e}), {} bytes", body.len()),
        })
    })?;
    if entries.len() > super::PAGE_LIMIT {
        tracing::debug!(
            entries = entries.len(),
            "a page is longer than the documented limit"
        );
    }
    Ok(entries)
}

/// The `message` (or `error`) of Own's error shape, else an excerpt of the body.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name| parsed.as_ref()?.get(name)?.as_str().map(super::excerpt_str);
    field("message")
        .or_else(|| field("error"))
        .unwrap_or_else(|| super::excerpt(body))
}

/// `Retry-After` as delay seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let got = parse_retry_after(&later).unwrap();
        assert!(
            got <= Duration::from_secs(30) && got >= Duration::from_secs(28),
            "{got:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn a_page_must_be_an_array() {
        assert!(parse_page(b"[]").unwrap().is_empty());
        assert!(matches!(
            parse_page(b"{\"a\":1}"),
            Err(FetchError::Malformed(_))
        ));
        assert!(matches!(
            parse_page(b"[{\"event_id\":1},"),
            Err(FetchError::Malformed(_))
        ));
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"error":"Not Found","message":"no such path"}"#),
            "no such path"
        );
        assert_eq!(
            error_message(b"<html>\nbad gateway</html>"),
            "<html> bad gateway</html>"
        );
    }
}
