//! Gathering events into requests: at most `max_events` and `max_bytes` each, and no
//! longer than `max_age` waiting for company.
//!
//! Every `send` hands its events to one batcher task per sink and waits for the answer.
//! A source's dispatcher sends one batch at a time and waits for it, so only the other
//! sources sharing the sink can add to a request. The batcher therefore sends as soon as
//! a limit is reached or every source it has seen has handed over its events; otherwise
//! it waits up to `max_age` for the rest. The task ends when the sink, which holds the
//! only sender, is dropped.

use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::deliver::{Endpoint, Retrying, Stops};
use super::encode::framed_len;
use crate::sinks::Rejected;

/// One `send`: its events' pieces, and where to answer.
pub struct Submission {
    pub source: String,
    pub pieces: Vec<Vec<u8>>,
    pub stop: CancellationToken,
    pub reply: oneshot::Sender<Vec<Rejected>>,
}

/// When a request is sent.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_events: usize,
    pub max_bytes: usize,
    pub max_age: Duration,
}

/// Runs until the queue closes. A submission is answered with its refused events once all
/// of its events are settled; its reply is dropped, unanswered, if every sender in its
/// requests has stopped.
pub async fn run<E: Endpoint>(
    mut queue: mpsc::Receiver<Submission>,
    limits: Limits,
    delivery: Retrying<E>,
) {
    let mut sources = HashSet::new();
    while let Some(first) = queue.recv().await {
        let pending = gather(first, &mut queue, &limits, &mut sources).await;
        flush(pending, &limits, &delivery).await;
    }
}

/// Waits for more submissions until a limit is reached, every known source is in, or
/// `max_age` has passed since the first.
async fn gather(
    first: Submission,
    queue: &mut mpsc::Receiver<Submission>,
    limits: &Limits,
    sources: &mut HashSet<String>,
) -> Vec<Submission> {
    let deadline = Instant::now() + limits.max_age;
    let mut pending = vec![first];
    loop {
        for submission in &pending {
            if !sources.contains(&submission.source) {
                sources.insert(submission.source.clone());
            }
        }
        if is_full(&pending, limits) || everyone_in(&pending, sources) {
            return pending;
        }
        tokio::select! {
            next = queue.recv() => match next {
                Some(submission) => pending.push(submission),
                None => return pending,
            },
            () = tokio::time::sleep_until(deadline) => return pending,
        }
    }
}

fn is_full(pending: &[Submission], limits: &Limits) -> bool {
    let pieces = pending.iter().flat_map(|s| &s.pieces);
    let (events, bytes) = pieces.fold((0, 0), |(n, b), p| (n + 1, b + framed_len(p)));
    events >= limits.max_events || bytes >= limits.max_bytes
}

fn everyone_in(pending: &[Submission], sources: &HashSet<String>) -> bool {
    sources
        .iter()
        .all(|source| pending.iter().any(|s| &s.source == source))
}

/// Sends everything pending, in order, in requests within the limits.
async fn flush<E: Endpoint>(pending: Vec<Submission>, limits: &Limits, delivery: &Retrying<E>) {
    // A sender that gave up no longer waits for its answer.
    let pending: Vec<Submission> = pending
        .into_iter()
        .filter(|s| !s.reply.is_closed())
        .collect();
    let mut owners = Vec::new();
    let mut pieces: Vec<&[u8]> = Vec::new();
    for (n, submission) in pending.iter().enumerate() {
        for (index, piece) in submission.pieces.iter().enumerate() {
            owners.push((n, index));
            pieces.push(piece);
        }
    }
    let stops = Stops::new(pending.iter().map(|s| s.stop.clone()));
    let mut rejected: Vec<Vec<Rejected>> = pending.iter().map(|_| Vec::new()).collect();
    for range in chunks(&pieces, limits) {
        let Ok(refusals) = delivery.deliver(&pieces[range.clone()], &stops).await else {
            return;
        };
        for refusal in refusals {
            let (n, index) = owners[range.start + refusal.index];
            rejected[n].push(Rejected {
                index,
                reason: refusal.reason,
                detail: refusal.detail,
            });
        }
    }
    for (submission, rejected) in pending.into_iter().zip(rejected) {
        // The sender may have stopped meanwhile; then nobody needs the answer.
        let _ = submission.reply.send(rejected);
    }
}

/// Consecutive ranges of at most `max_events` pieces and `max_bytes` bytes; a piece larger
/// than `max_bytes` gets a range of its own.
fn chunks(pieces: &[&[u8]], limits: &Limits) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        let size = framed_len(piece);
        let count = i - start;
        if count > 0 && (count >= limits.max_events || bytes + size > limits.max_bytes) {
            ranges.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < pieces.len() {
        ranges.push(start..pieces.len());
    }
    ranges
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
