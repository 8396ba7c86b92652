//! The `ocsf` format: one JSON object in the Open Cybersecurity Schema Framework 1.3.0,
//! with the `cloud` profile.
//!
//! The class comes from the key's [`Action`] (see [`classify`]):
//!
//! | Action | class | activity |
//! |---|---|---|
//! | Logon, Logoff | Authentication (3002, IAM) | 1 Logon, 2 Logoff |
//! | Create, AccountCreate | API Activity (6003, Application Activity) | 1 Create |
//! | Read | API Activity | 2 Read |
//! | Update, AccountChange, ConfigChange | API Activity | 3 Update |
//! | Delete | API Activity | 4 Delete |
//! | Other | API Activity | 99 Other, `activity_name` the key |
//!
//! Account changes are not Account Change (3001) events: that class requires the user
//! whose account changed, and Own names only the user who acted.
//!
//! In every class: `time` is `created_at` in epoch milliseconds and
//! `metadata.original_time` the string Own sent (any other value is kept as
//! `unmapped.created_at`); `metadata.uid` the event id; `metadata.product` is
//! `Own Audit Log` by `Own`, as in CEF; `metadata.loggers` the forwarder (name, version,
//! and the host it runs on); `severity_id` and `status_id` the key's severity and
//! outcome; `cloud` is provider `Own` in the Own region; `message` the key's title, or
//! the key. The user is `user` in Authentication (who signed in) and `actor.user` in API
//! Activity (who acted): `name` is `user_email` (Own users sign in with it),
//! `email_addr` the same when it is an address by OCSF's rule, `uid` is `user_id`.
//! `src_endpoint.ip` is `ip_address` when it is an address. An API Activity's
//! `api.operation` is the key, and its `api.service` is Own.
//!
//! OCSF requires some values Own may not send. Then `unknown` stands in: as the user's
//! name when Own named no user, as `src_endpoint.name` of an API Activity without an
//! address, and as `api.operation` when there is no key. Authentication requires a
//! `service` or a `dst_endpoint`; its `service` is Own.
//!
//! Everything else goes to `unmapped`: `source` (Own's channel, such as `web app`),
//! `service_id`, `parameters` (as sent), `ip_address` when it is not an address,
//! `created_at_invalid` when `created_at` was unreadable (`time` is then the time the
//! daemon received the event), `own_audit_source` (the source's configured name), and
//! `fields`, an object holding every undocumented field, or documented one of an
//! unexpected shape (a key that is not a string, say), under its own name.
//!
//! OCSF strings hold at most 65,535 characters. A longer value from Own is cut there
//! where it is mapped, and kept whole in `unmapped` under its Own name (`key`,
//! `user_email`, `user_id`, `created_at`).

use std::net::IpAddr;

use serde::Serialize;
use serde::Serializer;

use super::ecs::{AGENT_TYPE, OtherFields, Raw};
use super::mapping::{Action, Outcome, classify};
use super::{Event, Known};
use super::{PRODUCT, VENDOR};

/// The OCSF version the output follows.
pub const OCSF_VERSION: &str = "1.3.0";

/// The longest string OCSF's `string_t` allows, in characters.
const MAX_STRING: usize = 65_535;

/// The service users sign in to and whose API they call.
const SERVICE: &str = "Own";

/// What stands in for a required value Own did not send.
const UNKNOWN: &str = "unknown";

/// An OCSF class, with its category.
struct Class {
    uid: u32,
    name: &'static str,
    category_uid: u32,
    category_name: &'static str,
}

const AUTHENTICATION: Class = Class {
    uid: 3002,
    name: "Authentication",
    category_uid: 3,
    category_name: "Identity & Access Management",
};

const API_ACTIVITY: Class = Class {
    uid: 6003,
    name: "API Activity",
    category_uid: 6,
    category_name: "Application Activity",
};

/// The class and activity of an event: the class, `activity_id`, the activity's name
/// and the caption of `type_uid`.
fn activity(action: Action) -> (Class, u32, &'static str, &'static str) {
    match action {
        Action::Logon => (AUTHENTICATION, 1, "Logon", "Authentication: Logon"),
        Action::Logoff => (AUTHENTICATION, 2, "Logoff", "Authentication: Logoff"),
        Action::Create | Action::AccountCreate => {
            (API_ACTIVITY, 1, "Create", "API Activity: Create")
        }
        Action::Read => (API_ACTIVITY, 2, "Read", "API Activity: Read"),
        Action::Update | Action::AccountChange | Action::ConfigChange => {
            (API_ACTIVITY, 3, "Update", "API Activity: Update")
        }
        Action::Delete => (API_ACTIVITY, 4, "Delete", "API Activity: Delete"),
        Action::Other => (API_ACTIVITY, 99, "Other", "API Activity: Other"),
    }
}

#[derive(Serialize)]
struct Document<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'a str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    time: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    metadata: Metadata<'a>,
    cloud: Cloud<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<Actor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<Api<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint>,
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    uid: String,
    product: Product,
    profiles: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    original_time: Option<String>,
    loggers: [Logger<'a>; 1],
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
}

#[derive(Serialize)]
struct Logger<'a> {
    name: &'static str,
    version: &'a str,
    device: Device<'a>,
}

#[derive(Serialize)]
struct Device<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// 0, Unknown: the daemon cannot tell a server from a virtual machine or container.
    type_id: u8,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    region: &'a str,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_addr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Named {
    name: &'static str,
}

#[derive(Serialize)]
struct Actor<'a> {
    user: User<'a>,
}

#[derive(Serialize)]
struct Api<'a> {
    operation: &'a str,
    service: Named,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Endpoint {
    Ip { ip: IpAddr },
    Name { name: &'static str },
}

/// Appends the event as one OCSF event (without a line break) to `out`.
pub fn encode_ocsf(event: &Event, out: &mut Vec<u8>) {
    let known = Known::read(event);
    let other = &known.other;
    let mapping = classify(&event.key);
    let (class, activity_id, activity_name, type_name) = activity(mapping.action);
    let (status_id, status) = status(mapping.outcome);
    let mut unmapped = Unmapped::new(event, &known, other);
    let key = unmapped.clip("key", &event.key);

    let mut document = Document {
        class_uid: class.uid,
        class_name: class.name,
        category_uid: class.category_uid,
        category_name: class.category_name,
        activity_id,
        // For Other, OCSF asks for the source's own name of the activity.
        activity_name: if activity_id == 99 && !key.is_empty() {
            key
        } else {
            activity_name
        },
        type_uid: class.uid * 100 + activity_id,
        type_name,
        severity_id: mapping.severity.ocsf_id(),
        severity: mapping.severity.ocsf_name(),
        status_id,
        status,
        time: event.timestamp.as_millisecond(),
        message: if mapping.title.is_empty() {
            key
        } else {
            mapping.title
        },
        metadata: metadata(event, &mut unmapped),
        cloud: Cloud {
            provider: VENDOR,
            region: &event.origin.region,
        },
        user: None,
        service: None,
        actor: None,
        api: None,
        src_endpoint: known.ip.map(|ip| Endpoint::Ip { ip }),
        unmapped,
    };
    let user = user(&known, &mut document.unmapped);
    if class.uid == AUTHENTICATION.uid {
        document.user = Some(user);
        document.service = Some(Named { name: SERVICE });
    } else {
        document.actor = Some(Actor { user });
        document.api = Some(Api {
            operation: if key.is_empty() { UNKNOWN } else { key },
            service: Named { name: SERVICE },
        });
        document
            .src_endpoint
            .get_or_insert(Endpoint::Name { name: UNKNOWN });
    }
    // Every part is a string, a number or JSON Own sent, so writing cannot fail.
    let _ = serde_json::to_writer(&mut *out, &document);
}

/// OCSF `status_id` and `status`.
fn status(outcome: Outcome) -> (u8, &'static str) {
    match outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
        Outcome::Unknown => (0, "Unknown"),
    }
}

fn user<'a>(known: &'a Known, unmapped: &mut Unmapped<'a>) -> User<'a> {
    let whole = known.user_email.as_deref();
    let email = whole.map(|e| unmapped.clip("user_email", e));
    let uid = known
        .user_id
        .as_deref()
        .map(|id| unmapped.clip("user_id", id));
    User {
        // OCSF requires a name or a uid.
        name: email.or(uid.is_none().then_some(UNKNOWN)),
        // A cut address is no address.
        email_addr: email.filter(|e| Some(e.len()) == whole.map(str::len) && is_email(e)),
        uid,
    }
}

fn metadata<'a>(event: &'a Event, unmapped: &mut Unmapped<'a>) -> Metadata<'a> {
    let raw = event
        .fields
        .raw("created_at")
        .filter(|raw| !matches!(*raw, "null" | "\"\""));
    let text = raw.and_then(|raw| serde_json::from_str::<String>(raw).ok());
    let original_time = text.filter(|text| clip(text).len() == text.len());
    if let (Some(raw), None) = (raw, &original_time) {
        unmapped.whole.push(("created_at", Kept::Raw(Raw(raw))));
    }
    let host = &event.origin.host;
    Metadata {
        version: OCSF_VERSION,
        uid: event.id.to_string(),
        product: Product {
            name: PRODUCT,
            vendor_name: VENDOR,
        },
        profiles: ["cloud"],
        original_time,
        loggers: [Logger {
            name: AGENT_TYPE,
            version: event.origin.version,
            device: Device {
                hostname: is_hostname(host).then_some(host),
                name: (!is_hostname(host)).then_some(host),
                type_id: 0,
            },
        }],
    }
}

/// What OCSF has no attribute for.
#[derive(Serialize)]
struct Unmapped<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Raw<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    created_at_invalid: bool,
    own_audit_source: &'a str,
    #[serde(skip_serializing_if = "OtherFields::is_empty")]
    fields: OtherFields<'a, 'a>,
    /// Values kept whole under their Own names: a `created_at` that is not a string, and
    /// values too long for the attribute they map to.
    #[serde(flatten, serialize_with = "kept_map")]
    whole: Vec<(&'static str, Kept<'a>)>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Kept<'a> {
    Text(&'a str),
    Raw(Raw<'a>),
}

fn kept_map<S: Serializer>(whole: &[(&str, Kept)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(whole.iter().map(|(name, kept)| (name, kept)))
}

impl<'a> Unmapped<'a> {
    fn new(event: &'a Event, known: &'a Known, other: &'a [(&'a str, &'a str)]) -> Self {
        Unmapped {
            source: known.channel.as_deref(),
            service_id: known.service_id.as_deref(),
            parameters: known.parameters.map(Raw),
            ip_address: known.ip_unparsed.as_deref(),
            created_at_invalid: !event.created_at_valid,
            own_audit_source: &event.origin.source,
            fields: OtherFields(other),
            whole: Vec::new(),
        }
    }

    /// `text` cut to the longest OCSF string; when cut, it is kept whole as `name`.
    fn clip(&mut self, name: &'static str, text: &'a str) -> &'a str {
        let clipped = clip(text);
        if clipped.len() < text.len() {
            self.whole.push((name, Kept::Text(text)));
        }
        clipped
    }
}

/// The longest prefix of `text` that OCSF's `string_t` allows.
fn clip(text: &str) -> &str {
    if text.len() <= MAX_STRING {
        return text;
    }
    match text.char_indices().nth(MAX_STRING) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Whether `text` is an email address by the rule of OCSF's `email_t`.
fn is_email(text: &str) -> bool {
    const LOCAL: &[u8] = b"!#$%&'*+,-./=?^_`{|}~";
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || LOCAL.contains(&b));
    let domain_ok = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let dot = domain.find('.');
    local_ok && domain_ok && matches!(dot, Some(i) if i > 0 && i + 1 < domain.len())
}

/// Whether `text` is a host name by the rule of OCSF's `hostname_t`.
fn is_hostname(text: &str) -> bool {
    text.split('.').all(|label| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    })
}

#[cfg(test)]
#[path = "ocsf_tests.rs"]
mod tests;
