//! The simulator's options, which are also the flags of the `sim` subcommand.
//!
//! Every field's doc comment is the user documentation of its flag. Boolean flags that
//! default to on take an explicit value to turn them off: `--unknown-fields=false`.
//! Given without a value (`--unknown-fields`) they mean `true`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use jiff::Timestamp;

use crate::sim::faults::FaultKind;

/// The largest `--events` accepted. Event ids grow by about three per event, so this
/// keeps every id far from `u64::MAX` however long the trickle runs.
const MAX_EVENTS: u64 = 1_000_000_000_000;

/// Runs a simulator of the Own API: token endpoint, events endpoint and test controls.
#[derive(Debug, Clone, clap::Args)]
pub struct SimOptions {
    /// Address to listen on. Port 0 picks any free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Number of past events present in the log at start.
    #[arg(long, default_value_t = 50_000)]
    pub events: u64,

    /// Seed of the generated log. The same seed (and the same `--epoch`, or a start on
    /// the same UTC day) gives the same log, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// New events per second appended live; fractions allowed, 0 disables the trickle.
    #[arg(long, default_value_t = 1.0)]
    pub trickle: f64,

    /// Make `from=<id>` include event `<id>` itself. By default `from` is exclusive, as
    /// the public description of the API says.
    #[arg(long)]
    pub inclusive_from: bool,

    /// The API token (OAuth refresh token) that the token endpoint accepts at start.
    #[arg(long, default_value = "sim-api-token")]
    pub api_token: String,

    /// The OAuth client id that the token endpoint accepts.
    #[arg(long, default_value = "0oa4c413eq8wwcEzP4h7")]
    pub client_id: String,

    /// Lifetime of an access token, in seconds (`expires_in` of the token response).
    #[arg(long, default_value_t = 3600)]
    pub expires_in: u64,

    /// Rotate the refresh token: each successful grant returns a new refresh token and
    /// revokes the one used. The new token keeps the issue time of the one it replaces.
    #[arg(long)]
    pub rotate_refresh_token: bool,

    /// Age after which the API token is refused with `invalid_grant`, counted from its
    /// issue (the simulator's start for `--api-token`). Own deletes tokens after 180 days.
    #[arg(long, default_value = "180d", value_parser = humantime::parse_duration)]
    pub api_token_lifetime: Duration,

    /// Delay added to every events request, e.g. `250ms`.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,

    /// Probability (0 to 1) that an authorized events request gets a random fault drawn
    /// from `--faults`. The draws follow from `--seed`, so a run can be replayed.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,

    /// Fault kinds that `--fault-rate` draws from, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "429,500,503,401,truncated,malformed"
    )]
    pub faults: Vec<FaultKind>,

    /// Every Nth event carries hostile field contents: control characters, quotes,
    /// backslashes, `]`, `|`, `=`, `<`, non-ASCII text, and a key with spaces and `|`.
    /// 0 turns this off.
    #[arg(long, default_value_t = 0)]
    pub hostile_every: u64,

    /// Every Nth event carries a parameter value of about 256 KiB. 0 turns this off.
    #[arg(long, default_value_t = 0)]
    pub oversized_every: u64,

    /// Vary the format of `created_at` among the variants listed in the module
    /// documentation. On by default; `--timestamp-variants=false` writes every
    /// timestamp as `2019-08-24T14:15:22Z`.
    #[arg(
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub timestamp_variants: bool,

    /// Give some events (one in seven) extra, undocumented top-level fields such as
    /// `org_id` and `tenant`, as a newer API might. On by default;
    /// `--unknown-fields=false` turns it off.
    #[arg(
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub unknown_fields: bool,

    /// End of the 90-day span that the past events cover, as an RFC 3339 instant. By
    /// default the start of the current UTC day, so that runs on the same day share
    /// one log; set it to make a log reproducible on any day.
    #[arg(long)]
    pub epoch: Option<Timestamp>,
}

/// The same values as the command line, except `listen`, which is `127.0.0.1:0` (any
/// free port) so that tests and the demo never collide.
impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            events: 50_000,
            seed: 42,
            trickle: 1.0,
            inclusive_from: false,
            api_token: "sim-api-token".to_owned(),
            client_id: "0oa4c413eq8wwcEzP4h7".to_owned(),
            expires_in: 3600,
            rotate_refresh_token: false,
            api_token_lifetime: Duration::from_secs(180 * 24 * 3600),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            faults: FaultKind::RANDOM_DEFAULT.to_vec(),
            hostile_every: 0,
            oversized_every: 0,
            timestamp_variants: true,
            unknown_fields: true,
            epoch: None,
        }
    }
}

impl SimOptions {
    /// Checks the values that clap cannot, returning the flag and what would be valid.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.trickle.is_finite() && self.trickle >= 0.0) {
            return Err((
                "--trickle",
                "must be a number of events per second >= 0".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(("--fault-rate", "must be between 0 and 1".into()));
        }
        if self.fault_rate > 0.0 && self.faults.is_empty() {
            return Err((
                "--faults",
                "must name at least one kind when --fault-rate > 0".into(),
            ));
        }
        if self.events > MAX_EVENTS {
            return Err(("--events", format!("must be at most {MAX_EVENTS}")));
        }
        if self.expires_in == 0 {
            return Err(("--expires-in", "must be at least 1 second".into()));
        }
        if self.api_token.is_empty() {
            return Err(("--api-token", "must not be empty".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimOptions,
    }

    fn parse(args: &[&str]) -> SimOptions {
        let argv = std::iter::once("sim").chain(args.iter().copied());
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.sim,
            Err(error) => panic!("parse failed: {error}"),
        }
    }

    #[test]
    fn command_line_defaults_match_default_impl() {
        let cli = parse(&[]);
        let default = SimOptions::default();

        assert_eq!(cli.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.events, default.events);
        assert_eq!(cli.seed, default.seed);
        assert_eq!(cli.trickle, default.trickle);
        assert_eq!(cli.api_token, default.api_token);
        assert_eq!(cli.client_id, default.client_id);
        assert_eq!(cli.expires_in, default.expires_in);
        assert_eq!(cli.api_token_lifetime, default.api_token_lifetime);
        assert_eq!(cli.latency, default.latency);
        assert_eq!(cli.faults, default.faults);
        assert_eq!(cli.timestamp_variants, default.timestamp_variants);
        assert_eq!(cli.unknown_fields, default.unknown_fields);
        assert!(cli.validate().is_ok());
    }

    #[test]
    fn flags_parse() {
        let opts = parse(&[
            "--listen=127.0.0.1:0",
            "--faults=429,truncated",
            "--latency=250ms",
            "--api-token-lifetime=2s",
            "--timestamp-variants=false",
            "--unknown-fields",
            "--inclusive-from",
            "--epoch=2024-05-01T00:00:00Z",
        ]);

        assert_eq!(
            opts.faults,
            vec![FaultKind::TooManyRequests, FaultKind::Truncated]
        );
        assert_eq!(opts.latency, Duration::from_millis(250));
        assert_eq!(opts.api_token_lifetime, Duration::from_secs(2));
        assert!(!opts.timestamp_variants);
        assert!(opts.unknown_fields);
        assert!(opts.inclusive_from);
        assert!(opts.epoch.is_some());
    }

    #[test]
    fn validation_rejects_bad_rates() {
        let opts = SimOptions {
            fault_rate: 1.5,
            ..SimOptions::default()
        };
        assert_eq!(opts.validate().map_err(|e| e.0), Err("--fault-rate"));

        let opts = SimOptions {
            trickle: f64::NAN,
            ..SimOptions::default()
        };
        assert_eq!(opts.validate().map_err(|e| e.0), Err("--trickle"));
    }
}
