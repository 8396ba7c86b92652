//! Validation of the syslog sink's configuration: one problem per bad field, naming it.

use super::{HOUR, SECOND, check_duration};
use crate::config::{SyslogSinkConfig, SyslogStandard, SyslogTlsConfig, SyslogTransport};

/// The largest payload of one UDP datagram over IPv4.
const MAX_DATAGRAM: usize = 65_507;
/// The largest message over TCP and TLS.
const MAX_STREAM_MESSAGE: usize = 1024 * 1024;
/// The smallest limit: room for the longest header and a shortened MSG.
const MIN_MESSAGE: usize = 1024;

pub(super) fn validate(syslog: &SyslogSinkConfig, at: &str, problems: &mut Vec<String>) {
    if let Err(reason) = syslog.host_port() {
        problems.push(format!("{at}.address: {reason}"));
    }
    check_header_fields(syslog, at, problems);
    check_sd_id(&syslog.sd_id, &format!("{at}.sd_id"), problems);
    check_rules(syslog, at, problems);
    check_sizes(syslog, at, problems);
    for (value, field) in [
        (syslog.connect_timeout, "connect_timeout"),
        (syslog.write_timeout, "write_timeout"),
        (syslog.max_backoff, "max_backoff"),
    ] {
        check_duration(value, &format!("{at}.{field}"), (SECOND, HOUR), problems);
    }
    if syslog.transport == SyslogTransport::Udp && syslog.framing.is_some() {
        problems.push(format!(
            "{at}.framing: applies to transport \"tcp\" and \"tls\" only; over UDP each \
             message is one datagram"
        ));
    }
    match (&syslog.tls, syslog.transport) {
        (Some(tls), SyslogTransport::Tls) => check_tls(tls, &format!("{at}.tls"), problems),
        (Some(_), _) => problems.push(format!(
            "{at}.tls: set transport = \"tls\" to use TLS, or remove [sinks.tls]"
        )),
        (None, _) => {}
    }
}

/// Printable US-ASCII without spaces, as RFC 5424 requires of header fields.
fn is_print_us_ascii(text: &str) -> bool {
    text.bytes().all(|b| (33..=126).contains(&b))
}

fn check_header_fields(syslog: &SyslogSinkConfig, at: &str, problems: &mut Vec<String>) {
    let mut check = |value: &str, field: &str, max: usize| {
        if value.is_empty() || value.len() > max || !is_print_us_ascii(value) {
            problems.push(format!(
                "{at}.{field}: {value:?} must be 1 to {max} printable ASCII characters \
                 without spaces"
            ));
        }
    };
    if let Some(hostname) = &syslog.hostname {
        check(hostname, "hostname", 255);
    }
    if let Some(procid) = &syslog.procid {
        check(procid, "procid", 128);
    }
    match syslog.standard {
        SyslogStandard::Rfc5424 => check(&syslog.app_name, "app_name", 48),
        SyslogStandard::Rfc3164 => {
            check(&syslog.app_name, "app_name", 32);
            if syslog.app_name.contains(['[', ']', ':']) {
                problems.push(format!(
                    "{at}.app_name: {:?} must not hold '[', ']' or ':' in RFC 3164, where it \
                     is the TAG",
                    syslog.app_name
                ));
            }
        }
    }
}

/// `name@number`: an SD-NAME of at most 32 characters, its number digits and dots.
fn check_sd_id(sd_id: &str, at: &str, problems: &mut Vec<String>) {
    let valid_name = |name: &str| {
        !name.is_empty() && is_print_us_ascii(name) && !name.contains(['=', ']', '"', '@'])
    };
    let valid_number = |number: &str| {
        !number.is_empty()
            && number
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    let valid = match sd_id.split_once('@') {
        Some((name, number)) => sd_id.len() <= 32 && valid_name(name) && valid_number(number),
        None => false,
    };
    if !valid {
        problems.push(format!(
            "{at}: {sd_id:?} is not name@<private enterprise number>, such as \
             \"own_audit@32473\" (at most 32 characters; no spaces, '=', ']' or '\"')"
        ));
    }
}

fn check_rules(syslog: &SyslogSinkConfig, at: &str, problems: &mut Vec<String>) {
    for (i, rule) in syslog.severity_rules.iter().enumerate() {
        let rule_at = format!("{at}.severity_rules[{i}]");
        if rule.keys.is_empty() {
            problems.push(format!(
                "{rule_at}.keys: list at least one event key pattern, such as \"*login_failed*\""
            ));
        }
        for (j, pattern) in rule.keys.iter().enumerate() {
            if let Err(error) = globset::Glob::new(pattern) {
                problems.push(format!(
                    "{rule_at}.keys[{j}]: {pattern:?} is not a glob pattern ({})",
                    error.kind()
                ));
            }
        }
    }
}

fn check_sizes(syslog: &SyslogSinkConfig, at: &str, problems: &mut Vec<String>) {
    let max = match syslog.transport {
        SyslogTransport::Udp => MAX_DATAGRAM,
        SyslogTransport::Tcp | SyslogTransport::Tls => MAX_STREAM_MESSAGE,
    };
    let limit = syslog.max_message_bytes();
    if !(MIN_MESSAGE..=max).contains(&limit) {
        problems.push(format!(
            "{at}.max_message_bytes: {limit} is out of range; use {MIN_MESSAGE} to {max} for \
             this transport"
        ));
    }
    if syslog.resend_window_bytes > 64 * 1024 * 1024 {
        problems.push(format!(
            "{at}.resend_window_bytes: {} is out of range; use 0 to 67108864 (64 MiB)",
            syslog.resend_window_bytes
        ));
    }
}

fn check_tls(tls: &SyslogTlsConfig, at: &str, problems: &mut Vec<String>) {
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        problems.push(format!("{at}: set both cert_file and key_file, or neither"));
    }
    for (path, field) in [
        (&tls.ca_file, "ca_file"),
        (&tls.cert_file, "cert_file"),
        (&tls.key_file, "key_file"),
    ] {
        if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            problems.push(format!("{at}.{field}: must not be empty"));
        }
    }
    if let Some(name) = &tls.server_name
        && rustls_pki_types::ServerName::try_from(name.as_str()).is_err()
    {
        problems.push(format!(
            "{at}.server_name: {name:?} is not a DNS name or IP address"
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{SinkConfig, SyslogFraming, load_str};

    const BASE: &str = "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\n\
        api_token_env = \"T\"\n[[sinks]]\ntype = \"syslog\"\nname = \"siem\"\n";

    fn problems(extra: &str) -> String {
        load_str(&format!("{BASE}{extra}"))
            .err()
            .map(|e| e.problems.join("\n"))
            .unwrap_or_default()
    }

    #[test]
    fn defaults_follow_the_transport() {
        let config = load_str(&format!(
            "{BASE}address = \"logs:6514\"\ntransport = \"tls\"\n"
        ))
        .unwrap();
        let SinkConfig::Syslog(syslog) = &config.sinks[0] else {
            panic!("not a syslog sink")
        };
        assert_eq!(syslog.max_message_bytes(), 8192);
        assert_eq!(syslog.framing(), SyslogFraming::OctetCounting);
        assert_eq!(syslog.host_port(), Ok(("logs".into(), 6514)));
        assert_eq!(syslog.sd_id, "own_audit@32473");
    }

    #[test]
    fn every_bad_field_is_named() {
        let found = problems(
            "address = \"logs:notaport\"\ntransport = \"udp\"\nframing = \"newline\"\n\
             hostname = \"two words\"\nprocid = \"\"\nsd_id = \"bad id\"\n\
             max_message_bytes = 70000\nwrite_timeout = \"0s\"\n\
             severity_rules = [{ keys = [\"a[\"], severity = \"warning\" }, { keys = [], severity = \"err\" }]\n\
             [sinks.tls]\ncert_file = \"/c.pem\"\n",
        );
        for expected in [
            "sinks[0].address",
            "sinks[0].framing",
            "sinks[0].hostname",
            "sinks[0].procid",
            "sinks[0].sd_id",
            "sinks[0].max_message_bytes",
            "sinks[0].write_timeout",
            "sinks[0].severity_rules[0].keys[0]",
            "sinks[0].severity_rules[1].keys",
            "sinks[0].tls: set transport",
        ] {
            assert!(
                found.contains(expected),
                "missing {expected:?} in:\n{found}"
            );
        }
    }

    #[test]
    fn unknown_standards_severities_and_tls_pairs_are_refused() {
        let found = problems(
            "address = \"logs\"\nstandard = \"cef\"\nseverity = \"loud\"\nfacility = \"local9\"\n",
        );
        for expected in [
            "sinks[0].standard",
            "sinks[0].severity",
            "sinks[0].facility",
        ] {
            assert!(
                found.contains(expected),
                "missing {expected:?} in:\n{found}"
            );
        }
        let found = problems(
            "address = \"logs\"\ntransport = \"tls\"\n[sinks.tls]\nkey_file = \"/k.pem\"\n\
             server_name = \"not a name\"\n",
        );
        assert!(
            found.contains("sinks[0].tls: set both cert_file and key_file"),
            "{found}"
        );
        assert!(found.contains("sinks[0].tls.server_name"), "{found}");
    }

    #[test]
    fn rfc3164_tags_are_checked() {
        let found = problems("address = \"logs\"\nstandard = \"rfc3164\"\napp_name = \"a:b\"\n");
        assert!(found.contains("sinks[0].app_name"), "{found}");
    }
}
