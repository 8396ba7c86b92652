//! The file sink: NDJSON, one event per line, to a file or to stdout.
//!
//! A batch is acknowledged once it is written and flushed, and also fsynced when
//! `fsync = true`. A failed write is rolled back to the last whole line and retried, so
//! the file never holds half an event. When the file is renamed or deleted under the
//! daemon (log rotation), the next batch reopens the path.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{Aborted, BuildError, HealthError, Record, Rejected, Sink, util};
use crate::config::FileSinkConfig;
use crate::telemetry::names;

/// Writes NDJSON to a path or stdout.
pub struct FileSink {
    name: String,
    status: util::Status,
    target: Target,
    fsync: bool,
}

enum Target {
    Stdout,
    Path {
        path: PathBuf,
        file: Arc<Mutex<Option<File>>>,
    },
}

impl FileSink {
    pub async fn open(config: &FileSinkConfig, status: util::Status) -> Result<Self, BuildError> {
        let target = if config.path.as_os_str() == "-" {
            Target::Stdout
        } else {
            // Opened here only to report a bad path early; the first write reopens it.
            open_append(&config.path).map_err(|e| BuildError::Invalid {
                name: config.name.clone(),
                reason: format!(
                    "cannot open {} for appending: {e}; check that the folder exists and is \
                     writable",
                    config.path.display()
                ),
            })?;
            Target::Path {
                path: config.path.clone(),
                file: Arc::new(Mutex::new(None)),
            }
        };
        Ok(Self {
            name: config.name.clone(),
            status,
            target,
            fsync: config.fsync,
        })
    }

    fn describe(&self) -> String {
        match &self.target {
            Target::Stdout => "stdout".to_owned(),
            Target::Path { path, .. } => path.display().to_string(),
        }
    }

    async fn write_once(&self, body: Arc<Vec<u8>>) -> std::io::Result<()> {
        let fsync = self.fsync;
        match &self.target {
            Target::Stdout => {
                tokio::task::spawn_blocking(move || {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&body)?;
                    out.flush()
                })
                .await?
            }
            Target::Path { path, file } => {
                let (path, file) = (path.clone(), Arc::clone(file));
                tokio::task::spawn_blocking(move || {
                    let mut guard = file.lock().unwrap_or_else(|p| p.into_inner());
                    append_batch(&path, &mut guard, &body, fsync)
                })
                .await?
            }
        }
    }
}

/// Appends the batch, reopening a rotated file first; on failure cuts the file back to
/// where the batch began and drops the handle so the retry reopens it.
fn append_batch(
    path: &Path,
    slot: &mut Option<File>,
    body: &[u8],
    fsync: bool,
) -> std::io::Result<()> {
    let file = match slot.take() {
        Some(file) if !was_rotated(path, &file) => file,
        _ => open_for_writing(path)?,
    };
    let start = file.metadata()?.len();
    let result = (&file).write_all(body).and_then(|()| (&file).flush());
    let result = result.and_then(|()| if fsync { file.sync_data() } else { Ok(()) });
    match result {
        Ok(()) => {
            *slot = Some(file);
            Ok(())
        }
        Err(error) => {
            let _ = file.set_len(start);
            Err(error)
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    File::options().create(true).append(true).open(path)
}

/// Opens the file to write to it, first cutting off a half line that a crash left.
/// Only the daemon, which holds the state directory's lock, writes, so nothing else is
/// appending at that moment; `check` only opens the file and never repairs it.
fn open_for_writing(path: &Path) -> std::io::Result<File> {
    let file = File::options()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let cut = util::repair_tail(&file)?;
    if cut > 0 {
        tracing::warn!(path = %path.display(), bytes = cut,
            "removed a partial last line left by an interrupted write; its batch is sent again");
    }
    Ok(file)
}

/// Whether the path now names another file than the open handle, or nothing.
fn was_rotated(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(on_disk), Ok(open)) => on_disk.ino() != open.ino() || on_disk.dev() != open.dev(),
        _ => true,
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn error_reasons(&self) -> &'static [&'static str] {
        &["write"]
    }

    async fn health(&self) -> Result<(), HealthError> {
        match &self.target {
            Target::Stdout => Ok(()),
            Target::Path { path, .. } => open_append(path).map(drop).map_err(|e| {
                HealthError(format!("cannot open {} for appending: {e}", path.display()))
            }),
        }
    }

    async fn send(
        &self,
        records: &[Record<'_>],
        stop: &CancellationToken,
    ) -> Result<Vec<Rejected>, Aborted> {
        let size = records.iter().map(|r| r.payload.len() + 1).sum();
        let mut body = Vec::with_capacity(size);
        for record in records {
            body.extend_from_slice(record.payload);
            body.push(b'\n');
        }
        let body = Arc::new(body);
        let started = Instant::now();
        let mut delays = util::backoff(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match self.write_once(Arc::clone(&body)).await {
                Ok(()) => break,
                Err(error) => {
                    self.status.failed("write", &error.to_string());
                    let delay = delays.next().unwrap_or(Duration::from_secs(30));
                    tracing::warn!(sink = %self.name, path = %self.describe(), error = %error,
                        retry_in = ?delay, "cannot write to the output file; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return Err(Aborted),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        self.status.ok();
        metrics::histogram!(names::SINK_SEND_DURATION, "sink" => self.name.clone())
            .record(started.elapsed().as_secs_f64());
        if let Some(first) = records.first() {
            util::record_sent(
                &self.name,
                &first.event.origin.source,
                records.len(),
                body.len(),
            );
        }
        Ok(Vec::new())
    }
}
