//! Routes: each sink with the format it takes and the events it wants.
//!
//! The set of routes is published on a `watch` channel, so that a reload can add or
//! remove sinks between two batches: a dispatcher takes the current set at the start of
//! each batch and keeps it until the batch is acknowledged.
//!
//! A reload that removes or replaces a sink *retires* its route: sends still in
//! progress on it are abandoned. The dispatcher then sends that part of the batch to the
//! route now published under the same name, if any, so a sink whose configuration or
//! secret changed gets the whole batch from its new instance, and a removed one stops
//! holding the batch up.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::SinkConfig;
use crate::event::{Event, Format, KeyFilter};
use crate::sinks::Sink;

/// One sink as the pipeline uses it.
#[derive(Clone)]
pub struct Route {
    pub sink: Arc<dyn Sink>,
    pub format: Format,
    pub filter: KeyFilter,
    /// Fires when the route is retired, or with the daemon's hard stop.
    pub retired: CancellationToken,
}

/// The current routes, for every dispatcher.
pub type Routes = watch::Receiver<Arc<Vec<Route>>>;

impl Route {
    /// The route of a built sink; the configuration's filter has been validated. `hard`
    /// is the daemon's hard stop, which retires every route.
    pub fn new(sink: Arc<dyn Sink>, config: &SinkConfig, hard: &CancellationToken) -> Self {
        let output = config.output();
        Self {
            sink,
            format: output.format(),
            filter: KeyFilter::new(&output.include_keys, &output.exclude_keys).unwrap_or_default(),
            retired: hard.child_token(),
        }
    }

    pub fn name(&self) -> &str {
        self.sink.name()
    }

    /// Whether this route takes the event.
    pub fn takes(&self, event: &Event) -> bool {
        self.filter.allows(&event.key)
    }
}
