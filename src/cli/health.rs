//! `health`: asks a running daemon's `/healthz` (or `/readyz`) and exits 0 on a 200, for
//! container health checks in images that hold no HTTP client of their own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `health`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The daemon's telemetry address; a wildcard address (0.0.0.0, [::]) is reached on
    /// loopback.
    #[arg(
        long,
        env = "OWN_AUDIT__TELEMETRY__LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    address: String,
    /// Ask `/readyz` (every source polling, every sink reachable) instead of `/healthz`.
    #[arg(long)]
    ready: bool,
    /// How long to wait for the answer.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: HealthArgs) -> ExitCode {
    if args.address == "off" || args.address.is_empty() {
        eprintln!("telemetry.listen is off: there is no /healthz to ask; turn it on to check");
        return ExitCode::FAILURE;
    }
    let addr: SocketAddr = match args.address.parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!(
                "{:?} is not an IP:PORT address such as 127.0.0.1:9464",
                args.address
            );
            return ExitCode::FAILURE;
        }
    };
    let path = if args.ready { "readyz" } else { "healthz" };
    let url = format!("http://{}/{path}", reachable(addr));
    let client = match reqwest::Client::builder().timeout(args.timeout).build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build an HTTP client: {error}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&url).send().await {
        Ok(answer) if answer.status().is_success() => ExitCode::SUCCESS,
        Ok(answer) => {
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            eprintln!(
                "{url} answered {status}: {}",
                crate::sinks::util::excerpt(&body)
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("cannot reach {url}: {}", causes(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes, innermost last: reqwest's own message names none.
fn causes(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "no answer in time".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A listening address as a client reaches it: wildcards become loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
