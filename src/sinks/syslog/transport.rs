//! Connections to the receiver: a UDP socket, or a TCP stream with or without TLS.
//!
//! A syslog receiver never writes back, so a stream's read half is only watched: when it
//! ends or fails, the receiver has closed or reset the connection, and the next write
//! goes to a new one instead of into a socket nobody reads.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

/// Why a connection or a write failed. Each variant has a metric label.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot resolve {address}: {source}")]
    Resolve { address: String, source: io::Error },
    #[error("cannot connect to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("{what} {address} timed out after {after:?}")]
    Timeout {
        what: &'static str,
        address: String,
        after: Duration,
    },
    #[error("TLS handshake with {address} failed: {source}")]
    Tls { address: String, source: io::Error },
    #[error("cannot write to {address}: {source}")]
    Write { address: String, source: io::Error },
    #[error("the connection to {address} was lost: {reason}")]
    Closed { address: String, reason: String },
}

impl TransportError {
    pub fn label(&self) -> &'static str {
        match self {
            TransportError::Resolve { .. } => "dns",
            TransportError::Connect { .. } => "connect",
            TransportError::Timeout { .. } => "timeout",
            TransportError::Tls { .. } => "tls",
            TransportError::Write { .. } => "write",
            TransportError::Closed { .. } => "closed",
        }
    }
}

/// Every label of [`TransportError::label`].
pub const ERROR_LABELS: &[&str] = &["dns", "connect", "timeout", "tls", "write", "closed"];

/// How to reach the receiver.
pub enum Protocol {
    Udp,
    Tcp,
    Tls {
        connector: TlsConnector,
        server_name: ServerName<'static>,
    },
}

/// Where the receiver is and how to connect to it.
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub protocol: Protocol,
    pub connect_timeout: Duration,
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An open connection.
pub enum Connection {
    Datagram(UdpSocket),
    Stream(Stream),
}

/// A TCP or TLS stream whose read half is watched for the receiver closing it.
pub struct Stream {
    writer: WriteHalf<Box<dyn Io>>,
    closed: Arc<OnceLock<String>>,
    watcher: JoinHandle<()>,
}

impl Endpoint {
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Resolves the host anew (so DNS changes are followed) and connects.
    pub async fn connect(&self) -> Result<Connection, TransportError> {
        let after = self.connect_timeout;
        let timeout = || TransportError::Timeout {
            what: "connecting to",
            address: self.address(),
            after,
        };
        tokio::time::timeout(after, self.connect_now())
            .await
            .map_err(|_| timeout())?
    }

    async fn connect_now(&self) -> Result<Connection, TransportError> {
        let address = self.address();
        let targets: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|source| TransportError::Resolve {
                address: address.clone(),
                source,
            })?
            .collect();
        let connect_error = |source| TransportError::Connect {
            address: address.clone(),
            source,
        };
        let Some(first) = targets.first() else {
            return Err(TransportError::Resolve {
                address: address.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
            });
        };
        match &self.protocol {
            Protocol::Udp => {
                let local: SocketAddr = if first.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let socket = UdpSocket::bind(local).await.map_err(connect_error)?;
                socket.connect(first).await.map_err(connect_error)?;
                Ok(Connection::Datagram(socket))
            }
            Protocol::Tcp => Ok(Connection::Stream(Stream::watch(Box::new(
                tcp(&targets).await.map_err(connect_error)?,
            )))),
            Protocol::Tls {
                connector,
                server_name,
            } => {
                let tcp = tcp(&targets).await.map_err(connect_error)?;
                let tls = connector
                    .connect(server_name.clone(), tcp)
                    .await
                    .map_err(|source| TransportError::Tls {
                        address: address.clone(),
                        source,
                    })?;
                Ok(Connection::Stream(Stream::watch(Box::new(tls))))
            }
        }
    }
}

/// Connects to the first address that answers.
async fn tcp(targets: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
    for target in targets {
        match TcpStream::connect(target).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(last)
}

impl Connection {
    /// Whether the receiver has closed or reset the connection.
    pub fn is_closed(&self) -> bool {
        match self {
            Connection::Datagram(_) => false,
            Connection::Stream(stream) => stream.closed.get().is_some(),
        }
    }

    /// Closes the connection in an orderly way (TLS close_notify, then FIN).
    pub async fn close(self) {
        if let Connection::Stream(mut stream) = self {
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.writer.shutdown()).await;
        }
    }
}

impl Stream {
    fn watch(io: Box<dyn Io>) -> Self {
        let (mut reader, writer) = tokio::io::split(io);
        let closed = Arc::new(OnceLock::new());
        let flag = Arc::clone(&closed);
        let watcher = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let reason = loop {
                match reader.read(&mut buf).await {
                    Ok(0) => break "the receiver closed it".to_owned(),
                    // Receivers send nothing the sink needs; what they send is dropped.
                    Ok(_) => continue,
                    Err(error) => break error.to_string(),
                }
            };
            let _ = flag.set(reason);
        });
        Self {
            writer,
            closed,
            watcher,
        }
    }

    /// Writes and flushes `bytes`, failing when the receiver closed the stream before the
    /// write or by the time it was flushed, or when the write made no progress for
    /// `stall` (a slow link is fine; a receiver that stopped reading is not).
    pub async fn write(
        &mut self,
        bytes: &[u8],
        address: &str,
        stall: Duration,
    ) -> Result<(), TransportError> {
        const CHUNK: usize = 64 * 1024;
        self.check_open(address)?;
        for chunk in bytes.chunks(CHUNK) {
            let written = tokio::time::timeout(stall, self.writer.write_all(chunk)).await;
            write_result(written, address, stall)?;
        }
        let flushed = tokio::time::timeout(stall, self.writer.flush()).await;
        write_result(flushed, address, stall)?;
        self.check_open(address)
    }

    fn check_open(&self, address: &str) -> Result<(), TransportError> {
        match self.closed.get() {
            Some(reason) => Err(TransportError::Closed {
                address: address.to_owned(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }
}

fn write_result(
    result: Result<io::Result<()>, tokio::time::error::Elapsed>,
    address: &str,
    after: Duration,
) -> Result<(), TransportError> {
    match result {
        Err(_) => Err(TransportError::Timeout {
            what: "writing to",
            address: address.to_owned(),
            after,
        }),
        Ok(Err(source)) => Err(TransportError::Write {
            address: address.to_owned(),
            source,
        }),
        Ok(Ok(())) => Ok(()),
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}
