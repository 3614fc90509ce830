//! OpenTelemetry export of thinktee records, following the GenAI semantic
//! conventions; the only thinktee crate that depends on `opentelemetry*`.
//!
//! - [`OtelConfig`] / [`Protocol`]: endpoint, OTLP/gRPC or OTLP/HTTP
//!   protobuf, opt-in content capture, service and provider names; read
//!   from the standard `OTEL_*` variables with [`OtelConfig::from_env`],
//!   overridden by the setters.
//! - [`Otel`]: a cheap-to-clone handle on batched background exporters
//!   ([`Otel::init`], [`Otel::sink`], [`Otel::stats`], [`Otel::shutdown`]);
//!   disabled when no endpoint is configured.
//! - [`OtelSink`]: a [`Sink`](thinktee_pipeline::Sink) for the records of
//!   one request ([`RequestInfo`]); at each stream end it emits a CLIENT
//!   span `chat {model}`, the `gen_ai.client.*` and `thinktee.*` metrics,
//!   and `gen_ai.guardrail.result` events for Azure content-filter
//!   verdicts. [`OtelSink::record_http_error`] covers error responses
//!   without a stream (the 400 of a filtered prompt).
//! - [`OtelStats`]: exported, failed and dropped counts.
//! - [`provider_for_host`] / [`provider_for_format`] / [`resolve_provider`]:
//!   `gen_ai.provider.name`.
//! - [`input_messages`]: `gen_ai.input.messages` and
//!   `gen_ai.system_instructions` from a request body of each API.
//! - [`semconv`]: every attribute, event and metric name emitted, with the
//!   units' bucket boundaries.
//!
//! Export never blocks or alters a stream: a sink only accumulates while the
//! stream runs and hands finished data to the SDK's bounded queues, which
//! drop when full. Exports run on the SDK's background threads, bounded by
//! [`OtelConfig::export_timeout`]; [`Otel::shutdown`] flushes, bounded by
//! [`OtelConfig::shutdown_timeout`]. Message content (thinking included) is
//! exported only when [`OtelConfig::capture_content`] is on.
//!
//! `error.type` on a failed stream is the upstream error code when it sent
//! one (codes that are long or not `[A-Za-z0-9_.-]` become `_OTHER`), else
//! the HTTP status of an error response, else the stream's outcome:
//! `incomplete` (no `[DONE]` and no finish reason), `upstream_error`
//! (reading from the upstream failed) or `client_cancelled`.
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use thinktee_otel::{Otel, OtelConfig, Protocol, RequestInfo};
//! use thinktee_pipeline::Pipeline;
//!
//! # async fn run() -> Result<(), thinktee_otel::Error> {
//! let config = OtelConfig::from_env()
//!     .endpoint(Some("http://127.0.0.1:4317".to_owned()))
//!     .protocol(Protocol::Grpc);
//! let otel = Otel::init(config)?; // inside a tokio runtime
//!
//! let mut info = RequestInfo::new();
//! info.request_model = Some("DeepSeek-R1".to_owned());
//! info.server_address = Some("myres.services.ai.azure.com".to_owned());
//! info.server_port = Some(443);
//! let mut sink = otel.sink(info);
//! assert_eq!(sink.provider_name(), "azure.ai.inference");
//!
//! let mut pipeline = Pipeline::default();
//! let ms = Duration::from_millis;
//! let chunk = |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
//! // Partial: the first read ends inside an event, nothing is emitted yet.
//! pipeline.feed_at(chunk("<think>hm").as_bytes().split_at(20).0, ms(90), &mut sink).unwrap();
//! pipeline.feed_at(chunk("<think>hm").as_bytes().split_at(20).1, ms(100), &mut sink).unwrap();
//! pipeline.feed_at(chunk("</think>Hi").as_bytes(), ms(400), &mut sink).unwrap();
//! // Complete: the span, metrics and events of the stream are emitted here.
//! pipeline.feed_at(b"data: [DONE]\n\n", ms(450), &mut sink).unwrap();
//!
//! otel.shutdown().await?; // flush, bounded by the shutdown timeout
//! println!("{:?}", otel.stats());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod config;
mod error;
mod export;
mod messages;
mod otel;
mod provider;
pub mod semconv;
mod sink;
mod trace;

pub use config::{
    DEFAULT_SERVICE_NAME, ENV_CAPTURE_CONTENT, ENV_ENDPOINT, ENV_PROTOCOL, ENV_SERVICE_NAME,
    EXPORT_INTERVAL, EXPORT_TIMEOUT, MAX_EXPORT_BATCH_SIZE, MAX_QUEUE_SIZE, OtelConfig, Protocol,
    SHUTDOWN_TIMEOUT, parse_capture_content,
};
pub use error::Error;
pub use messages::{InputMessages, input_messages};
pub use otel::{Otel, OtelStats, SCOPE_NAME};
pub use provider::{provider_for_format, provider_for_host, resolve_provider};
pub use sink::{MAX_CAPTURE_BYTES, MAX_ERROR_TYPE_LEN, MAX_FILTER_EVENTS, OtelSink, RequestInfo};
pub use trace::RequestTrace;
