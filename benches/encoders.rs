//! The time each output format takes to encode one event.
//!
//! Two events per format: an ordinary login, and a hostile one whose values are full of
//! what the formats escape (`|`, `=`, `\`, quotes, line breaks, control characters,
//! non-ASCII text) with undocumented fields beside. Criterion reports the time per event.
//!
//! ```text
//! cargo bench --no-default-features --bench encoders            # full measurement
//! cargo bench --no-default-features --bench encoders -- --quick # a fast estimate
//! ```

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::value::RawValue;

use own_audit_forwarder::event::{Event, Format, Origin};

const LOGIN: &str = concat!(
    r#"{"event_id":42857,"created_at":"2019-08-24T14:15:22.000Z","ip_address":"203.0.113.45","#,
    r#""key":"user.login","parameters":{"method":"sso","user_agent":"Mozilla/5.0"},"#,
    r#""service_id":300008,"source":"web app","user_email":"jane.doe@example.com","#,
    r#""user_id":12345}"#,
);

const HOSTILE: &str = concat!(
    r#"{"event_id":900001,"created_at":"2024-02-29T23:59:59.999+02:00","#,
    r#""ip_address":"2001:db8::7","key":"user.login | cs1=forged\\|x\nLEEF:2.0|x","#,
    r#""parameters":{"note":"line one\nline two\r\n\ttabbed \"quoted\" back\\slash "#,
    r#"|pipe =equals ^caret é 漢字 😀 nul\u0000bell\u0007esc\u001b","#,
    r#""weird key |with= spaces":"value","nested":{"a|b=c":["x\ny","\u2028sep\u2029"]}},"#,
    r#""service_id":"3|4","source":"web=app\nCEF:0|forged|","#,
    r#""user_email":"eve\r\n<13>Jan  1 00:00:00 forged-host sshd: accepted\t\u0000@x.org","#,
    r#""user_id":"12|34=5","x=y|z":"new\nline","tenant":{"id":7,"name":"acme|corp"}}"#,
);

const FORMATS: [Format; 5] = [
    Format::Json,
    Format::Ecs,
    Format::Ocsf,
    Format::Cef,
    Format::Leef { delimiter: '\t' },
];

fn event(json: &str) -> Event {
    let origin = Arc::new(Origin {
        source: "prod-us".into(),
        region: "app1".into(),
        host: "siem-fw-1".into(),
        version: env!("CARGO_PKG_VERSION"),
    });
    let raw = RawValue::from_string(json.to_owned()).expect("the bench event is JSON");
    Event::from_api(raw, &origin, jiff::Timestamp::UNIX_EPOCH).expect("the bench event has an id")
}

fn encoders(c: &mut Criterion) {
    let cases = [("login", event(LOGIN)), ("hostile", event(HOSTILE))];
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for format in FORMATS {
        for (name, event) in &cases {
            let id = BenchmarkId::new(format.name(), name);
            group.bench_with_input(id, event, |b, event| {
                // A sink reuses its buffer from batch to batch; so does the bench.
                let mut out = Vec::with_capacity(4096);
                b.iter(|| {
                    out.clear();
                    format.encode(black_box(event), &mut out);
                    black_box(out.len())
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encoders);
criterion_main!(benches);
