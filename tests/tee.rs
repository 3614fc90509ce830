//! The async tee end to end: every e2e fixture paced through it into a
//! transcript file; forwarding is untouched whatever the sink does; how the
//! input ended reaches the transcript. Each test parses on a pool of its
//! own.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use thinktee_pipeline::{ErrorKind, Flow, InputEnd, Record, Sink, StreamOutcome};
use thinktee_tee::{Builder, ParsePool};
use thinktee_testkit::network_pieces;
use thinktee_transcript::{JsonlWriter, RequestMeta, TranscriptRecord, TranscriptSink};
use tokio::time::Instant;

use crate::support::{fixtures_dir, splitter_of, sse_fixtures};

/// Gap between two pieces of a paced stream. The tests that pace run on
/// tokio's paused clock: the gaps cost no real time, and every arrival time
/// the tee stamps is an exact multiple of this.
const GAP: Duration = Duration::from_millis(2);
/// On the paused clock, a wait that nothing but this timer can end jumps
/// straight to it: a stall fails at once instead of hanging.
const GUARD: Duration = Duration::from_secs(20);

fn pool() -> ParsePool {
    ParsePool::builder().threads(2).build().unwrap()
}

type Upstream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// Cuts a recording at every blank line (event boundaries) and again in the
/// middle of every event.
fn pieces(bytes: &[u8]) -> Vec<Bytes> {
    network_pieces(bytes).into_iter().map(|range| Bytes::copy_from_slice(&bytes[range])).collect()
}

/// Yields `pieces` `GAP` apart (then `tail`, if any), keeping each piece
/// it sent.
fn paced(pieces: Vec<Bytes>, tail: Option<io::Error>, sent: Arc<Mutex<Vec<Bytes>>>) -> Upstream {
    let items = pieces.into_iter().map(Ok).chain(tail.map(Err));
    Box::pin(futures_util::stream::unfold(items, move |mut items| {
        let sent = Arc::clone(&sent);
        async move {
            tokio::time::sleep(GAP).await;
            let item = items.next()?;
            if let Ok(piece) = &item {
                sent.lock().unwrap().push(piece.clone());
            }
            Some((item, items))
        }
    }))
}

/// Forwards everything: each piece as it came out, and the error.
async fn forward(mut stream: impl Stream<Item = Result<Bytes, io::Error>> + Unpin) -> Forwarded {
    let mut out = Forwarded::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => out.pieces.push(bytes),
            Err(e) => out.error = Some(e.to_string()),
        }
    }
    out
}

#[derive(Default)]
struct Forwarded {
    pieces: Vec<Bytes>,
    error: Option<String>,
}

impl Forwarded {
    fn bytes(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    /// Every piece sent came out, as it was sent: none cut, joined or
    /// held back to the end.
    fn assert_piece_for_piece(&self, sent: &Mutex<Vec<Bytes>>, what: &str) {
        assert_eq!(self.pieces, *sent.lock().unwrap(), "{what}: forwarded piece for piece");
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_transcript(path: &std::path::Path) -> Vec<TranscriptRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Error messages are ours: only upstream (`api`) ones are compared whole.
fn normalize(mut v: Value) -> Value {
    for e in v["errors"].as_array_mut().into_iter().flatten() {
        if e["kind"] != "api" {
            *e = serde_json::json!({ "kind": e["kind"].clone() });
        }
    }
    v
}

/// The outcome a stream must have, from its expected `split` lines: an
/// upstream error object wins, then `[DONE]` or every choice finished.
fn expected_outcome(lines: &[&Value]) -> StreamOutcome {
    let api =
        lines.iter().any(|l| l["errors"].as_array().unwrap().iter().any(|e| e["kind"] == "api"));
    if api {
        StreamOutcome::UpstreamError
    } else if lines[0]["done"] == true || lines.iter().all(|l| !l["finish_reason"].is_null()) {
        StreamOutcome::Complete
    } else {
        StreamOutcome::Incomplete
    }
}

fn assert_ordered(stem: &str, r: &TranscriptRecord) {
    let m = &r.metrics;
    let total = m.total_duration_ms.unwrap_or_else(|| panic!("{stem}: no total"));
    let first_chunk = m.time_to_first_chunk_ms;
    if m.chunks > 0 {
        assert!(first_chunk.is_some_and(|t| t > 0.0 && t <= total), "{stem}: {m:?}");
    }
    for c in &m.choices {
        let (thinking, answer) = (c.time_to_first_thinking_ms, c.time_to_first_answer_ms);
        for t in [thinking, answer].into_iter().flatten() {
            assert!(first_chunk.is_some_and(|f| f <= t) && t <= total, "{stem}: {m:?}");
        }
        if let (Some(t), Some(a)) = (thinking, answer) {
            assert!(t <= a, "{stem}: thinking after answer: {m:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn every_fixture_paced_through_the_tee_gives_its_transcript() {
    let dir = temp_dir("fixtures");
    let pool = pool();
    let mut tasks = Vec::new();
    for (stem, bytes) in sse_fixtures("e2e") {
        let dir = dir.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let path = dir.join(format!("{stem}.jsonl"));
            let meta = RequestMeta { request_id: Some(stem.clone()), ..RequestMeta::default() };
            let sink =
                TranscriptSink::with_meta(JsonlWriter::create(&path, u64::MAX).unwrap(), meta);
            let sent: Arc<Mutex<Vec<Bytes>>> = Arc::default();
            let upstream = paced(pieces(&bytes), None, Arc::clone(&sent));
            let options = thinktee_pipeline::Options {
                splitter: splitter_of(&stem),
                ..thinktee_pipeline::Options::default()
            };
            let (stream, handle) =
                Builder::new(&pool).start(Instant::now()).pipeline(options).stream(upstream, sink);
            let forwarded = forward(stream).await;
            let report = handle.join().await.unwrap();
            (stem, bytes, forwarded, sent, report, path)
        }));
    }
    let mut lines = 0;
    for task in tasks {
        let (stem, bytes, forwarded, sent, report, path) = task.await.unwrap();
        assert_eq!(forwarded.bytes(), bytes, "{stem}: forwarded bytes");
        forwarded.assert_piece_for_piece(&sent, &stem);
        let n = bytes.len() as u64;
        assert_eq!((report.bytes_seen, report.bytes_parsed), (n, n), "{stem}");
        assert_eq!(report.end, Some(InputEnd::Complete), "{stem}");
        assert!(report.sink_error.is_none() && report.capture_error.is_none(), "{stem}");
        assert!(!report.overflowed && !report.sink_stopped && !report.capture_cut, "{stem}");
        assert_eq!((report.bytes_captured, report.capture_path), (0, None), "{stem}");
        let got = read_transcript(&path);
        let expected_text =
            std::fs::read_to_string(fixtures_dir().join(format!("e2e/{stem}.expected.jsonl")))
                .unwrap();
        let expected: Vec<Value> =
            expected_text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(got.len(), expected.len(), "{stem}: one line per choice-stream");
        let mut streams: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
        for e in &expected {
            streams.entry(e["stream"].as_u64().unwrap()).or_default().push(e);
        }
        for (record, exp) in got.iter().zip(&expected) {
            let value = normalize(serde_json::to_value(record).unwrap());
            for key in exp.as_object().unwrap().keys().filter(|k| *k != "source") {
                assert_eq!(value[key], normalize(exp.clone())[key], "{stem}: {key}");
            }
            assert_eq!(record.outcome, expected_outcome(&streams[&record.split.stream]), "{stem}");
            assert_eq!(record.request.as_ref().unwrap().request_id.as_deref(), Some(&stem[..]));
            assert_ordered(&stem, record);
            lines += 1;
        }
    }
    assert!(lines >= 30, "{lines}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A sink that fails at its `n`th record.
struct FailAt(usize);

/// What [`FailAt`] fails with.
#[derive(Debug, PartialEq, Eq)]
struct Exploded;

impl std::fmt::Display for Exploded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sink exploded")
    }
}

impl std::error::Error for Exploded {}

impl Sink for FailAt {
    type Error = Exploded;
    fn record(&mut self, _: &Record<'_>) -> Result<Flow, Exploded> {
        self.0 = self.0.saturating_sub(1);
        if self.0 == 0 { Err(Exploded) } else { Ok(Flow::Continue) }
    }
}

/// Holds its parse thread at its first record until the gate's sender is
/// dropped (counting the records it got until then), then passes records
/// on.
struct Held<K> {
    gate: Option<std::sync::mpsc::Receiver<()>>,
    /// Records it had when the gate opened.
    before_open: usize,
    inner: K,
}

impl<K> Held<K> {
    fn new(inner: K) -> (Held<K>, std::sync::mpsc::Sender<()>) {
        let (open, gate) = std::sync::mpsc::channel();
        (Held { gate: Some(gate), before_open: 0, inner }, open)
    }
}

impl<K: Sink> Sink for Held<K> {
    type Error = K::Error;
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, K::Error> {
        if let Some(gate) = self.gate.take() {
            self.before_open += 1;
            let _ = gate.recv();
        }
        self.inner.record(record)
    }
    fn finish(&mut self) -> Result<(), K::Error> {
        self.inner.finish()
    }
}

fn fixture(stem: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(format!("e2e/{stem}.sse"))).unwrap()
}

// A current-thread runtime: a sink blocking the runtime would stall forwarding.
#[tokio::test(start_paused = true)]
async fn a_failing_or_held_sink_changes_nothing_forwarded() {
    let pool = pool();
    let bytes = fixture("azure_inline_think");
    // Fails at once.
    let sent = Arc::default();
    let upstream = paced(pieces(&bytes), None, Arc::clone(&sent));
    let (stream, handle) = Builder::new(&pool).stream(upstream, FailAt(3));
    let forwarded = forward(stream).await;
    assert_eq!(forwarded.bytes(), bytes);
    forwarded.assert_piece_for_piece(&sent, "failing sink");
    let report = handle.join().await.unwrap();
    assert_eq!(report.sink_error, Some(Exploded));
    assert_eq!(report.bytes_seen, bytes.len() as u64);
    assert_eq!(report.end, Some(InputEnd::Complete));

    // Held at its first record until the whole stream was forwarded: if
    // forwarding waited for the sink, it would never end.
    let sent = Arc::default();
    let upstream = paced(pieces(&bytes), None, Arc::clone(&sent));
    let (sink, open) = Held::new(TranscriptSink::new(Vec::new()));
    let before = Instant::now();
    let (stream, handle) = Builder::new(&pool).stream(upstream, sink);
    let forwarded = tokio::time::timeout(GUARD, forward(stream)).await.expect("forwarding ended");
    let forwarded_by = Instant::now() - before;
    assert_eq!(forwarded.bytes(), bytes);
    forwarded.assert_piece_for_piece(&sent, "held sink");
    drop(open);
    let (report, sink) = handle.join_sink().await.unwrap();
    assert_eq!(sink.before_open, 1, "the sink had one record while everything was forwarded");
    assert!(report.sink_error.is_none() && !report.overflowed);
    let records = sink.inner.into_output();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, StreamOutcome::Complete);
    // Arrival times, not parse times: every record was parsed after the
    // gate opened, yet the stream ended (in its records) before it.
    let total = Duration::from_secs_f64(records[0].metrics.total_duration_ms.unwrap() / 1000.0);
    assert!(total <= forwarded_by, "{total:?} > {forwarded_by:?}");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_is_recorded_as_cancelled() {
    let pool = pool();
    let bytes = fixture("deepseek_reasoning_content");
    let all = pieces(&bytes);
    let dir = temp_dir("cancel");
    let path = dir.join("t.jsonl");
    let sink = TranscriptSink::new(JsonlWriter::create(&path, u64::MAX).unwrap());
    let (mut stream, handle) =
        Builder::new(&pool).stream(paced(all.clone(), None, Arc::default()), sink);
    let mut got = Vec::new();
    for _ in 0..all.len() / 2 {
        got.extend_from_slice(&stream.next().await.unwrap().unwrap());
    }
    drop(stream);
    let report = handle.join().await.unwrap();
    assert_eq!(report.end, Some(InputEnd::ClientCancelled));
    assert_eq!(report.bytes_seen, got.len() as u64);
    let records = read_transcript(&path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, StreamOutcome::ClientCancelled);
    assert!(!records[0].split.done);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_upstream_error_is_forwarded_and_recorded() {
    let pool = pool();
    let bytes = fixture("vllm_reasoning");
    let mut some = pieces(&bytes);
    some.truncate(some.len() / 2);
    let sent = Arc::default();
    let upstream = paced(some.clone(), Some(io::Error::other("connection reset")), sent);
    let (stream, handle) = Builder::new(&pool).stream(upstream, TranscriptSink::new(Vec::new()));
    let forwarded = forward(stream).await;
    assert_eq!(forwarded.bytes(), some.concat());
    assert_eq!(forwarded.error.as_deref(), Some("connection reset"));
    let (report, sink) = handle.join_sink().await.unwrap();
    assert_eq!(report.end, Some(InputEnd::UpstreamError("connection reset".into())));
    let records = sink.into_output();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, StreamOutcome::UpstreamError);
}

#[tokio::test]
async fn an_overflowing_queue_stops_parsing_not_forwarding() {
    let pool = pool();
    // Many events, a tiny bound, and a parse side held at its first record
    // until everything was forwarded.
    let event = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"tick \"}}]}\n\n";
    let bytes = (event.repeat(200) + "data: [DONE]\n\n").into_bytes();
    let all: Vec<Bytes> = bytes.chunks(64).map(Bytes::copy_from_slice).collect();
    let upstream: Upstream =
        Box::pin(futures_util::stream::iter(all.into_iter().map(Ok::<_, io::Error>)));
    let (sink, open) = Held::new(TranscriptSink::new(Vec::new()));
    let (stream, handle) = Builder::new(&pool).max_queued_bytes(2048).stream(upstream, sink);
    let forwarded = forward(stream).await;
    assert_eq!(forwarded.bytes(), bytes, "forwarding goes on");
    drop(open);
    let (report, sink) = handle.join_sink().await.unwrap();
    assert!(report.overflowed);
    assert_eq!(report.bytes_seen, bytes.len() as u64);
    assert!(report.bytes_parsed < report.bytes_seen);
    let records = sink.inner.into_output();
    assert_eq!(records.len(), 1, "what was parsed is still recorded");
    assert!(records[0].split.reasoning.len() < 200 * 5);
    assert!(
        records[0]
            .split
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::Truncated && e.message.contains("stopped parsing")),
        "{:?}",
        records[0].split.errors
    );
    assert_eq!(records[0].outcome, StreamOutcome::Incomplete);
}
