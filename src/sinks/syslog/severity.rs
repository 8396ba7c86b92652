//! Severity from the event key: ordered glob rules, the first match wins.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::config::{Severity, SeverityRule};

/// The configured rules, compiled once.
#[derive(Debug)]
pub struct SeverityRules {
    set: GlobSet,
    /// The severity of each pattern of `set`, by its index.
    severities: Vec<Severity>,
    default: Severity,
}

impl SeverityRules {
    /// Compiles the rules; fails with the pattern that is not a glob.
    pub fn new(rules: &[SeverityRule], default: Severity) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        let mut severities = Vec::new();
        for rule in rules {
            for pattern in &rule.keys {
                let glob = GlobBuilder::new(pattern)
                    .case_insensitive(true)
                    .literal_separator(false)
                    .build()?;
                builder.add(glob);
                severities.push(rule.severity);
            }
        }
        Ok(Self {
            set: builder.build()?,
            severities,
            default,
        })
    }

    /// The severity of an event with this key.
    pub fn severity(&self, key: &str) -> Severity {
        // Patterns were added in rule order, so the lowest index is the first rule.
        self.set
            .matches(key)
            .into_iter()
            .min()
            .and_then(|index| self.severities.get(index).copied())
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(keys: &[&str], severity: Severity) -> SeverityRule {
        SeverityRule {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            severity,
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_others_get_the_default() {
        let rules = SeverityRules::new(
            &[
                rule(&["user.login_failed", "*.revoked"], Severity::Warning),
                rule(&["user.*"], Severity::Notice),
                rule(&["*"], Severity::Debug),
            ],
            Severity::Info,
        )
        .unwrap();
        assert_eq!(rules.severity("user.login_failed"), Severity::Warning);
        assert_eq!(rules.severity("api_token.Revoked"), Severity::Warning);
        assert_eq!(rules.severity("user.login"), Severity::Notice);
        assert_eq!(rules.severity("backup.completed"), Severity::Debug);

        let none = SeverityRules::new(&[], Severity::Info).unwrap();
        assert_eq!(none.severity("anything"), Severity::Info);
    }

    #[test]
    fn odd_keys_match_nothing_special() {
        let rules =
            SeverityRules::new(&[rule(&["export.*"], Severity::Alert)], Severity::Info).unwrap();
        assert_eq!(rules.severity("export.requested\n|CEF:0|"), Severity::Alert);
        assert_eq!(rules.severity(""), Severity::Info);
    }

    #[test]
    fn a_bad_pattern_is_an_error() {
        assert!(SeverityRules::new(&[rule(&["a["], Severity::Alert)], Severity::Info).is_err());
    }
}
