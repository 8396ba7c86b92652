//! Helpers of the HTTP tests: a simulator on `127.0.0.1:0` and a client for it.

use jiff::Timestamp;
use serde_json::Value as Json;

use crate::sim::{SimHandle, SimOptions, SimStats, start};

/// A fixed epoch, so that every test log is the same whatever the day.
pub(crate) fn epoch() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Options for a quiet test log of `events` past events: no trickle, fixed epoch.
pub(crate) fn options(events: u64) -> SimOptions {
    SimOptions {
        events,
        trickle: 0.0,
        epoch: Some(epoch()),
        ..SimOptions::default()
    }
}

/// A running simulator and a client for it.
pub(crate) struct TestSim {
    pub handle: SimHandle,
    pub client: reqwest::Client,
}

/// What a request got back.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Json {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }

    /// The page of events, checking that it is a JSON array.
    pub(crate) fn events(&self) -> Vec<Json> {
        assert_eq!(
            self.status,
            200,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        match self.json() {
            Json::Array(events) => events,
            other => panic!("expected an array, got {other}"),
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

/// The ids of a page.
pub(crate) fn ids(events: &[Json]) -> Vec<u64> {
    events
        .iter()
        .map(|event| event["event_id"].as_u64().expect("integer event_id"))
        .collect()
}

pub(crate) async fn sim(options: SimOptions) -> TestSim {
    let handle = start(options).await.expect("simulator starts");
    TestSim {
        handle,
        client: reqwest::Client::new(),
    }
}

impl TestSim {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.handle.addr())
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("whole body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A token request with the given form fields.
    pub(crate) async fn token_form(&self, form: &[(&str, &str)]) -> Reply {
        let request = self.client.post(self.handle.token_url()).form(form);
        Self::reply(request.send().await.expect("token request")).await
    }

    /// A well-formed grant for `refresh_token`.
    pub(crate) async fn grant(&self, refresh_token: &str) -> Reply {
        self.token_form(&[
            ("grant_type", "refresh_token"),
            ("scope", "api:access"),
            ("refresh_token", refresh_token),
            ("client_id", "0oa4c413eq8wwcEzP4h7"),
        ])
        .await
    }

    /// An access token for the default API token.
    pub(crate) async fn access_token(&self) -> String {
        let reply = self.grant("sim-api-token").await;
        assert_eq!(reply.status, 200);
        reply.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The raw response of an events request, for tests that read the body themselves.
    pub(crate) async fn events_response(
        &self,
        token: &str,
        from: Option<u64>,
    ) -> reqwest::Response {
        let url = match from {
            Some(from) => format!("{}events?from={from}", self.handle.base_url()),
            None => format!("{}events", self.handle.base_url()),
        };
        self.client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("events request")
    }

    pub(crate) async fn events(&self, token: &str, from: Option<u64>) -> Reply {
        Self::reply(self.events_response(token, from).await).await
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().await.expect("GET")).await
    }

    /// `POST` of a raw body to an admin endpoint.
    pub(crate) async fn admin_raw(&self, path: &str, body: &str) -> Reply {
        let request = self.client.post(self.url(path)).body(body.to_owned());
        Self::reply(request.send().await.expect("admin request")).await
    }

    pub(crate) async fn admin(&self, path: &str, body: Json) -> Reply {
        let reply = self.admin_raw(path, &body.to_string()).await;
        assert_eq!(
            reply.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply
    }

    pub(crate) async fn fault(&self, body: Json) {
        self.admin("/_sim/fault", body).await;
    }

    /// The stats as served over HTTP.
    pub(crate) async fn stats(&self) -> SimStats {
        let reply = self.get("/_sim/stats", None).await;
        serde_json::from_slice(&reply.body).expect("stats parse")
    }
}

/// Checks the documented error shape and returns its `error`.
pub(crate) fn error_shape(reply: &Reply) -> String {
    let body = reply.json();
    assert!(body["message"].is_string(), "no message in {body}");
    body["error"]
        .as_str()
        .expect("error is a string")
        .to_owned()
}
