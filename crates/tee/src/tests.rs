//! The reader form, JSON bodies, `Flow::Stop`, stamping.

use std::io;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use thinktee_pipeline::{Collector, Event, Flow, InputEnd, Record, Sink};
use thinktee_transcript::TranscriptSink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::{Builder, tee};

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

#[tokio::test]
async fn the_reader_form_reads_through_and_parses_a_copy() {
    let bytes = fixture("n2_interleaved_choices");
    let (mut tx, rx) = tokio::io::duplex(64);
    let (mut reader, handle) = Builder::new().reader(rx, Collector::new());
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
    let (mut tx, rx) = tokio::io::duplex(64);
    let (mut reader, handle) = Builder::new().reader(rx, Collector::new());
    tx.write_all(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n").await.unwrap();
    let mut buf = [0; 8];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 8);
    drop(reader);
    let report = handle.join().await.unwrap();
    assert_eq!((report.end, report.bytes_seen), (Some(InputEnd::ClientCancelled), 8));
}

#[tokio::test]
async fn json_bodies_are_sniffed_held_and_stamped_at_their_end() {
    for (stem, records) in
        [("nonstreaming_completion", 1), ("jsonl_bodies", 2), ("azure_400_content_filter", 1)]
    {
        let bytes = fixture(stem);
        let sink = TranscriptSink::new(Vec::new());
        let (stream, handle) = tee(stream_of(&bytes, 7), sink);
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
    let bytes = fixture("nonstreaming_completion");
    let builder = Builder::new().document(thinktee_pipeline::DocumentKind::Sse);
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

#[tokio::test]
async fn a_sink_that_stops_gets_nothing_more_but_its_finish() {
    let bytes = fixture("deepseek_reasoning_content");
    let (stream, handle) = tee(stream_of(&bytes, 1), StopAtText::default());
    let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
    assert_eq!(forwarded.concat(), bytes);
    let (report, sink) = handle.join_sink().await.unwrap();
    assert!(report.sink_stopped);
    assert!(report.bytes_parsed < report.bytes_seen, "the forward side stopped queueing");
    assert_eq!((sink.after, sink.finished), (0, true));
}

#[tokio::test(start_paused = true)]
async fn records_are_stamped_from_the_given_start() {
    let start = Instant::now();
    tokio::time::advance(Duration::from_millis(250)).await;
    let bytes = fixture("vllm_reasoning");
    let (stream, handle) = Builder::new()
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
    let bytes = fixture("azure_inline_think");
    let (mut forwarded, handle) = tee(stream_of(&bytes, 40), Panicky);
    let mut out = Vec::new();
    while let Some(piece) = forwarded.next().await {
        out.extend_from_slice(&piece.unwrap());
    }
    drop(forwarded);
    assert_eq!(out, bytes, "forwarding is untouched");
    assert!(matches!(handle.join().await, Err(crate::Error::ParseSidePanicked)));
    // Every parse thread still serves new streams (round robin reaches them all).
    for _ in 0..2 * crate::MAX_PARSE_THREADS {
        let (mut forwarded, handle) = tee(stream_of(&bytes, 40), Collector::new());
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
    const TOTAL: usize = 64 << 20;
    let dir = scratch("exact");
    let (body, pieces) = big_stream(TOTAL, 16 << 10);
    let (release, stalled) = std::sync::mpsc::channel();
    let (mut forwarded, handle) = Builder::new()
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
    let dir = scratch("cut");
    // The second piece alone is more than the capture may queue.
    let pieces =
        [Bytes::from(vec![b':'; 1000]), Bytes::from(vec![b':'; 5000]), Bytes::from(vec![b':'; 10])];
    let (forwarded, handle) = Builder::new()
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
    let dir = scratch("empty");
    let (tap, handle) = Builder::new()
        .capture(crate::RawCapture::create(&dir, "none").unwrap())
        .tap(Collector::new());
    drop(tap);
    let (forwarded, empty) = Builder::new()
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
    let flag = crate::ShutdownFlag::new();
    let chunk = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
    let mut ends = Vec::new();
    for set in [false, true] {
        if set {
            flag.set();
        }
        let (mut tap, handle) = Builder::new().shutdown_flag(flag.clone()).tap(Collector::new());
        tap.data(&Bytes::from_static(chunk));
        drop(tap);
        let (report, mut collector) = handle.join_sink().await.unwrap();
        let records: Vec<_> = collector.drain().collect();
        ends.push((report.end.unwrap(), records.len()));
    }
    assert_eq!(ends, [(InputEnd::ClientCancelled, 1), (InputEnd::Shutdown, 1)]);
    // A tap told how its input ended keeps that end.
    let (mut tap, handle) = Builder::new().shutdown_flag(flag).tap(Collector::new());
    tap.end(InputEnd::UpstreamTimeout("idle".into()));
    drop(tap);
    assert_eq!(handle.join().await.unwrap().end, Some(InputEnd::UpstreamTimeout("idle".into())));
}
