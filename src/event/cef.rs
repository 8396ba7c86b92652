//! The `cef` format: ArcSight Common Event Format (CEF:0), one line per event.
//!
//! ```text
//! CEF:0|Own|Own Audit Log|0.1.0|user.login|User logged in|1|rt=1566656122000
//! externalId=42857 act=user.login cat=logon outcome=success suser=jane.doe@example.com
//! suid=12345 src=203.0.113.45 dvchost=siem-fw-1 deviceExternalId=prod-us
//! cs1Label=channel cs1=web app cs2Label=serviceId cs2=300008 cs3Label=parameters
//! cs3={"method":"sso"} cs4Label=region cs4=app1 cs6Label=otherFields cs6={"tenant":{"id":7}}
//! ```
//!
//! (one line; wrapped here). The header is `CEF:0|Own|Own Audit Log|<version>|<key>|<name>|
//! <severity>|`. The version is the forwarder's, not Own's: Own publishes no version, and
//! the forwarder decides how fields are laid out. The signature id is Own's event key
//! (`unknown` when Own sent none); the name is the title the key mapping gives, or the key
//! itself; the severity is the mapping's, on CEF's 0 to 10 scale.
//!
//! The extension, in this order:
//!
//! - `rt`: the event time, in milliseconds since the epoch.
//! - `externalId`: Own's `event_id`.
//! - `act`: Own's `key`, exactly as sent.
//! - `cat`: what happened, from the key mapping: `logon`, `logoff`, `account_create`,
//!   `account_change`, `config_change`, `create`, `read`, `update`, `delete` or `other`.
//! - `outcome`: `success`, `failure` or `unknown`.
//! - `suser`, `suid`: `user_email` and `user_id`.
//! - `src`: `ip_address` when it is an IPv4 address; `c6a2` with
//!   `c6a2Label=Source IPv6 Address` when it is an IPv6 address.
//! - `dvchost`: the host name of the machine running the forwarder, which is the host
//!   that sends the line.
//! - `deviceExternalId`: the configured name of the source, which names the Own account
//!   and region the event comes from.
//! - Custom strings, each with its label: `cs1` `channel`, Own's `source` (the channel
//!   the action came through, such as `web app`); `cs2` `serviceId`; `cs3` `parameters`,
//!   as compact JSON; `cs4` `region`, the Own region or `custom`; `cs5` `ipAddress`, an
//!   `ip_address` that is not an address, as sent; `cs6` `otherFields`, every other field
//!   Own sent, as one compact JSON object.
//! - `msg`, only when `created_at` was missing or unreadable: says that `rt` is then the
//!   time the forwarder received the event.
//!
//! A field without a value is left out, with its label. `otherFields` also keeps the
//! original `created_at` when it could not be read or was not UTC text (an offset, an
//! epoch number), a `key` that was not a string, and any documented field of an
//! unexpected shape, so nothing Own sent is lost.
//!
//! Escaping follows "Implementing ArcSight CEF". In the header, `\` is written `\\` and
//! `|` is written `\|`; a header may not span lines, so any control character there
//! (a line break, a tab) becomes a space. The exact key is always in `act`. In extension
//! values, `\` is written `\\`, `=` is written `\=`, a line feed `\n` and a carriage return
//! `\r`; every other character, `|`, spaces, tabs and other control characters included,
//! is written as it is, since CEF defines no other escape. Extension keys
//! are fixed by the forwarder and never come from Own's data, so no value can add a key, a
//! header field or a line.

use std::io::Write;
use std::net::IpAddr;

use super::mapping::{Action, Class, classify};
use super::{Event, Known, PRODUCT, VENDOR, write_raw_compact};

/// The signature id (CEF) or event id (LEEF) of an event whose key is empty.
pub(super) const NO_KEY: &str = "unknown";

/// The custom string keys, each with its label key.
const CS1: (&str, &str) = ("cs1", "cs1Label");
const CS2: (&str, &str) = ("cs2", "cs2Label");
const CS3: (&str, &str) = ("cs3", "cs3Label");
const CS4: (&str, &str) = ("cs4", "cs4Label");
const CS5: (&str, &str) = ("cs5", "cs5Label");
const CS6: (&str, &str) = ("cs6", "cs6Label");

const IPV6_LABEL: &str = "Source IPv6 Address";
const TIME_NOTE: &str = "created_at was missing or unreadable; rt is the time the forwarder \
                         received the event";

/// Appends the event as one CEF line (without the newline) to `out`.
pub fn encode_cef(event: &Event, out: &mut Vec<u8>) {
    let known = Known::read(event);
    let class = classify(&event.key);
    write_header(event, &class, out);

    let mut ext = Extension { out, first: true };
    ext.number("rt", event.timestamp.as_millisecond());
    ext.number("externalId", event.id);
    ext.text("act", &event.key);
    ext.text("cat", category(class.action));
    ext.text("outcome", class.outcome.as_str());
    ext.optional("suser", known.user_email.as_deref());
    ext.optional("suid", known.user_id.as_deref());
    match known.ip {
        Some(IpAddr::V4(ip)) => ext.text("src", &ip.to_string()),
        Some(IpAddr::V6(ip)) => {
            ext.text("c6a2Label", IPV6_LABEL);
            ext.text("c6a2", &ip.to_string());
        }
        None => {}
    }
    ext.text("dvchost", &event.origin.host);
    ext.text("deviceExternalId", &event.origin.source);
    ext.custom(CS1, "channel", known.channel.as_deref());
    ext.custom(CS2, "serviceId", known.service_id.as_deref());
    ext.custom(CS3, "parameters", known.parameters.map(compact).as_deref());
    ext.custom(CS4, "region", Some(&event.origin.region));
    ext.custom(CS5, "ipAddress", known.ip_unparsed.as_deref());
    ext.custom(CS6, "otherFields", other_fields(event, &known).as_deref());
    if !event.created_at_valid {
        ext.text("msg", TIME_NOTE);
    }
}

fn write_header(event: &Event, class: &Class, out: &mut Vec<u8>) {
    let key = if event.key.is_empty() {
        NO_KEY
    } else {
        &event.key
    };
    let name = if class.title.is_empty() {
        key
    } else {
        class.title
    };
    out.extend_from_slice(b"CEF:0|");
    for field in [VENDOR, PRODUCT, event.origin.version, key, name] {
        write_header_field(out, field);
        out.push(b'|');
    }
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{}|", class.severity.cef());
}

/// Writes a CEF or LEEF header field: `\` and `|` escaped, control characters as spaces.
pub(super) fn write_header_field(out: &mut Vec<u8>, text: &str) {
    let mut buf = [0; 4];
    for c in text.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '|' => out.extend_from_slice(b"\\|"),
            c if c.is_control() => out.push(b' '),
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
}

/// Whether a text is written unchanged by [`write_header_field`].
pub(super) fn is_plain_header_text(text: &str) -> bool {
    !text.contains(|c: char| c == '\\' || c == '|' || c.is_control())
}

/// The name of what happened, for CEF's and LEEF's `cat`.
pub(super) fn category(action: Action) -> &'static str {
    match action {
        Action::Logon => "logon",
        Action::Logoff => "logoff",
        Action::AccountCreate => "account_create",
        Action::AccountChange => "account_change",
        Action::ConfigChange => "config_change",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Other => "other",
    }
}

/// A raw JSON value on one line.
pub(super) fn compact(raw: &str) -> String {
    let mut text = Vec::with_capacity(raw.len());
    write_raw_compact(&mut text, raw);
    into_text(text)
}

/// Text that serde_json or Own's own text wrote, which is UTF-8; repaired rather than
/// dropped should it ever not be.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Every field that has no home of its own, as one compact JSON object, or `None` when
/// there is none: [`Known::other`] (a `key` that is not a string among them), and a
/// `created_at` that could not be read or was not written in UTC.
pub(super) fn other_fields(event: &Event, known: &Known) -> Option<String> {
    let time_is_whole = |raw: &str| event.created_at_valid && is_utc_text(raw);
    let created_at = event
        .fields
        .raw("created_at")
        .filter(|raw| !is_blank(raw) && !time_is_whole(raw))
        .map(|raw| ("created_at", raw));
    let mut fields = known.other.iter().copied().chain(created_at).peekable();
    fields.peek()?;

    let mut json = vec![b'{'];
    for (i, (name, raw)) in fields.enumerate() {
        if i > 0 {
            json.push(b',');
        }
        // Serializing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, name);
        json.push(b':');
        write_raw_compact(&mut json, raw);
    }
    json.push(b'}');
    Some(into_text(json))
}

/// Whether a raw `created_at` is a UTC time as text (`"...Z"`), whose instant the event
/// time carries whole; any other form (an offset, an epoch number) is kept as sent.
fn is_utc_text(raw: &str) -> bool {
    raw.len() > 2 && raw.starts_with('"') && raw.ends_with("Z\"")
}

fn is_blank(raw: &str) -> bool {
    raw == "null" || raw == "\"\""
}

/// The extension of one line: `key=value` pairs separated by spaces.
struct Extension<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Extension<'_> {
    fn key(&mut self, key: &str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        if !self.first {
            self.out.push(b' ');
        }
        self.first = false;
        self.out.extend_from_slice(key.as_bytes());
        self.out.push(b'=');
    }

    /// Writes a pair, unless the value is empty.
    fn text(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.key(key);
            escape_value(self.out, value);
        }
    }

    fn optional(&mut self, key: &str, value: Option<&str>) {
        self.text(key, value.unwrap_or_default());
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }

    /// Writes a custom string and its label, unless the value is missing or empty.
    fn custom(&mut self, (key, label_key): (&str, &str), label: &str, value: Option<&str>) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return;
        };
        self.text(label_key, label);
        self.text(key, value);
    }
}

/// Writes an extension value: `\`, `=`, and line breaks escaped. Each escaped character
/// is ASCII, so escaping byte by byte keeps the UTF-8 intact.
fn escape_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'=' => b"\\=",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
#[path = "cef_tests.rs"]
mod tests;
