//! `checkpoint show` and `checkpoint set`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::ConfigArg;
use crate::checkpoint::{Checkpoint, CheckpointStore, FileStore};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Print the checkpoint of every source, or of one.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Set a source's checkpoint; the daemon must be stopped. Polling resumes after
    /// the given event id: set it lower to replay events, higher to skip them.
    Set {
        #[command(flatten)]
        config: ConfigArg,
        /// The source to move.
        #[arg(long)]
        source: String,
        /// The last event id to consider delivered.
        #[arg(long)]
        event_id: u64,
    },
}

impl CheckpointCommand {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            CheckpointCommand::Show { config, source } => {
                show(&super::load(&config.config)?, source)
            }
            CheckpointCommand::Set {
                config,
                source,
                event_id,
            } => set(&super::load(&config.config)?, &source, event_id),
        }
    }
}

fn show(config: &Config, only: Option<String>) -> anyhow::Result<ExitCode> {
    let names = selected(config, only.as_deref())?;
    let mut code = ExitCode::SUCCESS;
    for name in names {
        let store = FileStore::new(&config.state_dir, name);
        match store.load() {
            Ok(Some(checkpoint)) => println!("{}", serde_json::to_string(&checkpoint)?),
            Ok(None) => println!(
                "{{\"source\":{},\"checkpoint\":null,\"note\":\"no checkpoint yet; the source starts as start_from says\"}}",
                serde_json::to_string(name)?
            ),
            Err(error) => {
                eprintln!("{name}: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

fn set(config: &Config, source: &str, event_id: u64) -> anyhow::Result<ExitCode> {
    selected(config, Some(source))?;
    let _lock = crate::daemon::lock_state_dir(config)
        .context("the checkpoint can only be set while the daemon is stopped")?;
    let store = FileStore::new(&config.state_dir, source);
    let before = store.load().ok().flatten().map(|c| c.last_event_id);
    store.save(&Checkpoint::new(source, event_id, None))?;
    match before {
        Some(before) => println!("{source}: checkpoint moved from {before} to {event_id}"),
        None => println!("{source}: checkpoint set to {event_id}"),
    }
    println!(
        "polling resumes with the first event after {event_id}; no event up to it is forwarded"
    );
    Ok(ExitCode::SUCCESS)
}

fn selected<'a>(config: &'a Config, only: Option<&str>) -> anyhow::Result<Vec<&'a str>> {
    let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
    match only {
        None => Ok(names),
        Some(name) => match names.iter().find(|n| **n == name) {
            Some(found) => Ok(vec![*found]),
            None => bail!("no source named {name:?}; configured: {}", names.join(", ")),
        },
    }
}
