//! The async tee: forwards a response body untouched and feeds a copy to
//! the thinktee pipeline, off the forward path.
//!
//! - [`ParsePool`]: the threads that parse every tee's copy (and write raw
//!   captures); built by the embedder with its thread count and ticks
//!   ([`PoolBuilder`]), handed to each tee, shut down explicitly
//!   ([`ParsePool::shutdown`]).
//! - [`tee`] / [`Builder`]: wrap a `Stream<Item = Result<Bytes, E>>`
//!   ([`Builder::stream`] → [`TeeStream`]) or an `AsyncRead`
//!   ([`Builder::reader`] → [`TeeReader`]), or drive it yourself
//!   ([`Builder::tap`] → [`Tap`]); get a [`TeeHandle`] whose
//!   [`join`](TeeHandle::join) gives a [`TeeReport`] (bytes seen and
//!   parsed, overflow, the sink's own error, how the input ended).
//! - [`ContentEncoding`]: a body's `Content-Encoding` (gzip, deflate, br,
//!   zstd), decoded on the parse side within [`MAX_DECODED_BYTES`]
//!   ([`Builder::content_encoding`], [`Tap::content_encoding`]); what cannot
//!   be decoded is a [`DecodeError`] and an error in the record, never
//!   garbage parsed.
//! - [`SseCodec`]: a tokio-util `Decoder` yielding
//!   [`OwnedFrame`](thinktee_sse::OwnedFrame)s, for `FramedRead`.
//! - [`ChannelSink`] / [`channel_sink`]: fan-out to consumers that may fall
//!   behind (telemetry): `try_send`, and on a full channel drop and count
//!   (`dropped_total`).
//! - [`RawCapture`]: the exact bytes of a stream to `<dir>/<request-id>.sse`,
//!   on the pool's capture thread: parsing may stop, capturing does not; a
//!   capture that cannot keep up ([`MAX_CAPTURE_QUEUED`]) or whose disk
//!   fails is cut and renamed `<request-id>.cut.sse`.
//! - [`ShutdownFlag`]: tells a tee dropped by a server's shutdown
//!   ([`InputEnd::Shutdown`](thinktee_pipeline::InputEnd::Shutdown)) from
//!   one dropped because its client went away.
//! - [`TranscriptWriter`] / [`ChannelOutput`]: one writer thread owning the
//!   transcript file for many concurrent streams: lossless while it keeps
//!   up; past its bound ([`TRANSCRIPT_QUEUE`] records), dropped, counted,
//!   marked. The thread also rotates the file when a [`Rotator`] asks
//!   (`SIGUSR1`) and wakes for the output's time-driven work (rotation at
//!   UTC midnight).
//! - [`Error`]: spawn, pool, capture and transcript-writer failures.
//!
//! # Forward first, parse after
//!
//! Each item is returned to the caller as soon as the wrapped stream yields
//! it. Before returning it, the tee queues a clone (a reference count on the
//! same bytes) and its arrival time for the parse side; that never waits.
//! The parse side reads the copy as every thinktee reader reads a document
//! ([`DocumentReader`](thinktee_pipeline::DocumentReader): SSE, one JSON
//! body, or JSON Lines), stamping records with `arrival - start`, where
//! `start` is [`Builder::start`] (the request's start) or the tee's
//! creation, and at the end tells the pipeline how the input ended:
//! `Complete` at the end of the stream, `UpstreamError` at its first `Err`
//! item, `ClientCancelled` when the tee is dropped first (`Shutdown` once
//! its [`ShutdownFlag`] is set); a [`Tap`] is told.
//!
//! The parse sides run on the threads of the [`ParsePool`] given to the
//! builder; each stream is pinned to one of them, so its pieces are parsed
//! in order. Pieces do not wake a worker: one with open streams takes what
//! was queued once per tick (by default every 1 to 8 ms, longer while
//! little comes; [`PoolBuilder::tick`] sets it, and a longest tick of zero
//! wakes the worker for every piece), and only the start and end of a
//! stream, or a queue past a quarter of its bound, wake it at once. Records
//! may so reach a sink up to one tick after their piece was forwarded
//! (their times are the arrival times all the same). Sinks are synchronous
//! and may block (a file write): on these threads that blocks neither the
//! runtime's workers (on a current-thread runtime that would stall
//! forwarding itself) nor tokio's shared blocking pool, and never the
//! forward path. A sink that blocks for long delays the other streams of
//! its thread, whose queues are bounded like any other; the transcript
//! writer's sinks never block. (A thread per stream was measured first: at
//! 1,000 concurrent streams on 2 cores, a thousand threads woken one chunk
//! at a time added 464 ms p99 per chunk.)
//!
//! A slow or failing sink never blocks or alters the forwarded stream: a
//! sink `Err` stops its feeding (reported in [`TeeReport::sink_error`], the
//! sink's own error); a sink's [`Flow::Stop`](thinktee_pipeline::Flow::Stop)
//! holds for the rest of the stream, and the forward side stops queueing
//! copies for it; a parse side too far behind stops parsing that stream
//! ([`TeeReport::overflowed`], a warning is logged once, the stream's
//! records get a `truncated` error saying so) while forwarding goes on.
//!
//! # Memory per stream
//!
//! At most [`MAX_QUEUED_BYTES`] (8 MiB, see [`Builder::max_queued_bytes`])
//! of pieces queued for the parse side, each piece counted as its length
//! plus [`PIECE_OVERHEAD`] bytes (a piece that is a view into a larger
//! buffer keeps that buffer alive); a JSON body is held on the parse
//! side up to the same bound; with a raw capture, at most
//! [`MAX_CAPTURE_QUEUED`] (32 MiB, see [`Builder::max_capture_queued`])
//! queued for it, counted the same way; plus the pipeline's own bounds (SSE
//! line and event limits, the splitter's hold bound per choice) and
//! whatever the sink keeps.
//!
//! # Example
//! ```
//! use bytes::Bytes;
//! use futures_util::StreamExt;
//! use thinktee_pipeline::Collector;
//! use thinktee_tee::ParsePool;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One pool for the process: its threads parse every tee's copy.
//! let pool = ParsePool::builder().threads(1).build()?;
//! // The first read ends mid-event: the pipeline holds it (Partial) until
//! // the second completes it.
//! let pieces = [
//!     "data: {\"choices\":[{\"delta\":{\"content\":\"<think>hm</th",
//!     "ink>Hi\"}}]}\n\ndata: [DONE]\n\n",
//! ];
//! let upstream = futures_util::stream::iter(pieces.map(|p| Ok::<_, std::io::Error>(Bytes::from(p))));
//! let (mut forwarded, handle) = thinktee_tee::tee(&pool, upstream, Collector::new());
//! let mut body = Vec::new();
//! while let Some(piece) = forwarded.next().await {
//!     body.extend_from_slice(&piece?); // forwarded untouched, at once
//! }
//! assert_eq!(body, pieces.concat().as_bytes());
//!
//! let (report, mut collector) = handle.join_sink().await?;
//! let records: Vec<_> = collector.drain().collect(); // Complete
//! assert_eq!((records[0].reasoning.as_str(), records[0].content.as_str()), ("hm", "Hi"));
//! assert_eq!((report.bytes_seen, report.overflowed), (body.len() as u64, false));
//! pool.shutdown().await; // its streams are done: the threads end
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod builder;
mod capture;
mod channel;
mod codec;
mod decode;
mod error;
mod feed;
mod handle;
mod parse;
mod pool;
mod shutdown;
mod writer;

pub use builder::{Builder, MAX_QUEUED_BYTES, tee};
pub use capture::{MAX_CAPTURE_NAME, MAX_CAPTURE_QUEUED, RawCapture};
pub use channel::{ChannelSink, channel_sink};
pub use codec::SseCodec;
pub use decode::{ContentEncoding, DECODE_BUF, DecodeError, MAX_DECODED_BYTES};
pub use error::Error;
pub use feed::{PIECE_OVERHEAD, Tap, TeeReader, TeeStream};
pub use handle::{TeeHandle, TeeReport};
pub use pool::{
    CAPTURE_THREAD_NAME, DEFAULT_MAX_TICK, DEFAULT_TICK, MAX_PARSE_THREADS, PARSE_THREAD_NAME,
    ParsePool, PoolBuilder, SHORTEST_TICK, Shutdown,
};
pub use shutdown::ShutdownFlag;
pub use writer::{ChannelOutput, Rotator, TRANSCRIPT_QUEUE, TranscriptWriter, WRITER_THREAD_NAME};

#[cfg(test)]
mod tests;

// Counts allocations so tests can bound memory by bytes, not by time.
#[cfg(test)]
#[global_allocator]
static ALLOC: thinktee_testkit::CountingAlloc = thinktee_testkit::CountingAlloc;
