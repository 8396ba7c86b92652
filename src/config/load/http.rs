//! Validation of the HTTP sink's configuration: one problem per bad field, naming it.

use reqwest::header::{HeaderName, HeaderValue};

use super::{DAY, HOUR, SECOND, check_duration, check_url};
use crate::config::{HttpAuthConfig, HttpAuthStrategy, HttpEncoding, HttpSinkConfig};

/// Headers the sink sets itself, or that HTTP itself governs.
const RESERVED: &[&str] = &[
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "host",
    "connection",
];

pub(super) fn validate(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    check_endpoint(&http.url, &format!("{at}.url"), problems);
    if let Some(url) = &http.health_url {
        check_endpoint(url, &format!("{at}.health_url"), problems);
    }
    check_batch(http, at, problems);
    check_timeouts(http, at, problems);
    match &http.auth {
        Some(auth) => check_auth(auth, &format!("{at}.auth"), problems),
        None if http.encoding == HttpEncoding::SplunkHec => problems.push(format!(
            "{at}.auth: encoding \"splunk_hec\" needs [sinks.auth] with strategy = \"splunk\" \
             and the HEC token in token_file or token_env"
        )),
        None => {}
    }
    if let Some(auth) = &http.auth
        && http.encoding == HttpEncoding::SplunkHec
        && auth.strategy != HttpAuthStrategy::Splunk
    {
        problems.push(format!(
            "{at}.auth.strategy: encoding \"splunk_hec\" needs strategy = \"splunk\""
        ));
    }
    check_headers(http, at, problems);
    check_signing(http, at, problems);
    check_tls(http, at, problems);
    check_hec(http, at, problems);
}

/// A URL the sink can call, without credentials in it (they would show in messages).
fn check_endpoint(url: &str, at: &str, problems: &mut Vec<String>) {
    check_url(url, at, problems);
    if let Ok(parsed) = reqwest::Url::parse(url)
        && (!parsed.username().is_empty() || parsed.password().is_some())
    {
        problems.push(format!(
            "{at}: holds a user name or password; put credentials in [sinks.auth] instead"
        ));
    }
}

fn check_batch(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let batch = &http.batch;
    if !(1..=10_000).contains(&batch.max_events) {
        problems.push(format!(
            "{at}.batch.max_events: {} is out of range; use 1 to 10000",
            batch.max_events
        ));
    }
    if !(1_000..=100_000_000).contains(&batch.max_bytes) {
        problems.push(format!(
            "{at}.batch.max_bytes: {} is out of range; use 1000 to 100000000",
            batch.max_bytes
        ));
    }
    check_duration(
        batch.max_age,
        &format!("{at}.batch.max_age"),
        (std::time::Duration::ZERO, 60 * SECOND),
        problems,
    );
}

fn check_timeouts(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let checks = [
        (http.request_timeout, "request_timeout", HOUR),
        (http.connect_timeout, "connect_timeout", HOUR),
        (http.max_backoff, "max_backoff", HOUR),
        (http.health_interval, "health_interval", HOUR),
    ];
    for (value, field, max) in checks {
        check_duration(value, &format!("{at}.{field}"), (SECOND, max), problems);
    }
    if let Some(total) = http.total_timeout {
        check_duration(
            total,
            &format!("{at}.total_timeout"),
            (SECOND, 7 * DAY),
            problems,
        );
    }
}

fn check_auth(auth: &HttpAuthConfig, at: &str, problems: &mut Vec<String>) {
    let token_set = auth.token_file.is_some() || auth.token_env.is_some();
    let password_set = auth.password_file.is_some() || auth.password_env.is_some();
    match auth.strategy {
        HttpAuthStrategy::Bearer | HttpAuthStrategy::Splunk => {
            if auth.token().is_none() {
                problems.push(format!("{at}: set exactly one of token_file and token_env"));
            }
            if auth.username.is_some() || password_set {
                problems.push(format!(
                    "{at}: username and password_* are only used with strategy = \"basic\""
                ));
            }
        }
        HttpAuthStrategy::Basic => {
            match auth.username.as_deref() {
                None | Some("") => {
                    problems.push(format!("{at}.username: required with strategy = \"basic\""))
                }
                Some(name) if name.contains(':') || name.chars().any(char::is_control) => problems
                    .push(format!(
                        "{at}.username: must not hold ':' or control characters"
                    )),
                Some(_) => {}
            }
            if auth.password().is_none() {
                problems.push(format!(
                    "{at}: set exactly one of password_file and password_env"
                ));
            }
            if token_set {
                problems.push(format!(
                    "{at}: token_file and token_env are only used with strategy = \"bearer\" or \
                     \"splunk\""
                ));
            }
        }
    }
    for (value, field) in [
        (auth.token_env.as_deref(), "token_env"),
        (auth.password_env.as_deref(), "password_env"),
    ] {
        if value == Some("") {
            problems.push(format!("{at}.{field}: must not be empty"));
        }
    }
}

fn check_headers(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let signing: Vec<String> = http
        .signing
        .iter()
        .flat_map(|s| [&s.signature_header, &s.timestamp_header])
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let names = http.headers.keys().map(|n| ("headers", n));
    let secret_names = http.secret_headers.keys().map(|n| ("secret_headers", n));
    for (table, name) in names.chain(secret_names) {
        let field = format!("{at}.{table}.{name:?}");
        let lower = name.to_ascii_lowercase();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!("{field}: not a valid header name"));
        } else if RESERVED.contains(&lower.as_str()) {
            problems.push(format!("{field}: set by the sink or by HTTP itself"));
        } else if lower == "authorization" && http.auth.is_some() {
            problems.push(format!("{field}: [sinks.auth] sets it already"));
        } else if signing.contains(&lower) {
            problems.push(format!("{field}: [sinks.signing] sets it already"));
        }
    }
    for (name, value) in &http.headers {
        if HeaderValue::from_str(value).is_err() {
            problems.push(format!(
                "{at}.headers.{name:?}: the value holds characters a header cannot carry"
            ));
        }
        if http
            .secret_headers
            .keys()
            .any(|s| s.eq_ignore_ascii_case(name))
        {
            problems.push(format!(
                "{at}.headers.{name:?}: also set in secret_headers; set it in one of them"
            ));
        }
    }
    for (name, secret) in &http.secret_headers {
        if secret.source().is_none() {
            problems.push(format!(
                "{at}.secret_headers.{name:?}: set exactly one of file and env"
            ));
        }
    }
}

fn check_signing(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let Some(signing) = &http.signing else {
        return;
    };
    if signing.key().is_none() {
        problems.push(format!(
            "{at}.signing: set exactly one of key_file and key_env"
        ));
    }
    for (name, field) in [
        (&signing.signature_header, "signature_header"),
        (&signing.timestamp_header, "timestamp_header"),
    ] {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!(
                "{at}.signing.{field}: {name:?} is not a valid header name"
            ));
        }
    }
    if signing
        .signature_header
        .eq_ignore_ascii_case(&signing.timestamp_header)
    {
        problems.push(format!(
            "{at}.signing.timestamp_header: must differ from signature_header"
        ));
    }
}

fn check_tls(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let Some(tls) = &http.tls else {
        return;
    };
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        problems.push(format!(
            "{at}.tls: set both cert_file and key_file, or neither"
        ));
    }
    if http.url.starts_with("http://") {
        problems.push(format!(
            "{at}.tls: the url is http://, and TLS settings apply to https:// only"
        ));
    }
}

fn check_hec(http: &HttpSinkConfig, at: &str, problems: &mut Vec<String>) {
    let Some(hec) = &http.hec else {
        return;
    };
    if http.encoding != HttpEncoding::SplunkHec {
        problems.push(format!(
            "{at}.hec: only used with encoding = \"splunk_hec\""
        ));
    }
    for (value, field) in [(&hec.source, "source"), (&hec.sourcetype, "sourcetype")] {
        if value.trim().is_empty() {
            problems.push(format!("{at}.hec.{field}: must not be empty"));
        }
    }
    if hec.index.as_deref().is_some_and(|i| i.trim().is_empty()) {
        problems.push(format!(
            "{at}.hec.index: must not be empty; leave it out for the token's default index"
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{HttpCompression, SinkConfig, load_str};

    const HEAD: &str = "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\n\
                        api_token_env = \"T\"\n[[sinks]]\ntype = \"http\"\nname = \"h\"\n";

    fn problems(sink: &str) -> String {
        match load_str(&format!("{HEAD}{sink}")) {
            Ok(_) => String::new(),
            Err(error) => error.problems.join("\n"),
        }
    }

    #[test]
    fn a_plain_webhook_gets_safe_defaults() {
        let config = load_str(&format!("{HEAD}url = \"https://hook.example.net/in\"\n")).unwrap();
        let SinkConfig::Http(http) = &config.sinks[0] else {
            panic!("not http");
        };
        assert_eq!(http.batch.max_events, 500);
        assert_eq!(http.batch.max_age, Duration::from_secs(1));
        assert_eq!(http.compression, HttpCompression::None);
        assert_eq!(http.total_timeout, None);
        assert!(http.tls.is_none() && http.auth.is_none());
    }

    #[test]
    fn every_bad_field_is_named() {
        let found = problems(
            r#"url = "ftp://x"
encoding = "splunk_hec"
health_url = "https://u:p@h/health"
request_timeout = "0s"
total_timeout = "30d"
batch = { max_events = 0, max_bytes = 10, max_age = "2m" }
headers = { "Content-Length" = "1", "bad name" = "x", "X-Ok" = "a\u0001" }
secret_headers = { "X-Key" = { file = "/k", env = "K" } }
auth = { strategy = "basic", token_env = "T" }
signing = { signature_header = "X-S", timestamp_header = "x-s" }
tls = { cert_file = "/c" }
hec = { sourcetype = "", index = "" }
"#,
        );
        for expected in [
            "sinks[0].url: scheme \"ftp\"",
            "sinks[0].health_url: holds a user name",
            "sinks[0].request_timeout",
            "sinks[0].total_timeout",
            "sinks[0].batch.max_events",
            "sinks[0].batch.max_bytes",
            "sinks[0].batch.max_age",
            "sinks[0].headers.\"Content-Length\": set by the sink",
            "sinks[0].headers.\"bad name\": not a valid header name",
            "sinks[0].headers.\"X-Ok\": the value",
            "sinks[0].secret_headers.\"X-Key\": set exactly one of file and env",
            "sinks[0].auth.username: required",
            "sinks[0].auth: set exactly one of password_file and password_env",
            "sinks[0].auth: token_file and token_env are only used",
            "sinks[0].auth.strategy: encoding \"splunk_hec\" needs strategy = \"splunk\"",
            "sinks[0].signing: set exactly one of key_file and key_env",
            "sinks[0].signing.timestamp_header: must differ",
            "sinks[0].tls: set both cert_file and key_file",
            "sinks[0].hec.sourcetype: must not be empty",
            "sinks[0].hec.index: must not be empty",
        ] {
            assert!(
                found.contains(expected),
                "missing {expected:?} in:\n{found}"
            );
        }
    }

    #[test]
    fn unknown_fields_in_nested_tables_are_reported() {
        let found = problems(
            "url = \"https://h/\"\n[sinks.batch]\nmax_evnts = 5\n[sinks.tls]\nverify = false\n",
        );
        assert!(
            found.contains("sinks[0].batch.max_evnts: unknown field"),
            "{found}"
        );
        assert!(
            found.contains("sinks[0].tls.verify: unknown field"),
            "{found}"
        );
    }

    #[test]
    fn hec_needs_the_splunk_token_and_tls_needs_https() {
        let found = problems(
            "url = \"http://h/\"\nencoding = \"splunk_hec\"\n[sinks.tls]\nca_file = \"/ca\"\n",
        );
        assert!(
            found.contains("sinks[0].auth: encoding \"splunk_hec\" needs"),
            "{found}"
        );
        assert!(
            found.contains("sinks[0].tls: the url is http://"),
            "{found}"
        );
        let ok = problems(
            "url = \"https://h/services/collector/event\"\nencoding = \"splunk_hec\"\n\
             [sinks.auth]\nstrategy = \"splunk\"\ntoken_env = \"HEC\"\n[sinks.hec]\nindex = \"main\"\n",
        );
        assert_eq!(ok, "");
    }
}
