//! Reloading the configuration (SIGHUP) while events flow.
//!
//! A reload is all or nothing. Everything the new configuration needs is set up first:
//! the redaction key is read and every new or changed sink is built. If any of that
//! fails, the reload is refused and the running configuration stays as it was. Then,
//! between batches:
//!
//! - the redaction rules are replaced; each source uses the new ones from its next page;
//! - the sinks are replaced. A sink whose configuration is unchanged and that reads no
//!   secret keeps running untouched; one that changed, or that reads a secret or
//!   certificate file (which may have been rotated), is built again. A batch in flight
//!   on a replaced sink is sent again to its new instance, so that sink may receive it
//!   twice; a removed sink stops at once. A new sink takes events from the next batch;
//! - sources that were removed or changed are stopped, delivering what they had fetched
//!   (within `shutdown_grace`), and the new or changed ones started. A source whose
//!   configuration did not change keeps polling, with its cursor, throughout.
//!
//! `state_dir` cannot change without a restart; changes to `[telemetry]` take effect at
//! the next start and are logged as such.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Running, build_redactor, build_sink, start_monitor};
use crate::config::{Config, SinkConfig};
use crate::pipeline::Route;
use crate::sinks::Sink;
use crate::telemetry;

/// Why a new configuration was not applied. The running one stays.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReloadError(String);

/// What a reload changed, by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub sources_added: Vec<String>,
    pub sources_removed: Vec<String>,
    pub sources_restarted: Vec<String>,
    pub sinks_added: Vec<String>,
    pub sinks_removed: Vec<String>,
    pub sinks_rebuilt: Vec<String>,
    /// The redaction now applied: how many fields are dropped and hashed. The rules and
    /// the hash key are read again at every reload.
    pub redaction: String,
}

/// How long retired sinks may take to finish the batches in flight before being closed.
const CLOSE_AFTER: Duration = Duration::from_secs(60);

impl Running {
    /// Applies `next`, or refuses it as a whole.
    pub async fn reload(&mut self, next: Config) -> Result<Changes, ReloadError> {
        if next.state_dir != self.config.state_dir {
            return Err(ReloadError(format!(
                "state_dir cannot change while running (from {} to {}); restart the daemon",
                self.config.state_dir.display(),
                next.state_dir.display()
            )));
        }
        let redactor = build_redactor(&next.redaction).map_err(|e| ReloadError(e.to_string()))?;
        let mut changes = Changes {
            redaction: format!(
                "{} dropped, {} hashed",
                next.redaction.drop.len(),
                next.redaction.hash.len()
            ),
            ..Changes::default()
        };
        let routes = self.prepare_routes(&next, &mut changes).await?;
        self.warn_restart_only(&next);

        self.redactor.send_replace(Arc::new(redactor));
        self.swap_routes(routes, &next);
        self.reload_sources(&next, &mut changes).await;
        self.config = next;
        Ok(changes)
    }

    /// The routes of `next`: current ones kept where nothing changed, new sinks built.
    async fn prepare_routes(
        &self,
        next: &Config,
        changes: &mut Changes,
    ) -> Result<Vec<Route>, ReloadError> {
        let current = self.routes.borrow().clone();
        let by_name: BTreeMap<&str, (&Route, &SinkConfig)> = current
            .iter()
            .zip(&self.config.sinks)
            .map(|(route, config)| (config.name(), (route, config)))
            .collect();
        let mut routes = Vec::new();
        for config in &next.sinks {
            let kept = by_name.get(config.name()).filter(|(_, old)| {
                format!("{old:?}") == format!("{config:?}") && !config.reads_secrets()
            });
            if let Some((route, _)) = kept {
                routes.push((*route).clone());
                continue;
            }
            match build_sink(config, &self.health).await {
                Ok(sink) => routes.push(Route::new(sink, config, &self.hard)),
                Err(error) => {
                    close_new(&routes, &current).await;
                    return Err(ReloadError(error.to_string()));
                }
            }
            let list = if by_name.contains_key(config.name()) {
                &mut changes.sinks_rebuilt
            } else {
                &mut changes.sinks_added
            };
            list.push(config.name().to_owned());
        }
        let next_names: Vec<&str> = next.sinks.iter().map(SinkConfig::name).collect();
        changes.sinks_removed = by_name
            .keys()
            .filter(|name| !next_names.contains(name))
            .map(|name| (*name).to_owned())
            .collect();
        Ok(routes)
    }

    /// Publishes the new routes, retires the replaced and removed ones, and closes their
    /// sinks once no batch uses them.
    fn swap_routes(&mut self, routes: Vec<Route>, next: &Config) {
        let sinks: Vec<Arc<dyn Sink>> = routes.iter().map(|r| Arc::clone(&r.sink)).collect();
        let old = self.routes.send_replace(Arc::new(routes));
        let retired: Vec<Route> = old
            .iter()
            .filter(|r| !sinks.iter().any(|s| Arc::ptr_eq(s, &r.sink)))
            .cloned()
            .collect();
        for route in &retired {
            route.retired.cancel();
            if !next.sinks.iter().any(|s| s.name() == route.name()) {
                self.health.remove_sink(route.name());
            }
        }
        self.monitor.cancel();
        self.monitor = start_monitor(sinks, &self.health, &self.stop);
        tokio::spawn(close_when_released(old, retired));
    }

    /// Stops removed and changed sources, and starts new and changed ones.
    async fn reload_sources(&mut self, next: &Config, changes: &mut Changes) {
        let grace = next.pipeline.shutdown_grace;
        self.shared.channel_capacity = next.pipeline.channel_capacity;
        let current: BTreeMap<String, String> = self
            .pipeline
            .configs()
            .map(|c| (c.name.clone(), format!("{c:?}")))
            .collect();
        for (name, old) in &current {
            match next.sources.iter().find(|s| &s.name == name) {
                None => changes.sources_removed.push(name.clone()),
                Some(new) if &format!("{new:?}") != old => {
                    changes.sources_restarted.push(name.clone())
                }
                Some(_) => continue,
            }
            self.pipeline.remove(name, grace, &self.health).await;
        }
        for source in &next.sources {
            let restarted = changes.sources_restarted.contains(&source.name);
            if current.contains_key(&source.name) && !restarted {
                continue;
            }
            if !restarted {
                changes.sources_added.push(source.name.clone());
            }
            telemetry::names::init_source(&source.name);
            self.pipeline.add(source.clone(), &self.shared);
        }
    }

    fn warn_restart_only(&self, next: &Config) {
        let (old, new) = (&self.telemetry_started, &next.telemetry);
        if old.listen != new.listen
            || old.log_format != new.log_format
            || old.log_level != new.log_level
        {
            tracing::warn!(
                "the [telemetry] settings differ from those the daemon started with; they \
                 take effect at the next restart"
            );
        }
    }
}

/// Closes the sinks built for a reload that is being refused.
async fn close_new(built: &[Route], current: &[Route]) {
    for route in built {
        if !current.iter().any(|r| Arc::ptr_eq(&r.sink, &route.sink)) {
            route.sink.close().await;
        }
    }
}

/// Waits until no dispatcher holds the old route set, then closes the retired sinks.
async fn close_when_released(old: Arc<Vec<Route>>, retired: Vec<Route>) {
    if retired.is_empty() {
        return;
    }
    let deadline = tokio::time::Instant::now() + CLOSE_AFTER;
    while Arc::strong_count(&old) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(old);
    for route in retired {
        route.sink.close().await;
        tracing::debug!(sink = %route.name(), "closed the sink a reload replaced or removed");
    }
}
