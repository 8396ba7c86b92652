//! Which events a source or a sink takes, by glob patterns over the event key.
//!
//! `*` matches any text, dots included, `?` one character, `[ab]` one of a class and
//! `{a,b}` either word; matching is case sensitive, as Own's keys are. With include
//! patterns, only keys matching one of them pass; exclude patterns then remove keys. An
//! event without a key has the empty key, which `*` matches.

use globset::{Glob, GlobSet, GlobSetBuilder};

/// A compiled include/exclude pair. The default takes every event.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

/// A pattern that is not a valid glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pattern:?} is not a valid glob pattern: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl KeyFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, PatternError> {
        Ok(Self {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    /// Whether an event with this key is taken.
    pub fn allows(&self, key: &str) -> bool {
        let included = self.include.as_ref().is_none_or(|set| set.is_match(key));
        included && !self.exclude.as_ref().is_some_and(|set| set.is_match(key))
    }

    /// Whether every event is taken.
    pub fn takes_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }
}

/// Compiles patterns into one set; `None` when there are none.
fn compile(patterns: &[String]) -> Result<Option<GlobSet>, PatternError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|e| PatternError {
            pattern: pattern.clone(),
            reason: e.kind().to_string(),
        })?;
        set.add(glob);
    }
    set.build().map(Some).map_err(|e| PatternError {
        pattern: patterns.join(", "),
        reason: e.to_string(),
    })
}

/// Checks every pattern, one problem per bad one, for configuration validation.
pub fn check_patterns(patterns: &[String]) -> Vec<(usize, PatternError)> {
    patterns
        .iter()
        .enumerate()
        .filter_map(|(i, p)| compile(std::slice::from_ref(p)).err().map(|e| (i, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> KeyFilter {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        KeyFilter::new(&own(include), &own(exclude)).unwrap()
    }

    #[test]
    fn include_then_exclude() {
        let f = filter(&["user.*", "api_token.*"], &["*.logout", "api_token.used"]);
        assert!(f.allows("user.login"));
        assert!(f.allows("user.login_failed"));
        assert!(!f.allows("user.logout"));
        assert!(!f.allows("api_token.used"));
        assert!(f.allows("api_token.revoked"));
        assert!(!f.allows("backup.completed"));
        assert!(!f.allows(""));
    }

    #[test]
    fn no_patterns_take_everything_and_star_crosses_dots() {
        let all = KeyFilter::default();
        assert!(all.takes_all());
        assert!(all.allows("") && all.allows("a.b.c"));
        let f = filter(&[], &["*failed*"]);
        assert!(!f.allows("backup.job.failed"));
        assert!(f.allows("backup.completed"));
        assert!(filter(&["*"], &[]).allows(""));
        assert!(filter(&["{user,backup}.login"], &[]).allows("backup.login"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = KeyFilter::new(&["user.[".into()], &[]).unwrap_err();
        assert_eq!(err.pattern, "user.[");
        let bad = check_patterns(&["ok.*".into(), "a{b".into()]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 1);
    }
}
