//! The Kafka sink against a real Kafka-protocol broker (Tansu) on 127.0.0.1.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use crate::harness::*;

/// Numbers each read, so that no two consumers share a group.
static READS: AtomicUsize = AtomicUsize::new(0);

/// The broker binary: `TANSU`, else `tansu` on the PATH or in ~/.cargo/bin.
fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return path.into();
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let installed = home.join(".cargo/bin/tansu");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("tansu")
    }
}

/// A Tansu broker with SQLite storage, which survives restarts.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// Clients must authenticate with SASL (`--authentication`).
    authentication: bool,
}

impl Broker {
    /// Starts a broker that requires SASL, knowing one SCRAM-SHA-512 user and holding
    /// `topics`. Both are created on an open broker, which then restarts on the same
    /// storage with authentication required.
    pub fn start_with_user(name: &str, password: &str, topics: &[&str]) -> Broker {
        let mut broker = Broker::start();
        for topic in topics {
            broker.create_topic(topic);
        }
        let status = Command::new(tansu())
            .args(["user", "create", name, password, "--mechanism", "scram512"])
            .args(["--broker", &format!("tcp://{}", broker.addr())])
            .stdout(Stdio::null())
            .status()
            .expect("run tansu user create");
        assert!(status.success(), "tansu user create failed");
        broker.authentication = true;
        broker.restart();
        broker
    }

    pub fn start() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut broker = Broker {
            child: None,
            port,
            dir,
            authentication: false,
        };
        broker.spawn();
        broker.index_headers();
        broker
    }

    /// Tansu 0.6.0 lacks an index on `header`, so a fetch scans all headers once per
    /// record and reading 10,000 messages with headers takes minutes. Retried until
    /// Tansu has created its tables.
    fn index_headers(&self) {
        let sql =
            "create index if not exists header_topition_offset on header (topition, offset_id);";
        wait_for("an index on Tansu's header table", || {
            let status = Command::new("sqlite3")
                .args(["-cmd", ".timeout 10000", "tansu.db", sql])
                .current_dir(self.dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run sqlite3 (scripts/install-test-deps.sh installs it)");
            status.success().then_some(())
        });
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let url = format!("tcp://{}", self.addr());
        let log_path = self.dir.path().join("broker.log");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut command = Command::new(tansu());
        command
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            // Tansu reads a sqlite:// path relative to its working folder.
            .args(["--storage-engine", "sqlite://tansu.db"]);
        if self.authentication {
            command.arg("--authentication");
        }
        let child = command
            .current_dir(self.dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start tansu ({}): {e}; run scripts/test.sh",
                    tansu().display()
                )
            });
        let addr = self.addr();
        let child = self.child.insert(child);
        wait_for("the broker to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("tansu exited ({status}) before listening:\n{said}");
            }
            std::net::TcpStream::connect(&addr).ok().map(drop)
        });
    }

    /// Stops the broker process at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn create_topic(&self, name: &str) {
        let status = Command::new(tansu())
            .args(["topic", "create", name, "--partitions", "1"])
            .args(["--broker", &format!("tcp://{}", self.addr())])
            .stdout(Stdio::null())
            .status()
            .expect("run tansu topic create");
        assert!(status.success(), "tansu topic create {name} failed");
    }

    /// Every message on partition 0 of `topic`, read by an independent consumer.
    pub fn read_all(&self, topic: &str, expected: usize) -> Vec<Received> {
        self.read_all_as(topic, expected, &ClientConfig::new())
    }

    /// Like [`Broker::read_all`], with extra consumer settings such as SASL.
    pub fn read_all_as(&self, topic: &str, expected: usize, base: &ClientConfig) -> Vec<Received> {
        let group = format!(
            "it-{}-{}",
            std::process::id(),
            READS.fetch_add(1, Ordering::Relaxed)
        );
        let consumer: BaseConsumer = base
            .clone()
            .set("bootstrap.servers", self.addr())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut partitions = TopicPartitionList::new();
        partitions
            .add_partition_offset(topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&partitions).unwrap();
        let mut received = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        let mut quiet_since = Instant::now();
        while Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(message)) => {
                    received.push(Received::from(&message));
                    quiet_since = Instant::now();
                }
                Some(Err(error)) => panic!("consumer error: {error}"),
                None if received.len() >= expected
                    && quiet_since.elapsed() > Duration::from_secs(2) =>
                {
                    break;
                }
                None => {}
            }
        }
        if received.len() < expected {
            let marks = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10));
            let log =
                std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default();
            let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
            eprintln!(
                "read {} of {expected} from {topic}; watermarks {marks:?}; broker log, newest first:\n{tail}",
                received.len()
            );
        }
        received
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message as a consumer sees it.
#[derive(Debug)]
pub struct Received {
    pub key: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl Received {
    fn from(message: &impl Message) -> Self {
        let mut headers = BTreeMap::new();
        if let Some(list) = message.headers() {
            for header in list.iter() {
                let value = header
                    .value
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                headers.insert(header.key.to_owned(), value);
            }
        }
        Received {
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            headers,
            body: serde_json::from_slice(message.payload().unwrap_or_default())
                .expect("a JSON body"),
        }
    }

    pub fn id(&self) -> u64 {
        self.body["event_id"].as_u64().expect("an event id")
    }
}

fn kafka_sink(broker: &Broker, topic: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"kafka\"\nname = \"kafka\"\nbrokers = [\"{}\"]\ntopic = \"{topic}\"\n\
         delivery_timeout = \"5s\"\nmax_backoff = \"2s\"\n{extra}",
        broker.addr()
    )
}

#[test]
fn a_10000_event_backfill_reaches_the_topic_once_with_key_headers_and_body() {
    let broker = Broker::start();
    broker.create_topic("own-audit.sim");
    let sim = Sim::start(&["--events", "10000"]);
    let mut setup = Setup::new();
    setup.extra_sink = kafka_sink(&broker, "own-audit.{source}", "");
    let daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let expected = sim.all_ids();
    let received = broker.read_all("own-audit.sim", expected.len());
    let ids: Vec<u64> = received.iter().map(Received::id).collect();
    assert_exactly_once_in_order(&ids, &expected);
    let file = setup.events();
    for (message, line) in received.iter().zip(&file) {
        assert_eq!(
            message.key.as_deref(),
            Some(message.id().to_string().as_str())
        );
        assert_eq!(
            &message.body, line,
            "the Kafka body differs from the canonical JSON"
        );
        assert_eq!(message.headers["source"], "sim");
        assert_eq!(message.headers["region"], "custom");
        assert_eq!(message.headers["format"], "json");
        assert_eq!(
            message.headers["event_key"],
            message.body["key"].as_str().unwrap_or("")
        );
    }
    assert_eq!(daemon.stop().code(), Some(0));
}

#[test]
fn a_broker_outage_loses_nothing_and_the_checkpoint_never_passes_what_the_broker_holds() {
    let mut broker = Broker::start();
    broker.create_topic("audit");
    let sim = Sim::start(&["--events", "20000", "--latency", "20ms"]);
    let mut setup = Setup::new();
    setup.extra_sink = kafka_sink(&broker, "audit", "");
    let daemon = setup.start(&sim);
    wait_for("a partial backfill", || {
        (setup.checkpoint()? > 4000).then_some(())
    });

    broker.kill();
    std::thread::sleep(Duration::from_secs(3));
    let during_outage = setup.checkpoint().expect("a checkpoint");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        setup.checkpoint(),
        Some(during_outage),
        "the checkpoint moved with the broker down"
    );
    // Freeze the daemon's view: kill it while the broker is down, then check that the
    // broker holds every event up to the checkpoint.
    daemon.kill9();
    broker.restart();
    let ids: HashSet<u64> = broker
        .read_all("audit", 1)
        .iter()
        .map(Received::id)
        .collect();
    let covered: Vec<u64> = sim
        .all_ids()
        .into_iter()
        .filter(|id| *id <= during_outage)
        .collect();
    let missing: Vec<&u64> = covered.iter().filter(|id| !ids.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} checkpointed events are not on the topic",
        missing.len()
    );

    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let expected = sim.all_ids();
    let received: HashSet<u64> = broker
        .read_all("audit", expected.len())
        .iter()
        .map(Received::id)
        .collect();
    let lost: Vec<&u64> = expected
        .iter()
        .filter(|id| !received.contains(id))
        .collect();
    assert!(lost.is_empty(), "{} events were lost", lost.len());
}

#[test]
fn an_event_too_large_for_kafka_is_dead_lettered_and_later_events_flow() {
    let broker = Broker::start();
    broker.create_topic("audit");
    let sim = Sim::start(&["--events", "2200", "--oversized-every", "1000"]);
    let mut setup = Setup::new();
    setup.extra_sink = kafka_sink(&broker, "audit", "message_max_bytes = 100000\n");
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());

    let letters = read_ndjson(&setup.path("state/dead-letter.ndjson"));
    assert_eq!(
        letters.len(),
        2,
        "expected the two oversized events: {letters:?}"
    );
    for letter in &letters {
        assert_eq!(letter["sink"], "kafka");
        assert_eq!(letter["reason"], "too_large");
        assert!(letter["event"]["event_id"].is_u64());
    }
    let dead: HashSet<u64> = letters
        .iter()
        .map(|l| l["event"]["event_id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = sim
        .all_ids()
        .into_iter()
        .filter(|id| !dead.contains(id))
        .collect();
    let ids: Vec<u64> = broker
        .read_all("audit", expected.len())
        .iter()
        .map(Received::id)
        .collect();
    assert_exactly_once_in_order(&ids, &expected);
}

/// The value of one series in a Prometheus text scrape, 0 when absent.
fn metric(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn refused_sasl_credentials_keep_the_sink_unready_with_a_clear_error_and_no_hot_loop() {
    let broker = Broker::start_with_user("forwarder", "right-password", &["audit"]);
    let sim = Sim::start(&["--events", "3000"]);
    let mut setup = Setup::new();
    std::fs::write(setup.path("kafka-password"), "wrong-password\n").unwrap();
    let sasl = format!(
        "[sinks.sasl]\nmechanism = \"SCRAM-SHA-512\"\nusername = \"forwarder\"\n\
         password_file = \"{}\"\n",
        setup.path("kafka-password").display()
    );
    setup.extra_sink = kafka_sink(&broker, "audit", &sasl);
    let mut daemon = setup.start(&sim);
    let telemetry = daemon.telemetry();
    let readyz = format!("http://{telemetry}/readyz");

    wait_for("/readyz to report the refused credentials", || {
        let report = http_text(&readyz);
        (http_status(&readyz) == 503 && report.contains("authentication")).then_some(())
    });
    wait_for("the operator hint in the logs", || {
        daemon
            .log_lines()
            .iter()
            .any(|line| {
                line["level"] == "ERROR"
                    && line["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("[sinks.sasl]"))
            })
            .then_some(())
    });

    // librdkafka backs off between attempts: a few failures in ten seconds, not thousands.
    let series = "own_audit_sink_errors_total{sink=\"kafka\",reason=\"authentication\"}";
    let before = metric(&http_text(&format!("http://{telemetry}/metrics")), series);
    std::thread::sleep(Duration::from_secs(10));
    let after = metric(&http_text(&format!("http://{telemetry}/metrics")), series);
    assert!(
        after - before <= 30.0,
        "{} authentication failures in 10s",
        after - before
    );
    assert!(daemon.alive(), "the daemon exited");
    assert_eq!(
        setup.checkpoint(),
        None,
        "the checkpoint moved while Kafka refused us"
    );
    assert!(
        !daemon.logs().contains("wrong-password"),
        "the SASL password was logged"
    );
    assert_eq!(daemon.stop().code(), Some(0));

    // With the right password the backlog flows, and SCRAM really authenticated it.
    std::fs::write(setup.path("kafka-password"), "right-password\n").unwrap();
    let _daemon = setup.start(&sim);
    wait_for_checkpoint(&setup, sim.last_event_id());
    let mut consumer = ClientConfig::new();
    consumer
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanism", "SCRAM-SHA-512")
        .set("sasl.username", "forwarder")
        .set("sasl.password", "right-password");
    let expected = sim.all_ids();
    let ids: Vec<u64> = broker
        .read_all_as("audit", expected.len(), &consumer)
        .iter()
        .map(Received::id)
        .collect();
    assert_exactly_once_in_order(&ids, &expected);
}
