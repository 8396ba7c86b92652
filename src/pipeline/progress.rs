//! Counters a source exposes to the demo and to status reports.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One source's progress. Updated by its poller and dispatcher.
#[derive(Debug, Default)]
pub struct Progress {
    fetched: AtomicU64,
    forwarded: AtomicU64,
    checkpoint: AtomicU64,
    caught_up: AtomicBool,
    failure: Mutex<Option<String>>,
}

impl Progress {
    pub fn add_fetched(&self, n: usize) {
        self.fetched.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_forwarded(&self, n: usize, checkpoint: u64) {
        self.forwarded.fetch_add(n as u64, Ordering::Relaxed);
        self.checkpoint.store(checkpoint, Ordering::Relaxed);
    }

    pub fn set_caught_up(&self, caught_up: bool) {
        self.caught_up.store(caught_up, Ordering::Relaxed);
    }

    pub fn fail(&self, reason: String) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }

    pub fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// The last checkpointed event id; 0 before the first.
    pub fn checkpoint(&self) -> u64 {
        self.checkpoint.load(Ordering::Relaxed)
    }

    /// Every event of the backlog is delivered and checkpointed.
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }

    /// Why the source stopped for good, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
