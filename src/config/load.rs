//! Reading the file and the environment, and collecting every problem found.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::{Config, KNOWN_REGIONS, Settings, SourceConfig};
use super::sinks::{FileSinkConfig, HttpSinkConfig, KafkaSinkConfig, SinkConfig};

mod http;
mod output;
mod syslog;

use output::take_output;

/// The prefix of environment overrides: `OWN_AUDIT__TELEMETRY__LISTEN=...`.
pub const ENV_PREFIX: &str = "OWN_AUDIT";

/// Every problem found in a configuration, one line each.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "configuration has {count} problem{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

/// Loads a TOML file merged with `OWN_AUDIT__...` environment overrides.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    if !path.exists() {
        return Err(ConfigError::one(format!(
            "{}: file not found",
            path.display()
        )));
    }
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .add_source(env_overrides())
        .build()
        .map_err(|e| ConfigError::one(format!("{}: {e}", path.display())))?;
    from_tree(built)
}

/// Loads a configuration from TOML text, with environment overrides.
pub fn load_str(toml: &str) -> Result<Config, ConfigError> {
    let built = config::Config::builder()
        .add_source(config::File::from_str(toml, config::FileFormat::Toml))
        .add_source(env_overrides())
        .build()
        .map_err(|e| ConfigError::one(e.to_string()))?;
    from_tree(built)
}

/// Loads a configuration from TOML text alone, for one the daemon writes itself (the
/// demo's), which `OWN_AUDIT__...` variables meant for `run` must not change.
pub fn load_str_exact(toml: &str) -> Result<Config, ConfigError> {
    let built = config::Config::builder()
        .add_source(config::File::from_str(toml, config::FileFormat::Toml))
        .build()
        .map_err(|e| ConfigError::one(e.to_string()))?;
    from_tree(built)
}

fn env_overrides() -> config::Environment {
    config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
}

fn from_tree(built: config::Config) -> Result<Config, ConfigError> {
    let tree: Value = built
        .try_deserialize()
        .map_err(|e| ConfigError::one(e.to_string()))?;
    let Value::Object(mut top) = tree else {
        return Err(ConfigError::one("the configuration must be a TOML table"));
    };
    let mut problems = Vec::new();

    let sources = take_list(&mut top, "sources", &mut problems);
    let sinks = take_list(&mut top, "sinks", &mut problems);
    let listed = (sources.len(), sinks.len());
    let settings: Option<Settings> = parse_part(Value::Object(top), "", &mut problems);

    let sources: Vec<SourceConfig> = sources
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| parse_part(v, &format!("sources[{i}]"), &mut problems))
        .collect();
    let sinks: Vec<SinkConfig> = sinks
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| parse_sink(v, &format!("sinks[{i}]"), &mut problems))
        .collect();

    // Check the lists even when the top level is broken, so that every problem shows.
    let state_dir_problem = settings.is_none();
    let settings = settings.unwrap_or(Settings {
        state_dir: None,
        pipeline: Default::default(),
        telemetry: Default::default(),
        redaction: Default::default(),
    });
    let mut config = Config {
        state_dir: settings.state_dir.unwrap_or_default(),
        pipeline: settings.pipeline,
        telemetry: settings.telemetry,
        sources,
        sinks,
        redaction: settings.redaction,
        warnings: Vec::new(),
    };
    validate(&mut config, !state_dir_problem, listed, &mut problems);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError { problems })
    }
}

fn take_list(
    top: &mut serde_json::Map<String, Value>,
    key: &str,
    problems: &mut Vec<String>,
) -> Vec<Value> {
    match top.remove(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            problems.push(format!(
                "{key}: expected a list of tables ([[{key}]]), found {}",
                kind_of(&other)
            ));
            Vec::new()
        }
    }
}

/// Deserializes one part, recording every unknown field and every invalid value by path.
///
/// Serde stops at the first invalid value, so after one the value is removed and the
/// part parsed again, until it parses or nothing more can be learned.
fn parse_part<T: DeserializeOwned>(
    mut value: Value,
    prefix: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let mut invalid = Vec::new();
    let parsed = loop {
        // An optional table shows as a `?` segment: `tls.?.verify` is `tls.verify`.
        let mut note =
            |path: serde_ignored::Path<'_>| unknown.push(path.to_string().replace("?.", ""));
        let deserializer = serde_ignored::Deserializer::new(value.clone(), &mut note);
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(parsed) => break Some(parsed),
            Err(error) => {
                let message = error.inner().to_string();
                let removed = remove_at(&mut value, error.path());
                // Once a value is removed, a "missing field" error is a consequence.
                if invalid.is_empty() || !message.starts_with("missing field") {
                    invalid.push((error.path().to_string(), message));
                }
                if !removed || invalid.len() > 50 {
                    break None;
                }
            }
        }
    };
    unknown.sort();
    unknown.dedup();
    for field in unknown {
        problems.push(format!("{}: unknown field", join(prefix, &field)));
    }
    for (path, message) in invalid {
        let path = if path == "." { String::new() } else { path };
        let at = join(prefix, &path);
        let at = if at.is_empty() {
            "configuration".to_owned()
        } else {
            at
        };
        problems.push(format!("{at}: {}", with_hint(&message)));
    }
    // A part with problems is still returned, so that its other fields get checked too;
    // the load as a whole fails on any problem.
    parsed
}

/// Removes the value a path points at; false when the path does not lead to one.
fn remove_at(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = value;
    for segment in parents {
        let next = match (segment, node) {
            (Segment::Map { key }, Value::Object(map)) => map.get_mut(key.as_str()),
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (last, node) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key.as_str()).is_some(),
        _ => false,
    }
}

fn parse_sink(value: Value, prefix: &str, problems: &mut Vec<String>) -> Option<SinkConfig> {
    let Value::Object(mut fields) = value else {
        problems.push(format!(
            "{prefix}: expected a table, found {}",
            kind_of(&value)
        ));
        return None;
    };
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(other) => {
            problems.push(format!(
                "{prefix}.type: expected a string, found {}",
                kind_of(&other)
            ));
            return None;
        }
        None => {
            problems.push(format!(
                "{prefix}.type: missing; expected one of {}",
                SinkConfig::TYPES.join(", ")
            ));
            return None;
        }
    };
    let output = take_output(&mut fields, prefix, problems);
    let fields = Value::Object(fields);
    let mut sink = match kind.as_str() {
        "file" => parse_part::<FileSinkConfig>(fields, prefix, problems).map(SinkConfig::File),
        "kafka" => parse_part::<KafkaSinkConfig>(fields, prefix, problems)
            .map(|kafka| SinkConfig::Kafka(Box::new(kafka))),
        "http" => parse_part::<HttpSinkConfig>(fields, prefix, problems)
            .map(|http| SinkConfig::Http(Box::new(http))),
        "syslog" => parse_part::<super::SyslogSinkConfig>(fields, prefix, problems)
            .map(|syslog| SinkConfig::Syslog(Box::new(syslog))),
        other => {
            problems.push(format!(
                "{prefix}.type: unknown sink type {other:?}; expected one of {}",
                SinkConfig::TYPES.join(", ")
            ));
            None
        }
    };
    if let (Some(sink), Some(output)) = (&mut sink, output) {
        sink.set_output(output);
    }
    sink
}

fn validate(
    config: &mut Config,
    top_level_read: bool,
    (sources_listed, sinks_listed): (usize, usize),
    problems: &mut Vec<String>,
) {
    if top_level_read && config.state_dir.as_os_str().is_empty() {
        problems.push("state_dir: missing; set the folder for checkpoints and dead letters".into());
    }
    if !(1..=1024).contains(&config.pipeline.channel_capacity) {
        problems.push("pipeline.channel_capacity: must be 1 to 1024 pages".into());
    }
    check_duration(
        config.pipeline.shutdown_grace,
        "pipeline.shutdown_grace",
        (Duration::ZERO, HOUR),
        problems,
    );
    if tracing_subscriber::EnvFilter::try_new(&config.telemetry.log_level).is_err() {
        problems.push(format!(
            "telemetry.log_level: {:?} is not a log filter; use a level such as \"info\" or \
             \"debug\", or per module such as \"info,own_audit_forwarder=debug\"",
            config.telemetry.log_level
        ));
    }
    if sources_listed == 0 {
        problems.push("sources: none configured; add at least one [[sources]] table".into());
    }
    if sinks_listed == 0 {
        problems.push("sinks: none configured; add at least one [[sinks]] table".into());
    }
    check_unique(
        config.sources.iter().map(|s| s.name.as_str()),
        "sources",
        problems,
    );
    check_unique(config.sinks.iter().map(|s| s.name()), "sinks", problems);
    output::validate_redaction(&config.redaction, problems);
    for (i, source) in config.sources.iter().enumerate() {
        let at = format!("sources[{i}]");
        validate_source(source, &at, problems);
        output::validate_source_keys(source, &at, problems);
        if let Some(region) = &source.region
            && source.base_url.is_none()
            && !KNOWN_REGIONS.contains(&region.as_str())
        {
            config.warnings.push(format!(
                "{at}.region: {region:?} is not among the regions known to this version ({}); \
                 it is used as https://{region}.owndata.com/api/v1/",
                KNOWN_REGIONS.join(", ")
            ));
        }
    }
    for (i, sink) in config.sinks.iter().enumerate() {
        let at = format!("sinks[{i}]");
        if !is_safe_name(sink.name()) {
            problems.push(format!(
                "{at}.name: {:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.'",
                sink.name()
            ));
        }
        output::validate_output(sink.output(), &at, problems);
        match sink {
            SinkConfig::Kafka(kafka) => validate_kafka(kafka, &at, problems),
            SinkConfig::Http(http) => http::validate(http, &at, problems),
            SinkConfig::Syslog(syslog) => syslog::validate(syslog, &at, problems),
            SinkConfig::File(file) if file.path.as_os_str().is_empty() => {
                problems.push(format!(
                    "{at}.path: must not be empty; use \"-\" for stdout"
                ));
            }
            SinkConfig::File(_) => {}
        }
    }
}

fn validate_source(source: &SourceConfig, at: &str, problems: &mut Vec<String>) {
    if !is_safe_name(&source.name) {
        problems.push(format!(
            "{at}.name: {:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.'",
            source.name
        ));
    }
    match (&source.region, &source.base_url) {
        (None, None) => problems.push(format!(
            "{at}: set region (one of {}) or base_url",
            KNOWN_REGIONS.join(", ")
        )),
        (Some(region), None) if !is_host_label(region) => problems.push(format!(
            "{at}.region: {region:?} is not a region name (lower-case letters, digits, '-'); \
             known regions: {}",
            KNOWN_REGIONS.join(", ")
        )),
        (Some(_), Some(_)) => problems.push(format!(
            "{at}: set region or base_url, not both (base_url names the host itself)"
        )),
        _ => {}
    }
    if let Some(url) = &source.base_url {
        check_url(url, &format!("{at}.base_url"), problems);
    }
    check_url(&source.token_url, &format!("{at}.token_url"), problems);
    if source.client_id.trim().is_empty() {
        problems.push(format!("{at}.client_id: must not be empty"));
    }
    match (&source.api_token_file, &source.api_token_env) {
        (None, None) => problems.push(format!(
            "{at}: set api_token_file (a file holding the Own API token) or api_token_env"
        )),
        (Some(_), Some(_)) => problems.push(format!(
            "{at}: set only one of api_token_file and api_token_env"
        )),
        _ => {}
    }
    if let Some(generated) = &source.api_token_generated_at
        && generated.parse::<jiff::Timestamp>().is_err()
    {
        problems.push(format!(
            "{at}.api_token_generated_at: {generated:?} is not an RFC 3339 time such as 2026-06-01T00:00:00Z"
        ));
    }
    let at_least_100ms = Duration::from_millis(100);
    check_duration(
        source.poll_interval,
        &format!("{at}.poll_interval"),
        (at_least_100ms, DAY),
        problems,
    );
    check_duration(
        source.request_timeout,
        &format!("{at}.request_timeout"),
        (SECOND, HOUR),
        problems,
    );
    check_duration(
        source.max_backoff,
        &format!("{at}.max_backoff"),
        (SECOND, DAY),
        problems,
    );
    let refresh = &source.token_refresh;
    if !(0.1..=0.95).contains(&refresh.fraction) {
        problems.push(format!(
            "{at}.token_refresh.fraction: {} is out of range; use 0.1 to 0.95",
            refresh.fraction
        ));
    }
    let refresh_at = format!("{at}.token_refresh");
    check_duration(
        refresh.min_interval,
        &format!("{refresh_at}.min_interval"),
        (SECOND, DAY),
        problems,
    );
    check_duration(
        refresh.max_interval,
        &format!("{refresh_at}.max_interval"),
        (SECOND, DAY),
        problems,
    );
    check_duration(
        refresh.invalid_grant_retry,
        &format!("{refresh_at}.invalid_grant_retry"),
        (SECOND, DAY * 7),
        problems,
    );
    if let Some(path) = &source.api_token_file
        && path.as_os_str().is_empty()
    {
        problems.push(format!("{at}.api_token_file: must not be empty"));
    }
    if source.api_token_env.as_deref() == Some("") {
        problems.push(format!("{at}.api_token_env: must not be empty"));
    }
    if refresh.min_interval > refresh.max_interval {
        problems.push(format!(
            "{at}.token_refresh.min_interval: must not exceed token_refresh.max_interval"
        ));
    }
}

fn validate_kafka(kafka: &KafkaSinkConfig, at: &str, problems: &mut Vec<String>) {
    if kafka.brokers.is_empty() || kafka.brokers.iter().any(|b| !b.contains(':')) {
        problems.push(format!(
            "{at}.brokers: list each broker as host:port, such as \"kafka-1:9092\""
        ));
    }
    let topic = kafka
        .topic
        .replace("{source}", "s")
        .replace("{region}", "r");
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty() || topic.len() > 249 || !topic.chars().all(valid) {
        problems.push(format!(
            "{at}.topic: {:?} is not a valid topic: use letters, digits, '.', '_', '-', and the \
             placeholders {{source}} and {{region}}",
            kafka.topic
        ));
    }
    if !matches!(kafka.acks.as_str(), "all" | "-1" | "1" | "0") {
        problems.push(format!(
            "{at}.acks: {:?} is not one of \"all\", \"1\", \"0\"",
            kafka.acks
        ));
    }
    check_duration(
        kafka.max_backoff,
        &format!("{at}.max_backoff"),
        (SECOND, HOUR),
        problems,
    );
    check_duration(
        kafka.delivery_timeout,
        &format!("{at}.delivery_timeout"),
        (SECOND, HOUR),
        problems,
    );
    if kafka.linger > Duration::from_secs(60) {
        problems.push(format!("{at}.linger: must be at most 1m"));
    }
    if kafka.message_max_bytes < 1000 {
        problems.push(format!("{at}.message_max_bytes: must be at least 1000"));
    }
    if let Some(sasl) = &kafka.sasl
        && sasl.password().is_none()
    {
        problems.push(format!(
            "{at}.sasl: set exactly one of password_file and password_env"
        ));
    }
    if let Some(tls) = &kafka.tls
        && tls.cert_file.is_some() != tls.key_file.is_some()
    {
        problems.push(format!(
            "{at}.tls: set both cert_file and key_file, or neither"
        ));
    }
}

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Checks that a duration lies within `(min, max)`.
fn check_duration(
    value: Duration,
    at: &str,
    (min, max): (Duration, Duration),
    problems: &mut Vec<String>,
) {
    if value < min || value > max {
        let show = |d: Duration| humantime::format_duration(d).to_string();
        problems.push(format!(
            "{at}: {} is out of range; use {} to {}",
            show(value),
            show(min),
            show(max)
        ));
    }
}

fn check_url(url: &str, at: &str, problems: &mut Vec<String>) {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        Ok(parsed) => problems.push(format!(
            "{at}: scheme {:?} is not supported; use https:// (or http:// for local tests)",
            parsed.scheme()
        )),
        // The text is not echoed: a URL can carry a password.
        Err(e) => problems.push(format!("{at}: not a valid URL ({e})")),
    }
}

fn check_unique<'a>(names: impl Iterator<Item = &'a str>, list: &str, problems: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            problems.push(format!(
                "{list}: the name {name:?} is used twice; names must be unique"
            ));
        }
    }
}

/// A name that is safe as a file name and as a metric label value.
pub(crate) fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_host_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Adds how to write a value to serde's terser messages.
fn with_hint(message: &str) -> String {
    let message = &hide_string_value(message);
    if message.contains("expected struct HttpSecretHeader") {
        message.replace(
            "expected struct HttpSecretHeader",
            "expected a table such as { file = \"/path\" } or { env = \"VARIABLE\" }; a \
             secret is never written in the file itself",
        )
    } else if message.contains("expected a duration") {
        format!("{message}; write durations like \"30s\", \"5m\" or \"1h 30m\"")
    } else if message.contains("expected usize") || message.contains("expected u64") {
        format!("{message}; expected a whole number")
    } else {
        message.to_owned()
    }
}

/// Leaves out the text of a string given where something else was expected: it may be
/// a secret pasted into the wrong field.
fn hide_string_value(message: &str) -> String {
    const AT: &str = "invalid type: string \"";
    let Some(start) = message.find(AT) else {
        return message.to_owned();
    };
    let after = &message[start + AT.len()..];
    match after.rfind("\", expected") {
        Some(end) => format!(
            "{}invalid type: a string{}",
            &message[..start],
            &after[end + 1..]
        ),
        None => message.to_owned(),
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        state_dir = "/tmp/x"
        [[sources]]
        name = "a"
        region = "app1"
        api_token_file = "/tmp/token"
        [[sinks]]
        type = "file"
        name = "f"
        path = "-"
    "#;

    fn problems(toml: &str) -> Vec<String> {
        load_str(toml).err().map(|e| e.problems).unwrap_or_default()
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/own-audit-forwarder.toml");
        let config = load(&path).unwrap();
        assert_eq!(
            config.sources[0].api_base(),
            "https://app1.owndata.com/api/v1/"
        );
        assert_eq!(config.sinks.len(), 4);
        assert!(
            config
                .sinks
                .iter()
                .any(|s| matches!(s, SinkConfig::Http(_)))
        );
        assert!(
            config
                .sinks
                .iter()
                .any(|s| matches!(s, SinkConfig::Syslog(_)))
        );
    }

    #[test]
    fn a_minimal_file_gets_defaults() {
        let config = load_str(MINIMAL).unwrap();
        let source = &config.sources[0];
        assert_eq!(source.token_url, crate::config::DEFAULT_TOKEN_URL);
        assert_eq!(source.poll_interval, Duration::from_secs(60));
        assert_eq!(source.start_from, crate::config::StartFrom::Beginning);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let found = problems(
            r#"
            state_dir = "/tmp/x"
            colour = "blue"
            [telemetry]
            listen = "nowhere"
            [[sources]]
            name = "a"
            region = "app1"
            api_token_file = "/t"
            pol_interval = "5s"
            [[sources]]
            name = "b"
            base_url = "ftp://x"
            api_token_env = "T"
            poll_interval = "5 parsecs"
            [[sinks]]
            type = "fil"
            name = "f"
            [[sinks]]
            type = "file"
            name = "g"
            path = "-"
            fsync = "yes"
            "#,
        );
        let joined = found.join("\n");
        for expected in [
            "colour: unknown field",
            "telemetry.listen",
            "sources[0].pol_interval: unknown field",
            "sources[1].poll_interval",
            "sinks[0].type: unknown sink type \"fil\"",
            "sinks[1].fsync",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in:\n{joined}"
            );
        }
    }

    #[test]
    fn semantic_problems_name_the_field() {
        let found = problems(
            r#"
            [[sources]]
            name = "bad name!"
            start_from = "yesterday"
            [sources.token_refresh]
            fraction = 2.0
            "#,
        );
        let joined = found.join("\n");
        assert!(joined.contains("sources[0].start_from"), "{joined}");
        let found = problems(
            r#"
            [[sources]]
            name = "bad name!"
            api_token_env = "X"
            [sources.token_refresh]
            fraction = 2.0
            "#,
        );
        let joined = found.join("\n");
        for expected in [
            "state_dir: missing",
            "sinks: none configured",
            "sources[0].name",
            "sources[0]: set region",
            "sources[0].token_refresh.fraction",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in:\n{joined}"
            );
        }
    }

    #[test]
    fn start_from_takes_an_id_as_number_or_text() {
        let with = |v: &str| {
            load_str(&MINIMAL.replace(
                "api_token_file",
                &format!("start_from = {v}\napi_token_file"),
            ))
            .unwrap()
        };
        assert_eq!(
            with("42").sources[0].start_from,
            crate::config::StartFrom::EventId(42)
        );
        assert_eq!(
            with("\"42\"").sources[0].start_from,
            crate::config::StartFrom::EventId(42)
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let twice = MINIMAL.to_owned() + "[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"-\"\n";
        assert!(
            problems(&twice)
                .iter()
                .any(|p| p.contains("\"f\" is used twice"))
        );
    }

    #[test]
    fn a_secret_pasted_into_the_wrong_field_is_never_echoed() {
        let toml = MINIMAL.to_owned()
            + "[[sinks]]\ntype = \"http\"\nname = \"h\"\nurl = \"http://u:pw-LEAK-1@[::1/x\"\n\
               [sinks.secret_headers]\n\"X-Api-Key\" = \"hdr-LEAK-2\"\n";
        let found = problems(&toml);
        let all = found.join("\n");
        assert!(!all.contains("LEAK"), "{all}");
        assert!(all.contains("sinks[1].url: not a valid URL"), "{all}");
        assert!(
            all.contains("sinks[1].secret_headers.X-Api-Key: invalid type: a string"),
            "{all}"
        );
    }
}
