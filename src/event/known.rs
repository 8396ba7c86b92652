//! The fields Own documents, read once for the schema encoders (ECS, OCSF, CEF, LEEF).
//!
//! Each schema has a home for the user, the client address and the time, and keeps the
//! rest apart. [`Known`] reads the documented fields with forgiving types (a user id may
//! come as a number or a string, an address may be empty or not an address at all) and
//! lists every other field, so that no encoder drops one.

use std::net::IpAddr;

use serde_json::Value;

use super::Event;

/// The documented fields of one event, and the rest.
#[derive(Debug, Default)]
pub struct Known<'a> {
    /// `user_email`, when a non-empty string.
    pub user_email: Option<String>,
    /// `user_id` as text, whether Own sent a number or a string.
    pub user_id: Option<String>,
    /// `ip_address`, when it is an IPv4 or IPv6 address.
    pub ip: Option<IpAddr>,
    /// `ip_address` when it is present and not empty but not an address; kept as text.
    pub ip_unparsed: Option<String>,
    /// `source`: the channel the action came through, such as `web app` or `api`.
    pub channel: Option<String>,
    /// `service_id` as text.
    pub service_id: Option<String>,
    /// `parameters`, as raw JSON, when not null.
    pub parameters: Option<&'a str>,
    /// Every other field (name, raw JSON) in Own's order, except `event_id`,
    /// `created_at` and a string `key`, which the event carries already.
    pub other: Vec<(&'a str, &'a str)>,
}

impl<'a> Known<'a> {
    pub fn read(event: &'a Event) -> Self {
        let mut known = Known::default();
        for (name, raw) in event.fields.iter() {
            let slot = match name {
                "event_id" | "created_at" => continue,
                // A string key is the event's own; any other (a number, an object) has
                // no home in a schema and is kept apart, so that no encoder loses it.
                "key" => {
                    if event.key.is_empty() && !is_blank(raw) && !raw.starts_with('"') {
                        known.other.push((name, raw));
                    }
                    continue;
                }
                "ip_address" => {
                    known.read_ip(raw);
                    continue;
                }
                "parameters" => {
                    known.parameters = (raw != "null").then_some(raw);
                    continue;
                }
                "user_email" => &mut known.user_email,
                "user_id" => &mut known.user_id,
                "source" => &mut known.channel,
                "service_id" => &mut known.service_id,
                _ => {
                    known.other.push((name, raw));
                    continue;
                }
            };
            *slot = text(raw);
            // A documented field of an unexpected shape (an object, say) is kept apart.
            if slot.is_none() && !is_blank(raw) {
                known.other.push((name, raw));
            }
        }
        known
    }

    fn read_ip(&mut self, raw: &str) {
        let Some(text) = text(raw) else { return };
        match text.trim().parse::<IpAddr>() {
            Ok(ip) => self.ip = Some(ip),
            Err(_) => self.ip_unparsed = Some(text),
        }
    }
}

/// A scalar field as text: strings as they are, numbers and booleans written out; `None`
/// for null, empty strings, objects and arrays.
fn text(raw: &str) -> Option<String> {
    match serde_json::from_str::<Value>(raw).ok()? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a raw value is `null` or the empty string.
fn is_blank(raw: &str) -> bool {
    raw == "null" || raw == "\"\""
}

/// A raw JSON value as a string for a text-only format: strings unquoted, anything else
/// as compact JSON.
pub fn raw_as_text(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;
    use serde_json::json;
    use serde_json::value::RawValue;

    fn event(entry: Value) -> Event {
        let raw = RawValue::from_string(entry.to_string()).unwrap();
        let origin = Origin::new("s", "app1");
        Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn documented_fields_are_read_with_forgiving_types() {
        let e = event(json!({
            "event_id": 1, "key": "user.login", "user_email": "a@b.c", "user_id": 12345,
            "ip_address": " 2001:db8::1 ", "source": "api", "service_id": null,
            "parameters": {"x": 1}, "tenant": "t"
        }));
        let k = Known::read(&e);
        assert_eq!(k.user_email.as_deref(), Some("a@b.c"));
        assert_eq!(k.user_id.as_deref(), Some("12345"));
        assert_eq!(k.ip, "2001:db8::1".parse().ok());
        assert_eq!(k.channel.as_deref(), Some("api"));
        assert_eq!(k.service_id, None);
        assert_eq!(k.parameters, Some(r#"{"x":1}"#));
        assert_eq!(k.other, [("tenant", "\"t\"")]);
    }

    #[test]
    fn odd_values_are_kept_apart_or_skipped() {
        let e = event(
            json!({"event_id": 1, "ip_address": "not an ip", "user_email": "",
            "user_id": {"nested": true}, "parameters": null}),
        );
        let k = Known::read(&e);
        assert_eq!(k.ip, None);
        assert_eq!(k.ip_unparsed.as_deref(), Some("not an ip"));
        assert_eq!(k.user_email, None);
        assert_eq!(k.user_id, None);
        assert_eq!(k.other, [("user_id", r#"{"nested":true}"#)]);
        assert_eq!(k.parameters, None);
        assert_eq!(raw_as_text("\"a\\nb\""), "a\nb");
        let odd_key = event(json!({"event_id": 1, "key": 7}));
        assert_eq!(Known::read(&odd_key).other, [("key", "7")]);
        let string_key = event(json!({"event_id": 1, "key": "user.login"}));
        assert!(Known::read(&string_key).other.is_empty());
        assert_eq!(raw_as_text("[1, 2]"), "[1,2]");
    }
}
