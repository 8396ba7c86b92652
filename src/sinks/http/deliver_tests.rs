//! Retries and splitting against a scripted endpoint, in paused time.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::telemetry::Health;

/// Answers from a script, then by what the request holds.
#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<Outcome>>,
    /// A request holding one of these pieces gets the outcome beside it.
    poison: Vec<(Vec<u8>, Outcome)>,
    /// Every attempt: when, and the pieces it carried.
    log: Mutex<Vec<(Instant, Vec<Vec<u8>>)>>,
    /// When the script is empty and nothing is poisoned: accept (or answer this).
    otherwise: Option<Outcome>,
}

#[async_trait]
impl Endpoint for Arc<Fake> {
    type Body = Vec<Vec<u8>>;

    fn prepare(&self, pieces: &[&[u8]]) -> Result<Self::Body, String> {
        Ok(pieces.iter().map(|p| p.to_vec()).collect())
    }

    async fn post(&self, body: &Self::Body) -> Outcome {
        self.log
            .lock()
            .unwrap()
            .push((Instant::now(), body.clone()));
        if let Some(next) = self.script.lock().unwrap().pop_front() {
            return next;
        }
        let poisoned = self.poison.iter().find(|(p, _)| body.contains(p));
        match (poisoned, &self.otherwise) {
            (Some((_, outcome)), _) | (None, Some(outcome)) => outcome.clone(),
            (None, None) => Outcome::Accepted,
        }
    }
}

fn unavailable(retry_after: Option<Duration>) -> Outcome {
    Outcome::Transient {
        reason: "status_5xx",
        detail: "HTTP 503".into(),
        retry_after,
    }
}

fn refused(reason: &'static str, splittable: bool) -> Outcome {
    Outcome::Refused {
        reason,
        detail: format!("HTTP {reason}"),
        splittable,
    }
}

fn retrying(fake: Fake, total_timeout: Option<Duration>) -> (Retrying<Arc<Fake>>, Health) {
    let health = Health::default();
    health.add_sink("t");
    let retrying = Retrying {
        endpoint: Arc::new(fake),
        policy: Policy {
            first_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            total_timeout,
        },
        sink: "t".into(),
        status: util::Status::new("t", health.clone()),
        failing: Arc::default(),
    };
    (retrying, health)
}

fn pieces(n: u8) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i]).collect()
}

async fn deliver(
    retrying: &Retrying<Arc<Fake>>,
    owned: &[Vec<u8>],
) -> Result<Vec<Refusal>, Aborted> {
    let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    retrying
        .deliver(&refs, &Stops::new([CancellationToken::new()]))
        .await
}

/// The time between consecutive attempts.
fn gaps(fake: &Fake) -> Vec<Duration> {
    let log = fake.log.lock().unwrap();
    log.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff_until_accepted() {
    let fake = Fake {
        script: Mutex::new([unavailable(None), unavailable(None), unavailable(None)].into()),
        ..Fake::default()
    };
    let (retrying, health) = retrying(fake, None);
    assert_eq!(deliver(&retrying, &pieces(3)).await, Ok(Vec::new()));

    let fake = &retrying.endpoint;
    assert_eq!(fake.log.lock().unwrap().len(), 4);
    let gaps = gaps(fake);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(500)),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_secs(16)),
        "{gaps:?}"
    );
    assert!(health.report().sinks["t"].ready);
    assert!(!retrying.failing.load(Ordering::Relaxed));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_instead_of_the_backoff_up_to_an_hour() {
    let fake = Fake {
        script: Mutex::new(
            [
                unavailable(Some(Duration::from_secs(7))),
                unavailable(Some(Duration::from_secs(10 * 3600))),
            ]
            .into(),
        ),
        ..Fake::default()
    };
    let (retrying, _) = retrying(fake, None);
    assert_eq!(deliver(&retrying, &pieces(1)).await, Ok(Vec::new()));
    assert_eq!(
        gaps(&retrying.endpoint),
        [Duration::from_secs(7), MAX_RETRY_AFTER]
    );
}

#[tokio::test(start_paused = true)]
async fn a_poison_event_is_isolated_by_splitting_and_the_rest_delivered_once() {
    let fake = Fake {
        poison: vec![(vec![6], refused("bad_request", true))],
        ..Fake::default()
    };
    let (retrying, _) = retrying(fake, None);
    let refusals = deliver(&retrying, &pieces(10)).await.unwrap();
    assert_eq!(
        refusals,
        [Refusal {
            index: 6,
            reason: "bad_request",
            detail: "HTTP bad_request".into()
        }]
    );
    let log = retrying.endpoint.log.lock().unwrap();
    let delivered: Vec<u8> = log
        .iter()
        .filter(|(_, body)| !body.contains(&vec![6]))
        .flat_map(|(_, body)| body.iter().map(|p| p[0]))
        .collect();
    assert_eq!(delivered, [0, 1, 2, 3, 4, 5, 7, 8, 9]);
    // Halving: a handful of requests, not one per event.
    assert!(log.len() <= 9, "{} requests", log.len());
}

#[tokio::test(start_paused = true)]
async fn a_413_splits_too_and_several_poisons_are_each_found() {
    let fake = Fake {
        poison: vec![
            (vec![0], refused("too_large", true)),
            (vec![9], refused("too_large", true)),
        ],
        ..Fake::default()
    };
    let (retrying, _) = retrying(fake, None);
    let refusals = deliver(&retrying, &pieces(10)).await.unwrap();
    let indexes: Vec<usize> = refusals.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 9]);
    assert!(refusals.iter().all(|r| r.reason == "too_large"));
}

#[tokio::test(start_paused = true)]
async fn other_4xx_refuse_the_whole_request_at_once_and_mark_the_sink_down() {
    let fake = Fake {
        otherwise: Some(refused("refused", false)),
        ..Fake::default()
    };
    let (retrying, health) = retrying(fake, None);
    let refusals = deliver(&retrying, &pieces(4)).await.unwrap();
    assert_eq!(refusals.len(), 4);
    assert_eq!(retrying.endpoint.log.lock().unwrap().len(), 1);
    assert!(!health.report().sinks["t"].ready);
}

#[tokio::test(start_paused = true)]
async fn total_timeout_dead_letters_a_request_that_never_passes() {
    let fake = Fake {
        otherwise: Some(unavailable(None)),
        ..Fake::default()
    };
    let (retrying, health) = retrying(fake, Some(Duration::from_secs(30)));
    let started = Instant::now();
    let refusals = deliver(&retrying, &pieces(2)).await.unwrap();
    assert_eq!(refusals.len(), 2);
    assert!(refusals.iter().all(|r| r.reason == "retries_exhausted"));
    assert!(
        refusals[0].detail.contains("HTTP 503"),
        "{}",
        refusals[0].detail
    );
    // The last attempt is made when the time is up, not one backoff later.
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert!(!health.report().sinks["t"].ready);
}

#[tokio::test(start_paused = true)]
async fn a_request_is_abandoned_only_once_every_sender_stopped() {
    let fake = Fake {
        otherwise: Some(unavailable(None)),
        ..Fake::default()
    };
    let (retrying, _) = retrying(fake, None);
    let (early, late) = (CancellationToken::new(), CancellationToken::new());
    let stops = Stops::new([early.clone(), late.clone()]);
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        early.cancel();
        tokio::time::sleep(Duration::from_secs(50)).await;
        late.cancel();
    });
    let started = Instant::now();
    let owned = pieces(1);
    let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    assert_eq!(retrying.deliver(&refs, &stops).await, Err(Aborted));
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    cancel.await.unwrap();
}
