//! Faults injected into events requests: queued one-shot faults from `POST /_sim/fault`,
//! and random ones drawn at `--fault-rate`.
//!
//! Faults apply only to requests that passed authentication, so that a client's
//! refresh-and-retry after a real `401` never consumes a fault meant for later.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, future, stream};

use crate::sim::content::Draw;
use crate::sim::server::{ApiError, lock};

/// Salt of the random draws that decide the `--fault-rate` faults.
const FAULT_SALT: u64 = 0xFA17;

/// How long a truncated response waits between its half body and the cut.
const TRUNCATION_PAUSE: Duration = Duration::from_millis(20);

/// A kind of fault that the simulator can serve instead of a normal events page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum FaultKind {
    /// `429 Too Many Requests`, with a `Retry-After` header when one is configured.
    #[value(name = "429")]
    TooManyRequests,
    /// `500 Internal Server Error` in the documented error shape.
    #[value(name = "500")]
    InternalError,
    /// `502 Bad Gateway` with an HTML body, as a load balancer in front would send.
    #[value(name = "502")]
    BadGateway,
    /// `503 Service Unavailable` in the documented error shape.
    #[value(name = "503")]
    Unavailable,
    /// `401` for an access token that is still valid: a refresh fixes it.
    #[value(name = "401")]
    Unauthorized,
    /// `403 Forbidden`: the user's role does not reach the audit log.
    #[value(name = "403")]
    Forbidden,
    /// A `200` whose body stops halfway: the headers announce the full length and the
    /// connection closes after half of it.
    #[value(name = "truncated")]
    Truncated,
    /// A `200` whose body is not an array of events: an object, or not JSON at all.
    #[value(name = "malformed")]
    Malformed,
}

impl FaultKind {
    /// The kinds `--faults` draws from unless told otherwise.
    pub const RANDOM_DEFAULT: [FaultKind; 6] = [
        FaultKind::TooManyRequests,
        FaultKind::InternalError,
        FaultKind::Unavailable,
        FaultKind::Unauthorized,
        FaultKind::Truncated,
        FaultKind::Malformed,
    ];

    /// The name used on the command line and by `POST /_sim/fault`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::InternalError => "500",
            FaultKind::BadGateway => "502",
            FaultKind::Unavailable => "503",
            FaultKind::Unauthorized => "401",
            FaultKind::Forbidden => "403",
            FaultKind::Truncated => "truncated",
            FaultKind::Malformed => "malformed",
        }
    }

    /// Looks a kind up by its name; `None` for anything else.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        let all = FaultKind::RANDOM_DEFAULT.into_iter();
        all.chain([FaultKind::BadGateway, FaultKind::Forbidden])
            .find(|kind| kind.name() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `Retry-After` value of a queued fault.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RetryAfter {
    /// Sent exactly as given: seconds, an HTTP date, or anything a test wants to try.
    Verbatim(String),
    /// An HTTP date this many seconds after the moment the fault is served.
    DateIn(u64),
}

impl RetryAfter {
    /// Reads the admin form: `"date+N"` is a date N seconds ahead, anything else verbatim.
    pub(crate) fn parse(text: &str) -> RetryAfter {
        let seconds = text
            .strip_prefix("date+")
            .and_then(|n| n.trim().parse().ok());
        match seconds {
            Some(seconds) => RetryAfter::DateIn(seconds),
            None => RetryAfter::Verbatim(text.to_owned()),
        }
    }

    fn header_value(&self) -> Option<HeaderValue> {
        match self {
            RetryAfter::Verbatim(text) => HeaderValue::from_str(text).ok(),
            RetryAfter::DateIn(seconds) => {
                let at = SystemTime::now() + Duration::from_secs(*seconds);
                HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok()
            }
        }
    }
}

/// What happens to one events request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// Answer with this kind of fault.
    Respond {
        kind: FaultKind,
        retry_after: Option<RetryAfter>,
    },
    /// Wait this long, then answer normally.
    Latency(Duration),
}

impl Fault {
    /// A short label for the stats.
    pub(crate) fn label(&self) -> String {
        match self {
            Fault::Respond { kind, .. } => kind.name().to_owned(),
            Fault::Latency(delay) => format!("latency {}ms", delay.as_millis()),
        }
    }
}

/// A fault waiting in the queue.
#[derive(Debug)]
struct Queued {
    fault: Fault,
    /// Requests still to get this fault.
    remaining: u64,
    /// Requests to let through before the first one gets it.
    skip: u64,
}

/// The source of faults for events requests.
///
/// Queued faults are served in the order they were queued: the front entry lets its
/// `after` requests through, then serves its `count` requests, then the next entry
/// starts. Random faults apply only to requests that no queued fault claimed.
#[derive(Debug)]
pub(crate) struct Faults {
    queue: Mutex<VecDeque<Queued>>,
    rate: f64,
    kinds: Vec<FaultKind>,
    seed: u64,
    draws: AtomicU64,
    /// Rotates the bodies of malformed responses.
    malformed_served: AtomicU64,
}

impl Faults {
    pub(crate) fn new(rate: f64, kinds: Vec<FaultKind>, seed: u64) -> Faults {
        Faults {
            queue: Mutex::new(VecDeque::new()),
            rate,
            kinds,
            seed,
            draws: AtomicU64::new(0),
            malformed_served: AtomicU64::new(0),
        }
    }

    /// Queues `fault` for `count` requests after `after` others; returns the queue length.
    pub(crate) fn enqueue(&self, fault: Fault, count: u64, after: u64) -> usize {
        let mut queue = lock(&self.queue);
        if count > 0 {
            queue.push_back(Queued {
                fault,
                remaining: count,
                skip: after,
            });
        }
        queue.len()
    }

    /// Empties the queue; returns how many entries it held.
    pub(crate) fn clear(&self) -> usize {
        let mut queue = lock(&self.queue);
        let cleared = queue.len();
        queue.clear();
        cleared
    }

    pub(crate) fn queued(&self) -> usize {
        lock(&self.queue).len()
    }

    /// Decides the fault, if any, for the next authorized events request.
    pub(crate) fn next(&self) -> Option<Fault> {
        self.next_queued().or_else(|| self.next_random())
    }

    fn next_queued(&self) -> Option<Fault> {
        let mut queue = lock(&self.queue);
        let front = queue.front_mut()?;
        if front.skip > 0 {
            front.skip -= 1;
            return None;
        }

        front.remaining -= 1;
        let fault = front.fault.clone();
        if front.remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    fn next_random(&self) -> Option<Fault> {
        if self.rate <= 0.0 || self.kinds.is_empty() {
            return None;
        }
        let draw_number = self.draws.fetch_add(1, Ordering::Relaxed);
        let mut draw = Draw::new(self.seed, draw_number, FAULT_SALT);
        if draw.unit() >= self.rate {
            return None;
        }
        let kind = *draw.pick(&self.kinds);
        let retry_after = (kind == FaultKind::TooManyRequests)
            .then(|| RetryAfter::Verbatim((1 + draw.below(2)).to_string()));
        Some(Fault::Respond { kind, retry_after })
    }

    /// The body of a malformed response, one of several so that a client meets each.
    pub(crate) fn malformed_body(&self) -> &'static str {
        const BODIES: [&str; 3] = [
            r#"{"events": [], "next": null}"#,
            "<html><body>Service temporarily unavailable</body></html>",
            r#"{"error": null, "data": "[{\"event_id\": 1}]"}"#,
        ];
        let served = self.malformed_served.fetch_add(1, Ordering::Relaxed);
        BODIES[(served % BODIES.len() as u64) as usize]
    }
}

/// The response for a fault that replaces the page. `page` is the JSON the request would
/// otherwise have got; only `Truncated` uses it.
pub(crate) fn respond(
    faults: &Faults,
    kind: FaultKind,
    retry_after: Option<&RetryAfter>,
    page: Vec<u8>,
) -> Response {
    let mut response = match kind {
        FaultKind::TooManyRequests => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "rate limit exceeded, slow down",
        )
        .into_response(),
        FaultKind::InternalError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "an unexpected error occurred",
        )
        .into_response(),
        FaultKind::BadGateway => bad_gateway(),
        FaultKind::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "the service is temporarily unavailable",
        )
        .into_response(),
        FaultKind::Unauthorized => ApiError::unauthorized("the access token is not valid"),
        FaultKind::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the user's role does not allow reading the audit log",
        )
        .into_response(),
        FaultKind::Truncated => truncated(page),
        FaultKind::Malformed => json_text(faults.malformed_body()),
    };

    if let Some(value) = retry_after.and_then(RetryAfter::header_value) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn bad_gateway() -> Response {
    let html = "<html><head><title>502 Bad Gateway</title></head>\
                <body><h1>502 Bad Gateway</h1></body></html>";
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        html,
    )
        .into_response()
}

fn json_text(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A `200` that announces the whole page in `Content-Length` but ends after half of it:
/// the body stream fails midway, so the server closes the connection.
fn truncated(page: Vec<u8>) -> Response {
    let full_length = page.len();
    let mut half = Bytes::from(page);
    half.truncate(full_length / 2);

    // The pause lets the server flush the headers and the half: failing at once would
    // make it drop the buffered response and close before the client saw anything.
    let cut = async {
        tokio::time::sleep(TRUNCATION_PAUSE).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated by fault",
        ))
    };
    let chunks = stream::once(future::ready(Ok(half))).chain(stream::once(cut));
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full_length));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(kind: FaultKind) -> Fault {
        Fault::Respond {
            kind,
            retry_after: None,
        }
    }

    #[test]
    fn queue_serves_in_order_after_skipping() {
        let faults = Faults::new(0.0, Vec::new(), 1);
        faults.enqueue(status(FaultKind::TooManyRequests), 2, 1);
        faults.enqueue(status(FaultKind::InternalError), 1, 0);

        assert_eq!(faults.next(), None);
        assert_eq!(faults.next(), Some(status(FaultKind::TooManyRequests)));
        assert_eq!(faults.next(), Some(status(FaultKind::TooManyRequests)));
        assert_eq!(faults.next(), Some(status(FaultKind::InternalError)));
        assert_eq!(faults.next(), None);
        assert_eq!(faults.queued(), 0);
    }

    #[test]
    fn random_faults_follow_rate_and_seed() {
        let draw_all = |seed| {
            let faults = Faults::new(0.3, FaultKind::RANDOM_DEFAULT.to_vec(), seed);
            (0..1000).map(|_| faults.next()).collect::<Vec<_>>()
        };
        let first = draw_all(7);
        let hits = first.iter().filter(|fault| fault.is_some()).count();

        assert!(
            (200..400).contains(&hits),
            "{hits} faults in 1000 draws at rate 0.3"
        );
        assert_eq!(first, draw_all(7));
    }

    #[test]
    fn every_kind_has_a_name() {
        for kind in FaultKind::RANDOM_DEFAULT {
            assert_eq!(FaultKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(FaultKind::from_name("502"), Some(FaultKind::BadGateway));
        assert_eq!(FaultKind::from_name("418"), None);
    }

    #[test]
    fn retry_after_date_form() {
        assert_eq!(RetryAfter::parse("date+5"), RetryAfter::DateIn(5));
        assert_eq!(RetryAfter::parse("2"), RetryAfter::Verbatim("2".into()));
    }
}
