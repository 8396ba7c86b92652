//! One event as one syslog message, RFC 5424 or RFC 3164, within the size limit.
//!
//! RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID params] MSG`, where
//! MSGID is the event key cleaned to what the RFC allows, the structured data holds the
//! key fields with their exact values, and MSG is the encoded event. RFC 3164:
//! `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PROCID]: MSG`. Times are the event's, in UTC.
//!
//! A message over the limit keeps its header and has its MSG shortened at a character
//! boundary, ending with the marker `...[truncated from N bytes]`. If even the structured
//! data leaves no room, it is cut down to the event id.

use std::borrow::Cow;

use jiff::civil::DateTime;
use jiff::tz::Offset;

use super::severity::SeverityRules;
use super::text::{escape_controls, push_header_field, push_param_value, utf8_floor};
use crate::config::{Facility, SyslogSinkConfig, SyslogStandard};
use crate::event::Event;

/// Own's fields copied into the structured data, under their own names.
const OWN_PARAMS: [&str; 5] = [
    "user_email",
    "user_id",
    "ip_address",
    "source",
    "service_id",
];

/// One message ready for framing; `truncated` when its MSG was shortened.
#[derive(Debug)]
pub struct Message {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

/// Builds messages from events and their encoded payloads.
#[derive(Debug)]
pub struct Formatter {
    format: SyslogStandard,
    facility: Facility,
    rules: SeverityRules,
    hostname: String,
    app_name: String,
    procid: String,
    sd_id: String,
    max_bytes: usize,
    /// Escape control characters in MSG: with newline framing they would end the message.
    escape_body: bool,
}

impl Formatter {
    pub fn new(config: &SyslogSinkConfig, escape_body: bool) -> Result<Self, globset::Error> {
        let hostname = config
            .hostname
            .clone()
            .unwrap_or_else(crate::event::local_host_name);
        let procid = config
            .procid
            .clone()
            .unwrap_or_else(|| std::process::id().to_string());
        Ok(Self {
            format: config.standard,
            facility: config.facility,
            rules: SeverityRules::new(&config.severity_rules, config.severity)?,
            hostname,
            app_name: config.app_name.clone(),
            procid,
            sd_id: config.sd_id.clone(),
            max_bytes: config.max_message_bytes(),
            escape_body,
        })
    }

    /// The message for one event whose encoded form is `payload`.
    pub fn message(&self, event: &Event, payload: &[u8]) -> Message {
        let body = if self.escape_body {
            escape_controls(payload)
        } else {
            Cow::Borrowed(payload)
        };
        let mut out = Vec::with_capacity(512 + body.len().min(self.max_bytes));
        self.push_header(&mut out, event);
        let header_end = out.len();
        if self.format == SyslogStandard::Rfc5424 {
            self.push_structured_data(&mut out, event, true);
        }
        if out.len() + 1 + body.len() <= self.max_bytes {
            out.push(b' ');
            out.extend_from_slice(&body);
            return Message {
                bytes: out,
                truncated: false,
            };
        }

        let marker = format!("...[truncated from {} bytes]", body.len());
        if self.format == SyslogStandard::Rfc5424 && out.len() + 1 + marker.len() > self.max_bytes {
            out.truncate(header_end);
            self.push_structured_data(&mut out, event, false);
        }
        let room = self.max_bytes.saturating_sub(out.len() + 1 + marker.len());
        out.push(b' ');
        out.extend_from_slice(&body[..utf8_floor(&body, room)]);
        out.extend_from_slice(marker.as_bytes());
        // Only reachable with a limit below what validation allows; never exceed it.
        out.truncate(utf8_floor(&out, self.max_bytes));
        Message {
            bytes: out,
            truncated: true,
        }
    }

    fn push_header(&self, out: &mut Vec<u8>, event: &Event) {
        let severity = self.rules.severity(&event.key);
        let pri = u16::from(self.facility.code()) * 8 + u16::from(severity.code());
        let time = Offset::UTC.to_datetime(event.timestamp);
        match self.format {
            SyslogStandard::Rfc5424 => {
                out.extend_from_slice(format!("<{pri}>1 {} ", rfc5424_time(&time)).as_bytes());
                push_header_field(out, &self.hostname, 255);
                out.push(b' ');
                push_header_field(out, &self.app_name, 48);
                out.push(b' ');
                push_header_field(out, &self.procid, 128);
                out.push(b' ');
                push_header_field(out, &event.key, 32);
                out.push(b' ');
            }
            SyslogStandard::Rfc3164 => {
                out.extend_from_slice(format!("<{pri}>{} ", rfc3164_time(&time)).as_bytes());
                push_header_field(out, &self.hostname, 255);
                out.push(b' ');
                push_header_field(out, &self.app_name, 32);
                if self.procid != "-" {
                    out.push(b'[');
                    push_header_field(out, &self.procid, 128);
                    out.push(b']');
                }
                out.push(b':');
            }
        }
    }

    /// `[sd_id event_id="..." key="..." ...]`; with `full` false, the event id alone.
    fn push_structured_data(&self, out: &mut Vec<u8>, event: &Event, full: bool) {
        out.push(b'[');
        out.extend_from_slice(self.sd_id.as_bytes());
        push_param(out, "event_id", &event.id.to_string());
        if full {
            if !event.key.is_empty() {
                push_param(out, "key", &event.key);
            }
            for name in OWN_PARAMS {
                if let Some(value) = scalar(event, name) {
                    push_param(out, name, &value);
                }
            }
            push_param(out, "source_name", &event.origin.source);
            push_param(out, "region", &event.origin.region);
        }
        out.push(b']');
    }
}

fn push_param(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    push_param_value(out, value);
    out.push(b'"');
}

/// A field as text when it is a string, number or boolean; objects and nulls stay in MSG.
fn scalar(event: &Event, name: &str) -> Option<String> {
    match event.fields.value(name)? {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `2019-08-24T14:15:22.000Z`, microseconds when finer; the NILVALUE outside years 0-9999.
fn rfc5424_time(time: &DateTime) -> String {
    if !(0..=9999).contains(&time.year()) {
        return "-".to_owned();
    }
    let nanos = time.subsec_nanosecond();
    let fraction = if nanos % 1_000_000 == 0 {
        format!("{:03}", nanos / 1_000_000)
    } else {
        format!("{:06}", nanos / 1_000)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{fraction}Z",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `Aug 24 14:15:22`, the day padded with a space.
fn rfc3164_time(time: &DateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(time.month().clamp(1, 12).unsigned_abs()) - 1];
    format!(
        "{month} {:>2} {:02}:{:02}:{:02}",
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
