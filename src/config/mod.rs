//! Typed configuration: the TOML file, environment overrides and validation.
//!
//! Loading happens in two steps. The `config` crate merges the file with `OWN_AUDIT__...`
//! environment variables into one tree; then each part of that tree is deserialized on
//! its own, so that one bad source does not hide the problems of the next. Every problem
//! found, unknown fields included, is collected and reported at once, each naming its
//! field.

mod load;
mod model;
mod sinks;

pub use load::{ConfigError, load, load_str, load_str_exact};
pub use model::*;
pub use sinks::*;
