//! The whole sink against an in-process HTTP server.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

use super::*;
use crate::config::{SinkConfig, load_str};
use crate::event::{Event, Origin, encode_json};
use crate::telemetry::Health;

/// What the server saw, and what it answers next.
#[derive(Default)]
struct Server {
    requests: Mutex<Vec<(HeaderMap, Vec<u8>)>>,
    /// Status, body and delay of the next answers; then 200.
    answers: Mutex<VecDeque<(u16, &'static str, Duration)>>,
    always: Mutex<Option<u16>>,
}

async fn answer(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    server
        .requests
        .lock()
        .unwrap()
        .push((headers, body.to_vec()));
    let next = server.answers.lock().unwrap().pop_front();
    let always = *server.always.lock().unwrap();
    let (code, text, delay) = next.unwrap_or((always.unwrap_or(200), "ok", Duration::ZERO));
    tokio::time::sleep(delay).await;
    (StatusCode::from_u16(code).unwrap(), text.to_owned())
}

async fn serve(server: &Arc<Server>) -> String {
    let app = Router::new()
        .route("/in", post(answer))
        .route("/health", get(answer))
        .with_state(Arc::clone(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn config(extra: &str) -> HttpSinkConfig {
    let toml = format!(
        "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\n\
         api_token_env = \"T\"\n[[sinks]]\ntype = \"http\"\nname = \"h\"\n{extra}"
    );
    match load_str(&toml).unwrap().sinks.remove(0) {
        SinkConfig::Http(http) => *http,
        other => panic!("not http: {other:?}"),
    }
}

/// Writes a secret to a file in `dir`; returns its path.
fn secret_file(dir: &tempfile::TempDir, name: &str, value: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, value).unwrap();
    path.display().to_string()
}

fn build(config: &HttpSinkConfig) -> (HttpSink, Health) {
    let health = Health::default();
    let sink = HttpSink::new(config, util::Status::new("h", health.clone())).unwrap();
    (sink, health)
}

fn events(n: u64) -> Vec<(Event, Vec<u8>)> {
    let origin = Origin::new("prod", "app1");
    (1..=n)
        .map(|id| {
            let entry = format!(r#"{{"event_id":{id},"created_at":"2024-01-01T00:00:00Z"}}"#);
            let raw = serde_json::value::RawValue::from_string(entry).unwrap();
            let event = Event::from_api(raw, &origin, jiff::Timestamp::now()).unwrap();
            let mut payload = Vec::new();
            encode_json(&event, &mut payload);
            (event, payload)
        })
        .collect()
}

async fn send(sink: &HttpSink, stop: &CancellationToken, n: u64) -> Result<Vec<Rejected>, Aborted> {
    let events = events(n);
    let records: Vec<Record<'_>> = events
        .iter()
        .map(|(event, payload)| Record { event, payload })
        .collect();
    sink.send(&records, stop).await
}

#[tokio::test]
async fn a_batch_is_posted_with_its_headers_signed_and_acknowledged_on_2xx() {
    let dir = tempfile::tempdir().unwrap();
    let token = secret_file(&dir, "token", "tok-1");
    let key = secret_file(&dir, "key", "key-1");
    let server = Arc::new(Server::default());
    let url = serve(&server).await;
    let (sink, _) = build(&config(&format!(
        "url = \"{url}/in\"\n[sinks.auth]\nstrategy = \"bearer\"\ntoken_file = \"{token}\"\n\
         [sinks.headers]\nX-Team = \"sec\"\n[sinks.signing]\nkey_file = \"{key}\"\n"
    )));
    let rejected = send(&sink, &CancellationToken::new(), 3).await;
    assert_eq!(rejected.unwrap(), []);

    let requests = server.requests.lock().unwrap();
    let (headers, body) = &requests[0];
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["authorization"], "Bearer tok-1");
    assert_eq!(headers["x-team"], "sec");
    let ids: Vec<Value> = serde_json::from_slice::<Vec<Value>>(body)
        .unwrap()
        .into_iter()
        .map(|e| e["event_id"].clone())
        .collect();
    assert_eq!(ids, [1, 2, 3]);

    let timestamp = headers["x-own-audit-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"key-1").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-own-audit-signature"], expected.as_str());
}

#[tokio::test]
async fn a_refusal_names_the_status_and_never_echoes_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = secret_file(&dir, "token", "tok-secret-1\n");
    let server = Arc::new(Server::default());
    server
        .answers
        .lock()
        .unwrap()
        .push_back((422, "bad token tok-secret-1", Duration::ZERO));
    let url = serve(&server).await;
    let (sink, health) = build(&config(&format!(
        "url = \"{url}/in\"\n[sinks.auth]\nstrategy = \"splunk\"\ntoken_file = \"{token}\"\n"
    )));
    let rejected = send(&sink, &CancellationToken::new(), 2).await.unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0].reason, "refused");
    assert!(rejected[0].detail.contains("422"), "{}", rejected[0].detail);
    assert!(
        !rejected[0].detail.contains("tok-secret-1"),
        "{}",
        rejected[0].detail
    );
    let report = health.report();
    assert!(!report.sinks["h"].ready);
    assert!(!report.sinks["h"].detail.contains("tok-secret-1"));
}

#[tokio::test]
async fn refused_credentials_hold_the_events_until_the_endpoint_takes_them() {
    let server = Arc::new(Server::default());
    for status in [401, 403, 404] {
        server
            .answers
            .lock()
            .unwrap()
            .push_back((status, "no", Duration::ZERO));
    }
    let url = serve(&server).await;
    let (sink, _health) = build(&config(&format!("url = \"{url}/in\"\n")));
    let rejected = send(&sink, &CancellationToken::new(), 3).await.unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(
        server.answers.lock().unwrap().is_empty(),
        "not every refusal was retried"
    );
}

#[tokio::test]
async fn a_stalled_request_times_out_and_is_sent_again() {
    let server = Arc::new(Server::default());
    server
        .answers
        .lock()
        .unwrap()
        .push_back((200, "late", Duration::from_secs(30)));
    let url = serve(&server).await;
    let mut config = config(&format!("url = \"{url}/in\"\n"));
    config.request_timeout = Duration::from_millis(300);
    let (sink, _) = build(&config);
    assert_eq!(send(&sink, &CancellationToken::new(), 1).await.unwrap(), []);
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn stopping_abandons_a_send_that_is_being_retried() {
    let server = Arc::new(Server::default());
    *server.always.lock().unwrap() = Some(503);
    let url = serve(&server).await;
    let (sink, _) = build(&config(&format!("url = \"{url}/in\"\n")));
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    assert_eq!(send(&sink, &stop, 1).await, Err(Aborted));
}

#[tokio::test]
async fn the_health_url_decides_health_and_its_query_is_never_shown() {
    let server = Arc::new(Server::default());
    let url = serve(&server).await;
    let (sink, _) = build(&config(&format!(
        "url = \"{url}/in\"\nhealth_url = \"{url}/health?key=zzz\"\n"
    )));
    assert!(sink.health().await.is_ok());
    server
        .answers
        .lock()
        .unwrap()
        .push_back((503, "busy", Duration::ZERO));
    let error = sink.health().await.unwrap_err().to_string();
    assert!(
        error.contains("503") && error.contains("/health"),
        "{error}"
    );
    assert!(!error.contains("zzz"), "{error}");
    let (unprobed, _) = build(&config(&format!("url = \"{url}/in\"\n")));
    assert!(unprobed.health().await.is_ok());
}
