//! Gathering and cutting requests, against an endpoint that records them, in paused time.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::sinks::http::deliver::{Outcome, Policy};
use crate::sinks::util;
use crate::telemetry::Health;

/// Accepts every request but those holding the poisoned piece, and records each.
#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<Vec<Vec<u8>>>>,
    poison: Option<Vec<u8>>,
}

#[async_trait]
impl Endpoint for Arc<Recorder> {
    type Body = Vec<Vec<u8>>;

    fn prepare(&self, pieces: &[&[u8]]) -> Result<Self::Body, String> {
        Ok(pieces.iter().map(|p| p.to_vec()).collect())
    }

    async fn post(&self, body: &Self::Body) -> Outcome {
        self.requests.lock().unwrap().push(body.clone());
        match &self.poison {
            Some(poison) if body.contains(poison) => Outcome::Refused {
                reason: "bad_request",
                detail: "HTTP 400".into(),
                splittable: true,
            },
            _ => Outcome::Accepted,
        }
    }
}

struct Batcher {
    queue: mpsc::Sender<Submission>,
    recorder: Arc<Recorder>,
}

const AGE: Duration = Duration::from_secs(2);

fn start(recorder: Recorder, max_events: usize, max_bytes: usize) -> Batcher {
    let recorder = Arc::new(recorder);
    let delivery = Retrying {
        endpoint: Arc::clone(&recorder),
        policy: Policy {
            first_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            total_timeout: None,
        },
        sink: "t".into(),
        status: util::Status::new("t", Health::default()),
        failing: Arc::new(AtomicBool::new(false)),
    };
    let limits = Limits {
        max_events,
        max_bytes,
        max_age: AGE,
    };
    let (queue, rx) = mpsc::channel(8);
    tokio::spawn(run(rx, limits, delivery));
    Batcher { queue, recorder }
}

impl Batcher {
    /// Submits pieces for `source`; resolves with the answer and the time it came.
    async fn send(&self, source: &str, pieces: Vec<Vec<u8>>) -> (Vec<Rejected>, Instant) {
        let (reply, answer) = oneshot::channel();
        let submission = Submission {
            source: source.into(),
            pieces,
            stop: CancellationToken::new(),
            reply,
        };
        self.queue.send(submission).await.unwrap();
        let rejected = answer.await.unwrap();
        (rejected, Instant::now())
    }

    fn sizes(&self) -> Vec<usize> {
        let requests = self.recorder.requests.lock().unwrap();
        requests.iter().map(Vec::len).collect()
    }
}

fn pieces(from: u8, n: u8) -> Vec<Vec<u8>> {
    (from..from + n).map(|i| vec![i]).collect()
}

#[tokio::test(start_paused = true)]
async fn a_lone_source_is_sent_at_once_without_waiting_for_max_age() {
    let batcher = start(Recorder::default(), 100, 1_000_000);
    let started = Instant::now();
    let (rejected, at) = batcher.send("a", pieces(0, 3)).await;
    assert!(rejected.is_empty());
    assert_eq!(at, started);
    let (_, at) = batcher.send("a", pieces(3, 2)).await;
    assert_eq!(at, started);
    assert_eq!(batcher.sizes(), [3, 2]);
}

#[tokio::test(start_paused = true)]
async fn sources_sharing_the_sink_share_requests_and_a_silent_one_costs_at_most_max_age() {
    let batcher = start(Recorder::default(), 100, 1_000_000);
    batcher.send("a", pieces(0, 1)).await;
    // "b" is new: it waits for "a", which does not come.
    let started = Instant::now();
    let (_, at) = batcher.send("b", pieces(1, 1)).await;
    assert_eq!(at - started, AGE);

    let started = Instant::now();
    let (a, b) = tokio::join!(
        batcher.send("a", pieces(2, 2)),
        batcher.send("b", pieces(4, 3))
    );
    assert_eq!((a.1, b.1), (started, started));
    assert_eq!(batcher.sizes(), [1, 1, 5]);
}

#[tokio::test(start_paused = true)]
async fn requests_keep_to_max_events_and_max_bytes() {
    let batcher = start(Recorder::default(), 4, 1_000_000);
    batcher.send("a", pieces(0, 10)).await;
    assert_eq!(batcher.sizes(), [4, 4, 2]);

    // Each 100-byte piece counts 101 with its separator: two fit in 250 bytes, and a
    // piece larger than the limit goes alone.
    let batcher = start(Recorder::default(), 100, 250);
    let mut big = vec![vec![1u8; 100]; 5];
    big.insert(2, vec![2u8; 400]);
    batcher.send("a", big).await;
    assert_eq!(batcher.sizes(), [2, 1, 2, 1]);
}

#[tokio::test(start_paused = true)]
async fn refusals_go_back_to_the_right_sender_and_index() {
    let recorder = Recorder {
        poison: Some(vec![5]),
        ..Recorder::default()
    };
    let batcher = start(recorder, 100, 1_000_000);
    batcher.send("a", pieces(0, 1)).await;
    batcher.send("b", pieces(1, 1)).await;
    let (a, b) = tokio::join!(
        batcher.send("a", pieces(2, 3)),
        batcher.send("b", pieces(5, 3))
    );
    assert!(a.0.is_empty(), "{:?}", a.0);
    let indexes: Vec<usize> = b.0.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0]);
    assert_eq!(b.0[0].reason, "bad_request");
}

#[tokio::test(start_paused = true)]
async fn a_sender_that_gave_up_is_not_sent() {
    let batcher = start(Recorder::default(), 100, 1_000_000);
    let (reply, answer) = oneshot::channel();
    drop(answer);
    let gone = Submission {
        source: "a".into(),
        pieces: pieces(0, 3),
        stop: CancellationToken::new(),
        reply,
    };
    batcher.queue.send(gone).await.unwrap();
    batcher.send("a", pieces(3, 1)).await;
    assert_eq!(batcher.sizes(), [1]);
}

#[test]
fn chunks_cover_every_piece_once_in_order() {
    let owned: Vec<Vec<u8>> = (0..23).map(|i| vec![0; i * 7 % 50]).collect();
    let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let limits = Limits {
        max_events: 5,
        max_bytes: 90,
        max_age: AGE,
    };
    let ranges = chunks(&refs, &limits);
    let flat: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
    assert_eq!(flat, (0..23).collect::<Vec<_>>());
    for range in ranges {
        let bytes: usize = refs[range.clone()].iter().map(|p| framed_len(p)).sum();
        assert!(range.len() <= 5);
        assert!(
            range.len() == 1 || bytes <= 90,
            "{range:?} holds {bytes} bytes"
        );
    }
}
