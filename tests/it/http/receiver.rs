//! A real HTTP receiver on 127.0.0.1 for the HTTP sink's tests: it records every request
//! and answers as told (503 storms, 429 with `Retry-After`, 400 or 413 for marked events,
//! stalls), over plain HTTP or TLS.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::oneshot;

/// An answer given once, before the standing rules.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Status(u16),
    /// 429 with `Retry-After: N` seconds.
    RetryAfter(u64),
    /// Waits this long, then answers 503.
    Stall(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    pub path: String,
    pub headers: HeaderMap,
    /// The body as sent, compressed or not.
    pub raw: Vec<u8>,
    /// The JSON values in the (decompressed) body: array items, lines or envelopes.
    pub values: Vec<Value>,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Rules {
    requests: Vec<Request>,
    faults: VecDeque<Fault>,
    storm: bool,
    poison: HashMap<u64, u16>,
    health: Option<u16>,
    accepted: Vec<u64>,
}

/// The receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    rules: Arc<Mutex<Rules>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Serves plain HTTP.
    pub fn start() -> Receiver {
        Self::spawn(None)
    }

    /// Serves HTTPS with this PEM certificate chain and key.
    pub fn start_tls(cert_pem: String, key_pem: String) -> Receiver {
        Self::spawn(Some((cert_pem, key_pem)))
    }

    fn spawn(tls: Option<(String, String)>) -> Receiver {
        let rules = Arc::new(Mutex::new(Rules::default()));
        let app = Router::new()
            .route("/health", get(health))
            .route("/{*path}", post(receive))
            .with_state(Arc::clone(&rules));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the receiver");
            runtime.block_on(async move {
                let served = async {
                    match tls {
                        None => {
                            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                            let _ = axum::serve(listener, app).await;
                        }
                        Some((cert, key)) => {
                            use axum_server::tls_rustls::{RustlsConfig, from_tcp_rustls};
                            let config = RustlsConfig::from_pem(cert.into(), key.into())
                                .await
                                .expect("a TLS configuration");
                            let server = from_tcp_rustls(listener, config).expect("a TLS server");
                            let _ = server.serve(app.into_make_service()).await;
                        }
                    }
                };
                tokio::select! {
                    () = served => {}
                    _ = stopped => {}
                }
            });
        });
        Receiver {
            addr,
            rules,
            stop: Some(stop),
        }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Answers the next requests with these faults, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.rules().faults.extend(faults.iter().copied());
    }

    /// While on, every request gets 503.
    pub fn storm(&self, on: bool) {
        self.rules().storm = on;
    }

    /// A request holding this event gets `status`.
    pub fn poison(&self, event_id: u64, status: u16) {
        self.rules().poison.insert(event_id, status);
    }

    /// The status of `GET /health`; 200 by default.
    pub fn health(&self, status: u16) {
        self.rules().health = Some(status);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.rules().requests.clone()
    }

    /// Event ids of the requests answered 2xx, in the order received.
    pub fn accepted(&self) -> Vec<u64> {
        self.rules().accepted.clone()
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn health(State(rules): State<Arc<Mutex<Rules>>>) -> StatusCode {
    let status = rules.lock().unwrap().health.unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

async fn receive(
    State(rules): State<Arc<Mutex<Rules>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let values = parse(&decoded(&headers, &body));
    let ids: Vec<u64> = values.iter().filter_map(event_id).collect();
    let (fault, status) = {
        let mut rules = rules.lock().unwrap();
        let fault = rules.faults.pop_front();
        let poisoned = ids.iter().find_map(|id| rules.poison.get(id).copied());
        let status = match (fault, rules.storm, poisoned) {
            (Some(Fault::Status(code)), _, _) => code,
            (Some(Fault::RetryAfter(_)), _, _) => 429,
            (Some(Fault::Stall(_)), _, _) | (None, true, _) => 503,
            (None, false, Some(code)) => code,
            (None, false, None) => 200,
        };
        rules.requests.push(Request {
            at,
            path: uri.path().to_owned(),
            headers,
            raw: body.to_vec(),
            values,
            status,
        });
        // Recorded before the answer leaves, so the sender never sees a 2xx first.
        if (200..300).contains(&status) {
            rules.accepted.extend(&ids);
        }
        (fault, status)
    };
    if let Some(Fault::Stall(wait)) = fault {
        tokio::time::sleep(wait).await;
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match fault {
        Some(Fault::RetryAfter(seconds)) => {
            (code, [("retry-after", seconds.to_string())], "slow down").into_response()
        }
        _ => (code, "{\"text\":\"Success\",\"code\":0}").into_response(),
    }
}

/// The body, gunzipped when `Content-Encoding: gzip` says so.
fn decoded(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    if !gzip {
        return body.to_vec();
    }
    let mut out = Vec::new();
    match flate2::read::GzDecoder::new(body).read_to_end(&mut out) {
        Ok(_) => out,
        Err(_) => Vec::new(),
    }
}

/// Every JSON value in a body: the items of an array, NDJSON lines, or concatenated HEC
/// envelopes.
pub fn parse(body: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .filter_map(Result::ok)
        .flat_map(|value| match value {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect()
}

/// The event id of an event, or of the event inside a HEC envelope.
pub fn event_id(value: &Value) -> Option<u64> {
    value
        .get("event_id")
        .or_else(|| value.get("event")?.get("event_id"))?
        .as_u64()
}
