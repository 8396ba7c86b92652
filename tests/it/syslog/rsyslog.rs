//! A real rsyslog on 127.0.0.1, started by the test with its own folder and port.
//!
//! It writes every message it receives as one JSON line, with the fields its own RFC 5424
//! parser found and the structured data as its `mmpstrucdata` module parsed it, so the
//! tests check the sink's output with rsyslog's parsing, not with the sink's code.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::harness::wait_for;

/// Which input rsyslog listens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Udp,
    /// TCP that takes octet-counted frames, and newline frames too (rsyslog tells them
    /// apart by the first byte).
    Tcp,
    /// TCP that takes newline frames only.
    TcpNewline,
    /// TLS with a client certificate required, octet counting.
    Tls,
}

/// One received message as rsyslog parsed it.
#[derive(Debug, Clone)]
pub struct Received {
    pub fields: Value,
}

impl Received {
    pub fn get(&self, name: &str) -> &str {
        self.fields[name].as_str().unwrap_or_default()
    }

    /// The structured data as `mmpstrucdata` parsed it.
    pub fn sd(&self) -> Value {
        serde_json::from_str(self.get("sd")).unwrap_or(Value::Null)
    }

    /// The MSG part as JSON, when it is.
    pub fn body(&self) -> Option<Value> {
        serde_json::from_str(self.get("msg")).ok()
    }

    pub fn id(&self) -> Option<u64> {
        self.sd()["own_audit@32473"]["event_id"]
            .as_str()?
            .parse()
            .ok()
    }
}

/// The files of a test CA, a server certificate for 127.0.0.1 and a client certificate.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    pub fn create(dir: &Path) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "own-audit-forwarder test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let leaf = |names: &[&str], cn: &str| {
            let key = KeyPair::generate().unwrap();
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, cn);
            let cert = params.signed_by(&key, &ca).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(&["localhost", "127.0.0.1"], "localhost");
        let (client_cert, client_key) = leaf(&["it-client"], "it-client");
        Pki {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server_cert),
            server_key: write("server.key", server_key),
            client_cert: write("client.pem", client_cert),
            client_key: write("client.key", client_key),
        }
    }
}

/// An rsyslogd process, restartable on the same port and output file.
pub struct Rsyslog {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub port: u16,
    pub input: Input,
    pub pki: Option<Pki>,
}

impl Rsyslog {
    pub fn start(input: Input) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let port = free_port(input);
        let pki = (input == Input::Tls).then(|| Pki::create(dir.path()));
        let rsyslog = Rsyslog {
            child: None,
            dir,
            port,
            input,
            pki,
        };
        std::fs::write(rsyslog.config_path(), rsyslog.config()).unwrap();
        let mut rsyslog = rsyslog;
        rsyslog.spawn();
        rsyslog
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("rsyslog.conf")
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("received.ndjson")
    }

    fn config(&self) -> String {
        let dir = self.dir.path().display();
        let port = self.port;
        let input = match self.input {
            Input::Udp => format!(
                "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\" \
                 ruleset=\"in\" rcvbufSize=\"16m\")"
            ),
            Input::Tcp => format!(
                "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" \
                 ruleset=\"in\")"
            ),
            Input::TcpNewline => format!(
                "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" \
                 ruleset=\"in\" supportOctetCountedFraming=\"off\")"
            ),
            Input::Tls => {
                let pki = self.pki.as_ref().expect("certificates for TLS");
                format!(
                    "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" \
                     port=\"{port}\" ruleset=\"in\" streamDriver.name=\"gtls\" \
                     streamDriver.mode=\"1\" streamDriver.authMode=\"x509/certvalid\" \
                     streamDriver.CAFile=\"{}\" streamDriver.CertFile=\"{}\" \
                     streamDriver.KeyFile=\"{}\")",
                    pki.ca.display(),
                    pki.server_cert.display(),
                    pki.server_key.display()
                )
            }
        };
        format!(
            r#"global(workDirectory="{dir}/work" maxMessageSize="1m")
module(load="mmpstrucdata")
main_queue(queue.type="Direct")
{input}
template(name="received" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="$!rfc5424-sd" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}}
ruleset(name="in") {{
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file="{dir}/received.ndjson" template="received")
}}
"#
        )
    }

    fn spawn(&mut self) {
        let log_path = self.dir.path().join("rsyslogd.log");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(self.config_path())
            .arg("-i")
            .arg(self.dir.path().join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rsyslogd: {e}; run scripts/test.sh"));
        let (input, port, output) = (self.input, self.port, self.output());
        let child = self.child.insert(child);
        let probes = probes(&output);
        wait_for("rsyslog to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("rsyslogd exited ({status}) before listening:\n{said}");
            }
            listening(input, port, &output, probes).then_some(())
        });
    }

    /// Stops rsyslog as a service manager would (SIGTERM), waits for it, starts it again.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Every message received so far, readiness probes left out.
    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(self.output()).unwrap_or_default();
        text.lines()
            .map(|line| Received {
                fields: serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("rsyslog wrote a line that is not JSON ({e}): {line}")
                }),
            })
            .filter(|r| r.get("app_name") != "probe")
            .collect()
    }

    /// How many messages have arrived, probes left out, without parsing them.
    pub fn count(&self) -> usize {
        let text = std::fs::read(self.output()).unwrap_or_default();
        let lines = text.iter().filter(|b| **b == b'\n').count();
        lines.saturating_sub(probes(&self.output()))
    }

    /// Waits until at least `count` messages have arrived.
    pub fn wait_for_count(&self, count: usize) {
        wait_for(&format!("{count} messages at rsyslog"), || {
            (self.count() >= count).then_some(())
        });
    }

    /// Waits until at least `count` messages have arrived, and returns them all.
    pub fn wait_for_messages(&self, count: usize) -> Vec<Received> {
        self.wait_for_count(count);
        self.received()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port(input: Input) -> u16 {
    match input {
        Input::Udp => std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port()),
        _ => std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port()),
    }
    .expect("a free port")
}

/// TCP: the port accepts. UDP: a new probe datagram has come out the other end.
fn listening(input: Input, port: u16, output: &Path, probes_before: usize) -> bool {
    if input != Input::Udp {
        return std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    }
    let probe = b"<14>1 - - probe - - - ready";
    let sent = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.send_to(probe, ("127.0.0.1", port)));
    sent.is_ok() && probes(output) > probes_before
}

fn probes(output: &Path) -> usize {
    let text = std::fs::read_to_string(output).unwrap_or_default();
    text.matches("\"app_name\":\"probe\"").count()
}
