//! Hostile and oversized field contents.
//!
//! Hostile events carry what breaks naive encoders: line breaks that could forge a
//! syslog line, `|` and `=` that could forge a CEF or LEEF field, `"`, `\` and `]` for
//! JSON and structured data, NUL, escape and other control characters, `<` for markup,
//! Unicode line separators, and text beyond ASCII. Each stays valid JSON once serialized.

use std::borrow::Cow;

use crate::sim::value::{Event, Value, object};

/// Size of the oversized parameter value.
pub(crate) const OVERSIZED_BYTES: usize = 256 * 1024;

/// Hostile user emails, used in turn.
const EMAILS: [&str; 4] = [
    "mallory\"\\]|=<script>@example.com",
    "eve\r\n<13>Jan  1 00:00:00 forged-host sshd: accepted\t\u{0}@example.org",
    "élodie.漢字😀@例え.jp",
    "\u{1b}[31mroot\u{7}\u{8}\u{7f}|act=deleted suser=admin@example.net",
];

/// Hostile event keys, used in turn: each has spaces and `|`.
const KEYS: [&str; 3] = [
    "custom event|with spaces",
    "user.login | cs1=forged",
    "export.requested\n|CEF:0|Evil|x|1|2|3|10|",
];

/// Replaces the user email, key and parameters of `event` with hostile contents;
/// `variant` picks among the prepared strings.
pub(crate) fn apply(event: &mut Event, variant: u64) {
    let pick = |len: usize| (variant % len as u64) as usize;
    event.user_email = Cow::Borrowed(EMAILS[pick(EMAILS.len())]);
    event.key = Cow::Borrowed(KEYS[pick(KEYS.len())]);
    event.parameters = parameters();
}

fn parameters() -> Value {
    object! {
        "note" => "line one\nline two\r\n\ttabbed \"quoted\" back\\slash ]bracket |pipe =equals \
                   <b>bold</b> é 漢字 😀 nul\u{0}bell\u{7}esc\u{1b}del\u{7f}",
        "weird key |with= spaces" => "value",
        "" => "empty key",
        "nested" => object! {
            "a|b=c" => Value::strs(&["x\ny", "\u{2028}line separator\u{2029}", "\\\"]"]),
            "depth" => object! { "deeper" => object! { "deepest" => "</script><!--" } },
        },
        "syslog" => "<34>1 2003-10-11T22:14:15.003Z forged - - - [x@1 a=\"]\"] message",
        "leef" => "LEEF:2.0|Evil|x|1|id|^|usrName=root^src=1.2.3.4",
        "numbers" => vec![Value::Int(i64::MIN), Value::Int(i64::MAX), Value::Float(-0.0)],
    }
}

/// A string of [`OVERSIZED_BYTES`] bytes: a readable pattern that names the event.
pub(crate) fn oversized_value(event_id: u64) -> Value {
    let pattern = format!("oversized value of event {event_id}; ");
    let mut text = pattern.repeat(OVERSIZED_BYTES / pattern.len() + 1);
    text.truncate(OVERSIZED_BYTES);
    Value::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_event_is_valid_json_and_round_trips() {
        let mut event = Event {
            event_id: 1,
            created_at: "2019-08-24T14:15:22Z".into(),
            ip_address: None,
            key: "user.login".into(),
            parameters: object! {},
            service_id: None,
            source: "api",
            user_email: "jane.doe@example.com".into(),
            user_id: 1,
            extra: Vec::new(),
        };
        for variant in 0..4 {
            apply(&mut event, variant);
            let json = serde_json::to_string(&event).unwrap_or_default();
            let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();

            assert_eq!(parsed["user_email"], EMAILS[variant as usize]);
            assert!(!json.contains('\n') && !json.contains('\u{0}'));
        }
    }

    #[test]
    fn oversized_is_exactly_sized() {
        match oversized_value(42) {
            Value::Str(text) => assert_eq!(text.len(), OVERSIZED_BYTES),
            other => panic!("expected a string, got {other:?}"),
        }
    }
}
