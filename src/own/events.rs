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
    /// A page could not be handled locally, such as a full disk for its dead letters.
    #[error("{0}")]
    Local(String),
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
            FetchError::Local(_) => "2xx",
        }
    }
}

/// One page of the audit log.
#[derive(Debug, Default)]
pub struct Page {
    /// The entries, each as the JSON text Own sent.
    pub entries: Vec<Box<RawValue>>,
    /// Entries that no JSON parser accepts, found only when reading leniently.
    pub unparsable: Vec<Unparsable>,
}

/// An entry that is not valid JSON on its own, such as one holding a lone surrogate.
#[derive(Debug)]
pub struct Unparsable {
    pub text: String,
    pub reason: String,
}

impl Page {
    /// Entries on the page, readable or not; a full page has [`PAGE_LIMIT`](super::PAGE_LIMIT).
    pub fn len(&self) -> usize {
        self.entries.len() + self.unparsable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    ///
    /// `lenient` reads a page that does not parse whole entry by entry, for when the same
    /// page has failed again and again: one unparsable entry then no longer blocks it.
    pub async fn fetch(
        &self,
        from: Option<u64>,
        token: &Secret,
        lenient: bool,
    ) -> Result<Page, FetchError> {
        let started = Instant::now();
        let result = self.fetch_once(from, token, lenient).await;
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
        lenient: bool,
    ) -> Result<Page, FetchError> {
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
        if status.is_redirection() {
            let message = format!(
                "redirected to {}; redirects are not followed: set base_url to the final address",
                super::redirect_target(&response)
            );
            return Err(FetchError::Client {
                status: status.as_u16(),
                message,
            });
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let limit = if status.is_success() {
            super::MAX_PAGE_BYTES
        } else {
            super::MAX_SMALL_BODY
        };
        let body = match super::read_body(response, limit).await {
            Ok(body) => body,
            Err(super::BodyError::TooLarge(limit)) if status.is_success() => {
                return Err(FetchError::Malformed(format!(
                    "the page is larger than {limit} bytes"
                )));
            }
            Err(super::BodyError::TooLarge(_)) => Vec::new(),
            Err(super::BodyError::Broken(reason)) if status.is_success() => {
                return Err(FetchError::Malformed(reason));
            }
            Err(super::BodyError::Broken(reason)) => return Err(FetchError::Network(reason)),
        };
        // An error body may echo the request, Authorization header included.
        let message = || error_message(&body, token);
        match status.as_u16() {
            200..=299 => parse_page(&body, lenient),
            401 => Err(FetchError::Unauthorized),
            403 => Err(FetchError::Forbidden(message())),
            404 => Err(FetchError::Client {
                status: 404,
                message: format!("{}; check base_url (it ends in /api/v1/)", message()),
            }),
            429 => Err(FetchError::RateLimited { retry_after }),
            500..=599 => Err(FetchError::Server {
                status: status.as_u16(),
                message: message(),
            }),
            code => Err(FetchError::Client {
                status: code,
                message: message(),
            }),
        }
    }
}

/// Checks that a body is a JSON array and splits it into its entries, each kept as raw
/// JSON text.
fn parse_page(body: &[u8], lenient: bool) -> Result<Page, FetchError> {
    let strict = serde_json::from_slice::<Vec<Box<RawValue>>>(body);
    let error = match strict {
        Ok(entries) => {
            return Ok(Page {
                entries,
                unparsable: Vec::new(),
            });
        }
        Err(error) => error,
    };
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => Err(FetchError::Malformed(format!(
            "expected a JSON array of events, got: {}",
            super::excerpt(body)
        ))),
        Category::Syntax if lenient => split_leniently(body).ok_or_else(|| {
            FetchError::Malformed(format!("not valid JSON ({error}), {} bytes", body.len()))
        }),
        _ => Err(FetchError::Malformed(format!(
            "not valid JSON ({error}), {} bytes",
            body.len()
        ))),
    }
}

/// Parses a whole array entry by entry, setting aside the entries no parser accepts.
fn split_leniently(body: &[u8]) -> Option<Page> {
    let mut page = Page::default();
    for part in super::split::split_array(body)? {
        match serde_json::from_slice::<Box<RawValue>>(part) {
            Ok(entry) => page.entries.push(entry),
            Err(error) => page.unparsable.push(Unparsable {
                text: String::from_utf8_lossy(part).into_owned(),
                reason: error.to_string(),
            }),
        }
    }
    Some(page)
}

/// The `message` (or `error`) of Own's error shape, else an excerpt of the body, with the
/// access token scrubbed out.
fn error_message(body: &[u8], token: &Secret) -> String {
    let text = token.scrub(&String::from_utf8_lossy(body));
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let field = |name| parsed.as_ref()?.get(name)?.as_str().map(super::excerpt);
    let message = field("message").or_else(|| field("error"));
    // Scrubbed again: unescaping the JSON may have revealed the token.
    token.scrub(&message.unwrap_or_else(|| super::excerpt(&text)))
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
        assert!(parse_page(b"[]", false).unwrap().is_empty());
        for lenient in [false, true] {
            let not_array = parse_page(b"{\"a\":1}", lenient);
            assert!(matches!(not_array, Err(FetchError::Malformed(_))));
            let cut = parse_page(b"[{\"event_id\":1},", lenient);
            assert!(matches!(cut, Err(FetchError::Malformed(_))));
        }
    }

    #[test]
    fn a_lenient_read_sets_aside_only_the_entry_no_parser_accepts() {
        let body = r#"[{"event_id":1},{"event_id":2,"x":tru},{"event_id":3}]"#;
        let strict = parse_page(body.as_bytes(), false);
        assert!(
            matches!(strict, Err(FetchError::Malformed(_))),
            "{strict:?}"
        );
        let page = parse_page(body.as_bytes(), true).unwrap();
        assert_eq!(page.entries.len(), 2);
        assert_eq!(page.unparsable.len(), 1);
        assert!(page.unparsable[0].text.starts_with(r#"{"event_id":2"#));
    }

    #[test]
    fn a_lone_surrogate_escape_is_carried_through_untouched() {
        let body = br#"[{"event_id":1,"x":"a\ud800b"}]"#;
        let page = parse_page(body, false).unwrap();
        assert!(page.entries[0].get().contains(r"\ud800"));
    }

    fn token() -> Secret {
        Secret::new("tok/en")
    }

    #[test]
    fn echoed_tokens_are_scrubbed_however_they_are_written() {
        for body in [
            r#"{"message":"bad header: Bearer tok/en"}"#,
            r#"{"message":"bad header: Bearer tok\/en"}"#,
            "Authorization: Bearer tok/en",
        ] {
            let said = error_message(body.as_bytes(), &token());
            assert!(!said.contains("tok/en"), "{said}");
        }
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(
                br#"{"error":"Not Found","message":"no such path"}"#,
                &token()
            ),
            "no such path"
        );
        assert_eq!(
            error_message(b"<html>\nbad gateway</html>", &token()),
            "<html> bad gateway</html>"
        );
    }
}
