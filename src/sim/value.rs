//! The event as served, and the small value tree its free-form fields are built from.
//!
//! A page is serialized straight from these types. They are lighter than
//! `serde_json::Value`: object keys are mostly static strings and keep their order
//! without a map.

use std::borrow::Cow;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A JSON value of an event's `parameters` or of an unknown extra field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'static, str>),
    List(Vec<Value>),
    Object(Vec<(Cow<'static, str>, Value)>),
}

impl Value {
    /// Adds a member to an object; does nothing to other values.
    pub(crate) fn push(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        if let Value::Object(members) = self {
            members.push((key.into(), value.into()));
        }
    }

    /// A list of strings.
    pub(crate) fn strs(items: &[&'static str]) -> Value {
        Value::List(items.iter().map(|item| Value::from(*item)).collect())
    }
}

/// Builds a [`Value::Object`] from `key => value` pairs, values taken through `Into`.
macro_rules! object {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::sim::value::Value::Object(vec![
            $((::std::borrow::Cow::from($key), $crate::sim::value::Value::from($value))),*
        ])
    };
}
pub(crate) use object;

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Bool(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(value)
    }
}

impl From<u64> for Value {
    fn from(value: u64) -> Value {
        i64::try_from(value).map_or(Value::Float(value as f64), Value::Int)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Value {
        Value::Float(value)
    }
}

impl From<&'static str> for Value {
    fn from(value: &'static str) -> Value {
        Value::Str(Cow::Borrowed(value))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Str(Cow::Owned(value))
    }
}

impl From<Option<u64>> for Value {
    fn from(value: Option<u64>) -> Value {
        value.map_or(Value::Null, Value::from)
    }
}

impl From<Vec<Value>> for Value {
    fn from(value: Vec<Value>) -> Value {
        Value::List(value)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(value) => serializer.serialize_bool(*value),
            Value::Int(value) => serializer.serialize_i64(*value),
            Value::Float(value) => serializer.serialize_f64(*value),
            Value::Str(value) => serializer.serialize_str(value),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key.as_ref(), value)?;
                }
                map.end()
            }
        }
    }
}

/// One audit event, with the fields of the API contract in its order, then any
/// undocumented extras.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub event_id: u64,
    pub created_at: String,
    /// `None` is served as `null`.
    pub ip_address: Option<String>,
    pub key: Cow<'static, str>,
    pub parameters: Value,
    pub service_id: Option<u64>,
    pub source: &'static str,
    pub user_email: Cow<'static, str>,
    pub user_id: u64,
    pub extra: Vec<(&'static str, Value)>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(9 + self.extra.len()))?;
        map.serialize_entry("event_id", &self.event_id)?;
        map.serialize_entry("created_at", &self.created_at)?;
        map.serialize_entry("ip_address", &self.ip_address)?;
        map.serialize_entry("key", &self.key)?;
        map.serialize_entry("parameters", &self.parameters)?;
        map.serialize_entry("service_id", &self.service_id)?;
        map.serialize_entry("source", self.source)?;
        map.serialize_entry("user_email", &self.user_email)?;
        map.serialize_entry("user_id", &self.user_id)?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_order() {
        let mut value = object! { "b" => 1i64, "a" => "x", "list" => Value::strs(&["Account"]) };
        value.push("nested", object! { "n" => Value::Null, "f" => 0.5 });

        let json = serde_json::to_string(&value).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"b":1,"a":"x","list":["Account"],"nested":{"n":null,"f":0.5}}"#
        );
    }

    #[test]
    fn event_fields_in_contract_order() {
        let event = Event {
            event_id: 7,
            created_at: "2019-08-24T14:15:22Z".into(),
            ip_address: None,
            key: "user.login".into(),
            parameters: object! {},
            service_id: None,
            source: "web app",
            user_email: "jane.doe@example.com".into(),
            user_id: 12345,
            extra: vec![("org_id", Value::from("00D000000000001"))],
        };

        let json = serde_json::to_string(&event).unwrap_or_default();
        assert_eq!(
            json,
            "{\"event_id\":7,\"created_at\":\"2019-08-24T14:15:22Z\",\"ip_address\":null,\
             \"key\":\"user.login\",\"parameters\":{},\"service_id\":null,\"source\":\"web app\",\
             \"user_email\":\"jane.doe@example.com\",\"user_id\":12345,\
             \"org_id\":\"00D000000000001\"}"
        );
    }
}
