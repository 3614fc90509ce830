//! JSON Lines transcripts of thinktee streams: one line per finished choice
//! of each stream, written as soon as the stream ends.
//!
//! - [`TranscriptRecord`]: one line: [`RequestMeta`], reasoning, answer,
//!   where the reasoning came from, finish reason, usage, content-filter
//!   events, errors, the stream's [`StreamOutcome`](thinktee_pipeline::StreamOutcome)
//!   and its [`StreamMetrics`](thinktee_metrics::StreamMetrics). It
//!   serializes and deserializes (`thinktee analyze` reads transcripts back).
//! - [`Assembler`]: a [`Sink`](thinktee_pipeline::Sink) building those
//!   records in memory; it joins a [`Collector`](thinktee_pipeline::Collector)
//!   and a [`MetricsSink`](thinktee_metrics::MetricsSink) rather than
//!   accumulating anything itself.
//! - [`TranscriptSink`]: an assembler plus an [`Output`] that receives each
//!   stream's records when it ends.
//! - [`JsonlWriter`]: the file output: buffered, flushed at every stream
//!   end, on [`flush`](JsonlWriter::flush) and on drop; new files mode 0600
//!   on unix ([`private_options`]), existing ones tightened or refused,
//!   symbolic links refused ([`private_dir`] for directories).
//!   [`WriterStats`] counts lines written and lost, failures and torn lines.
//! - [`Rotation`]: when the file rotates (by size, [`DEFAULT_MAX_FILE_BYTES`]
//!   by default; at UTC midnight; on [`JsonlWriter::rotate`], which the CLI
//!   calls on `SIGUSR1`), zstd compression of rotated files off the
//!   writer's thread, and how many are kept. The file being written keeps
//!   its name; rotated files are named after the UTC time of their first
//!   line, `transcripts-2025-01-15T000003.117Z.jsonl.zst`, so they sort in
//!   time order and begin with their date (the [`rotate`] module tells all).
//! - [`Error`]: why a transcript could not be written.
//!
//! # Policy: lossless while the writer keeps up; past the bound, dropped, counted, marked
//!
//! - Written directly (a [`TranscriptSink`] over a [`JsonlWriter`]), each
//!   stream's records are written and flushed when it ends, on the caller's
//!   thread: nothing is dropped. A write or flush that fails is logged (a
//!   `tracing` error event), counted ([`WriterStats::failures`],
//!   [`WriterStats::lost`]) and returned by the sink as its `Err`.
//! - Shared by many streams through one writer thread (`thinktee-tee`'s
//!   `TranscriptWriter`), transcripts are lossless while the writer keeps
//!   up. Past its bound (records queued for it), the records of a stream
//!   that ends are dropped, counted, and marked: the next line written
//!   carries [`TranscriptRecord::dropped_before`] with how many were
//!   dropped before it. Parsing never waits for the disk.
//!
//! Nothing is dropped silently and nothing panics. Telemetry sinks, by
//! contrast, drop and count without a mark.
//!
//! This crate is pure: no tokio. The async writer task that many concurrent
//! streams share lives in `thinktee-tee`.
//!
//! # Example
//! ```
//! use thinktee_pipeline::Pipeline;
//! use thinktee_transcript::{JsonlWriter, RequestMeta, TranscriptRecord, TranscriptSink};
//!
//! let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>hm</th\"}}]}\n\n\
//!             data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
//! let meta = RequestMeta { request_id: Some("req-1".into()), ..RequestMeta::default() };
//! let mut sink = TranscriptSink::with_meta(JsonlWriter::new(Vec::new()), meta);
//! let mut pipeline = Pipeline::default();
//! let (first, second) = body.as_bytes().split_at(40); // a read ends mid-event
//! pipeline.feed(first, &mut sink)?;
//! assert!(sink.output().get_ref().is_empty()); // Partial: no stream ended yet
//! pipeline.feed(second, &mut sink)?;
//! pipeline.finish(&mut sink)?;
//! let line = std::str::from_utf8(sink.output().get_ref()).unwrap();
//! assert_eq!(line.lines().count(), 1); // Complete: one line per choice
//! let record: TranscriptRecord = serde_json::from_str(line)?;
//! assert_eq!((record.split.reasoning.as_str(), record.split.content.as_str()), ("hm", "Hi"));
//! assert_eq!(record.outcome.as_str(), "complete");
//! assert_eq!(record.request.unwrap().request_id.as_deref(), Some("req-1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod assemble;
mod error;
mod output;
mod private;
mod record;
pub mod rotate;
mod sink;
mod writer;

pub use assemble::Assembler;
pub use error::Error;
pub use output::Output;
pub use private::{private_dir, private_options};
pub use record::{RequestMeta, TranscriptRecord};
pub use rotate::{DEFAULT_MAX_FILE_BYTES, Rotation};
pub use sink::{DEFAULT_MAX_TRANSCRIPT_TEXT, TranscriptSink};
pub use writer::{JsonlWriter, WRITE_BUFFER_SIZE, WriterStats};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rotation;
