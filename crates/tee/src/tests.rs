//! The reader form, JSON bodies, `Flow::Stop`, stamping, the pool, the
//! transcript writer's bound.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use thinktee_pipeline::{Collector, Event, Flow, FnSink, InputEnd, Record, Sink};
use thinktee_transcript::{Output, RequestMeta, TranscriptRecord, TranscriptSink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::{Builder, ParsePool, TranscriptWriter, tee};

/// A pool of this test's own.
fn pool() -> ParsePool {
    ParsePool::builder().threads(2).build().unwrap()
}

/// The longest any wait on an event may take before the test fails (a
/// guard against hanging, not a budget).
const GUARD: Duration = Duration::from_secs(20);

fn fixture(stem: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/e2e/{stem}.sse")),
    )
    .unwrap()
}

fn stream_of(
    bytes: &[u8],
    size: usize,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Unpin {
    let pieces: Vec<io::Result<Bytes>> =
        bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures_util::stream::iter(pieces)
}

// Paused clock: the writer's pauses let the reader run between pieces
// without costing real time.
#[tokio::test(start_paused = true)]
async fn the_reader_form_reads_through_and_parses_a_copy() {
    let pool = pool();
    let bytes = fixture("n2_interleaved_choices");
    let (mut tx, rx) = tokio::io::duplex(64);
    let (mut reader, handle) = Builder::new(&pool).reader(rx, Collector::new());
    let input = bytes.clone();
    let writer = tokio::spawn(async move {
        for piece in input.chunks(50) {
            tx.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let mut read = Vec::new();
    reader.read_to_end(&mut read).await.unwrap();
    writer.await.unwrap();
    assert_eq!(read, bytes);
    let (report, mut collector) = handle.join_sink().await.unwrap();
    assert_eq!(report.end, Some(InputEnd::Complete));
    assert_eq!(report.bytes_parsed, bytes.len() as u64);
    assert_eq!(collector.drain().count(), 2);
}

#[tokio::test]
async fn a_dropped_reader_is_a_cancelled_client() {
    let pool = pool();
    let (mut tx, rx) = tokio::io::duplex(64);
    let (mut reader, handle) = Builder::new(&pool).reader(rx, Collector::new());
    tx.write_all(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n").await.unwrap();
    let mut buf = [0; 8];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 8);
    drop(reader);
    let report = handle.join().await.unwrap();
    assert_eq!((report.end, report.bytes_seen), (Some(InputEnd::ClientCancelled), 8));
}

#[tokio::test]
async fn json_bodies_are_sniffed_held_and_stamped_at_their_end() {
    let pool = pool();
    for (stem, records) in
        [("nonstreaming_completion", 1), ("jsonl_bodies", 2), ("azure_400_content_filter", 1)]
    {
        let bytes = fixture(stem);
        let sink = TranscriptSink::new(Vec::new());
        let (stream, handle) = tee(&pool, stream_of(&bytes, 7), sink);
        let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
        assert_eq!(forwarded.concat(), bytes);
        let (report, sink) = handle.join_sink().await.unwrap();
        assert_eq!(report.bytes_parsed, bytes.len() as u64);
        let got = sink.into_output();
        assert_eq!(got.len(), records, "{stem}");
        for r in got {
            let m = &r.metrics;
            assert!(m.total_duration_ms.is_some(), "{stem}");
            if m.chunks > 0 {
                assert_eq!(m.time_to_first_chunk_ms, m.total_duration_ms, "{stem}");
            }
        }
    }
}

#[tokio::test]
async fn a_body_told_to_be_sse_is_not_sniffed() {
    let pool = pool();
    let bytes = fixture("nonstreaming_completion");
    let builder = Builder::new(&pool).document(thinktee_pipeline::DocumentKind::Sse);
    let (stream, handle) = builder.stream(stream_of(&bytes, 100), Collector::new());
    let _: Vec<_> = stream.collect().await;
    let (_, mut collector) = handle.join_sink().await.unwrap();
    let records: Vec<_> = collector.drain().collect();
    // Read as SSE, the body is one unfinished block of unknown fields.
    assert_eq!(records.len(), 1);
    assert!(records[0].content.is_empty() && records[0].reasoning.is_empty());
    assert_eq!(records[0].errors[0].kind, thinktee_pipeline::ErrorKind::Truncated);
}

/// Says `Stop` at its first text, counts what it gets after.
#[derive(Default)]
struct StopAtText {
    after: usize,
    stopped: bool,
    finished: bool,
}

impl Sink for StopAtText {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<Flow, Self::Error> {
        if self.stopped {
            self.after += 1;
        }
        if let Event::Text { .. } = r.event {
            self.stopped = true;
            return Ok(Flow::Stop);
        }
        Ok(Flow::Continue)
    }
    fn finish(&mut self) -> Result<(), Self::Error> {
        self.finished = true;
        Ok(())
    }
}

/// Signals at its first record, then blocks its parse thread there until
/// the gate's sender is dropped.
struct Gate {
    reached: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    gate: std::sync::mpsc::Receiver<()>,
}

impl Sink for Gate {
    type Error = std::convert::Infallible;
    fn record(&mut self, _: &Record<'_>) -> Result<Flow, Self::Error> {
        if let Some(reached) = self.reached.take() {
            let _ = reached.send(());
            let _ = self.gate.recv();
        }
        Ok(Flow::Continue)
    }
}

/// A gate sink, the sender that opens it, and the receiver told it was reached.
fn gate() -> (Gate, std::sync::mpsc::Sender<()>, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let (open, gate) = std::sync::mpsc::channel();
    let (reached, at_gate) = tokio::sync::mpsc::unbounded_channel();
    (Gate { reached: Some(reached), gate }, open, at_gate)
}

const EVENT_X: &[u8] = b"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"x\"}}]}\n\n";

#[tokio::test]
async fn a_sink_that_stops_gets_only_its_finish_and_nothing_more_is_queued_for_it() {
    // One thread: the stream behind the gate holds it after the stopped
    // stream's first piece was parsed.
    let pool = ParsePool::builder().threads(1).build().unwrap();
    let (mut stopping, handle) = Builder::new(&pool).tap(StopAtText::default());
    let (gate, open, mut at_gate) = gate();
    let (mut behind, gated) = Builder::new(&pool).tap(gate);
    stopping.data(&Bytes::from_static(EVENT_X));
    behind.data(&Bytes::from_static(b": ping\n\n"));
    tokio::time::timeout(GUARD, at_gate.recv()).await.expect("the worker reached the gate");
    // The worker parsed the first piece (the sink said Stop) and is held:
    // a piece queued now would stay queued.
    stopping.data(&Bytes::from_static(EVENT_X));
    assert_eq!(stopping.queued_for_parse(), 0, "the forward side stopped queueing");
    drop(open);
    stopping.end(InputEnd::Complete);
    behind.end(InputEnd::Complete);
    let (report, sink) = handle.join_sink().await.unwrap();
    gated.join().await.unwrap();
    assert!(report.sink_stopped);
    assert_eq!(
        (report.bytes_seen, report.bytes_parsed),
        (2 * EVENT_X.len() as u64, EVENT_X.len() as u64)
    );
    assert_eq!((sink.after, sink.finished), (0, true));
}

#[tokio::test]
async fn a_sink_that_stops_mid_fixture_gets_nothing_more_but_its_finish() {
    let pool = pool();
    let bytes = fixture("deepseek_reasoning_content");
    let (stream, handle) = tee(&pool, stream_of(&bytes, 1), StopAtText::default());
    let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
    assert_eq!(forwarded.concat(), bytes);
    let (report, sink) = handle.join_sink().await.unwrap();
    assert!(report.sink_stopped);
    assert_eq!((sink.after, sink.finished), (0, true));
}

#[tokio::test(start_paused = true)]
async fn records_are_stamped_from_the_given_start() {
    let pool = pool();
    let start = Instant::now();
    tokio::time::advance(Duration::from_millis(250)).await;
    let bytes = fixture("vllm_reasoning");
    let (stream, handle) = Builder::new(&pool)
        .start(start)
        .stream(stream_of(&bytes, 1000), TranscriptSink::new(Vec::new()));
    let _: Vec<_> = stream.collect().await;
    let (_, sink) = handle.join_sink().await.unwrap();
    let m = &sink.into_output()[0].metrics;
    assert_eq!((m.time_to_first_chunk_ms, m.total_duration_ms), (Some(250.0), Some(250.0)));
}

/// Panics on its first text record.
struct Panicky;

impl Sink for Panicky {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error> {
        if let Event::Text { .. } = record.event {
            panic!("a sink bug");
        }
        Ok(Flow::Continue)
    }
}

#[tokio::test]
async fn a_panicking_sink_loses_its_own_stream_not_the_parse_threads() {
    let pool = pool();
    let bytes = fixture("azure_inline_think");
    let (mut forwarded, handle) = tee(&pool, stream_of(&bytes, 40), Panicky);
    let mut out = Vec::new();
    while let Some(piece) = forwarded.next().await {
        out.extend_from_slice(&piece.unwrap());
    }
    drop(forwarded);
    assert_eq!(out, bytes, "forwarding is untouched");
    assert!(matches!(handle.join().await, Err(crate::Error::ParseSidePanicked)));
    // Every parse thread still serves new streams (round robin reaches them all).
    for _ in 0..2 * pool.threads() {
        let (mut forwarded, handle) = tee(&pool, stream_of(&bytes, 40), Collector::new());
        while forwarded.next().await.is_some() {}
        drop(forwarded);
        let (report, mut collector) = handle.join_sink().await.unwrap();
        assert_eq!(report.end, Some(InputEnd::Complete));
        assert_eq!(collector.drain().count(), 1);
    }
}

// === hostile: captures, taps, shutdown ===

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-tee-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Blocks its parse thread at its first record until the sender is
/// dropped: parsing falls behind for sure.
struct Stalled(std::sync::mpsc::Receiver<()>);

impl Sink for Stalled {
    type Error = std::convert::Infallible;
    fn record(&mut self, _: &Record<'_>) -> Result<Flow, Self::Error> {
        let _ = self.0.recv();
        Ok(Flow::Continue)
    }
}

/// `total` bytes of SSE events, cut into `piece`-byte views of one buffer.
fn big_stream(total: usize, piece: usize) -> (Bytes, Vec<io::Result<Bytes>>) {
    let event = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"abcdefgh\"}}]}\n\n";
    let body = Bytes::from(event.iter().copied().cycle().take(total).collect::<Vec<u8>>());
    let pieces = (0..total).step_by(piece).map(|i| Ok(body.slice(i..(i + piece).min(total))));
    (body.clone(), pieces.collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_a_capture_stays_exact_when_parsing_falls_behind() {
    let pool = pool();
    const TOTAL: usize = 64 << 20;
    let dir = scratch("exact");
    let (body, pieces) = big_stream(TOTAL, 16 << 10);
    let (release, stalled) = std::sync::mpsc::channel();
    let (mut forwarded, handle) = Builder::new(&pool)
        .max_queued_bytes(1 << 20)
        // Room for the whole stream: however far the capture thread lags,
        // nothing here may cut it.
        .max_capture_queued(2 * TOTAL)
        .capture(crate::RawCapture::create(&dir, "big").unwrap())
        .stream(futures_util::stream::iter(pieces), Stalled(stalled));
    let mut sent = 0;
    while let Some(piece) = forwarded.next().await {
        sent += piece.unwrap().len();
    }
    drop(forwarded);
    drop(release);
    let report = handle.join().await.unwrap();
    assert_eq!(sent, TOTAL);
    assert!(report.overflowed, "the parse side fell behind and stopped");
    assert!(report.bytes_parsed < TOTAL as u64);
    assert_eq!((report.bytes_captured, report.capture_cut), (TOTAL as u64, false));
    let path = report.capture_path.expect("a capture file");
    assert_eq!(path, dir.join("big.sse"));
    let captured = std::fs::read(&path).unwrap();
    assert_eq!(captured.len(), TOTAL);
    assert!(captured == body, "the capture is the forwarded bytes, exactly");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn hostile_a_capture_that_cannot_keep_up_is_cut_and_named_so() {
    let pool = pool();
    let dir = scratch("cut");
    // The second piece alone is more than the capture may queue.
    let pieces =
        [Bytes::from(vec![b':'; 1000]), Bytes::from(vec![b':'; 5000]), Bytes::from(vec![b':'; 10])];
    let (forwarded, handle) = Builder::new(&pool)
        .max_capture_queued(4096)
        .capture(crate::RawCapture::create(&dir, "slow").unwrap())
        .stream(futures_util::stream::iter(pieces.map(Ok::<_, io::Error>)), Collector::new());
    let out: Vec<Bytes> = forwarded.map(Result::unwrap).collect().await;
    assert_eq!(out.concat().len(), 6010, "forwarding is untouched");
    let report = handle.join().await.unwrap();
    assert!(report.capture_cut);
    assert_eq!((report.bytes_seen, report.bytes_captured), (6010, 1000));
    assert_eq!(report.capture_path.as_deref(), Some(dir.join("slow.cut.sse").as_path()));
    assert_eq!(std::fs::read(dir.join("slow.cut.sse")).unwrap().len(), 1000);
    assert!(!dir.join("slow.sse").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn hostile_a_body_without_bytes_leaves_no_capture_file() {
    let pool = pool();
    let dir = scratch("empty");
    let (tap, handle) = Builder::new(&pool)
        .capture(crate::RawCapture::create(&dir, "none").unwrap())
        .tap(Collector::new());
    drop(tap);
    let (forwarded, empty) = Builder::new(&pool)
        .capture(crate::RawCapture::create(&dir, "empty").unwrap())
        .stream(stream_of(b"", 1), Collector::new());
    let _: Vec<_> = forwarded.collect().await;
    for report in [handle.join().await.unwrap(), empty.join().await.unwrap()] {
        assert_eq!((report.bytes_captured, report.capture_path), (0, None));
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no zero-byte capture files");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn hostile_a_tee_dropped_by_shutdown_says_shutdown() {
    let pool = pool();
    let flag = crate::ShutdownFlag::new();
    let chunk = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
    let mut ends = Vec::new();
    for set in [false, true] {
        if set {
            flag.set();
        }
        let (mut tap, handle) =
            Builder::new(&pool).shutdown_flag(flag.clone()).tap(Collector::new());
        tap.data(&Bytes::from_static(chunk));
        drop(tap);
        let (report, mut collector) = handle.join_sink().await.unwrap();
        let records: Vec<_> = collector.drain().collect();
        ends.push((report.end.unwrap(), records.len()));
    }
    assert_eq!(ends, [(InputEnd::ClientCancelled, 1), (InputEnd::Shutdown, 1)]);
    // A tap told how its input ended keeps that end.
    let (mut tap, handle) = Builder::new(&pool).shutdown_flag(flag).tap(Collector::new());
    tap.end(InputEnd::UpstreamTimeout("idle".into()));
    drop(tap);
    assert_eq!(handle.join().await.unwrap().end, Some(InputEnd::UpstreamTimeout("idle".into())));
}

// === the pool ===

/// Sends each text it gets, as it gets it.
fn texts_to(tx: tokio::sync::mpsc::UnboundedSender<String>) -> impl Sink + Send + 'static {
    FnSink::new(move |r| {
        if let Event::Text { text, .. } = r.event {
            let _ = tx.send(text.to_owned());
        }
    })
}

#[tokio::test]
async fn a_pool_without_batching_parses_a_piece_without_waiting_for_a_tick() {
    // A tick of an hour would hold the piece until the stream ends; no
    // batching hands it over at once.
    let pool =
        ParsePool::builder().threads(1).tick(Duration::ZERO, Duration::ZERO).build().unwrap();
    assert_eq!(pool.tick(), (Duration::ZERO, Duration::ZERO));
    let (tx, mut texts) = tokio::sync::mpsc::unbounded_channel();
    let (mut tap, handle) = Builder::new(&pool).tap(texts_to(tx));
    for _ in 0..3 {
        tap.data(&Bytes::from_static(EVENT_X));
        let text = tokio::time::timeout(GUARD, texts.recv()).await.expect("parsed before the end");
        assert_eq!(text.as_deref(), Some("x"));
    }
    tap.end(InputEnd::Complete);
    assert_eq!(handle.join().await.unwrap().bytes_parsed, 3 * EVENT_X.len() as u64);
    tokio::time::timeout(GUARD, pool.shutdown().into_future()).await.unwrap();
}

#[tokio::test]
async fn a_shut_down_pool_finishes_its_streams_and_refuses_new_ones() {
    let pool = ParsePool::builder().threads(1).build().unwrap();
    let (mut open, handle) = Builder::new(&pool).tap(Collector::new());
    open.data(&Bytes::from_static(EVENT_X));
    let mut shutdown = pool.shutdown().into_future();
    // A stream is still open: its worker is still there.
    assert!((&mut shutdown).now_or_never().is_none());
    // A tee started now forwards without parsing, and says so.
    let (forwarded, refused) = tee(&pool, stream_of(EVENT_X, 5), Collector::new());
    let out: Vec<Bytes> = forwarded.map(Result::unwrap).collect().await;
    assert_eq!(out.concat(), EVENT_X);
    assert!(matches!(refused.join().await, Err(crate::Error::PoolShutDown)));
    // The open stream is parsed to its end.
    open.data(&Bytes::from_static(EVENT_X));
    open.end(InputEnd::Complete);
    let (report, mut collector) = handle.join_sink().await.unwrap();
    assert_eq!(report.bytes_parsed, 2 * EVENT_X.len() as u64);
    assert_eq!(collector.drain().next().unwrap().reasoning, "xx");
    // Then the worker ends.
    tokio::time::timeout(GUARD, shutdown).await.expect("the workers ended");
}

#[test]
fn a_pool_shutdown_can_be_waited_for_without_a_runtime() {
    let pool = ParsePool::builder().threads(3).build().unwrap();
    assert_eq!(pool.threads(), 3);
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pool.shutdown().wait();
        let _ = done.send(());
    });
    ended.recv_timeout(GUARD).expect("the idle workers ended");
}

// === the transcript writer's bound ===

/// An output that holds the writer thread in its first write until the
/// gate's sender is dropped, and keeps what it was given.
struct GatedOutput {
    entered: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    gate: std::sync::mpsc::Receiver<()>,
    written: Vec<TranscriptRecord>,
    /// Told at the end of each write.
    done: tokio::sync::mpsc::UnboundedSender<()>,
}

impl Output for GatedOutput {
    fn write_stream(
        &mut self,
        mut records: Vec<TranscriptRecord>,
    ) -> Result<(), thinktee_transcript::Error> {
        if let Some(entered) = self.entered.take() {
            let _ = entered.send(());
            let _ = self.gate.recv();
        }
        self.written.append(&mut records);
        let _ = self.done.send(());
        Ok(())
    }
}

/// One stream of one choice: one transcript record.
fn one_choice_stream(text: &str) -> Bytes {
    Bytes::from(format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"
    ))
}

fn request_id(r: &TranscriptRecord) -> &str {
    r.request.as_ref().and_then(|m| m.request_id.as_deref()).unwrap_or("")
}

#[tokio::test]
async fn a_slow_transcript_writer_never_blocks_parsing_and_marks_what_it_dropped() {
    const BOUND: usize = 2;
    const BLOCKED_STREAMS: usize = 10;
    // One parse thread: a send that waited would hold every stream.
    let pool = ParsePool::builder().threads(1).build().unwrap();
    let (open, gate) = std::sync::mpsc::channel();
    let (entered, mut in_write) = tokio::sync::mpsc::unbounded_channel();
    let (done, mut writes) = tokio::sync::mpsc::unbounded_channel();
    let output = GatedOutput { entered: Some(entered), gate, written: Vec::new(), done };
    let writer = TranscriptWriter::spawn(output, BOUND).unwrap();
    let dropped = writer.dropped_total();
    let stream = |name: String| {
        let meta = RequestMeta { request_id: Some(name), ..RequestMeta::default() };
        let (mut tap, handle) = Builder::new(&pool).tap(writer.sink(Some(meta)));
        tap.data(&one_choice_stream("a"));
        tap.end(InputEnd::Complete);
        handle
    };
    // The first stream's records hold the writer in its write.
    stream("s1".into()).join().await.unwrap();
    tokio::time::timeout(GUARD, in_write.recv()).await.expect("the writer is in its write");
    // While it is held: the queue takes one more stream (the one being
    // written counts), the others are dropped; none of them waits.
    for i in 2..=BLOCKED_STREAMS {
        let report = tokio::time::timeout(GUARD, stream(format!("s{i}")).join())
            .await
            .expect("a parse thread waited for the writer")
            .unwrap();
        assert!(report.sink_error.is_none());
    }
    assert_eq!(dropped.load(Ordering::Relaxed), (BLOCKED_STREAMS - BOUND) as u64);
    // Another stream on the same thread keeps getting its records.
    let counted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&counted);
    let sink = FnSink::new(move |r| {
        if let Event::Text { .. } = r.event {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let (mut tap, handle) = Builder::new(&pool).tap(sink);
    for _ in 0..5 {
        tap.data(&Bytes::from_static(EVENT_X));
    }
    tap.end(InputEnd::Complete);
    tokio::time::timeout(GUARD, handle.join()).await.unwrap().unwrap();
    assert_eq!(counted.load(Ordering::Relaxed), 5, "records kept coming while the writer was held");
    // Once the disk is back, the next line written carries the mark (and
    // the one after, written once the queue is empty again, none).
    drop(open);
    for _ in 0..BOUND {
        tokio::time::timeout(GUARD, writes.recv()).await.expect("the queue drains");
    }
    stream("after".into()).join().await.unwrap();
    let written = writer.shutdown().await.unwrap().written;
    let got: Vec<(&str, u64)> = written.iter().map(|r| (request_id(r), r.dropped_before)).collect();
    assert_eq!(got, [("s1", 0), ("s2", (BLOCKED_STREAMS - BOUND) as u64), ("after", 0)]);
}

/// What a collector assembled of one stream: (reasoning, content, error kinds).
fn split_of(collector: &mut Collector) -> Vec<(String, String, Vec<&'static str>)> {
    collector
        .drain()
        .map(|c| (c.reasoning, c.content, c.errors.iter().map(|e| e.kind.as_str()).collect()))
        .collect()
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn an_encoded_body_is_forwarded_as_it_came_and_parsed_decoded() {
    use std::io::Write;
    let pool = pool();
    let plain = fixture("azure_inline_think");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&plain).unwrap();
    let gzip = encoder.finish().unwrap();

    let (stream, handle) = Builder::new(&pool)
        .content_encoding(crate::ContentEncoding::Gzip)
        .stream(stream_of(&gzip, 1460), Collector::new());
    let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
    assert_eq!(forwarded.concat(), gzip, "the client gets the encoded bytes untouched");
    let (report, mut encoded) = handle.await.unwrap();
    assert_eq!((report.bytes_seen, report.bytes_decoded), (gzip.len() as u64, plain.len() as u64));
    assert!(report.decode_error.is_none());

    // The same as the plain body gives.
    let (stream, handle) = tee(&pool, stream_of(&plain, 1460), Collector::new());
    let _: Vec<_> = stream.collect().await;
    let (_, mut direct) = handle.await.unwrap();
    let expected = split_of(&mut direct);
    assert!(!expected[0].0.is_empty() && !expected[0].1.is_empty());
    assert_eq!(split_of(&mut encoded), expected);
}

#[tokio::test]
async fn an_encoding_that_cannot_be_decoded_is_an_error_in_the_record_not_garbage() {
    let pool = pool();
    let body = fixture("azure_inline_think");
    // Told after the tap is made, as a proxy that learns the headers does.
    let (mut tap, handle) = Builder::new(&pool).tap(Collector::new());
    tap.content_encoding(crate::ContentEncoding::parse("compress"));
    for piece in body.chunks(1460) {
        tap.data(&Bytes::copy_from_slice(piece));
    }
    tap.end(InputEnd::Complete);
    let (report, mut collector) = handle.await.unwrap();
    assert!(matches!(
        report.decode_error,
        Some(crate::DecodeError::Unsupported { ref coding }) if coding == "compress"
    ));
    assert_eq!(report.bytes_parsed, 0, "nothing of it was parsed");
    let records: Vec<_> = collector.drain().collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].errors.len(), 1);
    assert_eq!(records[0].errors[0].kind, thinktee_pipeline::ErrorKind::ContentEncoding);
    assert!(records[0].content.is_empty() && records[0].reasoning.is_empty());
    assert!(!records[0].done, "not recorded as a complete stream");

    // Corrupt gzip: what decoded before the fault is kept, then the error.
    if cfg!(not(feature = "gzip")) {
        return;
    }
    let (mut tap, handle) = Builder::new(&pool).tap(Collector::new());
    tap.content_encoding(crate::ContentEncoding::Gzip);
    tap.data(&Bytes::from_static(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03this is not deflate"));
    tap.end(InputEnd::Complete);
    let (report, mut collector) = handle.await.unwrap();
    assert!(matches!(
        report.decode_error,
        Some(crate::DecodeError::Corrupt { coding: "gzip", .. })
    ));
    assert_eq!(split_of(&mut collector)[0].2, ["content_encoding"]);
}

#[tokio::test]
async fn a_forward_side_error_is_recorded_in_order_with_the_data() {
    let pool = pool();
    let body = fixture("azure_inline_think");
    let (mut tap, handle) = Builder::new(&pool).tap(Collector::new());
    tap.data(&Bytes::copy_from_slice(&body));
    tap.error(thinktee_pipeline::StreamError {
        kind: thinktee_pipeline::ErrorKind::NotNormalized,
        code: None,
        message: "passed through".into(),
    });
    tap.end(InputEnd::Complete);
    let (_, mut collector) = handle.await.unwrap();
    let records = split_of(&mut collector);
    // The stream had ended at [DONE]: the note starts a stream of its own.
    assert_eq!(records.last().unwrap().2, ["not_normalized"]);
}

/// Notes what the writer thread asks of it; wants one tick at once, and
/// says when it had it.
struct Noted {
    seen: Vec<String>,
    ticked: std::sync::mpsc::Sender<()>,
}

impl Output for Noted {
    fn write_stream(
        &mut self,
        records: Vec<TranscriptRecord>,
    ) -> Result<(), thinktee_transcript::Error> {
        self.seen.extend(records.iter().map(|r| request_id(r).to_owned()));
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), thinktee_transcript::Error> {
        self.seen.push("rotate".into());
        Ok(())
    }

    fn next_tick(&self) -> Option<Duration> {
        (!self.seen.iter().any(|s| s == "tick")).then_some(Duration::ZERO)
    }

    fn tick(&mut self) -> Result<(), thinktee_transcript::Error> {
        self.seen.push("tick".into());
        let _ = self.ticked.send(());
        Ok(())
    }
}

#[tokio::test]
async fn the_writer_thread_rotates_in_order_with_the_streams_and_ticks_when_asked() {
    let (ticked, tick) = std::sync::mpsc::channel();
    let writer = TranscriptWriter::spawn(Noted { seen: Vec::new(), ticked }, 16).unwrap();
    // Nothing queued: the thread's first wait times out at once.
    tick.recv_timeout(GUARD).expect("the thread ticks when its output asks");
    let rotator = writer.rotator();
    let record = |id: &str| {
        let mut sink = writer
            .sink(Some(RequestMeta { request_id: Some(id.into()), ..RequestMeta::default() }));
        thinktee_pipeline::Pipeline::default()
            .run_document(&one_choice_stream("x"), &mut sink)
            .unwrap();
    };
    record("a");
    assert!(rotator.rotate());
    record("b");
    let seen = writer.shutdown().await.unwrap().seen;
    assert_eq!(seen, ["tick", "a", "rotate", "b"]);
    assert!(!rotator.rotate(), "the writer is gone");
}
