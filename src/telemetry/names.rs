//! Every metric name the daemon exports, in one place.
//!
//! Names start with `own_audit_`, counters end in `_total`, units are in the name. Labels
//! are bounded: `source` and `sink` (configured names), `result`, `reason` and `status`
//! (small fixed sets). No event id, email or URL is ever a label.

/// Gauge, always 1; labels `version`.
pub const BUILD_INFO: &str = "own_audit_build_info";

/// Counter of events read from the API (after dropping repeats); label `source`.
pub const EVENTS_FETCHED: &str = "own_audit_events_fetched_total";
/// Counter of events whose batch every sink acknowledged; label `source`.
pub const EVENTS_FORWARDED: &str = "own_audit_events_forwarded_total";
/// Events a source's `include_keys`/`exclude_keys` kept from every sink; label `source`.
pub const SOURCE_EVENTS_FILTERED: &str = "own_audit_source_events_filtered_total";
/// Events a sink's `include_keys`/`exclude_keys` kept from that sink; label `sink`.
pub const SINK_EVENTS_FILTERED: &str = "own_audit_sink_events_filtered_total";
/// Counter of events a sink accepted; labels `sink`, `source`.
pub const EVENTS_SENT: &str = "own_audit_events_sent_total";
/// Counter of bytes a sink accepted; label `sink`.
pub const SINK_BYTES: &str = "own_audit_sink_bytes_total";
/// Counter of events written to the dead-letter store; labels `sink`, `reason`.
pub const EVENTS_DEAD_LETTERED: &str = "own_audit_events_dead_lettered_total";
/// Counter of failed sink attempts (each is retried); labels `sink`, `reason`.
pub const SINK_ERRORS: &str = "own_audit_sink_errors_total";
/// Histogram of the time a sink took to accept a batch, retries included; label `sink`.
pub const SINK_SEND_DURATION: &str = "own_audit_sink_send_duration_seconds";
/// Gauge, messages handed to a sink's client library and not yet acknowledged (Kafka's
/// in-flight queue); label `sink`.
pub const SINK_QUEUE_DEPTH: &str = "own_audit_sink_queue_depth";
/// Gauge, 1 while the sink's last health check or send succeeded; label `sink`.
pub const SINK_UP: &str = "own_audit_sink_up";
/// Counter of connections a sink opened again after losing one; label `sink`.
pub const SINK_RECONNECTS: &str = "own_audit_sink_reconnects_total";
/// Counter of messages shortened to a sink's size limit, with a marker; label `sink`.
pub const SINK_TRUNCATED: &str = "own_audit_sink_messages_truncated_total";
/// Counter of messages sent again after a reconnect, which receivers may see twice;
/// label `sink`.
pub const SINK_RESENT: &str = "own_audit_sink_messages_resent_total";

/// Counter of HTTP sink requests; labels `sink`, `status` (`2xx`, `3xx`, `4xx`, `5xx`,
/// `other`, `timeout`, `connect`, `network`).
pub const HTTP_SINK_REQUESTS: &str = "own_audit_http_sink_requests_total";
/// Counter of HTTP sink request body bytes as sent (compressed), every attempt; label
/// `sink`.
pub const HTTP_SINK_REQUEST_BYTES: &str = "own_audit_http_sink_request_bytes_total";
/// Counter of HTTP sink retries; labels `sink`, `reason`.
pub const HTTP_SINK_RETRIES: &str = "own_audit_http_sink_retries_total";
/// Histogram of the time of one HTTP sink request, to the end of the answer; label `sink`.
pub const HTTP_SINK_REQUEST_DURATION: &str = "own_audit_http_sink_request_duration_seconds";

/// Counter of events API requests; labels `source`, `status` (`2xx`, `401`, `403`, `429`,
/// `4xx`, `5xx`, `malformed`, `network`).
pub const API_REQUESTS: &str = "own_audit_api_requests_total";
/// Histogram of the events API request time; label `source`.
pub const API_REQUEST_DURATION: &str = "own_audit_api_request_duration_seconds";
/// Gauge, the Unix time of the last successful events request; label `source`.
pub const LAST_POLL: &str = "own_audit_last_successful_poll_timestamp_seconds";
/// Gauge, 1 while the source polls successfully; label `source`.
pub const SOURCE_UP: &str = "own_audit_source_up";

/// Gauge, the last checkpointed event id; label `source`.
pub const CHECKPOINT_EVENT_ID: &str = "own_audit_checkpoint_event_id";
/// Gauge, the highest event id fetched from the API; label `source`. Above the
/// checkpoint while events wait for delivery.
pub const NEWEST_EVENT_ID: &str = "own_audit_newest_event_id";
/// Gauge, the Unix time of the last checkpointed event; label `source`.
pub const CHECKPOINT_EVENT_TIME: &str = "own_audit_checkpoint_event_timestamp_seconds";
/// Gauge, batches fetched and waiting for delivery; label `source`.
pub const BATCHES_QUEUED: &str = "own_audit_batches_queued";

/// Counter of access token grants; labels `source`, `result` (`ok`, `rejected`,
/// `error`).
pub const TOKEN_REFRESHES: &str = "own_audit_token_refresh_total";
/// Gauge, the Unix time the current access token expires; label `source`.
pub const ACCESS_TOKEN_EXPIRY: &str = "own_audit_access_token_expiry_timestamp_seconds";
/// Gauge, the Unix time the API token reaches Own's 180-day limit; label `source`.
pub const API_TOKEN_EXPIRY: &str = "own_audit_api_token_expiry_timestamp_seconds";

/// Creates a source's counters at zero, so that every series exists from the start.
pub fn init_source(source: &str) {
    let s = || source.to_owned();
    metrics::counter!(EVENTS_FETCHED, "source" => s()).increment(0);
    metrics::counter!(EVENTS_FORWARDED, "source" => s()).increment(0);
    metrics::counter!(SOURCE_EVENTS_FILTERED, "source" => s()).increment(0);
    for status in [
        "2xx",
        "401",
        "403",
        "429",
        "4xx",
        "5xx",
        "malformed",
        "network",
    ] {
        metrics::counter!(API_REQUESTS, "source" => s(), "status" => status).increment(0);
    }
    for result in ["ok", "rejected", "error"] {
        metrics::counter!(TOKEN_REFRESHES, "source" => s(), "result" => result).increment(0);
    }
    metrics::counter!(EVENTS_DEAD_LETTERED, "sink" => "-", "reason" => "unreadable_entry")
        .increment(0);
}

/// Creates a sink's counters at zero.
pub fn init_sink(sink: &str, errors: &[&'static str], rejections: &[&'static str]) {
    let s = || sink.to_owned();
    metrics::counter!(SINK_BYTES, "sink" => s()).increment(0);
    metrics::counter!(SINK_EVENTS_FILTERED, "sink" => s()).increment(0);
    for reason in errors {
        metrics::counter!(SINK_ERRORS, "sink" => s(), "reason" => *reason).increment(0);
    }
    for reason in rejections {
        metrics::counter!(EVENTS_DEAD_LETTERED, "sink" => s(), "reason" => *reason).increment(0);
    }
}

/// Registers descriptions so that `/metrics` carries HELP lines.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(BUILD_INFO, "Build information; always 1.");
    describe_counter!(EVENTS_FETCHED, "Events read from the Own API.");
    describe_counter!(
        EVENTS_FORWARDED,
        "Events acknowledged by every sink and checkpointed."
    );
    describe_counter!(EVENTS_SENT, "Events accepted by a sink.");
    describe_counter!(
        SOURCE_EVENTS_FILTERED,
        "Events the source's key filter kept from every sink; checkpointed as handled."
    );
    describe_counter!(
        SINK_EVENTS_FILTERED,
        "Events the sink's key filter kept from it."
    );
    describe_counter!(SINK_BYTES, Unit::Bytes, "Bytes accepted by a sink.");
    describe_counter!(
        EVENTS_DEAD_LETTERED,
        "Events a sink rejected for good, kept as dead letters."
    );
    describe_counter!(SINK_ERRORS, "Failed sink attempts, each retried.");
    describe_histogram!(
        SINK_SEND_DURATION,
        Unit::Seconds,
        "Time for a sink to accept a batch."
    );
    describe_gauge!(SINK_UP, "1 while the sink is reachable.");
    describe_counter!(
        SINK_RECONNECTS,
        "Connections a sink opened again after losing one."
    );
    describe_counter!(SINK_TRUNCATED, "Messages shortened to a sink's size limit.");
    describe_counter!(SINK_RESENT, "Messages sent again after a reconnect.");
    describe_gauge!(
        SINK_QUEUE_DEPTH,
        "Messages in flight in a sink's client library."
    );
    describe_counter!(HTTP_SINK_REQUESTS, "HTTP sink requests by status class.");
    describe_counter!(
        HTTP_SINK_REQUEST_BYTES,
        Unit::Bytes,
        "HTTP sink request body bytes sent, every attempt."
    );
    describe_counter!(HTTP_SINK_RETRIES, "HTTP sink requests retried, by reason.");
    describe_histogram!(
        HTTP_SINK_REQUEST_DURATION,
        Unit::Seconds,
        "Time of one HTTP sink request."
    );
    describe_counter!(API_REQUESTS, "Requests to the Own events API by status.");
    describe_histogram!(
        API_REQUEST_DURATION,
        Unit::Seconds,
        "Own events API request time."
    );
    describe_gauge!(
        LAST_POLL,
        Unit::Seconds,
        "Unix time of the last successful poll."
    );
    describe_gauge!(SOURCE_UP, "1 while the source polls successfully.");
    describe_gauge!(CHECKPOINT_EVENT_ID, "Last checkpointed event id.");
    describe_gauge!(
        NEWEST_EVENT_ID,
        "Highest event id fetched from the Own API; the checkpoint lags it while events wait."
    );
    describe_gauge!(
        CHECKPOINT_EVENT_TIME,
        Unit::Seconds,
        "Unix time of the last checkpointed event."
    );
    describe_gauge!(BATCHES_QUEUED, "Batches fetched and waiting for delivery.");
    describe_counter!(TOKEN_REFRESHES, "Access token grants by result.");
    describe_gauge!(
        ACCESS_TOKEN_EXPIRY,
        Unit::Seconds,
        "Unix time the access token expires."
    );
    describe_gauge!(
        API_TOKEN_EXPIRY,
        Unit::Seconds,
        "Unix time the Own API token expires."
    );
}
