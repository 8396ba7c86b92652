//! The sink against plain sockets on 127.0.0.1; `tests/it/syslog.rs` runs it against
//! rsyslog.

use std::sync::Arc;

use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

use super::*;
use crate::config::{SinkConfig, load_str};
use crate::event::{Event, Origin};
use crate::telemetry::Health;

fn sink(address: &str, extra: &str) -> SyslogSink {
    let toml = format!(
        "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\napi_token_env = \"T\"\n\
         [[sinks]]\ntype = \"syslog\"\nname = \"siem\"\naddress = \"{address}\"\n\
         connect_timeout = \"5s\"\nmax_backoff = \"1s\"\n{extra}"
    );
    let config = match load_str(&toml).unwrap().sinks.remove(0) {
        SinkConfig::Syslog(syslog) => *syslog,
        other => panic!("not syslog: {other:?}"),
    };
    SyslogSink::new(&config, util::Status::new("siem", Health::default())).unwrap()
}

fn events(ids: std::ops::Range<u64>) -> Vec<(Event, Vec<u8>)> {
    let origin = Arc::new(Origin {
        source: "s".into(),
        region: "app1".into(),
        host: "h".into(),
        version: "0",
    });
    ids.map(|id| {
        let json = format!(r#"{{"event_id":{id},"created_at":"2024-01-01T00:00:00Z","key":"k"}}"#);
        let raw = RawValue::from_string(json.clone()).unwrap();
        let event = Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).unwrap();
        (event, json.into_bytes())
    })
    .collect()
}

async fn send(sink: &SyslogSink, events: &[(Event, Vec<u8>)]) {
    let records: Vec<Record<'_>> = events
        .iter()
        .map(|(event, payload)| Record { event, payload })
        .collect();
    let rejected = sink.send(&records, &CancellationToken::new()).await;
    assert_eq!(rejected, Ok(Vec::new()));
}

/// Reads `count` newline-framed messages and returns the event ids in them.
async fn read_ids(lines: &mut (impl AsyncBufReadExt + Unpin), count: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let mut line = String::new();
        lines.read_line(&mut line).await.unwrap();
        let start = line.find("event_id=\"").expect("an event id") + 10;
        let end = start + line[start..].find('"').unwrap();
        ids.push(line[start..end].parse().unwrap());
    }
    ids
}

#[tokio::test]
async fn a_closed_connection_is_opened_again_and_the_last_messages_are_sent_again() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sink = sink(&address, "framing = \"newline\"\n");

    send(&sink, &events(1..3)).await;
    let (first, _) = listener.accept().await.unwrap();
    let mut first = BufReader::new(first);
    assert_eq!(read_ids(&mut first, 2).await, [1, 2]);
    drop(first);
    // The receiver went away; wait until the sink's watcher has seen it.
    loop {
        let state = sink.state.lock().await;
        if state.connection.as_ref().is_some_and(Connection::is_closed) {
            break;
        }
        drop(state);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    send(&sink, &events(3..4)).await;
    let (second, _) = listener.accept().await.unwrap();
    let mut second = BufReader::new(second);
    assert_eq!(read_ids(&mut second, 3).await, [1, 2, 3]);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_batch_once_it_listens() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = Arc::new(sink(&format!("127.0.0.1:{port}"), ""));
    let sending = tokio::spawn({
        let sink = Arc::clone(&sink);
        async move { send(&sink, &events(1..2)).await }
    });
    assert!(sink.health().await.is_err());

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut frame = Vec::new();
    reader.read_until(b' ', &mut frame).await.unwrap();
    let length: usize = String::from_utf8_lossy(&frame)
        .trim()
        .parse()
        .expect("an octet count");
    let mut message = vec![0u8; length];
    reader.read_exact(&mut message).await.unwrap();
    assert!(message.starts_with(b"<134>1 2024-01-01T00:00:00.000Z "));
    sending.await.unwrap();
    assert!(sink.health().await.is_ok());
}

#[tokio::test]
async fn a_stop_ends_a_send_that_cannot_connect() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = sink(&format!("127.0.0.1:{port}"), "");
    let batch = events(1..2);
    let records: Vec<Record<'_>> = batch
        .iter()
        .map(|(event, payload)| Record { event, payload })
        .collect();
    let stop = CancellationToken::new();
    stop.cancel();
    assert_eq!(sink.send(&records, &stop).await, Err(Aborted));
}

#[tokio::test]
async fn udp_sends_one_datagram_per_event_within_the_limit() {
    let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    let sink = sink(&address, "transport = \"udp\"\n");
    let mut batch = events(1..3);
    batch[1].1 = format!("{{\"big\":\"{}\"}}", "x".repeat(5000)).into_bytes();

    send(&sink, &batch).await;
    let mut buf = vec![0u8; 65536];
    let first = receiver.recv(&mut buf).await.unwrap();
    assert!(
        buf[..first].ends_with(br#"{"event_id":1,"created_at":"2024-01-01T00:00:00Z","key":"k"}"#)
    );
    let second = receiver.recv(&mut buf).await.unwrap();
    assert!(second <= 2048 && second > 2000, "{second}");
    assert!(buf[..second].ends_with(b"...[truncated from 5010 bytes]"));
}

#[tokio::test]
async fn a_receiver_that_stops_reading_makes_the_write_time_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
        protocol: Protocol::Tcp,
        connect_timeout: Duration::from_secs(5),
    };
    let Connection::Stream(mut stream) = endpoint.connect().await.unwrap() else {
        panic!("a stream")
    };
    let (_never_read, _) = listener.accept().await.unwrap();
    // Far more than the socket buffers of both ends hold.
    let batch = vec![b'x'; 64 << 20];
    let error = stream
        .write(&batch, &endpoint.address(), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(error.label(), "timeout", "{error}");
}

#[tokio::test]
async fn udp_to_a_port_nothing_listens_on_goes_on_and_says_so() {
    // Regression: "port unreachable" made every later send fail, and the batch was
    // retried for ever, holding up every sink's checkpoint.
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let health = Health::default();
    let config = match load_str(&format!(
        "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\napi_token_env = \"T\"\n\
         [[sinks]]\ntype = \"syslog\"\nname = \"siem\"\naddress = \"{address}\"\ntransport = \"udp\"\n"
    ))
    .unwrap()
    .sinks
    .remove(0)
    {
        SinkConfig::Syslog(syslog) => *syslog,
        other => panic!("not syslog: {other:?}"),
    };
    let sink = SyslogSink::new(&config, util::Status::new("siem", health.clone())).unwrap();
    for round in 0..3 {
        let batch = events(round * 100..round * 100 + 100);
        let sent = tokio::time::timeout(Duration::from_secs(10), send(&sink, &batch)).await;
        assert!(sent.is_ok(), "the batch waited for a listener");
    }
    let report = health.report();
    assert!(!report.sinks["siem"].ready);
    assert!(
        report.sinks["siem"].detail.contains("nothing listens"),
        "{:?}",
        report.sinks["siem"]
    );
}
