//! The syslog sink's configuration. Each field's doc comment is its user documentation.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Sends each event as one syslog message, over UDP, TCP or TLS.
#[derive(Debug, Clone, Deserialize)]
pub struct SyslogSinkConfig {
    /// Unique name; labels metrics and dead letters.
    pub name: String,
    /// The receiver, `host:port`, `host` or `[v6 address]:port`. Without a port: 514 for
    /// `udp` and `tcp`, 6514 for `tls`.
    pub address: String,
    /// `tcp` (default), `tls` or `udp`. UDP is best effort: datagrams can be lost.
    #[serde(default)]
    pub transport: SyslogTransport,
    /// How TCP and TLS separate messages: `octet_counting` (default; RFC 6587 and 5425)
    /// or `newline`. Not for `udp`, where each message is one datagram.
    #[serde(default)]
    pub framing: Option<SyslogFraming>,
    /// `rfc5424` (default) or `rfc3164` (the older BSD format: no structured data and
    /// no MSGID). The MSG part is the event in the sink's `format`.
    #[serde(default)]
    pub standard: SyslogStandard,
    /// HOSTNAME of every message; the name of the machine running the daemon when unset.
    #[serde(default)]
    pub hostname: Option<String>,
    /// APP-NAME (the TAG in RFC 3164). Default `own-audit-forwarder`.
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// PROCID; the daemon's process id when unset. `-` leaves it empty.
    #[serde(default)]
    pub procid: Option<String>,
    /// Facility of every message: `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`,
    /// `lpr`, `news`, `uucp`, `cron`, `authpriv`, `ftp`, `ntp`, `audit`, `alert`,
    /// `clock`, or `local0` (default) to `local7`.
    #[serde(default)]
    pub facility: Facility,
    /// Severity of an event no rule matches: `emerg`, `alert`, `crit`, `err`, `warning`,
    /// `notice`, `info` (default) or `debug`.
    #[serde(default)]
    pub severity: Severity,
    /// Severities by event key, as `{ keys = ["*login_failed*"], severity = "warning" }`;
    /// the first rule whose glob matches the key wins.
    #[serde(default)]
    pub severity_rules: Vec<SeverityRule>,
    /// The SD-ID of the structured data (RFC 5424), `name@<private enterprise number>`.
    /// Default `own_audit@32473`; 32473 is the number reserved for examples (RFC 5612), so
    /// use your organisation's own if it has one.
    #[serde(default = "default_sd_id")]
    pub sd_id: String,
    /// Largest message in bytes, framing not counted; the MSG of a larger one is
    /// shortened, with a marker. Default 2048 for `udp` (one datagram), 8192 otherwise.
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
    /// TCP and TLS: after a lost connection, this many bytes of the messages sent last
    /// are sent again, for what the receiver had not yet read when it went down. Default
    /// 4194304 (4 MiB); 0 turns it off.
    #[serde(default = "default_resend_window_bytes")]
    pub resend_window_bytes: usize,
    /// Time limit of connecting, TLS handshake included.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long a write may make no progress (the receiver has stopped reading); past it
    /// the connection is opened again and the batch sent again.
    #[serde(default = "default_write_timeout", with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Longest wait between retries (backoff doubles from 500ms, with jitter).
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// TLS settings, for `transport = "tls"`.
    #[serde(default)]
    pub tls: Option<SyslogTlsConfig>,
    /// Read apart from the sink's own fields; see [`super::OutputConfig`].
    #[serde(skip)]
    pub output: super::OutputConfig,
}

impl SyslogSinkConfig {
    /// The framing in force: none for UDP, octet counting unless set.
    pub fn framing(&self) -> SyslogFraming {
        self.framing.unwrap_or_default()
    }

    /// The size limit in force.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes.unwrap_or(match self.transport {
            SyslogTransport::Udp => 2048,
            SyslogTransport::Tcp | SyslogTransport::Tls => 8192,
        })
    }

    /// The host and port of `address`, or why it is not one.
    pub fn host_port(&self) -> Result<(String, u16), String> {
        let default_port = match self.transport {
            SyslogTransport::Udp | SyslogTransport::Tcp => 514,
            SyslogTransport::Tls => 6514,
        };
        split_address(&self.address, default_port)
    }
}

/// Splits `host:port`, `host` or `[v6]:port`.
fn split_address(address: &str, default_port: u16) -> Result<(String, u16), String> {
    let shape = "write it as host:port, such as \"logs.example.net:6514\"";
    let url = url::Url::parse(&format!("syslog://{address}"))
        .map_err(|e| format!("{address:?} is not an address ({e}); {shape}"))?;
    let extra = !url.username().is_empty()
        || url.password().is_some()
        || !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some();
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    if extra || host.is_empty() || address.ends_with(':') {
        return Err(format!("{address:?} is not an address; {shape}"));
    }
    Ok((host, url.port().unwrap_or(default_port)))
}

/// How messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogTransport {
    Udp,
    #[default]
    Tcp,
    Tls,
}

/// How messages are separated on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogFraming {
    #[default]
    OctetCounting,
    Newline,
}

/// The syslog message standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogStandard {
    #[default]
    Rfc5424,
    Rfc3164,
}

/// A syslog facility, with its RFC 5424 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facility {
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    Authpriv = 10,
    Ftp = 11,
    Ntp = 12,
    Audit = 13,
    Alert = 14,
    Clock = 15,
    #[default]
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

impl Facility {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A syslog severity, with its RFC 5424 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[serde(alias = "emergency")]
    Emerg = 0,
    Alert = 1,
    #[serde(alias = "critical")]
    Crit = 2,
    #[serde(alias = "error")]
    Err = 3,
    #[serde(alias = "warn")]
    Warning = 4,
    Notice = 5,
    #[default]
    #[serde(alias = "informational")]
    Info = 6,
    Debug = 7,
}

impl Severity {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Events whose key matches one of `keys` get `severity`.
#[derive(Debug, Clone, Deserialize)]
pub struct SeverityRule {
    /// Glob patterns on the event key (`*`, `?`, `[abc]`, `{a,b}`), matched without
    /// regard to case; `*` also matches dots.
    pub keys: Vec<String>,
    /// The severity of a matching event.
    pub severity: Severity,
}

/// TLS settings of the syslog sink.
#[derive(Debug, Clone, Deserialize)]
pub struct SyslogTlsConfig {
    /// PEM file of the CA certificates that sign the receiver's certificate; the system's
    /// store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (with its chain), for receivers that require one.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Check that the receiver's certificate names the host connected to.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
    /// The name to verify in the certificate (and to send as SNI) instead of the host of
    /// `address`, for a receiver reached by IP address.
    #[serde(default)]
    pub server_name: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_app_name() -> String {
    "own-audit-forwarder".to_owned()
}
fn default_sd_id() -> String {
    "own_audit@32473".to_owned()
}
fn default_resend_window_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_write_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(
            split_address("logs.example.net:6514", 514),
            Ok(("logs.example.net".into(), 6514))
        );
        assert_eq!(
            split_address("127.0.0.1", 514),
            Ok(("127.0.0.1".into(), 514))
        );
        assert_eq!(split_address("[::1]:601", 514), Ok(("::1".into(), 601)));
        for bad in [
            "",
            ":514",
            "host:",
            "host:99999",
            "a@host:1",
            "host/x",
            "a b:1",
        ] {
            assert!(split_address(bad, 514).is_err(), "{bad:?} was accepted");
        }
    }
}
