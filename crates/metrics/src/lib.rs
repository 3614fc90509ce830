//! Per-stream and per-choice token and timing metrics, computed from
//! thinktee [`Record`](thinktee_pipeline::Record)s.
//!
//! - [`MetricsSink`]: a [`Sink`](thinktee_pipeline::Sink) that measures each
//!   stream and yields a [`StreamMetrics`] when it ends
//!   ([`MetricsSink::drain`]).
//! - [`StreamMetrics`] / [`ChoiceMetrics`] / [`Tokens`]: the results,
//!   serializable (durations in milliseconds).
//! - [`Gaps`]: inter-chunk gap percentiles.
//!
//! Times come from the records' `at` (time since the request started, set
//! by whoever feeds the pipeline: the tee stamps arrival times, a replay of
//! a capture its recorded times). Without `at`, every duration is `None`.
//! Token counts come from the stream's `usage` when it has one; otherwise
//! they are estimated as one token per delta chunk and flagged `estimated`.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use thinktee_metrics::MetricsSink;
//! use thinktee_pipeline::Pipeline;
//!
//! let ms = Duration::from_millis;
//! let mut pipeline = Pipeline::default();
//! let mut metrics = MetricsSink::new();
//! let chunk = |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
//! metrics.observe_first_byte(ms(90));
//! pipeline.feed_at(chunk("<think>hm").as_bytes(), ms(100), &mut metrics).unwrap();
//! pipeline.feed_at(chunk("</think>Hi").as_bytes(), ms(400), &mut metrics).unwrap();
//! pipeline.feed_at(b"data: [DONE]\n\n", ms(450), &mut metrics).unwrap();
//! let m = metrics.drain().next().unwrap();
//! assert_eq!(m.time_to_first_answer_ms, Some(400.0));
//! assert_eq!(m.thinking_duration_ms, Some(300.0));
//! assert!(m.tokens.estimated);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod gaps;
mod sink;

pub use gaps::{Gaps, MAX_GAP_SAMPLES};
pub use sink::{ChoiceMetrics, MetricsSink, StreamMetrics, Tokens};
