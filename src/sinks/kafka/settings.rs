//! librdkafka properties from the sink's configuration.

use rdkafka::ClientConfig;

use crate::config::KafkaSinkConfig;
use crate::secret::SecretError;

/// Properties the daemon sets for delivery safety; overriding them is allowed but logged.
const GUARDED: &[&str] = &[
    "acks",
    "enable.idempotence",
    "message.timeout.ms",
    "delivery.timeout.ms",
];

/// Builds the producer configuration. Reads the SASL password, which never leaves the
/// returned value.
pub fn client_config(config: &KafkaSinkConfig) -> Result<ClientConfig, SecretError> {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", config.brokers.join(","))
        .set("client.id", format!("own-audit-forwarder-{}", config.name))
        .set("acks", &config.acks)
        .set("enable.idempotence", config.enable_idempotence.to_string())
        .set("compression.type", config.compression.as_str())
        .set("linger.ms", config.linger.as_millis().to_string())
        .set("batch.size", config.batch_size.to_string())
        .set("message.max.bytes", config.message_max_bytes.to_string())
        .set(
            "message.timeout.ms",
            config.delivery_timeout.as_millis().to_string(),
        )
        .set("security.protocol", security_protocol(config));

    if let Some(tls) = &config.tls {
        if let Some(ca) = &tls.ca_file {
            client.set("ssl.ca.location", ca.display().to_string());
        }
        if let Some(cert) = &tls.cert_file {
            client.set("ssl.certificate.location", cert.display().to_string());
        }
        if let Some(key) = &tls.key_file {
            client.set("ssl.key.location", key.display().to_string());
        }
        let check = if tls.verify_hostname { "https" } else { "none" };
        client.set("ssl.endpoint.identification.algorithm", check);
    }
    if let Some(sasl) = &config.sasl {
        client
            .set("sasl.mechanism", sasl.mechanism.as_str())
            .set("sasl.username", &sasl.username);
        if let Some(source) = sasl.password() {
            client.set("sasl.password", source.read()?.expose());
        }
    }
    for (key, value) in &config.librdkafka_options {
        if GUARDED.contains(&key.as_str()) {
            tracing::warn!(sink = %config.name, property = %key,
                "librdkafka_options overrides a delivery-safety setting");
        }
        client.set(key, value);
    }
    Ok(client)
}

fn security_protocol(config: &KafkaSinkConfig) -> &'static str {
    match (config.tls.is_some(), config.sasl.is_some()) {
        (false, false) => "plaintext",
        (true, false) => "ssl",
        (false, true) => "sasl_plaintext",
        (true, true) => "sasl_ssl",
    }
}

/// The topic for an event: the template with `{source}` and `{region}` filled in.
pub fn topic_for(template: &str, source: &str, region: &str) -> String {
    template
        .replace("{source}", source)
        .replace("{region}", region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SinkConfig, load_str};

    fn kafka(extra: &str) -> KafkaSinkConfig {
        let toml = format!(
            "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\napi_token_env = \"T\"\n\
             [[sinks]]\ntype = \"kafka\"\nname = \"k\"\nbrokers = [\"a:9092\", \"b:9092\"]\n\
             topic = \"own.{{source}}\"\n{extra}"
        );
        match load_str(&toml).unwrap().sinks.remove(0) {
            SinkConfig::Kafka(k) => *k,
            other => panic!("not kafka: {other:?}"),
        }
    }

    #[test]
    fn safe_defaults_are_set() {
        let client = client_config(&kafka("")).unwrap();
        assert_eq!(client.get("acks"), Some("all"));
        assert_eq!(client.get("enable.idempotence"), Some("true"));
        assert_eq!(client.get("bootstrap.servers"), Some("a:9092,b:9092"));
        assert_eq!(client.get("security.protocol"), Some("plaintext"));
    }

    #[test]
    fn tls_sasl_and_passthrough_options_are_applied() {
        // SAFETY: tests in this module are the only readers of this variable.
        unsafe { std::env::set_var("OAF_TEST_KAFKA_PW", "s3cret") };
        let client = client_config(&kafka(
            "compression = \"zstd\"\n[sinks.tls]\nca_file = \"/ca.pem\"\n\
             [sinks.sasl]\nmechanism = \"SCRAM-SHA-512\"\nusername = \"u\"\npassword_env = \"OAF_TEST_KAFKA_PW\"\n\
             [sinks.librdkafka_options]\n\"socket.keepalive.enable\" = \"true\"\n",
        ))
        .unwrap();
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("ssl.ca.location"), Some("/ca.pem"));
        assert_eq!(
            client.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(client.get("sasl.password"), Some("s3cret"));
        assert_eq!(client.get("compression.type"), Some("zstd"));
        assert_eq!(client.get("socket.keepalive.enable"), Some("true"));
    }

    #[test]
    fn topics_fill_their_placeholders() {
        assert_eq!(
            topic_for("own.{source}.{region}", "prod", "emea1"),
            "own.prod.emea1"
        );
    }
}
