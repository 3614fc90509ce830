//! One parse, counted by callgrind: the by-hand instruction-count harness
//! behind `scripts/callgrind.sh`.
//!
//! ```text
//! callgrind WHAT DIALECT CHUNKING
//!   WHAT      e2e (Pipeline::default().feed per piece), sse (thinktee's
//!             Decoder), sse-stream (the sse-stream crate's SseByteStream)
//!   DIALECT   inline | reasoning_content
//!   CHUNKING  a piece size in bytes, or event
//! ```
//!
//! The input (1 MiB of the R1 bench stream) is generated and cut before the
//! count starts; only [`counted`] is measured, under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*counted*'`.
//! Without valgrind it just runs once and prints what it found; with
//! `THINKTEE_REPEAT=N` it runs N times and prints the fastest run's
//! nanoseconds (interference only ever adds time), for `scripts/ab-time.sh`,
//! which alternates two builds.
//!
//! This file is also built at older revisions by `scripts/callgrind.sh REV`
//! (copied into a worktree of REV), so it uses only APIs that revision
//! e32fe59 already had.

use std::convert::Infallible;
use std::hint::black_box;
use std::process::ExitCode;

use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::{Chunking, Dialect, cut, r1_stream, shared_pieces};
use thinktee_pipeline::{Event, Flow, Pipeline, Record, Sink};
use thinktee_sse::{Decoder, Frame};

/// Bytes of input: large enough that set-up is noise, small enough for
/// callgrind at 10-byte reads in seconds.
const INPUT_LEN: usize = 1 << 20;

/// Counts events and text bytes; keeps nothing.
#[derive(Debug, Default)]
struct CountingSink(usize);

impl Sink for CountingSink {
    type Error = Infallible;

    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        if let Event::Text { text, .. } = record.event {
            self.0 += text.len();
        }
        Ok(Flow::Continue)
    }
}

fn e2e(pieces: &[&[u8]]) -> usize {
    let mut pipeline = Pipeline::default();
    let mut sink = CountingSink::default();
    for piece in pieces {
        let _ = pipeline.feed(piece, &mut sink);
    }
    let _ = pipeline.finish(&mut sink);
    sink.0
}

fn sse(pieces: &[&[u8]]) -> usize {
    let mut decoder = Decoder::new();
    let mut bytes = 0;
    for piece in pieces {
        decoder.feed(piece, |frame| {
            if let Frame::Event(event) = frame {
                bytes += event.data.len();
            }
        });
    }
    decoder.finish(|_| {});
    bytes
}

fn sse_stream(pieces: &[Bytes]) -> usize {
    block_on(async {
        let stream = futures::stream::iter(pieces.iter().cloned().map(Ok::<_, Infallible>));
        let mut stream = sse_stream::SseByteStream::new(stream);
        let mut bytes = 0;
        while let Some(item) = stream.next().await {
            if let Some(data) = item.ok().and_then(|sse| sse.data) {
                bytes += data.len();
            }
        }
        bytes
    })
}

/// The one function callgrind counts (`--toggle-collect='*counted*'`).
#[inline(never)]
fn counted(what: &str, pieces: &[&[u8]], shared: &[Bytes]) -> usize {
    match what {
        "e2e" => e2e(pieces),
        "sse" => sse(pieces),
        "sse-stream" => sse_stream(shared),
        _ => unreachable!("checked in args"),
    }
}

/// The arguments: what to run, on which dialect, cut how.
fn args() -> Option<(String, Dialect, Chunking)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, dialect, chunking] = args.as_slice() else { return None };
    if !matches!(what.as_str(), "e2e" | "sse" | "sse-stream") {
        return None;
    }
    let dialect = match dialect.as_str() {
        "inline" => Dialect::Inline,
        "reasoning_content" => Dialect::ReasoningContent,
        _ => return None,
    };
    let chunking = match chunking.as_str() {
        "event" => Chunking::Events,
        n => Chunking::Bytes(n.parse().ok().filter(|&n| n > 0)?),
    };
    Some((what.clone(), dialect, chunking))
}

fn main() -> ExitCode {
    let Some((what, dialect, chunking)) = args() else {
        eprintln!("usage: callgrind e2e|sse|sse-stream inline|reasoning_content SIZE|event");
        return ExitCode::from(2);
    };
    let input = r1_stream(dialect, INPUT_LEN);
    let pieces = cut(&input.bytes, chunking);
    let shared = if what == "sse-stream" { shared_pieces(&pieces) } else { Vec::new() };
    let repeat = std::env::var("THINKTEE_REPEAT").ok().and_then(|n| n.parse::<usize>().ok());
    if let Some(repeat) = repeat.filter(|&n| n > 0) {
        let fastest = (0..repeat)
            .map(|_| {
                let start = std::time::Instant::now();
                black_box(counted(black_box(&what), black_box(&pieces), black_box(&shared)));
                start.elapsed().as_nanos()
            })
            .min();
        println!("{}", fastest.unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let found = counted(black_box(&what), black_box(&pieces), black_box(&shared));
    println!(
        "{what} {} {}: {} bytes in, {found} bytes found",
        dialect.name(),
        chunking.name(),
        input.bytes.len()
    );
    ExitCode::SUCCESS
}
