//! Many concurrent streams into one transcript writer; raw captures replay
//! to the same transcript.

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::StreamExt;
use thinktee_pipeline::Pipeline;
use thinktee_tee::{Builder, ParsePool, RawCapture, TRANSCRIPT_QUEUE, TranscriptWriter};
use thinktee_transcript::{JsonlWriter, RequestMeta, TranscriptRecord, TranscriptSink};

use crate::support::{fixtures_dir, sse_fixtures};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn expected_lines(stem: &str) -> usize {
    std::fs::read_to_string(fixtures_dir().join(format!("e2e/{stem}.expected.jsonl")))
        .unwrap()
        .lines()
        .count()
}

/// Yields `bytes` in pieces of `size`, yielding to the runtime between them.
fn upstream(
    bytes: &[u8],
    size: usize,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Unpin {
    let pieces: Vec<Bytes> = bytes.chunks(size).map(Bytes::copy_from_slice).collect();
    Box::pin(futures_util::stream::iter(pieces).then(|p| async move {
        tokio::task::yield_now().await;
        Ok(p)
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_share_one_rotating_writer_losslessly() {
    const ROUNDS: usize = 3;
    const MAX_FILE: u64 = 16 * 1024;
    let dir = temp_dir("writer");
    let pool = ParsePool::builder().threads(2).build().unwrap();
    let writer = JsonlWriter::create(dir.join("transcripts.jsonl"), MAX_FILE).unwrap();
    // Room for every stream: while the writer keeps up, nothing is lost.
    let writer = TranscriptWriter::spawn(writer, TRANSCRIPT_QUEUE).unwrap();
    let dropped = writer.dropped_total();
    let mut tasks = Vec::new();
    let mut want = 0;
    for round in 0..ROUNDS {
        for (stem, bytes) in sse_fixtures("e2e") {
            want += expected_lines(&stem);
            let meta = RequestMeta {
                request_id: Some(format!("{stem}#{round}")),
                ..RequestMeta::default()
            };
            let sink = writer.sink(Some(meta));
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let (stream, handle) =
                    Builder::new(&pool).stream(upstream(&bytes, 17 + round), sink);
                let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
                assert_eq!(forwarded.concat(), bytes);
                handle.join().await.unwrap()
            }));
        }
    }
    for task in tasks {
        let report = task.await.unwrap();
        assert!(report.sink_error.is_none(), "{:?}", report.sink_error);
    }
    let output = writer.shutdown().await.unwrap();
    assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
    let stats = output.stats();
    assert_eq!((stats.records as usize, stats.failures), (want, 0));
    assert!(stats.files > 1, "rotated: {stats:?}");
    drop(output);

    let mut lines = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let records: Vec<TranscriptRecord> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        // A stream's choices are written together, in order.
        for pair in records.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.request == b.request && a.split.stream == b.split.stream {
                assert_eq!(b.split.choice, a.split.choice.map(|c| c + 1), "{}", path.display());
            }
        }
        lines += records.len();
    }
    assert_eq!(lines, want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn after_shutdown_a_stream_s_sink_fails_loudly() {
    let pool = ParsePool::builder().threads(1).build().unwrap();
    let writer = TranscriptWriter::spawn(Vec::<TranscriptRecord>::new(), 4).unwrap();
    let late = writer.sink(None);
    assert!(writer.shutdown().await.unwrap().is_empty());
    let bytes = std::fs::read(fixtures_dir().join("e2e/vllm_reasoning.sse")).unwrap();
    let (stream, handle) = Builder::new(&pool).stream(upstream(&bytes, 100), late);
    let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
    assert_eq!(forwarded.concat(), bytes, "forwarding is not affected");
    let report = handle.join().await.unwrap();
    assert!(
        matches!(report.sink_error, Some(thinktee_transcript::Error::Closed)),
        "{:?}",
        report.sink_error
    );
}

#[tokio::test]
async fn a_raw_capture_replays_to_the_same_transcript() {
    let dir = temp_dir("capture");
    let pool = ParsePool::builder().threads(2).build().unwrap();
    for (stem, bytes) in sse_fixtures("e2e") {
        let capture = RawCapture::create(&dir, &stem).unwrap();
        let (stream, handle) = Builder::new(&pool)
            .capture(capture)
            .stream(upstream(&bytes, 23), TranscriptSink::new(Vec::new()));
        let forwarded: Vec<Bytes> = stream.map(Result::unwrap).collect().await;
        assert_eq!(forwarded.concat(), bytes);
        let (report, sink) = handle.join_sink().await.unwrap();
        assert!(report.capture_error.is_none(), "{:?}", report.capture_error);
        let path = report.capture_path.expect("a capture file");
        let captured = std::fs::read(&path).unwrap();
        assert_eq!(captured, bytes, "{stem}: capture is byte-exact");
        let mut replay = TranscriptSink::new(Vec::new());
        let _ = Pipeline::default().run_document(&captured, &mut replay);
        let strip = |records: Vec<TranscriptRecord>| -> Vec<(String, String, String)> {
            records
                .into_iter()
                .map(|r| (r.split.reasoning, r.split.content, format!("{:?}", r.outcome)))
                .collect()
        };
        assert_eq!(strip(replay.into_output()), strip(sink.into_output()), "{stem}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
