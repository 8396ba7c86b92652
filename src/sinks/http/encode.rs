//! Request bodies: how the events of one request are framed, and gzip.
//!
//! Each event is turned into its *piece* once, when the sink receives it: the encoded
//! event itself, or for Splunk HEC the envelope around it. An event in a text format
//! (CEF, LEEF) becomes a JSON string wherever the body is JSON: an element of the array,
//! HEC's `event`; NDJSON and single bodies carry the text as it is. A body is the pieces of
//! one request joined by the encoding's framing, so that a request can be split and
//! rebuilt from any subset of its pieces.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::config::{HttpEncoding, HttpHecConfig};
use crate::sinks::Record;

/// The HEC envelope fields, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct Hec {
    host: Option<String>,
    source: String,
    sourcetype: String,
    index: Option<String>,
}

impl Hec {
    pub fn new(config: &HttpHecConfig) -> Self {
        Self {
            host: config.host.clone(),
            source: config.source.clone(),
            sourcetype: config.sourcetype.clone(),
            index: config.index.clone(),
        }
    }
}

/// The bytes one event contributes to a body; `json` tells whether the payload is a
/// JSON value or a line of text.
pub fn piece(encoding: HttpEncoding, hec: &Hec, json: bool, record: &Record<'_>) -> Vec<u8> {
    match encoding {
        HttpEncoding::JsonArray if !json => text_as_json(record.payload),
        HttpEncoding::JsonArray | HttpEncoding::Ndjson | HttpEncoding::Single => {
            record.payload.to_vec()
        }
        HttpEncoding::SplunkHec => envelope(hec, json, record),
    }
}

/// A text payload as a JSON string.
fn text_as_json(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    json_string(&mut out, &String::from_utf8_lossy(payload));
    out
}

/// The body of one request holding `pieces`.
pub fn body(encoding: HttpEncoding, pieces: &[&[u8]]) -> Vec<u8> {
    let size = pieces.iter().map(|p| p.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(size);
    match encoding {
        HttpEncoding::JsonArray => {
            body.push(b'[');
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(piece);
            }
            body.push(b']');
        }
        HttpEncoding::Ndjson => {
            for piece in pieces {
                body.extend_from_slice(piece);
                body.push(b'\n');
            }
        }
        // Splunk reads a stream of concatenated envelopes; `single` has one piece.
        HttpEncoding::SplunkHec | HttpEncoding::Single => {
            for piece in pieces {
                body.extend_from_slice(piece);
            }
        }
    }
    body
}

/// The size a piece adds to a body, framing included, for the batch byte limit.
pub fn framed_len(piece: &[u8]) -> usize {
    piece.len() + 1
}

/// The `Content-Type` of a body.
pub fn content_type(encoding: HttpEncoding, json: bool) -> &'static str {
    match encoding {
        HttpEncoding::Ndjson | HttpEncoding::Single if !json => "text/plain; charset=utf-8",
        HttpEncoding::Ndjson => "application/x-ndjson",
        _ => "application/json",
    }
}

/// Compresses a body with gzip.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

/// `{"time":..,"host":..,"source":..,"sourcetype":..,"index":..,"event":{..}}`, the
/// envelope of Splunk's `/services/collector/event` endpoint.
fn envelope(hec: &Hec, json: bool, record: &Record<'_>) -> Vec<u8> {
    let origin = &record.event.origin;
    let host = hec.host.as_deref().unwrap_or(&origin.host);
    let source = hec
        .source
        .replace("{source}", &origin.source)
        .replace("{region}", &origin.region);
    let mut out = Vec::with_capacity(record.payload.len() + 160);
    out.extend_from_slice(b"{\"time\":");
    out.extend_from_slice(epoch_seconds(record.event.timestamp).as_bytes());
    for (key, value) in [
        ("host", Some(host)),
        ("source", Some(source.as_str())),
        ("sourcetype", Some(hec.sourcetype.as_str())),
        ("index", hec.index.as_deref()),
    ] {
        let Some(value) = value else { continue };
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        json_string(&mut out, value);
    }
    out.extend_from_slice(b",\"event\":");
    if json {
        out.extend_from_slice(record.payload);
    } else {
        out.extend_from_slice(&text_as_json(record.payload));
    }
    out.push(b'}');
    out
}

/// Seconds since the Unix epoch with milliseconds, as HEC's `time` wants them.
pub fn epoch_seconds(timestamp: jiff::Timestamp) -> String {
    let millis = timestamp.as_millisecond();
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    format!("{sign}{}.{:03}", millis / 1000, millis % 1000)
}

fn json_string(out: &mut Vec<u8>, value: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use serde_json::{Value, json};

    use super::*;
    use crate::event::{Event, Origin, encode_json};

    fn event(id: u64) -> Event {
        let entry = format!(
            r#"{{"event_id":{id},"created_at":"2019-08-24T14:15:22.125Z","key":"user.login"}}"#
        );
        let raw = serde_json::value::RawValue::from_string(entry).unwrap();
        let origin = Origin::new("prod-us", "app1");
        Event::from_api(raw, &origin, jiff::Timestamp::now()).unwrap()
    }

    fn pieces(encoding: HttpEncoding, hec: &Hec, events: &[Event]) -> Vec<Vec<u8>> {
        events
            .iter()
            .map(|event| {
                let mut payload = Vec::new();
                encode_json(event, &mut payload);
                piece(
                    encoding,
                    hec,
                    true,
                    &Record {
                        event,
                        payload: &payload,
                    },
                )
            })
            .collect()
    }

    fn encoded(encoding: HttpEncoding, hec: &Hec) -> Vec<u8> {
        let owned = pieces(encoding, hec, &[event(1), event(2)]);
        let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        body(encoding, &refs)
    }

    fn default_hec() -> Hec {
        Hec::new(&HttpHecConfig::default())
    }

    #[test]
    fn a_json_array_and_ndjson_hold_every_event() {
        let array: Value =
            serde_json::from_slice(&encoded(HttpEncoding::JsonArray, &default_hec())).unwrap();
        assert_eq!(array[0]["event_id"], 1);
        assert_eq!(array[1]["event_id"], 2);
        let ndjson = encoded(HttpEncoding::Ndjson, &default_hec());
        let lines: Vec<Value> = ndjson
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(ndjson.ends_with(b"\n"));
    }

    #[test]
    fn hec_envelopes_carry_time_host_source_sourcetype_index_and_the_event() {
        let hec = Hec::new(&HttpHecConfig {
            host: Some("forwarder-1".into()),
            source: "own:{source}:{region}".into(),
            sourcetype: "own:audit".into(),
            index: Some("security".into()),
        });
        let body = encoded(HttpEncoding::SplunkHec, &hec);
        let envelopes: Vec<Value> = serde_json::Deserializer::from_slice(&body)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(envelopes.len(), 2);
        let first = &envelopes[0];
        assert_eq!(first["time"], json!(1566656122.125));
        assert_eq!(first["host"], "forwarder-1");
        assert_eq!(first["source"], "own:prod-us:app1");
        assert_eq!(first["sourcetype"], "own:audit");
        assert_eq!(first["index"], "security");
        assert_eq!(first["event"]["event_id"], 1);
        assert_eq!(first.as_object().unwrap().len(), 6);
    }

    #[test]
    fn hec_leaves_out_an_unset_index_and_defaults_the_host() {
        let body = encoded(HttpEncoding::SplunkHec, &default_hec());
        let first: Value = serde_json::Deserializer::from_slice(&body)
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        assert!(first.get("index").is_none());
        assert_eq!(first["host"], crate::event::local_host_name());
        assert_eq!(first["source"], "own:prod-us");
    }

    #[test]
    fn a_hostile_hec_field_cannot_forge_json_keys() {
        let hec = Hec::new(&HttpHecConfig {
            host: Some("h\",\"index\":\"forged".into()),
            ..HttpHecConfig::default()
        });
        let body = encoded(HttpEncoding::SplunkHec, &hec);
        let first: Value = serde_json::Deserializer::from_slice(&body)
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        assert!(first.get("index").is_none());
        assert_eq!(first["host"], "h\",\"index\":\"forged");
    }

    #[test]
    fn epoch_seconds_keep_milliseconds_on_both_sides_of_1970() {
        let at = |ms: i64| epoch_seconds(jiff::Timestamp::from_millisecond(ms).unwrap());
        assert_eq!(at(1_566_656_122_005), "1566656122.005");
        assert_eq!(at(0), "0.000");
        assert_eq!(at(-1_500), "-1.500");
    }

    #[test]
    fn gzip_round_trips() {
        let body = encoded(HttpEncoding::Ndjson, &default_hec());
        let packed = gzip(&body).unwrap();
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice())
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, body);
    }
}
