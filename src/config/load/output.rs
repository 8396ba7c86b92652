//! Reading and checking what sources and sinks share: formats, key filters, redaction.

use serde_json::Value;

use super::parse_part;
use crate::config::{
    FormatName, OutputConfig, RedactionConfig, SinkConfig, SourceConfig, parse_delimiter,
};
use crate::event::{check_patterns, redact};

/// Takes the shared output fields out of a sink's table and reads them.
pub(super) fn take_output(
    fields: &mut serde_json::Map<String, Value>,
    prefix: &str,
    problems: &mut Vec<String>,
) -> Option<OutputConfig> {
    let mut output = serde_json::Map::new();
    for name in SinkConfig::OUTPUT_FIELDS {
        if let Some(value) = fields.remove(*name) {
            output.insert((*name).to_owned(), value);
        }
    }
    if let Some(Value::String(name)) = output.get("format")
        && name.starts_with("rfc")
    {
        problems.push(format!(
            "{prefix}.format: {name:?} is a syslog standard; write it as standard = {name:?}, \
             and use format for the event encoding: json, ecs, ocsf, cef or leef"
        ));
        output.remove("format");
    }
    parse_part(Value::Object(output), prefix, problems)
}

/// Checks a sink's format and key filter.
pub(super) fn validate_output(output: &OutputConfig, at: &str, problems: &mut Vec<String>) {
    if let Some(delimiter) = &output.leef_delimiter {
        if output.format != FormatName::Leef {
            problems.push(format!(
                "{at}.leef_delimiter: only used with format = \"leef\"; remove it or set the format"
            ));
        }
        if let Err(reason) = parse_delimiter(delimiter) {
            problems.push(format!("{at}.leef_delimiter: {reason}"));
        }
    }
    check_keys(&output.include_keys, &output.exclude_keys, at, problems);
}

/// Checks a source's key filter.
pub(super) fn validate_source_keys(source: &SourceConfig, at: &str, problems: &mut Vec<String>) {
    check_keys(&source.include_keys, &source.exclude_keys, at, problems);
}

fn check_keys(include: &[String], exclude: &[String], at: &str, problems: &mut Vec<String>) {
    for (list, name) in [(include, "include_keys"), (exclude, "exclude_keys")] {
        for (i, error) in check_patterns(list) {
            problems.push(format!("{at}.{name}[{i}]: {error}"));
        }
    }
}

/// Checks the redaction paths, and that a hash has exactly one key source. The key
/// itself is read at start (and by `check`), not here.
pub(super) fn validate_redaction(redaction: &RedactionConfig, problems: &mut Vec<String>) {
    for (list, name) in [(&redaction.drop, "drop"), (&redaction.hash, "hash")] {
        for (i, path) in list.iter().enumerate() {
            let one = std::slice::from_ref(path);
            if let Err(error) = redact::Redactor::new(one, &[], None) {
                problems.push(format!("redaction.{name}[{i}]: {error}"));
            }
        }
    }
    for path in &redaction.hash {
        if redaction.drop.contains(path) {
            problems.push(format!(
                "redaction: {path:?} is listed in both drop and hash; keep it in one"
            ));
        }
    }
    let sources = [
        redaction.hash_key_file.is_some(),
        redaction.hash_key_env.is_some(),
    ];
    match sources {
        [true, true] => {
            problems.push("redaction: set hash_key_file or hash_key_env, not both".to_owned())
        }
        [false, false] if !redaction.hash.is_empty() => problems.push(
            "redaction.hash: hashing needs a key; set hash_key_file (a file of at least 16 \
             random bytes) or hash_key_env"
                .to_owned(),
        ),
        [true, _] | [_, true] if redaction.hash.is_empty() => {
            problems.push("redaction: a hash key is set but no field is listed in hash".to_owned())
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{SinkConfig, load_str};
    use crate::event::Format;

    const BASE: &str = "state_dir = \"/tmp/s\"\n[[sources]]\nname = \"a\"\nregion = \"app1\"\n\
                        api_token_env = \"T\"\n";

    fn sink(fields: &str) -> String {
        format!("{BASE}[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"-\"\n{fields}\n")
    }

    fn problems(toml: &str) -> String {
        load_str(toml)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn every_sink_takes_a_format_a_delimiter_and_key_filters() {
        let config = load_str(&sink(
            "format = \"leef\"\nleef_delimiter = \"^\"\ninclude_keys = [\"user.*\"]",
        ))
        .unwrap();
        let output = config.sinks[0].output();
        assert_eq!(output.format(), Format::Leef { delimiter: '^' });
        assert_eq!(output.include_keys, ["user.*"]);
        let config = load_str(&sink("")).unwrap();
        assert_eq!(config.sinks[0].output().format(), Format::Json);
        let syslog = format!(
            "{BASE}[[sinks]]\ntype = \"syslog\"\nname = \"s\"\naddress = \"h\"\nformat = \"cef\"\n\
             standard = \"rfc3164\"\n"
        );
        let config = load_str(&syslog).unwrap();
        assert!(matches!(&config.sinks[0], SinkConfig::Syslog(_)));
        assert_eq!(config.sinks[0].output().format(), Format::Cef);
    }

    #[test]
    fn bad_formats_delimiters_and_patterns_are_named() {
        let found = problems(&sink(
            "format = \"xml\"\nleef_delimiter = \"ab\"\nexclude_keys = [\"ok\", \"user.[\"]",
        ));
        assert!(
            found.contains("sinks[0].format: unknown variant `xml`"),
            "{found}"
        );
        assert!(found.contains("sinks[0].leef_delimiter: only used with format = \"leef\""));
        assert!(found.contains("sinks[0].leef_delimiter: \"ab\" must be one character"));
        assert!(found.contains("sinks[0].exclude_keys[1]: \"user.[\" is not a valid glob"));
        let found = problems(&sink("format = \"rfc5424\""));
        assert!(
            found.contains("write it as standard = \"rfc5424\""),
            "{found}"
        );
        let in_source = sink("").replace("[[sinks]]", "include_keys = [\"{a\"]\n[[sinks]]");
        let found = problems(&in_source);
        assert!(found.contains("sources[0].include_keys[0]"), "{found}");
    }

    #[test]
    fn redaction_needs_valid_paths_and_one_key_source() {
        let found = problems(&format!(
            "{}[redaction]\ndrop = [\"event_id\", \"a..b\"]\nhash = [\"user_email\"]\n",
            sink("")
        ));
        assert!(found.contains("redaction.drop[0]"), "{found}");
        assert!(found.contains("redaction.drop[1]"), "{found}");
        assert!(
            found.contains("redaction.hash: hashing needs a key"),
            "{found}"
        );
        let found = problems(&format!(
            "{}[redaction]\nhash = [\"user_email\"]\nhash_key_file = \"/k\"\nhash_key_env = \"K\"\n",
            sink("")
        ));
        assert!(found.contains("not both"), "{found}");
        let config = load_str(&format!(
            "{}[redaction]\ndrop = [\"ip_address\"]\nhash = [\"user_email\"]\nhash_key_env = \"K\"\n",
            sink("")
        ))
        .unwrap();
        assert_eq!(config.redaction.hash, ["user_email"]);
    }
}
