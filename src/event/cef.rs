//! The `cef` format. Placeholder until the encoder lands; writes nothing.

use super::Event;

/// Appends the event in the `cef` format to `out`.
pub fn encode_cef(_event: &Event, _out: &mut Vec<u8>) {}
