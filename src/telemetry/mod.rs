//! Metrics, health and logging.
//!
//! Metric names live in [`names`]; the recorder and the HTTP listener that serves
//! `/metrics`, `/healthz` and `/readyz` in [`server`]; readiness state in [`health`].

pub mod health;
pub mod logging;
pub mod names;
pub mod server;

pub use health::Health;
