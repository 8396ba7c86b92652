//! The `ecs` format: one JSON object in the Elastic Common Schema, version 8.11.
//!
//! Own is the *observer* that recorded the action (`observer.vendor` `Own`,
//! `observer.product` `Own Audit Log` as in CEF, `observer.type` `backup`), the
//! forwarder is the *agent* that read it, and the user who acted is `user.*`. The key's
//! meaning comes from [`classify`](super::mapping::classify):
//!
//! | Action | `event.category` | `event.type` |
//! |---|---|---|
//! | Logon, Logoff | `authentication` | `start`, `end` |
//! | AccountCreate, AccountChange | `iam` | `user` + `creation`, `user` + `change` |
//! | ConfigChange | `configuration` | `change` |
//! | Create, Read | `api` | `creation`, `access` |
//! | Update, Delete, Other | `api` | `change`, `deletion`, `info` |
//!
//! The other fields:
//!
//! - `@timestamp` is `created_at` in UTC; `event.action` the key; `event.id` the event id
//!   as text; `event.outcome` `success`, `failure` or `unknown`; `event.severity` the
//!   severity on the 1 to 10 scale CEF uses (1 info, 3 low, 5 medium, 8 high,
//!   10 critical); `message` the key's title, or the key.
//! - `user.email` and `user.name` are `user_email` (Own users sign in with their email
//!   address), `user.id` is `user_id` as text; `related.user` and `related.ip` repeat
//!   them for pivoting.
//! - `source.ip` is `ip_address` when it is an address; anything else Own sent there is
//!   kept as `own.ip_address`.
//! - `agent.type` is `own-audit-forwarder`, `agent.name` the host it runs on (as Beats
//!   name themselves), `agent.version` its version. There is no `host.*`: ECS means the
//!   host where the event happened, and that is inside Own.
//! - `labels.own_audit_source` is the source's configured name, `labels.own_region` the
//!   Own region.
//!
//! Whatever has no ECS home is kept under `own`: `own.source` (Own's channel, such as
//! `web app`), `own.service_id`, `own.parameters` (as sent), and every undocumented
//! field, or documented one of an unexpected shape (a key that is not a string, say),
//! in the object `own.fields` under its own name. Being keys of that one object, names
//! with dots or odd characters stay there and can never land on an ECS path. An index
//! template should map `own.fields` and `own.parameters` as `flattened`, so that such
//! names, and values whose type changes from one event to the next, cannot cause
//! mapping conflicts.
//!
//! Like the `json` format, an unreadable `created_at` is flagged: `@timestamp` is then
//! the time the daemon received the event, `own.created_at_invalid` is `true`, and the
//! value Own sent is kept as `own.created_at_original`. That field also keeps a readable
//! value that was not already UTC.

use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::mapping::{Action, Class, classify};
use super::{Event, Known, format_rfc3339};

/// The ECS version the output follows.
pub const ECS_VERSION: &str = "8.11.0";

/// The vendor and product that recorded the events, shared with the `ocsf` format and
/// the same as CEF's.
use super::{PRODUCT, VENDOR};
/// What the forwarder calls itself in the schemas' agent or logger fields.
pub(super) const AGENT_TYPE: &str = "own-audit-forwarder";

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    ecs: Ecs,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    event: EcsEvent<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    #[serde(skip_serializing_if = "Related::is_empty")]
    related: Related<'a>,
    observer: Observer,
    agent: Agent<'a>,
    labels: Labels<'a>,
    #[serde(skip_serializing_if = "Own::is_empty")]
    own: Own<'a>,
}

#[derive(Serialize)]
struct Ecs {
    version: &'static str,
}

#[derive(Serialize)]
struct EcsEvent<'a> {
    kind: &'static str,
    category: [&'static str; 1],
    #[serde(rename = "type")]
    types: &'static [&'static str],
    #[serde(skip_serializing_if = "str::is_empty")]
    action: &'a str,
    outcome: &'static str,
    id: String,
    provider: &'static str,
    dataset: &'static str,
    module: &'static str,
    severity: u8,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

#[derive(Serialize)]
struct Source {
    ip: IpAddr,
}

#[derive(Serialize)]
struct Related<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    user: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<[IpAddr; 1]>,
}

impl Related<'_> {
    fn is_empty(&self) -> bool {
        self.user.is_empty() && self.ip.is_none()
    }
}

#[derive(Serialize)]
struct Observer {
    vendor: &'static str,
    product: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Agent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Labels<'a> {
    own_audit_source: &'a str,
    own_region: &'a str,
}

#[derive(Serialize)]
struct Own<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Raw<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at_original: Option<Raw<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    created_at_invalid: bool,
    #[serde(skip_serializing_if = "OtherFields::is_empty")]
    fields: OtherFields<'a, 'a>,
}

impl Own<'_> {
    /// Whether there is nothing to write; it must list every field.
    fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.service_id.is_none()
            && self.parameters.is_none()
            && self.ip_address.is_none()
            && self.created_at_original.is_none()
            && !self.created_at_invalid
            && self.fields.is_empty()
    }
}

/// Appends the event as one ECS document (without a line break) to `out`.
pub fn encode_ecs(event: &Event, out: &mut Vec<u8>) {
    let known = Known::read(event);
    let other = &known.other;
    let class = classify(&event.key);
    let document = Document {
        timestamp: format_rfc3339(event.timestamp),
        ecs: Ecs {
            version: ECS_VERSION,
        },
        message: message(event, &class),
        event: ecs_event(event, &class),
        user: user(&known),
        source: known.ip.map(|ip| Source { ip }),
        related: Related {
            user: [&known.user_email, &known.user_id]
                .into_iter()
                .filter_map(|v| v.as_deref())
                .collect(),
            ip: known.ip.map(|ip| [ip]),
        },
        observer: Observer {
            vendor: VENDOR,
            product: PRODUCT,
            kind: "backup",
        },
        agent: Agent {
            kind: AGENT_TYPE,
            name: &event.origin.host,
            version: event.origin.version,
        },
        labels: Labels {
            own_audit_source: &event.origin.source,
            own_region: &event.origin.region,
        },
        own: Own {
            source: known.channel.as_deref(),
            service_id: known.service_id.as_deref(),
            parameters: known.parameters.map(Raw),
            ip_address: known.ip_unparsed.as_deref(),
            created_at_original: created_at_original(event),
            created_at_invalid: !event.created_at_valid,
            fields: OtherFields(other),
        },
    };
    // Every part is a string, a number or JSON Own sent, so writing cannot fail.
    let _ = serde_json::to_writer(&mut *out, &document);
}

fn ecs_event<'a>(event: &'a Event, class: &Class) -> EcsEvent<'a> {
    let (category, types) = categorize(class.action);
    EcsEvent {
        kind: "event",
        category: [category],
        types,
        action: &event.key,
        outcome: class.outcome.as_str(),
        id: event.id.to_string(),
        provider: "own",
        dataset: "own.audit",
        module: "own",
        severity: class.severity.cef(),
    }
}

/// ECS `event.category` and the `event.type` values ECS expects with it.
fn categorize(action: Action) -> (&'static str, &'static [&'static str]) {
    match action {
        Action::Logon => ("authentication", &["start"]),
        Action::Logoff => ("authentication", &["end"]),
        Action::AccountCreate => ("iam", &["user", "creation"]),
        Action::AccountChange => ("iam", &["user", "change"]),
        Action::ConfigChange => ("configuration", &["change"]),
        Action::Create => ("api", &["creation"]),
        Action::Read => ("api", &["access"]),
        Action::Update => ("api", &["change"]),
        Action::Delete => ("api", &["deletion"]),
        Action::Other => ("api", &["info"]),
    }
}

/// The key's title, or the key itself when the table has none.
fn message<'a>(event: &'a Event, class: &Class) -> &'a str {
    if class.title.is_empty() {
        &event.key
    } else {
        class.title
    }
}

fn user<'a>(known: &'a Known) -> Option<User<'a>> {
    let email = known.user_email.as_deref();
    let id = known.user_id.as_deref();
    (email.is_some() || id.is_some()).then_some(User {
        email,
        name: email,
        id,
    })
}

/// `created_at` as Own sent it, when the normalized time does not simply restate it:
/// when it was unreadable, or not written in UTC.
fn created_at_original(event: &Event) -> Option<Raw<'_>> {
    let raw = event.fields.raw("created_at")?;
    let plain_utc = raw.len() > 2 && raw.starts_with('"') && raw.ends_with("Z\"");
    (!(event.created_at_valid && plain_utc)).then_some(Raw(raw))
}

/// A raw JSON value from Own, written as sent and on one line.
///
/// Shared with the `ocsf` encoder. Own's text is valid JSON already; only whitespace
/// line breaks between its tokens are removed, by re-writing such a value compact.
pub(super) struct Raw<'a>(pub &'a str);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0;
        if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none()
            && let Ok(raw) = serde_json::from_str::<&RawValue>(text)
        {
            return raw.serialize(serializer);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) => value.serialize(serializer),
            // Unreachable for text that Fields accepted; keep it as a string anyway.
            Err(_) => serializer.serialize_str(text),
        }
    }
}

/// The fields of [`Known::other`] as one JSON object, in Own's order, under Own's names.
pub(super) struct OtherFields<'k, 'a>(pub &'k [(&'a str, &'a str)]);

impl OtherFields<'_, '_> {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for OtherFields<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, raw) in self.0 {
            map.serialize_entry(name, &Raw(raw))?;
        }
        map.end()
    }
}

#[cfg(test)]
#[path = "ecs_tests.rs"]
mod tests;
