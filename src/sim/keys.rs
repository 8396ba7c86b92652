//! The kinds of event the simulated account produces, how common each is, and the
//! parameters each carries.
//!
//! Own does not publish its event keys; these are readable inventions in its style.
//! Logins, logouts, backups and API token use make up most of a real audit log, and
//! here too.

use crate::sim::content::Draw;
use crate::sim::value::{Value, object};

use Channel::{Any, Api};
use Concern::{Account, Service};

/// What the parameter builders may refer to.
pub(crate) struct Scene {
    pub service_id: u64,
    pub user_id: u64,
    pub draw: Draw,
}

/// What an event concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Concern {
    /// The account or a user: `service_id` is null.
    Account,
    /// One backed-up service: `service_id` is set.
    Service,
}

/// How an event may come about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Only through the API.
    Api,
    /// Mostly the web app, sometimes the API.
    Any,
}

/// One kind of event: its key, how common it is, and how its parameters look.
pub(crate) struct KeySpec {
    pub key: &'static str,
    weight: u64,
    pub concern: Concern,
    pub channel: Channel,
    pub parameters: fn(&mut Scene) -> Value,
}

impl KeySpec {
    const fn new(
        key: &'static str,
        weight: u64,
        concern: Concern,
        channel: Channel,
        parameters: fn(&mut Scene) -> Value,
    ) -> KeySpec {
        KeySpec {
            key,
            weight,
            concern,
            channel,
            parameters,
        }
    }
}

/// The services of the simulated account.
pub(crate) const SERVICES: [u64; 6] = [300_008, 300_019, 300_027, 300_031, 300_044, 300_052];
const OBJECTS: [&str; 10] = [
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Case",
    "Task",
    "User",
    "Attachment",
    "ContentVersion",
    "Invoice__c",
];
const ROLES: [&str; 5] = [
    "Admin",
    "Backup Admin",
    "Restore Operator",
    "GDPR Officer",
    "Viewer",
];

/// A kind of event, drawn by weight.
pub(crate) fn pick_key(draw: &mut Draw) -> &'static KeySpec {
    let total: u64 = KEYS.iter().map(|spec| spec.weight).sum();
    let mut ticket = draw.below(total);
    for spec in &KEYS {
        if ticket < spec.weight {
            return spec;
        }
        ticket -= spec.weight;
    }
    &KEYS[0]
}

/// A Salesforce-style 18-character record id.
fn record_id(draw: &mut Draw, prefix: &str) -> String {
    format!("{prefix}5e00000{}", draw.alphanumeric(8))
}

/// A few Salesforce object names.
fn objects(draw: &mut Draw) -> Value {
    let count = 1 + draw.below(4) as usize;
    let start = draw.below(OBJECTS.len() as u64) as usize;
    let names = (0..count).map(|n| Value::from(OBJECTS[(start + n) % OBJECTS.len()]));
    Value::List(names.collect())
}

/// Every kind of event, with its weight out of the sum of all weights.
static KEYS: [KeySpec; 21] = [
    KeySpec::new("user.login", 300, Account, Any, login),
    KeySpec::new("user.login_failed", 40, Account, Any, login_failed),
    KeySpec::new("user.logout", 100, Account, Any, logout),
    KeySpec::new("backup.started", 140, Service, Any, backup_started),
    KeySpec::new("backup.completed", 120, Service, Any, backup_completed),
    KeySpec::new("backup.failed", 15, Service, Any, backup_failed),
    KeySpec::new("restore.started", 15, Service, Any, restore),
    KeySpec::new("restore.completed", 15, Service, Any, restore_completed),
    KeySpec::new("export.requested", 20, Service, Any, export),
    KeySpec::new("export.downloaded", 20, Service, Any, downloaded),
    KeySpec::new("gdpr.forget_requested", 8, Service, Any, forget),
    KeySpec::new("gdpr.rectify_requested", 8, Service, Any, rectify),
    KeySpec::new("api_token.generated", 5, Account, Any, token_generated),
    KeySpec::new("api_token.revoked", 4, Account, Any, token_revoked),
    KeySpec::new("api_token.used", 80, Account, Api, token_used),
    KeySpec::new("user.created", 6, Account, Any, user_created),
    KeySpec::new("user.role_changed", 6, Account, Any, role_changed),
    KeySpec::new(
        "security_settings.updated",
        4,
        Account,
        Any,
        security_settings,
    ),
    KeySpec::new("service.created", 3, Service, Any, service_created),
    KeySpec::new("sandbox_seeding.started", 6, Service, Any, seeding),
    KeySpec::new(
        "sandbox_seeding.completed",
        5,
        Service,
        Any,
        seeding_completed,
    ),
];

fn login(scene: &mut Scene) -> Value {
    const METHODS: [&str; 3] = ["password", "sso", "password+mfa"];
    const AGENTS: [&str; 3] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ];
    let draw = &mut scene.draw;
    object! { "method" => *draw.pick(&METHODS), "user_agent" => *draw.pick(&AGENTS) }
}

fn login_failed(scene: &mut Scene) -> Value {
    const REASONS: [&str; 3] = ["bad_password", "mfa_failed", "locked_out"];
    let draw = &mut scene.draw;
    object! { "reason" => *draw.pick(&REASONS), "attempt" => draw.below(5) + 1 }
}

fn logout(scene: &mut Scene) -> Value {
    object! { "session_minutes" => scene.draw.below(480) + 1 }
}

fn backup_started(scene: &mut Scene) -> Value {
    const TRIGGERS: [&str; 3] = ["scheduled", "manual", "api"];
    let backup_id = 900_000 + scene.draw.below(100_000);
    let trigger = *scene.draw.pick(&TRIGGERS);
    object! { "service_id" => scene.service_id, "backup_id" => backup_id, "trigger" => trigger }
}

fn backup_completed(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! {
        "service_id" => scene.service_id,
        "backup_id" => 900_000 + draw.below(100_000),
        "objects" => draw.below(900) + 50,
        "records_changed" => draw.below(250_000),
        "duration_seconds" => draw.below(7200) + 30,
    }
}

fn backup_failed(scene: &mut Scene) -> Value {
    const ERRORS: [(&str, &str); 3] = [
        (
            "API_LIMIT_EXCEEDED",
            "Salesforce API request limit exceeded",
        ),
        ("INVALID_SESSION_ID", "Session expired or invalid"),
        (
            "QUERY_TIMEOUT",
            "Your query request was running for too long",
        ),
    ];
    let (code, message) = *scene.draw.pick(&ERRORS);
    object! {
        "service_id" => scene.service_id,
        "backup_id" => 900_000 + scene.draw.below(100_000),
        "error" => object! { "code" => code, "message" => message },
    }
}

fn restore(scene: &mut Scene) -> Value {
    let target = if scene.draw.percent(30) {
        "sandbox"
    } else {
        "production"
    };
    object! {
        "service_id" => scene.service_id,
        "backup_id" => 900_000 + scene.draw.below(100_000),
        "objects" => objects(&mut scene.draw),
        "target" => target,
    }
}

fn restore_completed(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! { "job_id" => 70_000 + draw.below(30_000), "records_restored" => draw.below(5000) }
}

fn export(scene: &mut Scene) -> Value {
    let format = if scene.draw.percent(80) { "csv" } else { "sql" };
    object! {
        "service_id" => scene.service_id,
        "objects" => objects(&mut scene.draw),
        "format" => format,
        "job_id" => 70_000 + scene.draw.below(30_000),
    }
}

fn downloaded(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! { "job_id" => 70_000 + draw.below(30_000), "file_size_bytes" => draw.below(1 << 31) }
}

fn forget(scene: &mut Scene) -> Value {
    let count = 1 + scene.draw.below(3);
    let ids = (0..count).map(|_| Value::from(record_id(&mut scene.draw, "003")));
    let record_ids = Value::List(ids.collect());
    object! { "object" => "Contact", "record_ids" => record_ids, "cascade" => true }
}

fn rectify(scene: &mut Scene) -> Value {
    object! {
        "object" => "Contact",
        "record_id" => record_id(&mut scene.draw, "003"),
        "fields" => Value::strs(&["Email", "Phone"]),
    }
}

fn token_generated(scene: &mut Scene) -> Value {
    object! { "token_suffix" => scene.draw.alphanumeric(4), "expires_in_days" => 180i64 }
}

fn token_revoked(scene: &mut Scene) -> Value {
    let reason = if scene.draw.percent(70) {
        "regenerated"
    } else {
        "manual"
    };
    object! { "token_suffix" => scene.draw.alphanumeric(4), "reason" => reason }
}

fn token_used(scene: &mut Scene) -> Value {
    const ENDPOINTS: [&str; 3] = ["/api/v1/events", "/api/v1/services", "/api/v1/jobs"];
    let endpoint = *scene.draw.pick(&ENDPOINTS);
    object! { "token_suffix" => scene.draw.alphanumeric(4), "endpoint" => endpoint }
}

fn user_created(scene: &mut Scene) -> Value {
    let role = *scene.draw.pick(&ROLES);
    let email = format!("new.user{}@example.com", scene.draw.below(1000));
    object! { "new_user_email" => email, "role" => role, "invited_by" => scene.user_id }
}

fn role_changed(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! {
        "target_user_id" => 12_000 + draw.below(48) * 131,
        "old_role" => *draw.pick(&ROLES),
        "new_role" => *draw.pick(&ROLES),
    }
}

fn security_settings(scene: &mut Scene) -> Value {
    let changes = match scene.draw.below(3) {
        0 => object! { "mfa_required" => object! { "from" => false, "to" => true } },
        1 => object! {
            "ip_allowlist" => object! {
                "added" => Value::strs(&["198.51.100.0/24"]),
                "removed" => Value::List(Vec::new()),
            },
        },
        _ => object! { "session_timeout_minutes" => object! { "from" => 120i64, "to" => 30i64 } },
    };
    object! { "changes" => changes }
}

fn service_created(scene: &mut Scene) -> Value {
    object! {
        "service_id" => scene.service_id,
        "service_type" => "salesforce",
        "sandbox" => scene.draw.percent(40),
        "org_id" => format!("00D5e0000{}", scene.draw.alphanumeric(9)),
    }
}

fn seeding(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! {
        "template_id" => 400 + draw.below(20),
        "source_service_id" => scene.service_id,
        "target_service_id" => *draw.pick(&SERVICES),
    }
}

fn seeding_completed(scene: &mut Scene) -> Value {
    let draw = &mut scene.draw;
    object! { "template_id" => 400 + draw.below(20), "records_seeded" => draw.below(100_000) }
}
