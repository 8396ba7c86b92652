//! The `leef` format: IBM QRadar Log Event Extended Format 2.0, one line per event.
//!
//! ```text
//! LEEF:2.0|Own|Own Audit Log|0.1.0|user.login|x09|devTime=2019-08-24T14:15:22.000Z<tab>
//! devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX<tab>cat=logon<tab>sev=1<tab>eventId=42857<tab>
//! outcome=success<tab>usrName=jane.doe@example.com<tab>userId=12345<tab>src=203.0.113.45<tab>
//! channel=web app<tab>serviceId=300008<tab>parameters={"method":"sso"}<tab>sourceName=prod-us
//! <tab>region=app1<tab>forwarderHost=siem-fw-1<tab>otherFields={"tenant":{"id":7}}
//! ```
//!
//! (one line; wrapped here). The header is `LEEF:2.0|Own|Own Audit Log|<version>|<key>|
//! <delimiter>|`. The version is the forwarder's, not Own's: Own publishes no version,
//! and the forwarder decides how fields are laid out. The event id is Own's event key,
//! `unknown` when Own sent none, cut to QRadar's limit of 255 characters. The delimiter
//! field is the attribute delimiter itself when it is printable ASCII (`^`), and QRadar's
//! hex form otherwise (`x09` for the default tab, `x20` for a space). A delimiter that
//! cannot separate attributes (`=`, `|`, `\`, a letter, a digit or a line break, which
//! configuration refuses) falls back on the tab, and so does one that occurs in the
//! forwarder's typed values (`-`, `:`, `.`, `'` and `_`, found in times, addresses and
//! categories), since QRadar would read those values with the escapes left in.
//!
//! The attributes, in this order:
//!
//! - `devTime`, `devTimeFormat`: the event time in UTC, with milliseconds, and its Java
//!   `SimpleDateFormat` pattern, `yyyy-MM-dd'T'HH:mm:ss.SSSX`.
//! - `cat`: what happened, from the key mapping: `logon`, `logoff`, `account_create`,
//!   `account_change`, `config_change`, `create`, `read`, `update`, `delete` or `other`.
//! - `sev`: the mapping's severity, 1 to 10.
//! - `eventId`: Own's `event_id`.
//! - `ownKey`: Own's `key` exactly, only when the header's event id is not the key as it
//!   is (it needed escapes, was cut, or had a control character).
//! - `outcome`: `success`, `failure` or `unknown`.
//! - `usrName`, `userId`: `user_email` and `user_id`.
//! - `src`: `ip_address` when it is an IPv4 or IPv6 address; `ipAddress`: when it is not,
//!   as sent.
//! - `channel`: Own's `source`, the channel the action came through (`web app`, `api`).
//! - `serviceId`, `parameters`: `service_id`, and `parameters` as compact JSON.
//! - `sourceName`, `region`, `forwarderHost`: the configured name of the source, the Own
//!   region (or `custom`), and the host name of the machine running the forwarder.
//! - `createdAtInvalid=true`, only when `created_at` was missing or unreadable: `devTime`
//!   is then the time the forwarder received the event.
//! - `otherFields`: every other field Own sent, as one compact JSON object.
//!
//! An attribute without a value is left out. `otherFields` also keeps the original
//! `created_at` when it could not be read or was not UTC text (an offset, an epoch
//! number), a `key` that was not a string, and any documented field of an unexpected
//! shape, so nothing Own sent is lost.
//!
//! Escaping. QRadar splits the attributes on the delimiter and each at its first `=`, and
//! unescapes nothing, so a value may hold `=` and `|` as they are but never the delimiter
//! or a line break. Values are therefore escaped reversibly: `\` is written `\\`, a line
//! feed `\n`, a carriage return `\r`, a tab `\t`, and the delimiter and every other
//! control character as `\xHH` for each byte of its UTF-8 form (`^` becomes `\x5E`). To
//! read a value back, undo these escapes. In the header, `\` is written `\\` and `|` is
//! written `\|`, and control characters become spaces. Attribute keys are fixed by the
//! forwarder and never come from Own's data, so no value can add an attribute, a header
//! field or a line.

use std::io::Write;

use super::cef::{
    NO_KEY, category, compact, is_plain_header_text, other_fields, write_header_field,
};
use super::mapping::classify;
use super::{Event, Known, PRODUCT, VENDOR};

/// The `SimpleDateFormat` pattern of `devTime`; `X` reads the `Z` of UTC.
const DEV_TIME_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/// QRadar's limit on the length of the header's event id, in characters.
const MAX_EVENT_ID_CHARS: usize = 255;

/// Appends the event as one LEEF 2.0 line, attributes separated by `delimiter`, without
/// the newline, to `out`.
pub fn encode_leef(event: &Event, delimiter: char, out: &mut Vec<u8>) {
    let delimiter = usable(delimiter);
    let known = Known::read(event);
    let class = classify(&event.key);
    let event_id = header_event_id(&event.key);
    write_header(event, event_id, delimiter, out);

    let mut attrs = Attributes {
        out,
        delimiter,
        first: true,
    };
    let dev_time = event
        .timestamp
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    attrs.text("devTime", &dev_time);
    attrs.text("devTimeFormat", DEV_TIME_FORMAT);
    attrs.text("cat", category(class.action));
    attrs.number("sev", class.severity.leef());
    attrs.number("eventId", event.id);
    // QRadar may not undo the header's escapes, so the key is given whole unless the
    // header carries it as it is.
    if event_id != event.key || !is_plain_header_text(event_id) {
        attrs.text("ownKey", &event.key);
    }
    attrs.text("outcome", class.outcome.as_str());
    attrs.optional("usrName", known.user_email.as_deref());
    attrs.optional("userId", known.user_id.as_deref());
    if let Some(ip) = known.ip {
        attrs.text("src", &ip.to_string());
    }
    attrs.optional("ipAddress", known.ip_unparsed.as_deref());
    attrs.optional("channel", known.channel.as_deref());
    attrs.optional("serviceId", known.service_id.as_deref());
    attrs.optional("parameters", known.parameters.map(compact).as_deref());
    attrs.text("sourceName", &event.origin.source);
    attrs.text("region", &event.origin.region);
    attrs.text("forwarderHost", &event.origin.host);
    if !event.created_at_valid {
        attrs.text("createdAtInvalid", "true");
    }
    attrs.optional("otherFields", other_fields(event, &known).as_deref());
}

/// The delimiter, or the tab when it could not separate `key=value` attributes, or
/// would have to be escaped inside a typed value (a time, an address, a category), which
/// QRadar would then misread.
fn usable(delimiter: char) -> char {
    let unusable = matches!(
        delimiter,
        '=' | '|' | '\\' | '\n' | '\r' | '-' | ':' | '.' | '\'' | '_'
    );
    if unusable || delimiter.is_alphanumeric() {
        '\t'
    } else {
        delimiter
    }
}

/// The header's event id: the key cut to QRadar's limit, or a placeholder when empty.
fn header_event_id(key: &str) -> &str {
    if key.is_empty() {
        return NO_KEY;
    }
    let cut = key.char_indices().nth(MAX_EVENT_ID_CHARS);
    cut.map_or(key, |(at, _)| &key[..at])
}

fn write_header(event: &Event, event_id: &str, delimiter: char, out: &mut Vec<u8>) {
    out.extend_from_slice(b"LEEF:2.0|");
    for field in [VENDOR, PRODUCT, event.origin.version, event_id] {
        write_header_field(out, field);
        out.push(b'|');
    }
    write_delimiter_field(out, delimiter);
    out.push(b'|');
}

/// Writes the delimiter as itself when it is printable ASCII, else in QRadar's hex form
/// (`x09`). A character beyond the four hex digits QRadar reads is written as itself.
fn write_delimiter_field(out: &mut Vec<u8>, delimiter: char) {
    let code = u32::from(delimiter);
    if delimiter.is_ascii_graphic() || code > 0xFFFF {
        let mut buf = [0; 4];
        out.extend_from_slice(delimiter.encode_utf8(&mut buf).as_bytes());
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "x{code:02X}");
    }
}

/// The attributes of one line: `key=value` pairs separated by the delimiter.
struct Attributes<'a> {
    out: &'a mut Vec<u8>,
    delimiter: char,
    first: bool,
}

impl Attributes<'_> {
    fn key(&mut self, key: &str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        if !self.first {
            let mut buf = [0; 4];
            let delimiter = self.delimiter.encode_utf8(&mut buf);
            self.out.extend_from_slice(delimiter.as_bytes());
        }
        self.first = false;
        self.out.extend_from_slice(key.as_bytes());
        self.out.push(b'=');
    }

    /// Writes an attribute, unless the value is empty.
    fn text(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.key(key);
            escape_value(self.out, value, self.delimiter);
        }
    }

    fn optional(&mut self, key: &str, value: Option<&str>) {
        self.text(key, value.unwrap_or_default());
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }
}

/// Writes a value with `\`, line breaks, tabs, other control characters and the
/// delimiter escaped, so that it holds neither the delimiter nor a line break.
fn escape_value(out: &mut Vec<u8>, value: &str, delimiter: char) {
    let mut start = 0;
    for (at, c) in value.char_indices() {
        let short: &[u8] = match c {
            '\\' => b"\\\\",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\t' => b"\\t",
            // U+0085, U+2028 and U+2029 end lines for some readers.
            c if c.is_control()
                || c == delimiter
                || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') =>
            {
                b""
            }
            _ => continue,
        };
        out.extend_from_slice(&value.as_bytes()[start..at]);
        if short.is_empty() {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{byte:02X}");
            }
        } else {
            out.extend_from_slice(short);
        }
        start = at + c.len_utf8();
    }
    out.extend_from_slice(&value.as_bytes()[start..]);
}

#[cfg(test)]
#[path = "leef_tests.rs"]
mod tests;
