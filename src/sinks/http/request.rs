//! One HTTP request and what its answer means: the endpoint the retry logic drives, and
//! the health probe.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use tokio::time::Instant;

use super::deliver::{Endpoint, Outcome};
use super::encode;
use super::sign::{self, Signer};
use crate::config::HttpEncoding;
use crate::secret::Secret;
use crate::sinks::HealthError;
use crate::sinks::util::excerpt;
use crate::telemetry::names;

/// The most of a response body read, for messages and to reuse the connection.
const MAX_ANSWER: usize = 64 * 1024;

/// The `status` labels of the request counter.
pub const STATUS_LABELS: &[&str] = &[
    "2xx", "3xx", "4xx", "5xx", "other", "timeout", "connect", "network",
];

/// Sends request bodies to the configured URL.
pub struct HttpEndpoint {
    pub sink: String,
    pub client: reqwest::Client,
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub encoding: HttpEncoding,
    pub gzip: bool,
    pub signer: Option<Signer>,
    pub secrets: Vec<Secret>,
}

#[async_trait]
impl Endpoint for HttpEndpoint {
    type Body = Vec<u8>;

    fn prepare(&self, pieces: &[&[u8]]) -> Result<Vec<u8>, String> {
        let body = encode::body(self.encoding, pieces);
        if self.gzip {
            encode::gzip(&body).map_err(|e| format!("cannot gzip the request body: {e}"))
        } else {
            Ok(body)
        }
    }

    async fn post(&self, body: &Vec<u8>) -> Outcome {
        let mut headers = self.headers.clone();
        if let Some(signer) = &self.signer {
            signer.sign(&mut headers, sign::unix_now(), body);
        }
        let request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(headers)
            .body(body.clone());
        let started = Instant::now();
        let (label, outcome) = match request.send().await {
            Ok(response) => {
                let label = status_label(response.status());
                (label, self.answer(response).await)
            }
            Err(error) => failure(&error),
        };
        let sink = self.sink.clone();
        metrics::histogram!(names::HTTP_SINK_REQUEST_DURATION, "sink" => sink.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!(names::HTTP_SINK_REQUESTS, "sink" => sink.clone(), "status" => label)
            .increment(1);
        metrics::counter!(names::HTTP_SINK_REQUEST_BYTES, "sink" => sink)
            .increment(body.len() as u64);
        outcome
    }
}

impl HttpEndpoint {
    async fn answer(&self, response: reqwest::Response) -> Outcome {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(excerpt);
        let body = read_answer(response).await;
        let detail = scrub(&self.secrets, &format!("HTTP {status}: {}", excerpt(&body)));
        let detail = match location {
            Some(to) if status.is_redirection() => format!(
                "{detail}; it redirects to {to}, and redirects are not followed: set url to the \
                 final address"
            ),
            _ => detail,
        };
        classify(status, detail, retry_after)
    }
}

/// What an answer means for the request.
pub fn classify(status: StatusCode, detail: String, retry_after: Option<Duration>) -> Outcome {
    let transient = |reason| Outcome::Transient {
        reason,
        detail: detail.clone(),
        retry_after,
    };
    let refused = |reason, splittable| Outcome::Refused {
        reason,
        detail: detail.clone(),
        splittable,
    };
    match status.as_u16() {
        200..=299 => Outcome::Accepted,
        408 => transient("status_408"),
        429 => transient("status_429"),
        500..=599 => transient("status_5xx"),
        300..=399 => transient("redirect"),
        400 => refused("bad_request", true),
        413 => refused("too_large", true),
        // The endpoint refuses our credentials or does not know the URL: the operator
        // must fix the configuration, and the events wait rather than being set aside.
        401 | 403 | 407 => transient("unauthorized"),
        404 => transient("not_found"),
        402..=499 => refused("refused", false),
        _ => transient("unexpected_status"),
    }
}

/// The attempt failed before an answer: connecting, TLS, a timeout or a broken body.
fn failure(error: &reqwest::Error) -> (&'static str, Outcome) {
    let (label, reason) = if error.is_timeout() {
        ("timeout", "timeout")
    } else if error.is_connect() {
        ("connect", "connect")
    } else {
        ("network", "network")
    };
    let outcome = Outcome::Transient {
        reason,
        detail: describe(error),
        retry_after: None,
    };
    (label, outcome)
}

fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// `Retry-After` as seconds or as an HTTP date; a date in the past means now.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A reqwest error as text, without its URL (which may carry a query) but with its causes.
pub fn describe(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause = error.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// Scheme, host, port and path: what messages show of a URL, never its query.
pub fn shown(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

fn scrub(secrets: &[Secret], text: &str) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |text, secret| secret.scrub(&text))
}

async fn read_answer(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ANSWER {
            break;
        }
    }
    body
}

/// Probes the health URL with `GET`: any 2xx is healthy.
pub struct Probe {
    pub client: reqwest::Client,
    pub url: Url,
    pub headers: HeaderMap,
    pub secrets: Vec<Secret>,
}

impl Probe {
    pub async fn check(&self) -> Result<(), HealthError> {
        let at = shown(&self.url);
        let request = self
            .client
            .get(self.url.clone())
            .headers(self.headers.clone());
        let response = request
            .send()
            .await
            .map_err(|e| HealthError(format!("health check {at}: {}", describe(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_answer(response).await;
        let detail = format!("health check {at} answered {status}: {}", excerpt(&body));
        Err(HealthError(scrub(&self.secrets, &detail)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: u16) -> (&'static str, bool) {
        let status = StatusCode::from_u16(code).unwrap();
        match classify(status, String::new(), None) {
            Outcome::Accepted => ("accepted", false),
            Outcome::Transient { reason, .. } => (reason, true),
            Outcome::Refused { reason, .. } => (reason, false),
        }
    }

    #[test]
    fn statuses_are_retried_or_refused_as_the_issue_says() {
        for (code, expected) in [
            (200, ("accepted", false)),
            (204, ("accepted", false)),
            (408, ("status_408", true)),
            (429, ("status_429", true)),
            (500, ("status_5xx", true)),
            (503, ("status_5xx", true)),
            (302, ("redirect", true)),
            (400, ("bad_request", false)),
            (413, ("too_large", false)),
            (401, ("unauthorized", true)),
            (403, ("unauthorized", true)),
            (407, ("unauthorized", true)),
            (404, ("not_found", true)),
            (409, ("refused", false)),
            (422, ("refused", false)),
        ] {
            assert_eq!(reason(code), expected, "{code}");
        }
        let split = |code| match classify(StatusCode::from_u16(code).unwrap(), String::new(), None)
        {
            Outcome::Refused { splittable, .. } => splittable,
            _ => false,
        };
        assert!(split(400) && split(413) && !split(422));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn urls_are_shown_without_their_query() {
        let url = Url::parse("https://hec.example.net:8088/services/collector?token=abc").unwrap();
        assert_eq!(
            shown(&url),
            "https://hec.example.net:8088/services/collector"
        );
    }

    #[test]
    fn echoed_secrets_are_scrubbed_and_excerpts_are_one_line() {
        let secrets = vec![Secret::new("tok-123")];
        assert_eq!(scrub(&secrets, "bad token tok-123"), "bad token [redacted]");
        assert_eq!(excerpt("a\nb"), "a b");
        assert_eq!(excerpt("x".repeat(300)).chars().count(), 201);
    }
}
