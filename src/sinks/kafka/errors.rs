//! Which Kafka errors can pass and which never will, and their metric labels.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Errors no retry can fix: the message goes to the dead-letter store.
pub fn is_permanent(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::MessageBatchTooLarge
        )
    )
}

/// The labels of errors that are retried.
pub const TRANSIENT_LABELS: &[&str] = &[
    "queue_full",
    "timeout",
    "leader_election",
    "unknown_topic",
    "authentication",
    "tls",
    "broker_down",
    "other",
];
/// The labels of errors that send a message to the dead-letter store.
pub const PERMANENT_LABELS: &[&str] = &[
    "too_large",
    "topic_authorization_failed",
    "invalid_topic",
    "invalid_record",
];

/// A short, bounded label for the `reason` of the error metrics.
pub fn label(error: &KafkaError) -> &'static str {
    use RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        Some(C::MessageSizeTooLarge | C::InvalidMessageSize | C::MessageBatchTooLarge) => {
            "too_large"
        }
        Some(C::TopicAuthorizationFailed) => "topic_authorization_failed",
        Some(C::InvalidTopic) => "invalid_topic",
        Some(C::InvalidRecord) => "invalid_record",
        Some(C::QueueFull) => "queue_full",
        Some(C::MessageTimedOut | C::RequestTimedOut) => "timeout",
        Some(C::NotLeaderForPartition | C::LeaderNotAvailable) => "leader_election",
        Some(C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition) => "unknown_topic",
        Some(C::Authentication | C::SaslAuthenticationFailed) => "authentication",
        Some(C::SSL) => "tls",
        Some(C::AllBrokersDown | C::BrokerTransportFailure) => "broker_down",
        _ => "other",
    }
}

/// What the operator should do about a client-level error, by its label.
pub fn hint(label: &str) -> &'static str {
    match label {
        "authentication" => {
            "the brokers refused the SASL credentials: fix username, mechanism and the password \
             file or variable in [sinks.sasl]; messages wait meanwhile"
        }
        "tls" => {
            "the TLS handshake with the brokers failed: check ca_file, cert_file, key_file and \
             the broker's certificate name in [sinks.tls]; messages wait meanwhile"
        }
        "broker_down" => {
            "no broker can be reached: check that the brokers run and that `brokers` names \
             them; messages wait and are produced once one answers"
        }
        _ => "librdkafka retries by itself; messages wait meanwhile",
    }
}

/// Whether a client-level error needs the operator, rather than time, to pass.
pub fn needs_operator(label: &str) -> bool {
    matches!(label, "authentication" | "tls")
}
