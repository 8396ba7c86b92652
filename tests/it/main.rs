//! Black-box tests: the real binary against the simulator, both as processes on
//! 127.0.0.1.

mod auth;
mod faults;
mod formats;
mod harness;
mod http;
#[cfg(feature = "kafka")]
mod kafka;
mod lifecycle;
mod normalize;
mod pipeline;
mod reload;
mod syslog;
