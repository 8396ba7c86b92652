//! HMAC-SHA256 signatures that let a receiver check a request's origin and freshness.
//!
//! The scheme, also in the README: for each attempt the sink takes the current Unix time
//! in whole seconds as decimal digits, `T`, and the request body exactly as sent (after
//! gzip, when on), `B`. It computes `HMAC-SHA256(key, T + "." + B)` and sends `T` in the
//! timestamp header and `sha256=` followed by the MAC in lower-case hex in the signature
//! header. A retry is signed afresh, with a new `T`.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

use crate::secret::Secret;

/// Signs request bodies with one key.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
    signature_header: HeaderName,
    timestamp_header: HeaderName,
}

/// Why a signer could not be made; never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("signing.{field}: {name:?} is not a valid header name")]
    Header { field: &'static str, name: String },
    #[error("signing: the key cannot be used for HMAC-SHA256")]
    Key,
}

impl Signer {
    pub fn new(
        key: &Secret,
        signature_header: &str,
        timestamp_header: &str,
    ) -> Result<Self, SignerError> {
        let header = |field, name: &str| {
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| SignerError::Header {
                field,
                name: name.to_owned(),
            })
        };
        Ok(Self {
            mac: Hmac::new_from_slice(key.expose().as_bytes()).map_err(|_| SignerError::Key)?,
            signature_header: header("signature_header", signature_header)?,
            timestamp_header: header("timestamp_header", timestamp_header)?,
        })
    }

    /// `sha256=<hex>` over `timestamp`, a dot, and `body`.
    pub fn signature(&self, timestamp: u64, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Adds the timestamp and signature headers for `body`, signed at `timestamp`.
    pub fn sign(&self, headers: &mut HeaderMap, timestamp: u64, body: &[u8]) {
        let signature = self.signature(timestamp, body);
        // Digits, '=' and hex are always valid header values.
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert(self.signature_header.clone(), value);
        }
        headers.insert(self.timestamp_header.clone(), HeaderValue::from(timestamp));
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> u64 {
    jiff::Timestamp::now().as_second().max(0).unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_matches_rfc_4231_test_case_2() {
        // The MAC underneath the signature, against RFC 4231 section 4.3.
        let signer = Signer::new(&Secret::new("Jefe"), "x-sig", "x-ts").unwrap();
        let mut mac = signer.mac.clone();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_covers_timestamp_dot_body() {
        let signer = Signer::new(&Secret::new("k"), "X-Sig", "X-Ts").unwrap();
        let mut reference = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        reference.update(b"1700000000.[{\"event_id\":1}]");
        let expected = format!("sha256={}", hex::encode(reference.finalize().into_bytes()));
        assert_eq!(
            signer.signature(1_700_000_000, b"[{\"event_id\":1}]"),
            expected
        );
        assert_ne!(
            signer.signature(1_700_000_001, b"[{\"event_id\":1}]"),
            expected
        );

        let mut headers = HeaderMap::new();
        signer.sign(&mut headers, 1_700_000_000, b"[{\"event_id\":1}]");
        assert_eq!(headers["x-ts"], "1700000000");
        assert_eq!(headers["x-sig"], expected.as_str());
    }

    #[test]
    fn a_bad_header_name_is_named_without_the_key() {
        let error = Signer::new(&Secret::new("hunter2"), "bad name", "x-ts")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("signature_header"), "{error}");
        assert!(!error.contains("hunter2"));
    }
}
