//! The `ecs` format. Placeholder until the encoder lands; writes nothing.

use super::Event;

/// Appends the event in the `ecs` format to `out`.
pub fn encode_ecs(_event: &Event, _out: &mut Vec<u8>) {}
