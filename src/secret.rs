//! Secrets (API tokens, access tokens, sink passwords, signing keys) that must never
//! reach a log line, an error message or a metric.

use std::fmt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// A secret string. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible fingerprint, safe to store and compare.
    pub fn fingerprint(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..16])
    }

    /// Replaces every occurrence of the secret in `text`, as is and form-encoded, for
    /// messages that servers echo back.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        let encoded: String = url::form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        text.replace(&self.0, "[redacted]")
            .replace(&encoded, "[redacted]")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// Why a secret could not be read. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the secret file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the secret file {path} is empty")]
    EmptyFile { path: String },
    #[error("the environment variable {name} is not set or is empty")]
    Env { name: String },
}

impl SecretSource {
    /// Reads the secret, trimming surrounding whitespace and line ends.
    pub fn read(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    path: path.display().to_string(),
                    source,
                })?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(SecretError::EmptyFile {
                        path: path.display().to_string(),
                    });
                }
                Ok(Secret::new(text))
            }
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
                _ => Err(SecretError::Env { name: name.clone() }),
            },
        }
    }

    /// Names the source for messages: the path or the variable, never the value.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::File(path) => format!("file {}", path.display()),
            SecretSource::Env(name) => format!("environment variable {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.scrub("bad token hunter2!"), "bad token [redacted]!");
        let plus = Secret::new("a+b/c=");
        assert_eq!(plus.scrub("token=a%2Bb%2Fc%3D&x"), "token=[redacted]&x");
        assert!(!s.fingerprint().contains("hunter2"));
    }
}
