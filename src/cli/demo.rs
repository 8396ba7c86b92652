//! `demo`: the simulator feeding the real pipeline, with progress and a summary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{self, Config};
use crate::sim::{SimHandle, SimOptions};
use crate::telemetry::logging;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Past events in the simulated audit log.
    #[arg(long, default_value_t = 50_000)]
    events: u64,
    /// Keep running after the backlog, forwarding the live trickle, until Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// Seed of the simulated log; the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the events, checkpoint and dead letters go. The demo's own files there
    /// (events.ndjson and state/) are replaced at start; nothing else is touched.
    #[arg(long, default_value = "demo-output")]
    output_dir: PathBuf,
    /// The metrics listener; a free port is taken when this one is busy.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics_listen: SocketAddr,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    logging::init(config::LogFormat::Text, "warn");
    let options = SimOptions {
        events: args.events,
        seed: args.seed,
        ..SimOptions::default()
    };
    let sim = crate::sim::start(options)
        .await
        .context("cannot start the simulator")?;
    let config = demo_config(&args, &sim)?;

    let stop = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    let running = crate::daemon::start(&config, stop.clone()).await?;
    println!(
        "own-audit-forwarder demo: a simulated Own API with {} past events",
        args.events
    );
    println!("  simulator   {}", sim.base_url());
    if let Some(addr) = running.telemetry_addr() {
        println!("  metrics     http://{addr}/metrics   (also /healthz and /readyz)");
    }
    println!("  output      {}", config_output(&config).display());
    println!(
        "  checkpoint  {}",
        config.state_dir.join("checkpoints/demo.json").display()
    );

    let progress = running
        .progress()
        .get("demo")
        .cloned()
        .context("the demo source is missing")?;
    let stopped = tokio::select! {
        () = show_progress(&progress, args.events, started) => false,
        result = super::wait_for_stop_signal() => { result?; true }
    };
    eprintln!();
    let elapsed = started.elapsed();
    if let Some(failure) = progress.failure() {
        anyhow::bail!("the demo source stopped: {failure}");
    }
    summarize(
        progress.forwarded(),
        progress.checkpoint(),
        elapsed,
        stopped,
    );

    if args.follow && !stopped {
        println!("following the live trickle; Ctrl-C stops");
        let followed = Instant::now();
        let before = progress.forwarded();
        follow(&progress).await?;
        eprintln!();
        println!(
            "stopped following after {:.0}s",
            followed.elapsed().as_secs_f64()
        );
        println!("  live events forwarded  {}", progress.forwarded() - before);
        println!("  checkpoint             event {}", progress.checkpoint());
    }
    running.shutdown(Duration::from_secs(10)).await;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn demo_config(args: &DemoArgs, sim: &SimHandle) -> anyhow::Result<Config> {
    let dir = &args.output_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _ = std::fs::remove_file(dir.join("events.ndjson"));
    let _ = std::fs::remove_dir_all(dir.join("state"));
    std::fs::create_dir_all(dir.join("state"))?;
    let token_file = dir.join("state").join("api-token");
    write_private(&token_file, "sim-api-token\n")?;

    let listen = free_or_given(args.metrics_listen);
    let toml = format!(
        r#"
state_dir = {state:?}
[telemetry]
listen = "{listen}"
log_level = "warn"
[[sources]]
name = "demo"
base_url = "{base}"
token_url = "{token}"
api_token_file = {token_file:?}
poll_interval = "2s"
[[sinks]]
type = "file"
name = "demo-file"
path = {out:?}
"#,
        state = path_str(&dir.join("state")),
        base = sim.base_url(),
        token = sim.token_url(),
        token_file = path_str(&token_file),
        out = path_str(&dir.join("events.ndjson")),
    );
    Ok(config::load_str_exact(&toml)?)
}

/// Writes a file only its owner can read, as a real API token file should be.
fn write_private(path: &Path, body: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(body.as_bytes())
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

fn config_output(config: &Config) -> PathBuf {
    match config.sinks.first() {
        Some(config::SinkConfig::File(file)) => file.path.clone(),
        _ => PathBuf::new(),
    }
}

/// The given address if it is free, else a free port on loopback.
fn free_or_given(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

async fn show_progress(progress: &crate::pipeline::Progress, total: u64, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let done = progress.forwarded();
        let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
        let percent = (done * 100).checked_div(total).unwrap_or(100).min(100);
        eprint!("\r  forwarded {done:>9} of {total} events ({percent:>3}%)  {rate:>9.0} events/s ");
        if progress.caught_up() || progress.failure().is_some() {
            return;
        }
    }
}

fn summarize(forwarded: u64, checkpoint: u64, elapsed: Duration, interrupted: bool) {
    let rate = forwarded as f64 / elapsed.as_secs_f64().max(0.001);
    println!(
        "{}",
        if interrupted {
            "interrupted"
        } else {
            "caught up"
        }
    );
    println!("  events forwarded  {forwarded}");
    println!("  checkpoint        event {checkpoint}");
    println!("  time taken        {:.2}s", elapsed.as_secs_f64());
    println!("  throughput        {rate:.0} events/s");
}

async fn follow(progress: &crate::pipeline::Progress) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stop = super::wait_for_stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            result = &mut stop => return result,
            _ = tick.tick() => eprint!("\r  forwarded {} events, checkpoint {} ", progress.forwarded(), progress.checkpoint()),
        }
    }
}
