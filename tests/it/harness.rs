//! Starting the simulator and the daemon as processes, and reading what they produced.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_own-audit-forwarder")
}

/// How long any wait in a test may take before it fails. Generous: the machine is shared.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `probe` every 50 ms until it returns `Some`, or panics with `what`.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A simulator process.
pub struct Sim {
    child: Child,
    pub addr: String,
    /// The API token the simulator accepts now; the tests' own reads use it.
    api_token: std::sync::Mutex<String>,
}

impl Sim {
    /// Starts `own-audit-forwarder sim` on a free port with these extra flags.
    pub fn start(args: &[&str]) -> Sim {
        // No live trickle unless a test asks for one, so that the log is fixed.
        let trickle: &[&str] = if args.contains(&"--trickle") {
            &[]
        } else {
            &["--trickle", "0"]
        };
        let mut child = Command::new(binary())
            .args(["sim", "--listen", "127.0.0.1:0"])
            .args(trickle)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let stdout = child.stdout.take().expect("simulator stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("read the simulator's first line");
        // Keep reading, so that the simulator never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| panic!("unexpected simulator banner {line:?}"))
            .to_owned();
        Sim {
            child,
            addr,
            api_token: std::sync::Mutex::new("sim-api-token".into()),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1/", self.addr)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/oauth2/v1/token", self.addr)
    }

    pub fn stats(&self) -> Value {
        get_json(&format!("http://{}/_sim/stats", self.addr))
    }

    /// POSTs an admin request such as `fault` or `revoke-access`.
    pub fn admin(&self, path: &str, body: Value) {
        let response = post_json(&format!("http://{}/_sim/{path}", self.addr), &body);
        if let (true, Some(token)) = (path == "api-token", body["token"].as_str()) {
            *self.api_token.lock().unwrap() = token.to_owned();
        }
        assert!(response < 300, "admin {path} answered {response}");
    }

    /// Every token the simulator has granted lately, access and refresh.
    pub fn issued_tokens(&self) -> Vec<String> {
        let stats = self.stats();
        let list = stats["issued_tokens"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }

    /// The id of the newest event in the simulated log.
    pub fn last_event_id(&self) -> u64 {
        self.stats()["last_event_id"]
            .as_u64()
            .expect("the log has events")
    }

    /// The ids of the whole log as the API serves it.
    pub fn all_ids(&self) -> Vec<u64> {
        self.all_events()
            .iter()
            .map(|e| e["event_id"].as_u64().expect("an id"))
            .collect()
    }

    /// The whole log as the API serves it, paged from the start.
    pub fn all_events(&self) -> Vec<Value> {
        let token = self.access_token();
        let mut events: Vec<Value> = Vec::new();
        let mut from: Option<u64> = None;
        loop {
            let url = match from {
                Some(from) => format!("{}events?from={from}", self.base_url()),
                None => format!("{}events", self.base_url()),
            };
            let page = page_ignoring_faults(&url, &token);
            let page_ids: Vec<u64> = page
                .iter()
                .map(|e| e["event_id"].as_u64().expect("id"))
                .collect();
            let inclusive = from.is_some() && page_ids.first() == from.as_ref();
            let full = page.len() >= 1000;
            events.extend(page.into_iter().skip(usize::from(inclusive)));
            if !full {
                return events;
            }
            from = page_ids.last().copied();
        }
    }

    fn access_token(&self) -> String {
        let form = [
            ("grant_type", "refresh_token"),
            ("scope", "api:access"),
            ("refresh_token", &self.api_token.lock().unwrap().clone()),
            ("client_id", "0oa4c413eq8wwcEzP4h7"),
        ];
        let grant: Value = client()
            .post(self.token_url())
            .form(&form)
            .send()
            .and_then(|r| r.json())
            .expect("a grant");
        grant["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

fn get_json(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// One page, asked again while the simulator serves faults to the test as well.
fn page_ignoring_faults(url: &str, token: &str) -> Vec<Value> {
    for _ in 0..100 {
        let response = client().get(url).bearer_auth(token).send();
        let page = response
            .ok()
            .filter(|r| r.status() == 200)
            .and_then(|r| r.json().ok());
        if let Some(page) = page {
            return page;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("GET {url} kept failing")
}

/// POSTs JSON and returns the status code.
fn post_json(url: &str, body: &Value) -> u16 {
    client()
        .post(url)
        .json(body)
        .send()
        .map_or(0, |r| r.status().as_u16())
}

/// HTTP status of a GET, 0 when nothing answered.
pub fn http_status(url: &str) -> u16 {
    client().get(url).send().map_or(0, |r| r.status().as_u16())
}

/// The body of a GET, as text.
pub fn http_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .and_then(|r| r.text())
        .unwrap_or_default()
}

/// A daemon's working folder: configuration, state, output and logs.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub extra_source: String,
    pub extra_sink: String,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("api-token"), "sim-api-token\n").expect("write the token");
        Setup {
            dir,
            extra_source: String::new(),
            extra_sink: String::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn output(&self) -> PathBuf {
        self.path("events.ndjson")
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.path("state/checkpoints/sim.json")
    }

    /// The checkpointed event id, if any.
    pub fn checkpoint(&self) -> Option<u64> {
        let body = std::fs::read(self.checkpoint_path()).ok()?;
        let value: Value = serde_json::from_slice(&body).ok()?;
        value["last_event_id"].as_u64()
    }

    pub fn write_config(&self, sim: &Sim) -> PathBuf {
        let toml = format!(
            r#"
state_dir = "{state}"
[pipeline]
shutdown_grace = "20s"
[telemetry]
listen = "127.0.0.1:0"
log_format = "json"
log_level = "info,own_audit_forwarder=debug"
[[sources]]
name = "sim"
base_url = "{base}"
token_url = "{token}"
api_token_file = "{token_file}"
poll_interval = "300ms"
max_backoff = "2s"
request_timeout = "5s"
{extra_source}
[[sinks]]
type = "file"
name = "out"
path = "{out}"
{extra_sink}
"#,
            state = self.path("state").display(),
            base = sim.base_url(),
            token = sim.token_url(),
            token_file = self.path("api-token").display(),
            out = self.output().display(),
            extra_source = self.extra_source,
            extra_sink = self.extra_sink,
        );
        let path = self.path("config.toml");
        std::fs::write(&path, toml).expect("write the configuration");
        path
    }

    /// Starts the daemon on this setup; its logs go to `daemon-N.log`.
    pub fn start(&self, sim: &Sim) -> Daemon {
        let config = self.write_config(sim);
        self.start_with_config(&config)
    }

    /// Starts the daemon with a configuration file written beforehand.
    pub fn start_with_config(&self, config: &Path) -> Daemon {
        self.start_with_env(config, &[])
    }

    /// Starts the daemon with extra environment variables.
    pub fn start_with_env(&self, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let n = std::fs::read_dir(self.dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let log = self.path(&format!("daemon-{n}.log"));
        let child = Command::new(binary())
            .args(["run", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"))
            .spawn()
            .expect("start the daemon");
        Daemon {
            child: Some(child),
            log,
        }
    }

    /// Every event line in the output file, parsed.
    pub fn events(&self) -> Vec<Value> {
        read_ndjson(&self.output())
    }

    /// The event ids in the output file, in file order.
    pub fn output_ids(&self) -> Vec<u64> {
        self.events()
            .iter()
            .map(|e| e["event_id"].as_u64().expect("an event id"))
            .collect()
    }
}

pub fn read_ndjson(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad NDJSON line {line:?}: {e}"))
        })
        .collect()
}

/// A running daemon process.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log lines, parsed from JSON.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The telemetry address from the start-up log line.
    pub fn telemetry(&self) -> String {
        wait_for("the daemon's start-up line", || {
            self.log_lines().iter().find_map(|line| {
                (line["message"] == "own-audit-forwarder started")
                    .then(|| line["telemetry"].as_str().map(str::to_owned))
                    .flatten()
            })
        })
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{name} failed");
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        let mut child = self.child.take().expect("a running daemon");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process is still alive.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until the checkpoint reaches `id`.
pub fn wait_for_checkpoint(setup: &Setup, id: u64) {
    wait_for(&format!("the checkpoint to reach {id}"), || {
        setup.checkpoint().filter(|c| *c >= id).map(drop)
    });
}

/// Asserts that `ids` holds each of `expected` exactly once, in order.
pub fn assert_exactly_once_in_order(ids: &[u64], expected: &[u64]) {
    assert_eq!(
        ids.len(),
        expected.len(),
        "event count differs from the log"
    );
    if let Some(pos) = ids.iter().zip(expected).position(|(a, b)| a != b) {
        panic!(
            "first difference at line {pos}: got {}, expected {}",
            ids[pos], expected[pos]
        );
    }
}
