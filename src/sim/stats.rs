//! What the simulator has seen, for tests to check a client's behaviour: how often it
//! asked for tokens and events, what it got, and when.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::sim::server::lock;

/// How many recent requests of each kind the stats remember.
pub(crate) const RECENT_REQUESTS: usize = 1000;

/// A snapshot of the simulator's counters, served at `GET /_sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// Token requests answered with an access token.
    pub token_requests_ok: u64,
    /// Token requests refused, whatever the reason.
    pub token_requests_failed: u64,
    /// Events requests by HTTP status (as served: a truncated body counts as 200).
    pub events_requests_by_status: BTreeMap<u16, u64>,
    /// Events requests of any status.
    pub events_requests_total: u64,
    /// Events sent in complete pages (truncated and malformed pages not counted).
    pub events_served: u64,
    /// Events in the log now, trickle and appends included.
    pub log_events: u64,
    /// Id of the newest event in the log, if any.
    pub last_event_id: Option<u64>,
    /// Faults queued through `POST /_sim/fault` that are not yet served.
    pub faults_queued: usize,
    /// The last events requests, oldest first.
    pub recent_events_requests: Vec<EventsRequest>,
    /// The last token requests, oldest first.
    pub recent_token_requests: Vec<TokenRequest>,
    /// The tokens granted lately (access and refresh), oldest first. A real server would
    /// never reveal them; tests use them to prove that no token reaches a log.
    #[serde(default)]
    pub issued_tokens: Vec<String>,
}

/// One events request as the simulator answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsRequest {
    /// Arrival time, in seconds since the Unix epoch.
    pub at: f64,
    /// HTTP status sent.
    pub status: u16,
    /// The `from` parameter, when it was a valid id.
    pub from: Option<u64>,
    /// Events in the page, 0 for errors.
    pub returned: u64,
    /// The fault served, if any: a kind such as `429`, or `latency 200ms`.
    pub fault: Option<String>,
}

/// One token request as the simulator answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Arrival time, in seconds since the Unix epoch.
    pub at: f64,
    /// HTTP status sent.
    pub status: u16,
    /// The OAuth error code of a refusal.
    pub error: Option<String>,
}

/// Collects the counters behind [`SimStats`].
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    token_ok: u64,
    token_failed: u64,
    events_by_status: BTreeMap<u16, u64>,
    events_total: u64,
    events_served: u64,
    recent_events: VecDeque<EventsRequest>,
    recent_tokens: VecDeque<TokenRequest>,
}

/// The current time in seconds since the Unix epoch.
pub(crate) fn unix_now() -> f64 {
    let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    since_epoch.map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == RECENT_REQUESTS {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl Recorder {
    pub(crate) fn record_token_request(&self, status: u16, error: Option<&str>) {
        let mut counters = lock(&self.inner);
        if error.is_none() {
            counters.token_ok += 1;
        } else {
            counters.token_failed += 1;
        }
        let request = TokenRequest {
            at: unix_now(),
            status,
            error: error.map(str::to_owned),
        };
        push_bounded(&mut counters.recent_tokens, request);
    }

    /// Records an events request; `complete` says whether its page arrived whole.
    pub(crate) fn record_events_request(&self, request: EventsRequest, complete: bool) {
        let mut counters = lock(&self.inner);
        *counters.events_by_status.entry(request.status).or_default() += 1;
        counters.events_total += 1;
        if complete {
            counters.events_served += request.returned;
        }
        push_bounded(&mut counters.recent_events, request);
    }

    /// The counters, with the log figures the caller supplies.
    pub(crate) fn snapshot(
        &self,
        log_events: u64,
        last_event_id: Option<u64>,
        faults_queued: usize,
        issued_tokens: Vec<String>,
    ) -> SimStats {
        let counters = lock(&self.inner);
        SimStats {
            token_requests_ok: counters.token_ok,
            token_requests_failed: counters.token_failed,
            events_requests_by_status: counters.events_by_status.clone(),
            events_requests_total: counters.events_total,
            events_served: counters.events_served,
            log_events,
            last_event_id,
            faults_queued,
            recent_events_requests: counters.recent_events.iter().cloned().collect(),
            recent_token_requests: counters.recent_tokens.iter().cloned().collect(),
            issued_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: u16, returned: u64) -> EventsRequest {
        EventsRequest {
            at: unix_now(),
            status,
            from: None,
            returned,
            fault: None,
        }
    }

    #[test]
    fn recent_requests_are_bounded() {
        let recorder = Recorder::default();
        for _ in 0..RECENT_REQUESTS + 5 {
            recorder.record_events_request(request(200, 2), true);
        }
        recorder.record_events_request(request(200, 1000), false);

        let stats = recorder.snapshot(0, None, 0, Vec::new());
        assert_eq!(stats.recent_events_requests.len(), RECENT_REQUESTS);
        assert_eq!(stats.events_requests_total, RECENT_REQUESTS as u64 + 6);
        assert_eq!(stats.events_served, 2 * (RECENT_REQUESTS as u64 + 5));
    }

    #[test]
    fn stats_round_trip_through_json() {
        let recorder = Recorder::default();
        recorder.record_token_request(400, Some("invalid_grant"));
        recorder.record_events_request(request(429, 0), false);
        let stats = recorder.snapshot(10, Some(10_030), 1, Vec::new());

        let json = serde_json::to_string(&stats).unwrap_or_default();
        let mut parsed: SimStats = serde_json::from_str(&json).unwrap_or_default();

        // Parsing may move a float by its last bit.
        let (sent, read) = (
            &stats.recent_events_requests[0],
            &parsed.recent_events_requests[0],
        );
        assert!((sent.at - read.at).abs() < 1e-6);
        parsed.recent_events_requests[0].at = sent.at;
        parsed.recent_token_requests[0].at = stats.recent_token_requests[0].at;
        assert_eq!(parsed, stats);
    }
}
