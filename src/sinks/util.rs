//! Plumbing shared by the sinks: retry delays and metric helpers.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::telemetry::Health;

/// An endless series of retry delays: exponential from `min` to `max`, with jitter.
/// `max` is a true cap: the jitter backon adds on top of a delay never takes it past.
pub fn backoff(min: Duration, max: Duration) -> impl Iterator<Item = Duration> + Send {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build()
        .map(move |delay| delay.min(max))
}

/// A sink's view of its own readiness and error metrics.
#[derive(Clone)]
pub struct Status {
    name: String,
    health: Health,
}

impl Status {
    pub fn new(name: &str, health: Health) -> Self {
        Self {
            name: name.to_owned(),
            health,
        }
    }

    /// Counts a failed attempt and marks the sink not ready.
    pub fn failed(&self, reason: &'static str, detail: &str) {
        record_error(&self.name, reason);
        self.health
            .sink(&self.name, false, format!("{reason}: {detail}"));
    }

    /// Marks the sink not ready without counting an error.
    pub fn unready(&self, detail: &str) {
        self.health.sink(&self.name, false, detail);
    }

    /// Marks the sink ready after a success, if it was not.
    pub fn ok(&self) {
        self.health.sink_ok(&self.name);
    }
}

/// Cuts a file back to its last line end, removing the half line a crash in the middle
/// of a write leaves. That line belonged to a batch whose checkpoint was never written,
/// so it is sent again. Returns the bytes removed.
pub fn repair_tail(file: &std::fs::File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let part = &mut buf[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(pos) = memchr::memrchr(b'\n', part) {
            let keep = start + pos as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(len - keep);
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
    }
    Ok(len)
}

/// A short, single-line excerpt of a body or text, for error messages.
pub fn excerpt(body: impl AsRef<[u8]>) -> String {
    let text = String::from_utf8_lossy(body.as_ref());
    let mut line: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        line.push('…');
    }
    line
}

/// Counts a sink's accepted events and bytes.
pub fn record_sent(sink: &str, source: &str, events: usize, bytes: usize) {
    use crate::telemetry::names;
    metrics::counter!(names::EVENTS_SENT, "sink" => sink.to_owned(), "source" => source.to_owned())
        .increment(events as u64);
    metrics::counter!(names::SINK_BYTES, "sink" => sink.to_owned()).increment(bytes as u64);
}

/// Counts one failed sink attempt.
pub fn record_error(sink: &str, reason: &'static str) {
    metrics::counter!(crate::telemetry::names::SINK_ERRORS, "sink" => sink.to_owned(), "reason" => reason)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_and_whole_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        for (body, kept) in [
            ("a\nb\n", "a\nb\n"),
            ("a\nb\n{\"half", "a\nb\n"),
            ("{\"half", ""),
            ("", ""),
        ] {
            std::fs::write(&path, body).unwrap();
            let file = std::fs::File::options()
                .read(true)
                .append(true)
                .open(&path)
                .unwrap();
            repair_tail(&file).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), kept, "{body:?}");
        }
        let long = "x".repeat(200_000);
        std::fs::write(&path, format!("a\n{long}")).unwrap();
        let file = std::fs::File::options()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        assert_eq!(repair_tail(&file).unwrap(), 200_000);
    }

    #[test]
    fn delays_grow_to_the_cap_and_never_end() {
        let delays: Vec<_> = backoff(Duration::from_millis(100), Duration::from_secs(2))
            .take(50)
            .collect();
        assert_eq!(delays.len(), 50);
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(2)),
            "{delays:?}"
        );
        assert!(delays[10] >= Duration::from_secs(2), "{delays:?}");
    }
}
