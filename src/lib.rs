//! own-audit-forwarder: forwards the Own (formerly OwnBackup) audit log to SIEMs.
//!
//! The flow of an event, and the module that owns each step:
//!
//! ```text
//! own (auth, events) -> pipeline (poller, dispatcher) -> event (encoders) -> sinks
//!                                  └─> checkpoint, once every sink has acknowledged
//! ```
//!
//! `config` holds the typed configuration, `telemetry` the metrics, health and logs,
//! `sim` a simulator of the Own API, and `daemon` assembles the whole for the command
//! line in `cli`.

pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod event;
pub mod own;
pub mod pipeline;
pub mod secret;
pub mod sim;
pub mod sinks;
pub mod telemetry;
