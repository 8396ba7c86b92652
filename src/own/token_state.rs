//! What the daemon remembers about a source's API token, in
//! `STATE_DIR/tokens/SOURCE.json` with mode 0600.
//!
//! - The fingerprint of the configured token and when the daemon first saw it, for the
//!   180-day expiry metric when the operator did not give the generation time.
//! - A rotated refresh token, when the token endpoint returned a new one. It is only used
//!   while the configured token is still the one it was rotated from: an operator who
//!   puts a new token in place wins.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenState {
    pub version: u32,
    /// Fingerprint of the configured API token.
    pub configured_fingerprint: String,
    /// When the daemon first saw the token in use (configured or rotated), RFC 3339.
    pub first_seen: String,
    /// The latest refresh token the endpoint returned, if it rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_token: Option<String>,
}

pub fn path(state_dir: &Path, source: &str) -> PathBuf {
    state_dir.join("tokens").join(format!("{source}.json"))
}

/// Loads the state; a missing or unreadable file gives the default (nothing known).
pub fn load(path: &Path) -> TokenState {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Stores the state atomically with mode 0600 (the temporary file is created 0600).
pub fn save(path: &Path, state: &TokenState) -> std::io::Result<()> {
    let body = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    crate::checkpoint::file::write_atomically(path, &body)
}

impl TokenState {
    /// The token to present: the rotated one if it descends from the configured one.
    pub fn effective(&self, configured: &Secret) -> Secret {
        match &self.rotated_token {
            Some(rotated) if self.configured_fingerprint == configured.fingerprint() => {
                Secret::new(rotated.clone())
            }
            _ => configured.clone(),
        }
    }
}
