//! `check`: tries the live setup end to end without moving any checkpoint.

use std::process::ExitCode;

use crate::checkpoint::{CheckpointStore, FileStore};
use crate::config::{Config, SourceConfig, StartFrom};
use crate::own::auth::Refresher;
use crate::own::events::EventsClient;
use crate::telemetry::Health;

/// Prints one line per step, `ok` or `FAIL` with the reason.
struct Report {
    failures: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: impl std::fmt::Display) {
        println!("  ok    {what}: {detail}");
    }

    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.failures += 1;
        println!("  FAIL  {what}: {detail}");
    }
}

pub async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let mut report = Report { failures: 0 };
    // A grant from here could rotate the API token under a running daemon; with the
    // daemon up, its /readyz tells how the sources fare.
    let lock = crate::daemon::lock_state_dir(config);
    for source in &config.sources {
        println!("source {} ({})", source.name, source.api_base());
        match &lock {
            Ok(_) => check_source(config, source, &mut report).await,
            Err(crate::daemon::StartError::Locked { .. }) => report.ok(
                "authentication",
                "skipped: the daemon is running with this state directory; see its /readyz",
            ),
            Err(error) => report.fail("state directory", error),
        }
    }
    drop(lock);
    let redaction = &config.redaction;
    if !redaction.drop.is_empty() || !redaction.hash.is_empty() {
        println!("redaction");
        match crate::daemon::build_redactor(redaction) {
            Ok(_) => report.ok(
                "fields",
                format!(
                    "{} dropped, {} hashed",
                    redaction.drop.len(),
                    redaction.hash.len()
                ),
            ),
            Err(error) => report.fail("hash key", error),
        }
    }
    let health = Health::default();
    for sink_config in &config.sinks {
        println!("sink {}", sink_config.name());
        match crate::sinks::build(sink_config, &health).await {
            Ok(sink) => match sink.health().await {
                Ok(()) => report.ok("reachable", "yes"),
                Err(error) => report.fail("reachable", error),
            },
            Err(error) => report.fail("configuration", error),
        }
    }
    if report.failures == 0 {
        println!("everything works");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{} problem{} found",
            report.failures,
            if report.failures == 1 { "" } else { "s" }
        );
        Ok(ExitCode::FAILURE)
    }
}

async fn check_source(config: &Config, source: &SourceConfig, report: &mut Report) {
    let store = FileStore::new(&config.state_dir, &source.name);
    let from = match store.load() {
        Ok(Some(checkpoint)) => {
            report.ok("checkpoint", format!("event {}", checkpoint.last_event_id));
            Some(checkpoint.last_event_id)
        }
        Ok(None) => {
            report.ok(
                "checkpoint",
                format!("none yet; would start from {}", source.start_from),
            );
            match source.start_from {
                StartFrom::Beginning => None,
                StartFrom::EventId(id) => Some(id),
            }
        }
        Err(error) => return report.fail("checkpoint", error),
    };
    let http = match crate::own::http_client(source.request_timeout) {
        Ok(http) => http,
        Err(error) => return report.fail("http client", error),
    };
    let refresher = Refresher::new(source, &config.state_dir, http.clone(), Health::default());
    let token = match refresher.authenticate().await {
        Ok((token, lifetime)) => {
            report.ok(
                "authentication",
                format!(
                    "access token granted for {}",
                    humantime::format_duration(lifetime)
                ),
            );
            token
        }
        Err(error) => return report.fail("authentication", error),
    };
    let client = match EventsClient::new(&source.name, http, &source.api_base()) {
        Ok(client) => client,
        Err(error) => return report.fail("base url", error),
    };
    match client.fetch(from, &token.secret, false).await {
        Ok(page) => {
            let ids: Vec<u64> = page
                .entries
                .iter()
                .filter_map(|e| {
                    crate::event::Fields::parse(e.clone())
                        .ok()?
                        .value("event_id")?
                        .as_u64()
                })
                .collect();
            match (ids.first(), ids.last()) {
                (Some(first), Some(last)) => report.ok(
                    "events",
                    format!(
                        "fetched {} events ({first} to {last}); checkpoint unchanged",
                        page.len()
                    ),
                ),
                _ => report.ok("events", "no events newer than the checkpoint; caught up"),
            }
        }
        Err(error) => report.fail("events", error),
    }
}
