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
