//! The syslog sink: each event becomes one RFC 5424 (or RFC 3164) message, sent over
//! UDP, TCP or TLS.
//!
//! On TCP and TLS a batch is acknowledged once it has been written and flushed. When the
//! connection is reset or closed, the sink connects again with backoff and sends the
//! whole batch again, after the last messages it had sent before the loss (see
//! [`batch::Replay`]), so that no event is lost to a receiver that went down. UDP is best
//! effort: a datagram the network or the receiver drops is gone.

mod batch;
mod message;
mod severity;
mod text;
mod tls;
mod transport;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{Aborted, BuildError, HealthError, Record, Rejected, Sink, util};
use crate::config::{SyslogSinkConfig, SyslogTransport};
use crate::telemetry::names;
use batch::{Batch, Framing, Replay};
use message::Formatter;
use transport::{Connection, Endpoint, Protocol, TransportError};

/// Sends events to a syslog receiver.
pub struct SyslogSink {
    name: String,
    status: util::Status,
    formatter: Formatter,
    framing: Framing,
    endpoint: Endpoint,
    write_timeout: Duration,
    max_backoff: Duration,
    state: tokio::sync::Mutex<State>,
}

/// The connection, shared by the batches of every source, one batch at a time.
struct State {
    connection: Option<Connection>,
    /// A connection was lost since the last one opened: the replay goes first.
    lost: bool,
    /// Whether a connection was ever opened, so that a new one counts as a reconnect.
    connected_before: bool,
    replay: Replay,
    /// How often the receiver's host answered the last batch's datagrams with "port
    /// unreachable" (nothing listens); best effort means they are not sent again.
    refused: usize,
}

/// How one attempt at a batch ended, when it did not succeed.
enum Failure {
    Stopped,
    Failed(TransportError),
}

impl From<TransportError> for Failure {
    fn from(error: TransportError) -> Self {
        Failure::Failed(error)
    }
}

impl SyslogSink {
    pub fn new(config: &SyslogSinkConfig, status: util::Status) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::Invalid {
            name: config.name.clone(),
            reason,
        };
        let (host, port) = config.host_port().map_err(&invalid)?;
        let protocol = match config.transport {
            SyslogTransport::Udp => Protocol::Udp,
            SyslogTransport::Tcp => Protocol::Tcp,
            SyslogTransport::Tls => {
                let settings = config.tls.as_ref();
                let client = tls::client_config(settings).map_err(|e| invalid(e.to_string()))?;
                Protocol::Tls {
                    connector: tokio_rustls::TlsConnector::from(client),
                    server_name: tls::server_name(settings, &host)
                        .map_err(|e| invalid(e.to_string()))?,
                }
            }
        };
        let framing = match config.transport {
            SyslogTransport::Udp => Framing::Datagram,
            SyslogTransport::Tcp | SyslogTransport::Tls => Framing::for_stream(config.framing()),
        };
        let formatter = Formatter::new(config, framing == Framing::Newline)
            .map_err(|e| invalid(format!("severity_rules: {e}")))?;
        for counter in [
            names::SINK_RECONNECTS,
            names::SINK_TRUNCATED,
            names::SINK_RESENT,
        ] {
            metrics::counter!(counter, "sink" => config.name.clone()).increment(0);
        }
        let replay = match framing {
            Framing::Datagram => 0,
            Framing::OctetCounting | Framing::Newline => config.resend_window_bytes,
        };
        Ok(Self {
            name: config.name.clone(),
            status,
            formatter,
            framing,
            endpoint: Endpoint {
                host,
                port,
                protocol,
                connect_timeout: config.connect_timeout,
            },
            write_timeout: config.write_timeout,
            max_backoff: config.max_backoff,
            state: tokio::sync::Mutex::new(State {
                connection: None,
                lost: false,
                connected_before: false,
                replay: Replay::new(replay),
                refused: 0,
            }),
        })
    }

    /// Formats and frames every record; counts and reports the shortened ones.
    fn encode(&self, records: &[Record<'_>]) -> Batch {
        let size: usize = records.iter().map(|r| r.payload.len() + 300).sum();
        let mut batch = Batch::with_capacity(size, records.len());
        let mut truncated = Vec::new();
        for record in records {
            let message = self.formatter.message(record.event, record.payload);
            if message.truncated {
                truncated.push(record.event.id);
            }
            batch.push(&message.bytes, self.framing);
        }
        if let Some(first) = truncated.first() {
            metrics::counter!(names::SINK_TRUNCATED, "sink" => self.name.clone())
                .increment(truncated.len() as u64);
            tracing::warn!(sink = %self.name, events = truncated.len(), first_event_id = first,
                "events over max_message_bytes were shortened, with a marker at the cut");
        }
        batch
    }

    /// One try at the batch: connects if needed, re-sends the replay after a loss, then
    /// writes. Over UDP `sent` counts the datagrams already out, so a retry goes on from
    /// the one that failed.
    async fn attempt(
        &self,
        state: &mut State,
        batch: &Batch,
        sent: &mut usize,
        stop: &CancellationToken,
    ) -> Result<(), Failure> {
        let address = self.endpoint.address();
        if state.connection.as_ref().is_some_and(Connection::is_closed) {
            state.connection = None;
            state.lost = true;
        }
        if state.connection.is_none() {
            let connection = tokio::select! {
                () = stop.cancelled() => return Err(Failure::Stopped),
                connection = self.endpoint.connect() => connection?,
            };
            if std::mem::replace(&mut state.connected_before, true) {
                metrics::counter!(names::SINK_RECONNECTS, "sink" => self.name.clone()).increment(1);
                tracing::info!(sink = %self.name, address = %address, resent = state.replay.len(),
                    "connected to the syslog receiver again");
            }
            state.connection = Some(connection);
        }
        let Some(connection) = state.connection.as_mut() else {
            return Ok(());
        };
        match connection {
            Connection::Datagram(socket) => {
                while *sent < batch.frames.len() {
                    let frame = batch.frame(*sent);
                    match socket.send(frame).await {
                        Ok(_) => {}
                        // The host answered an earlier datagram with "port unreachable".
                        // This one is tried once more; UDP being best effort, the batch
                        // goes on either way instead of waiting for a listener.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                            state.refused += 1;
                            let _ = socket.send(frame).await;
                        }
                        Err(source) => return Err(TransportError::Write { address, source }.into()),
                    }
                    *sent += 1;
                }
            }
            Connection::Stream(stream) => {
                if state.lost && !state.replay.is_empty() {
                    let replay = state.replay.contents();
                    tokio::select! {
                        () = stop.cancelled() => return Err(Failure::Stopped),
                        written = stream.write(&replay, &address, self.write_timeout) => written?,
                    }
                    metrics::counter!(names::SINK_RESENT, "sink" => self.name.clone())
                        .increment(state.replay.len() as u64);
                }
                state.lost = false;
                tokio::select! {
                    () = stop.cancelled() => return Err(Failure::Stopped),
                    written = stream.write(&batch.bytes, &address, self.write_timeout) => written?,
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn error_reasons(&self) -> &'static [&'static str] {
        transport::ERROR_LABELS
    }

    /// Over TCP and TLS: a live connection, or a new one (handshake included) that is
    /// closed again. Over UDP only the name can be checked: nothing answers a datagram.
    async fn health(&self) -> Result<(), HealthError> {
        if let Ok(state) = self.state.try_lock()
            && state.connection.as_ref().is_some_and(|c| !c.is_closed())
        {
            return Ok(());
        }
        match self.endpoint.connect().await {
            Ok(connection) => {
                connection.close().await;
                Ok(())
            }
            Err(error) => Err(HealthError(error.to_string())),
        }
    }

    async fn send(
        &self,
        records: &[Record<'_>],
        stop: &CancellationToken,
    ) -> Result<Vec<Rejected>, Aborted> {
        let started = Instant::now();
        let batch = self.encode(records);
        let mut state = tokio::select! {
            () = stop.cancelled() => return Err(Aborted),
            state = self.state.lock() => state,
        };
        let mut delays = util::backoff(Duration::from_millis(500), self.max_backoff);
        let mut sent = 0;
        loop {
            match self.attempt(&mut state, &batch, &mut sent, stop).await {
                Ok(()) => break,
                Err(failure) => {
                    // Whatever was half written is sent again on the next connection.
                    if state.connection.take().is_some() {
                        state.lost = true;
                    }
                    let Failure::Failed(error) = failure else {
                        return Err(Aborted);
                    };
                    self.status.failed(error.label(), &error.to_string());
                    let delay = delays.next().unwrap_or(self.max_backoff);
                    tracing::warn!(sink = %self.name, error = %error, retry_in = ?delay,
                        "cannot deliver to the syslog receiver; connecting again to send the batch again");
                    tokio::select! {
                        () = stop.cancelled() => return Err(Aborted),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        state.replay.remember(&batch);
        let refused = std::mem::take(&mut state.refused);
        drop(state);

        if refused > 0 {
            let detail = format!(
                "{} answered \"port unreachable\" {refused} times: nothing listens on that port, \
                 and over UDP the datagrams are lost",
                self.endpoint.address()
            );
            tracing::warn!(sink = %self.name, refusals = refused, "{detail}");
            self.status.failed("connect", &detail);
        } else {
            self.status.ok();
        }
        metrics::histogram!(names::SINK_SEND_DURATION, "sink" => self.name.clone())
            .record(started.elapsed().as_secs_f64());
        if let Some(first) = records.first() {
            let source = &first.event.origin.source;
            util::record_sent(&self.name, source, records.len(), batch.bytes.len());
        }
        Ok(Vec::new())
    }

    async fn close(&self) {
        if let Some(connection) = self.state.lock().await.connection.take() {
            connection.close().await;
        }
    }
}

#[cfg(test)]
mod tests;
