//! What each Own event key means to a SIEM: the one table every encoder reads.
//!
//! Own does not publish its event keys, so the table lists the ones seen and then falls
//! back on patterns. A key is looked up exactly first; then the patterns are tried in
//! order, and the last one, `*`, catches everything. An unknown key therefore always
//! gets a safe reading (an API action whose outcome is unknown, informational), never an
//! error.
//!
//! To extend it, add a row: the key or a glob pattern, what happened ([`Action`]), how
//! it ended ([`Outcome`]), how much it matters ([`Severity`]), and a short title.

use std::collections::HashMap;
use std::sync::LazyLock;

use globset::{Glob, GlobMatcher};

/// How one kind of event is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    pub action: Action,
    pub outcome: Outcome,
    pub severity: Severity,
    /// A short human title, such as CEF's `Name`; the key stands in when empty.
    pub title: &'static str,
}

/// What happened, in the terms the SIEM schemas share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A user signed in (or tried to).
    Logon,
    /// A user signed out.
    Logoff,
    /// A user account was created.
    AccountCreate,
    /// A user account's roles or rights changed.
    AccountChange,
    /// Settings of the Own account changed.
    ConfigChange,
    /// Something was created or started: a backup, an export, an API token, a service.
    Create,
    /// Data or a credential was read or used: a download, an API call with a token.
    Read,
    /// Data was changed: a restore, a GDPR rectification.
    Update,
    /// Data or a credential was removed: a GDPR forget request, a revoked token.
    Delete,
    /// A job ended or something else happened.
    Other,
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// How much the event matters to a security team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Outcome {
    /// ECS `event.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

impl Severity {
    /// CEF's 0 to 10 scale.
    pub fn cef(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 3,
            Severity::Medium => 5,
            Severity::High => 8,
            Severity::Critical => 10,
        }
    }

    /// LEEF's `sev`, 1 to 10.
    pub fn leef(self) -> u8 {
        self.cef().max(1)
    }

    /// OCSF `severity_id`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// The OCSF name of `ocsf_id`.
    pub fn ocsf_name(self) -> &'static str {
        match self {
            Severity::Info => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// A lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

use Action::*;
use Outcome::{Failure, Success, Unknown};
use Severity::{Critical, High, Info, Low, Medium};

/// Each row: an Own key or a glob pattern over keys, and how it is classified. Exact
/// keys are looked up first; patterns are tried in the order written.
#[rustfmt::skip]
static TABLE: &[(&str, Action, Outcome, Severity, &str)] = &[
    ("user.login",                Logon,         Success, Info,     "User logged in"),
    ("user.login_failed",         Logon,         Failure, Medium,   "User login failed"),
    ("user.logout",               Logoff,        Success, Info,     "User logged out"),
    ("user.created",              AccountCreate, Success, Medium,   "User created"),
    ("user.deleted",              Delete,        Success, Medium,   "User deleted"),
    ("user.role_changed",         AccountChange, Success, High,     "User role changed"),
    ("security_settings.updated", ConfigChange,  Success, High,     "Security settings updated"),
    ("api_token.generated",       Create,        Success, Medium,   "API token generated"),
    ("api_token.revoked",         Delete,        Success, Medium,   "API token revoked"),
    ("api_token.used",            Read,          Success, Info,     "API token used"),
    ("backup.started",            Create,        Unknown, Info,     "Backup started"),
    ("backup.completed",          Other,         Success, Info,     "Backup completed"),
    ("backup.failed",             Other,         Failure, Medium,   "Backup failed"),
    ("restore.started",           Update,        Unknown, Medium,   "Restore started"),
    ("restore.completed",         Update,        Success, Medium,   "Restore completed"),
    ("export.requested",          Read,          Unknown, Medium,   "Export requested"),
    ("export.downloaded",         Read,          Success, High,     "Export downloaded"),
    ("gdpr.forget_requested",     Delete,        Unknown, High,     "GDPR forget requested"),
    ("gdpr.rectify_requested",    Update,        Unknown, Medium,   "GDPR rectify requested"),
    ("service.created",           Create,        Success, Low,      "Service created"),
    ("service.deleted",           Delete,        Success, Critical, "Service deleted"),
    ("sandbox_seeding.started",   Create,        Unknown, Low,      "Sandbox seeding started"),
    ("sandbox_seeding.completed", Other,         Success, Low,      "Sandbox seeding completed"),
    // Patterns for keys not listed above.
    ("*login*fail*",              Logon,         Failure, Medium,   ""),
    ("*.login*",                  Logon,         Unknown, Info,     ""),
    ("*.logout*",                 Logoff,        Unknown, Info,     ""),
    ("*fail*",                    Other,         Failure, Low,      ""),
    ("*.deleted",                 Delete,        Success, Medium,   ""),
    ("*.revoked",                 Delete,        Success, Medium,   ""),
    ("*.created",                 Create,        Success, Low,      ""),
    ("*.generated",               Create,        Success, Low,      ""),
    ("*.started",                 Create,        Unknown, Info,     ""),
    ("*.requested",               Other,         Unknown, Info,     ""),
    ("*.updated",                 Update,        Success, Low,      ""),
    ("*.changed",                 Update,        Success, Low,      ""),
    ("*.completed",               Other,         Success, Info,     ""),
    ("*",                         Other,         Unknown, Info,     ""),
];

/// The class of an event key; never fails.
pub fn classify(key: &str) -> Class {
    let table = &*COMPILED;
    if let Some(class) = table.exact.get(key) {
        return *class;
    }
    table
        .patterns
        .iter()
        .find(|(pattern, _)| pattern.is_match(key))
        .map(|(_, class)| *class)
        .unwrap_or(FALLBACK)
}

const FALLBACK: Class = Class {
    action: Other,
    outcome: Unknown,
    severity: Info,
    title: "",
};

struct Compiled {
    exact: HashMap<&'static str, Class>,
    patterns: Vec<(GlobMatcher, Class)>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let mut exact = HashMap::new();
    let mut patterns = Vec::new();
    for &(key, action, outcome, severity, title) in TABLE {
        let class = Class {
            action,
            outcome,
            severity,
            title,
        };
        if key.contains(['*', '?', '[', '{']) {
            // The table is fixed at build time; a test proves every pattern compiles.
            if let Ok(glob) = Glob::new(key) {
                patterns.push((glob.compile_matcher(), class));
            }
        } else {
            exact.insert(key, class);
        }
    }
    Compiled { exact, patterns }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_the_table_ends_with_a_catch_all() {
        for (key, ..) in TABLE {
            assert!(Glob::new(key).is_ok(), "{key}");
        }
        assert_eq!(TABLE.last().map(|row| row.0), Some("*"));
        let patterns = TABLE.iter().filter(|row| row.0.contains('*')).count();
        assert_eq!(COMPILED.patterns.len(), patterns);
    }

    #[test]
    fn known_keys_are_looked_up_exactly() {
        let login = classify("user.login");
        assert_eq!(login.action, Logon);
        assert_eq!(login.outcome, Success);
        assert_eq!(classify("user.login_failed").outcome, Failure);
        assert_eq!(classify("user.logout").action, Logoff);
        assert_eq!(classify("export.downloaded").severity, High);
    }

    #[test]
    fn unknown_keys_fall_back_on_patterns_and_never_fail() {
        assert_eq!(classify("sso.login_failure").outcome, Failure);
        assert_eq!(classify("sso.login_failure").action, Logon);
        assert_eq!(classify("archive.job.failed").outcome, Failure);
        assert_eq!(classify("widget.created").action, Create);
        let odd = classify("");
        assert_eq!(
            (odd.action, odd.outcome, odd.severity),
            (Other, Unknown, Info)
        );
        assert_eq!(classify("user.login | cs1=forged\n").action, Logon);
        assert_eq!(classify("é\u{0}").action, Other);
    }
}
