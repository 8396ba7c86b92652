//! Reading Own's `created_at` in every form seen, and writing one UTC RFC 3339 form.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

/// Parses `created_at` into a UTC instant.
///
/// Accepted: RFC 3339 with `Z` or a numeric offset and any fraction
/// (`2019-08-24T14:15:22Z`, `2018-04-09T10:30:42.000Z`, `...+02:00`); the same without a
/// zone, or with a space for `T`, read as UTC; and Unix epoch numbers, in seconds or,
/// when too large for seconds, in milliseconds.
pub fn parse_created_at(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) => parse_text(text.trim()),
        Value::Number(n) => parse_epoch(n.as_f64()?),
        _ => None,
    }
}

fn parse_text(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(civil) = text.parse::<DateTime>() {
        return civil
            .to_zoned_datetime(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(text.parse().ok()?);
    }
    None
}

/// Epoch seconds; values past the year 5000 in seconds are taken as milliseconds.
fn parse_epoch(value: f64) -> Option<Timestamp> {
    const MAX_SECONDS: f64 = 95_617_584_000.0;
    let seconds = if value.abs() > MAX_SECONDS {
        value / 1000.0
    } else {
        value
    };
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round() as i32;
    Timestamp::new(whole as i64, nanos.min(999_999_999)).ok()
}

/// Writes an instant as UTC RFC 3339 with milliseconds, or nanoseconds when the instant
/// has sub-millisecond precision: `2019-08-24T14:15:22.000Z`.
pub fn format_rfc3339(ts: Timestamp) -> String {
    if ts.subsec_nanosecond() % 1_000_000 == 0 {
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        ts.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Option<String> {
        parse_created_at(&v).map(format_rfc3339)
    }

    #[test]
    fn every_documented_form_normalizes_to_one_utc_form() {
        let want = Some("2018-04-09T10:30:42.000Z".to_owned());
        assert_eq!(norm(json!("2018-04-09T10:30:42Z")), want);
        assert_eq!(norm(json!("2018-04-09T10:30:42.000Z")), want);
        assert_eq!(norm(json!("2018-04-09T10:30:42+00:00")), want);
        assert_eq!(norm(json!("2018-04-09T12:30:42+02:00")), want);
        assert_eq!(norm(json!("2018-04-09T10:30:42")), want);
        assert_eq!(norm(json!("2018-04-09 10:30:42")), want);
        assert_eq!(norm(json!(1523269842)), want);
        assert_eq!(norm(json!(1523269842000_u64)), want);
        assert_eq!(norm(json!("1523269842")), want);
    }

    #[test]
    fn sub_millisecond_precision_is_kept() {
        assert_eq!(
            norm(json!("2018-04-09T10:30:42.123456Z")).as_deref(),
            Some("2018-04-09T10:30:42.123456000Z")
        );
        assert_eq!(
            norm(json!("2018-04-09T10:30:42.5Z")).as_deref(),
            Some("2018-04-09T10:30:42.500Z")
        );
    }

    #[test]
    fn unreadable_values_are_none_not_errors() {
        for v in [
            json!("yesterday"),
            json!(""),
            json!(null),
            json!({"a": 1}),
            json!(true),
        ] {
            assert_eq!(norm(v), None);
        }
    }
}
