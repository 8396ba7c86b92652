//! What `/readyz` reports: whether every source polls and every sink is reachable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// The state of one component, shown on `/readyz`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    pub ready: bool,
    /// Why it is not ready, or what it last did.
    pub detail: String,
}

/// Readiness of every source and sink. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default, Serialize)]
struct State {
    sources: BTreeMap<String, Status>,
    sinks: BTreeMap<String, Status>,
}

/// The `/readyz` body.
#[derive(Debug, Serialize)]
pub struct Report {
    pub ready: bool,
    pub sources: BTreeMap<String, Status>,
    pub sinks: BTreeMap<String, Status>,
}

impl Health {
    /// Registers a source as not yet ready; its up gauge exists from here on, at 0.
    pub fn add_source(&self, name: &str) {
        self.source(name, false, "starting");
    }

    /// Registers a sink as not yet ready; its up gauge exists from here on, at 0.
    pub fn add_sink(&self, name: &str) {
        self.sink(name, false, "starting");
    }

    pub fn source(&self, name: &str, ready: bool, detail: impl Into<String>) {
        metrics::gauge!(super::names::SOURCE_UP, "source" => name.to_owned())
            .set(f64::from(u8::from(ready)));
        self.set(|s| &mut s.sources, name, ready, detail);
    }

    pub fn sink(&self, name: &str, ready: bool, detail: impl Into<String>) {
        metrics::gauge!(super::names::SINK_UP, "sink" => name.to_owned())
            .set(f64::from(u8::from(ready)));
        self.set(|s| &mut s.sinks, name, ready, detail);
    }

    /// Marks a sink ready unless it already is; cheap enough for every delivery.
    pub fn sink_ok(&self, name: &str) {
        let ready = self.lock().sinks.get(name).is_some_and(|s| s.ready);
        if !ready {
            self.sink(name, true, "delivering");
        }
    }

    pub fn remove_source(&self, name: &str) {
        self.lock().sources.remove(name);
    }

    pub fn remove_sink(&self, name: &str) {
        self.lock().sinks.remove(name);
    }

    /// Whether a source is currently ready.
    pub fn source_ready(&self, name: &str) -> bool {
        self.lock().sources.get(name).is_some_and(|s| s.ready)
    }

    pub fn report(&self) -> Report {
        let state = self.lock();
        let ready = !state.sources.is_empty()
            && state
                .sources
                .values()
                .chain(state.sinks.values())
                .all(|s| s.ready);
        Report {
            ready,
            sources: state.sources.clone(),
            sinks: state.sinks.clone(),
        }
    }

    fn set(
        &self,
        map: impl FnOnce(&mut State) -> &mut BTreeMap<String, Status>,
        name: &str,
        ready: bool,
        detail: impl Into<String>,
    ) {
        let mut state = self.lock();
        map(&mut state).insert(
            name.to_owned(),
            Status {
                ready,
                detail: detail.into(),
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
