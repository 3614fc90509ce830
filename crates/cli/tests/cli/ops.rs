//! `thinktee proxy` as operators run it: request ids, recorded headers,
//! trace context.

use std::io::{Read, Write};
use std::sync::mpsc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::Value;

use crate::replay::{Running, STREAM, post, scratch};
use crate::support::{self, thinktee};

/// The one chunk of [`SSE`]: a response id, an answer, usage.
const CHUNK: &str = r#"{"id":"chatcmpl-ops-1","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"completion_tokens_details":{"reasoning_tokens":1}}}"#;
/// [`CHUNK`], then `[DONE]`.
const SSE: &str = concat!(
    "data: ",
    r#"{"id":"chatcmpl-ops-1","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"completion_tokens_details":{"reasoning_tokens":1}}}"#,
    "\n\ndata: [DONE]\n\n"
);

/// An upstream answering every request with [`SSE`] and ids of its own;
/// the request heads it got come out of the receiver.
fn upstream() -> (String, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let url = support::upstream(move |head| {
        let _ = tx.send(head.to_owned());
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: up-1\r\n\
             apim-request-id: apim-2\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{SSE}",
            SSE.len()
        )
    });
    (url, rx)
}

/// The value of a header in a raw request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn is_uuid_v7(s: &str) -> bool {
    s.len() == 36
        && s.as_bytes()[14] == b'7'
        && s.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() }
        })
}

#[test]
fn request_ids_reach_the_client_the_upstream_and_the_transcript() {
    let dir = scratch("ops-ids");
    let (transcripts, raw) = (dir.join("t"), dir.join("raw"));
    let (url, heads) = upstream();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--transcripts",
        transcripts.to_str().unwrap(),
        "--capture-raw",
        raw.to_str().unwrap(),
        "--record-header",
        "x-user",
        "--record-header",
        "X-Session",
        "--max-request-body",
        "200",
    ]);
    let path = "/v1/chat/completions";
    let with_id = [("x-request-id", "client-7"), ("x-user", "alice"), ("x-tag", "t")];
    let mut seen_unique = Vec::new();
    // The same client id twice: both are recorded and captured apart.
    for _ in 0..2 {
        let reply = post(&p.addr, path, &with_id, STREAM);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, SSE.as_bytes());
        assert_eq!(reply.header("x-thinktee-request-id"), Some("client-7"));
        assert_eq!(reply.header("x-request-id"), Some("up-1"), "the upstream's id is kept");
        assert_eq!(reply.header("x-accel-buffering"), Some("no"));
        let head = heads.recv().unwrap();
        assert_eq!(header(&head, "x-request-id"), Some("client-7"), "{head}");
    }
    // No client id: one is made, the same for the client and the upstream.
    let reply = post(&p.addr, path, &[], STREAM);
    let made = reply.header("x-thinktee-request-id").expect("an id").to_owned();
    assert!(is_uuid_v7(&made), "{made}");
    assert_eq!(header(&heads.recv().unwrap(), "x-request-id"), Some(made.as_str()));
    // The proxy's own refusal carries the id too (and is not streaming).
    let big = format!(r#"{{"model":"r1","stream":true,"pad":"{}"}}"#, "x".repeat(300));
    let reply = post(&p.addr, path, &[("x-request-id", "client-8")], &big);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("x-thinktee-request-id"), Some("client-8"));
    assert_eq!(reply.header("x-accel-buffering"), None);
    assert!(p.terminate().success());

    let text = std::fs::read_to_string(transcripts.join("transcripts.jsonl")).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    // Records are written when each exchange's parse ends, not in request
    // order: a refusal is recorded at once, a stream when its parse ends.
    let by_id = |id: &str| -> Vec<&Value> {
        lines.iter().filter(|l| l["request"]["request_id"] == id).collect()
    };
    let (streams, made_line, refused) = (by_id("client-7"), by_id(&made), by_id("client-8"));
    assert_eq!((streams.len(), made_line.len(), refused.len()), (2, 1, 1), "{text}");
    for line in &streams {
        let request = &line["request"];
        assert_eq!(request["request_id"], "client-7");
        assert_eq!(
            request["upstream_request_ids"],
            serde_json::json!({"x-request-id": "up-1", "apim-request-id": "apim-2"})
        );
        assert_eq!(request["headers"], serde_json::json!({"x-user": "alice"}));
        assert_eq!(line["id"], "chatcmpl-ops-1", "the response id");
        let unique = request["unique_id"].as_str().unwrap().to_owned();
        assert!(is_uuid_v7(&unique), "{unique}");
        seen_unique.push(unique);
    }
    assert_ne!(seen_unique[0], seen_unique[1]);
    assert_eq!(made_line[0]["request"]["unique_id"], made);
    assert!(made_line[0]["request"].get("headers").is_none(), "no recorded header sent");
    assert_eq!(refused[0]["request"]["status"], 413);
    assert!(refused[0]["request"].get("upstream_request_ids").is_none());

    let mut captures: Vec<String> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    captures.sort();
    let mut want: Vec<String> =
        [&seen_unique[0], &seen_unique[1], &made].iter().map(|u| format!("{u}.sse")).collect();
    want.sort();
    assert_eq!(captures, want);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn recording_a_credential_header_is_a_usage_error() {
    for name in ["authorization", "API-KEY", "cookie"] {
        let out =
            thinktee(&["proxy", "--upstream", "http://127.0.0.1:9", "--record-header", name], b"");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("carries credentials"), "{stderr}");
    }
}

/// An OTLP/HTTP receiver on a thread: the spans of every
/// `POST /v1/traces` come out of the receiver.
pub(crate) fn otlp_receiver() -> (String, mpsc::Receiver<Vec<Span>>) {
    use prost::Message;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            let end = loop {
                if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break 0,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            };
            if end == 0 {
                continue;
            }
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length: usize = header(&head, "content-length").unwrap().parse().unwrap();
            while got.len() < end + length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            if head.starts_with("POST /v1/traces ") {
                let request = ExportTraceServiceRequest::decode(&got[end..end + length]).unwrap();
                let spans = request
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans)
                    .collect();
                let _ = tx.send(spans);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                  content-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, rx)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `traceparent` split into (version, trace id, parent id, flags).
fn traceparent(head: &str) -> (String, String, String, String) {
    let value = header(head, "traceparent").unwrap_or_else(|| panic!("no traceparent: {head}"));
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    (parts[0].into(), parts[1].into(), parts[2].into(), parts[3].into())
}

#[test]
fn the_proxy_span_joins_the_callers_trace_and_names_itself_upstream() {
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const CALLER: &str = "b7ad6b7169203331";
    let dir = scratch("ops-trace");
    let transcripts = dir.join("t");
    let (url, heads) = upstream();
    let (otlp, exported) = otlp_receiver();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--transcripts",
        transcripts.to_str().unwrap(),
        "--otlp-endpoint",
        &otlp,
        "--otlp-protocol",
        "http",
    ]);
    let path = "/v1/chat/completions";
    let caller = format!("00-{TRACE}-{CALLER}-01");
    let with_parent = [("traceparent", caller.as_str()), ("tracestate", "congo=t61rcWkgMzE")];
    assert_eq!(post(&p.addr, path, &with_parent, STREAM).status, 200);
    let head = heads.recv().unwrap();
    let (version, trace, ours, flags) = traceparent(&head);
    assert_eq!((version.as_str(), trace.as_str(), flags.as_str()), ("00", TRACE, "01"));
    assert_eq!(ours.len(), 16);
    assert_ne!(ours, CALLER, "the upstream's parent is the proxy's span, not the caller's");
    assert_eq!(header(&head, "tracestate"), Some("congo=t61rcWkgMzE"));

    // No traceparent: a new trace, propagated all the same.
    assert_eq!(post(&p.addr, path, &[], STREAM).status, 200);
    let (_, new_trace, new_span, _) = traceparent(&heads.recv().unwrap());
    assert_eq!((new_trace.len(), new_span.len()), (32, 16));
    assert_ne!(new_trace, TRACE);
    assert!(p.terminate().success());

    let spans: Vec<Span> = exported.try_iter().flatten().collect();
    let span = |id: &str| {
        spans
            .iter()
            .find(|s| hex(&s.span_id) == id)
            .unwrap_or_else(|| panic!("no span {id} among {}", spans.len()))
    };
    let child = span(&ours);
    assert_eq!(hex(&child.trace_id), TRACE);
    assert_eq!(hex(&child.parent_span_id), CALLER);
    assert_eq!(child.name, "chat r1");
    assert_eq!(child.kind, SpanKind::Client as i32);
    let root = span(&new_span);
    assert_eq!(hex(&root.trace_id), new_trace);
    assert!(root.parent_span_id.is_empty(), "a root span");

    let text = std::fs::read_to_string(transcripts.join("transcripts.jsonl")).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<(&Value, &Value)> =
        lines.iter().map(|l| (&l["request"]["trace_id"], &l["request"]["span_id"])).collect();
    // Lines are written as streams end, not in request order.
    let mut ids: Vec<String> = ids.iter().map(|(t, s)| format!("{t}/{s}")).collect();
    ids.sort();
    let mut want = vec![
        format!("{}/{}", Value::from(TRACE), Value::from(ours)),
        format!("{}/{}", Value::from(new_trace), Value::from(new_span)),
    ];
    want.sort();
    assert_eq!(ids, want);
    let _ = std::fs::remove_dir_all(dir);
}

/// A free loopback port, for an address the test must know beforehand.
pub(crate) fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// `GET path` on the admin address: (status, body).
pub(crate) fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the admin address");
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The samples of a scrape, parsed by a Prometheus text parser.
pub(crate) fn scrape(addr: &str) -> Vec<prometheus_parse::Sample> {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("a valid exposition").samples
}

/// The value of the sample `name` whose labels include `labels`.
pub(crate) fn value(
    samples: &[prometheus_parse::Sample],
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    use prometheus_parse::Value as V;
    let sample = samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {name} {labels:?}"));
    match &sample.value {
        V::Counter(v) | V::Gauge(v) | V::Untyped(v) => *v,
        V::Histogram(_) | V::Summary(_) => panic!("{name} is not a number"),
    }
}

/// The buckets of histogram `name`, as (upper bound, cumulative count).
fn buckets(samples: &[prometheus_parse::Sample], name: &str) -> Vec<(f64, f64)> {
    let sample = samples.iter().find(|s| s.metric == name).unwrap_or_else(|| panic!("no {name}"));
    match &sample.value {
        prometheus_parse::Value::Histogram(h) => h.iter().map(|b| (b.less_than, b.count)).collect(),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

#[test]
fn metrics_count_what_real_streams_imply() {
    let admin = free_addr();
    let (url, heads) = upstream();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--admin-listen",
        &admin,
    ]);
    let (status, _) = get(&admin, "/healthz");
    assert_eq!(status, 200);
    assert_eq!(get(&admin, "/readyz").0, 200);
    for _ in 0..2 {
        assert_eq!(post(&p.addr, "/v1/chat/completions?api-version=1", &[], STREAM).status, 200);
        heads.recv().unwrap();
    }
    // A path the proxy knows no route for, and a model only once.
    let other = r#"{"model":"m2","stream":true}"#;
    assert_eq!(post(&p.addr, "/v1/secret/path", &[], other).status, 200);
    heads.recv().unwrap();
    // Records reach the metrics a parse tick after the bytes: ask again
    // (boundedly) until both streams are counted.
    let mut samples = scrape(&admin);
    for _ in 0..500 {
        let counted = samples.iter().any(|s| {
            s.metric == "thinktee_streams_total"
                && matches!(
                    s.value,
                    prometheus_parse::Value::Counter(n) | prometheus_parse::Value::Untyped(n)
                        if n == 2.0
                )
        });
        if counted {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        samples = scrape(&admin);
    }
    let chat = [("route", "/chat/completions"), ("status", "200"), ("model", "r1")];
    assert_eq!(value(&samples, "thinktee_requests_total", &chat), 2.0);
    let unknown = [("route", "_other"), ("status", "200"), ("model", "m2")];
    assert_eq!(value(&samples, "thinktee_requests_total", &unknown), 1.0);
    assert!(
        !samples.iter().any(|s| s.labels.values().any(|v| v.contains("secret"))),
        "raw paths are never labels"
    );
    assert_eq!(value(&samples, "thinktee_streams_total", &[("outcome", "complete")]), 2.0);
    // One chunk of CHUNK's bytes per stream ([DONE] is not a chunk).
    assert_eq!(value(&samples, "thinktee_chunks_total", &[]), 2.0);
    assert_eq!(value(&samples, "thinktee_forwarded_bytes_total", &[]), 2.0 * CHUNK.len() as f64);
    // Usage 5 in, 3 out of which 1 reasoning, per stream.
    assert_eq!(value(&samples, "thinktee_tokens_total", &[("type", "input")]), 10.0);
    assert_eq!(value(&samples, "thinktee_tokens_total", &[("type", "output")]), 6.0);
    assert_eq!(value(&samples, "thinktee_tokens_total", &[("type", "reasoning")]), 2.0);
    assert_eq!(
        value(&samples, "thinktee_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    assert_eq!(value(&samples, "thinktee_records_dropped_total", &[]), 0.0);
    // Both streams took less than the largest bound (81.92 s): the top
    // buckets hold both; no thinking text, so its histogram is empty.
    let bounds =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    for name in [
        "thinktee_stream_duration_seconds",
        "thinktee_time_to_first_token_seconds",
        "thinktee_time_to_first_answer_seconds",
    ] {
        let got = buckets(&samples, name);
        let les: Vec<f64> = got.iter().map(|b| b.0).filter(|b| b.is_finite()).collect();
        assert_eq!(les, bounds, "{name}: the GenAI conventions' boundaries");
        assert_eq!(got.iter().find(|b| b.0 == 81.92).unwrap().1, 2.0, "{name}");
        assert_eq!(value(&samples, &format!("{name}_count"), &[]), 2.0, "{name}");
    }
    assert!(buckets(&samples, "thinktee_thinking_duration_seconds").iter().all(|b| b.1 == 0.0));
    assert!(p.terminate().success());
}

#[test]
fn readyz_says_503_during_the_shutdown_grace_while_healthz_says_200() {
    // An upstream that sends a head and one event, then holds the stream
    // open until told to end it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (release, released) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
                 data: {CHUNK}\n\n"
            )
            .as_bytes(),
        );
        let _ = released.recv();
        let _ = stream.write_all(b"data: [DONE]\n\n");
    });
    let admin = free_addr();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--admin-listen",
        &admin,
        "--shutdown-grace-s",
        "60",
    ]);
    let addr = p.addr.clone();
    let client = std::thread::spawn(move || post(&addr, "/v1/chat/completions", &[], STREAM));
    // The stream is open once the proxy counts the connection.
    let open = |samples: &[prometheus_parse::Sample]| {
        value(samples, "thinktee_open_connections", &[]) >= 1.0
    };
    let mut tries = 0;
    while !open(&scrape(&admin)) {
        tries += 1;
        assert!(tries < 1000, "the stream never opened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(get(&admin, "/readyz").0, 200);
    let pid = p.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // The grace has begun once /readyz says so; the proxy still serves.
    let mut tries = 0;
    while get(&admin, "/readyz").0 != 503 {
        tries += 1;
        assert!(tries < 1000, "/readyz never said 503");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(get(&admin, "/healthz").0, 200);
    release.send(()).unwrap();
    let reply = client.join().unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.body.ends_with(b"data: [DONE]\n\n"), "the open stream finished in the grace");
    assert!(p.terminate().success());
}
