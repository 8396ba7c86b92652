//! The `ocsf` format. Placeholder until the encoder lands; writes nothing.

use super::Event;

/// Appends the event in the `ocsf` format to `out`.
pub fn encode_ocsf(_event: &Event, _out: &mut Vec<u8>) {}
