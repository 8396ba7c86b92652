//! The `leef` format. Placeholder until the encoder lands; writes nothing.

use super::Event;

/// Appends the event in the `leef` format, attributes separated by `delimiter`, to `out`.
pub fn encode_leef(_event: &Event, _delimiter: char, _out: &mut Vec<u8>) {}
