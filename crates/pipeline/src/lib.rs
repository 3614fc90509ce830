//! Pure, synchronous composition of the thinktee stages:
//! bytes → SSE events → chunks or events of the stream's format →
//! thinking/answer/tool-call parts per choice → records → sinks.
//!
//! - [`Pipeline`]: feed it each network read ([`Pipeline::feed`] or
//!   [`Pipeline::feed_at`] with a timestamp), then [`Pipeline::finish`];
//!   or hand it a whole recording with [`Pipeline::run_document`].
//! - [`DocumentReader`]: a recorded document (SSE, one JSON body, or JSON
//!   Lines) fed in reads cut anywhere, sniffed and held within
//!   [`MAX_DOCUMENT_LEN`]; [`Framer`] is its framing half, handing on
//!   [`Part`]s; [`DocumentError`] says what could not be read.
//! - [`Record`] / [`Event`]: what happened, borrowed from the input.
//! - [`Sink`] / [`Flow`]: the push-model consumer; `Option`, `Box` and
//!   `&mut` of sinks are sinks, [`FanOut`] feeds several (remembering which
//!   of them stopped), [`Stamped`] stamps every record with one time.
//!   [`FnSink`] wraps a closure, [`DynSink`] erases a sink's type (its
//!   errors become [`SinkError`]s). A sink's `Stop` holds for the rest of
//!   the input.
//! - [`Collector`]: a sink assembling one [`SplitChoice`] per choice of
//!   each stream, its tool calls as [`ToolCallRecord`]s (what
//!   `thinktee split --format json` prints).
//! - [`ChoiceMap`]: per-choice values of one stream, found by index in
//!   constant time (what the pipeline and the sinks keep per choice).
//!
//! Each stream's [`Format`] is told from its first event: chat
//! completions, the OpenAI Responses API or Anthropic Messages. Every format
//! feeds the same model per choice (the other formats have one output,
//! choice 0): reasoning text with its [`ReasoningSource`], answer text,
//! tool-call pieces ([`Event::ToolCall`]), marks of opaque reasoning, a
//! finish reason, usage. A chat choice with inline reasoning gets its own
//! splitter; a choice whose reasoning has its own field or part
//! (`reasoning_content`, `reasoning`, `reasoning_details`, thinking parts,
//! and every part of the other formats) is in field mode and its content is
//! answer; in a chat choice, tool-call markup in that content is still a
//! tool call (markers cut anywhere across its deltas; the reasoning field
//! is not searched). A malformed event becomes an [`Event::Error`] record; the
//! stream goes on.
//!
//! Limits keep every cost in proportion to the input: at most
//! [`MAX_CHOICES`] distinct choices per stream (further ones are counted,
//! not read), `id` and `model` cut to [`MAX_META_LEN`] bytes, and in the
//! [`Collector`]'s records at most [`MAX_ERRORS_PER_KIND`] errors of each
//! kind per stream, kept once per stream rather than once per choice.
//!
//! This crate knows nothing of tokio or OpenTelemetry.
//!
//! # Example
//! ```
//! use thinktee_pipeline::{Collector, Pipeline};
//!
//! let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>hm</th\"}}]}\n\n\
//!             data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>Hi\"}}]}\n\ndata: [DONE]\n\n";
//! let mut pipeline = Pipeline::default();
//! let mut collector = Collector::new();
//! let (first, second) = body.as_bytes().split_at(40); // a read ends mid-event
//! pipeline.feed(first, &mut collector).unwrap();
//! assert_eq!(collector.drain().count(), 0); // Partial: nothing ended yet
//! pipeline.feed(second, &mut collector).unwrap();
//! pipeline.finish(&mut collector).unwrap();
//! let records: Vec<_> = collector.drain().collect();
//! assert_eq!((records[0].reasoning.as_str(), records[0].content.as_str()), ("hm", "Hi"));
//! assert!(records[0].done);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod choice;
mod choices;
mod collect;
mod document;
mod pipeline;
mod record;
mod sink;

pub use choices::ChoiceMap;
pub use collect::{Collector, MAX_ERRORS_PER_KIND, SplitChoice, ToolCallRecord};
pub use document::{
    Builder as DocumentBuilder, DocumentError, DocumentKind, DocumentReader, Framer,
    MAX_DOCUMENT_LEN, Part, detect,
};
pub use pipeline::{MAX_CHOICES, MAX_META_LEN, Options, Pipeline, prefix_within};
pub use record::{
    ChoiceEnd, ChunkInfo, ErrorKind, Event, InputEnd, ReasoningSource, Record, StreamEnd,
    StreamError, StreamOutcome,
};
pub use sink::{DynSink, FanOut, Flow, FnSink, Sink, SinkError, Stamped, dyn_sink};

pub use thinktee_chunk::{
    FilterEvent, FilterOffsets, FilterSource, Format, ReasoningField, ReasoningKind, Usage,
};
pub use thinktee_think::{Config as SplitterConfig, Preset, SegmentKind, StartMode};
