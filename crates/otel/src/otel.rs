//! [`Otel`]: the providers, instruments and export counters.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use tokio::runtime::Handle;

use crate::config::{MAX_EXPORT_BATCH_SIZE, MAX_QUEUE_SIZE, OtelConfig};
use crate::error::Error;
use crate::export::{Counters, Exporters};
use crate::semconv::*;
use crate::sink::{OtelSink, RequestInfo};

/// The instrumentation scope name of everything thinktee exports.
pub const SCOPE_NAME: &str = "thinktee";

/// Counters of what was exported, failed or dropped since [`Otel::init`].
///
/// Export counts come from the exporters themselves: spans and log records
/// by item, metrics by export request. Items the SDK dropped because its
/// queue was full never reach an exporter and are not counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtelStats {
    /// Streams reported (one span each).
    pub streams: u64,
    /// Records a sink could not keep (see the `MAX_*` bounds of
    /// [`OtelSink`]), plus those reported with [`Otel::add_dropped_records`].
    pub dropped_records: u64,
    /// Parse errors seen in streams (invalid JSON, unknown shapes, truncated
    /// events, SSE limits); upstream API errors are not parse errors.
    pub parse_errors: u64,
    /// Spans exported successfully.
    pub spans_exported: u64,
    /// Spans whose export failed.
    pub spans_failed: u64,
    /// Log records exported successfully.
    pub logs_exported: u64,
    /// Log records whose export failed.
    pub logs_failed: u64,
    /// Metric export requests that succeeded.
    pub metric_exports: u64,
    /// Metric export requests that failed.
    pub metric_exports_failed: u64,
}

impl OtelStats {
    /// Failed exports of all three signals.
    pub fn export_failures(&self) -> u64 {
        self.spans_failed + self.logs_failed + self.metric_exports_failed
    }
}

/// The metric instruments.
#[derive(Debug)]
pub(crate) struct Instruments {
    pub(crate) token_usage: Histogram<u64>,
    pub(crate) operation_duration: Histogram<f64>,
    pub(crate) time_to_first_chunk: Histogram<f64>,
    pub(crate) time_per_output_chunk: Histogram<f64>,
    pub(crate) time_to_first_answer: Histogram<f64>,
    pub(crate) thinking_duration: Histogram<f64>,
    pub(crate) reasoning_tokens: Histogram<u64>,
    pub(crate) content_filter_events: Counter<u64>,
    pub(crate) records_dropped: Counter<u64>,
    pub(crate) parse_errors: Counter<u64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Instruments {
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build()
        };
        let tokens = |name: &'static str, description: &'static str| {
            meter
                .u64_histogram(name)
                .with_unit("{token}")
                .with_description(description)
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build()
        };
        Instruments {
            token_usage: tokens(METRIC_TOKEN_USAGE, "Number of input and output tokens used."),
            operation_duration: seconds(METRIC_OPERATION_DURATION, "GenAI operation duration."),
            time_to_first_chunk: seconds(
                METRIC_TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk in a streaming operation.",
            ),
            time_per_output_chunk: seconds(
                METRIC_TIME_PER_OUTPUT_CHUNK,
                "Time between consecutive chunks in a streaming operation.",
            ),
            time_to_first_answer: seconds(
                METRIC_TIME_TO_FIRST_ANSWER,
                "Time to the first answer (not thinking) text of a response.",
            ),
            thinking_duration: seconds(
                METRIC_THINKING_DURATION,
                "Time from the first thinking text to the end of thinking.",
            ),
            reasoning_tokens: tokens(
                METRIC_REASONING_TOKENS,
                "Reasoning tokens reported by the upstream's usage.",
            ),
            content_filter_events: meter
                .u64_counter(METRIC_CONTENT_FILTER_EVENTS)
                .with_unit("{event}")
                .with_description("Content-filter verdicts, one per category reported.")
                .build(),
            records_dropped: meter
                .u64_counter(METRIC_RECORDS_DROPPED)
                .with_unit("{record}")
                .with_description("Records that a bounded buffer could not keep.")
                .build(),
            parse_errors: meter
                .u64_counter(METRIC_PARSE_ERRORS)
                .with_unit("{error}")
                .with_description("Stream data that could not be parsed, by kind.")
                .build(),
        }
    }
}

/// Everything an enabled [`Otel`] shares with its sinks.
pub(crate) struct Inner {
    pub(crate) tracer: SdkTracer,
    pub(crate) logger: SdkLogger,
    pub(crate) instruments: Instruments,
    pub(crate) counters: Arc<Counters>,
    pub(crate) capture_content: bool,
    provider_name: Option<String>,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
    shutdown_timeout: Duration,
    shut_down: AtomicBool,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("capture_content", &self.capture_content)
            .field("provider_name", &self.provider_name)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn add_dropped(&self, n: u64) {
        self.counters.dropped_records.fetch_add(n, Ordering::Relaxed);
        self.instruments.records_dropped.add(n, &[]);
    }
}

/// OpenTelemetry export of thinktee records: a cheap-to-clone handle on the
/// tracer, meter and logger providers. Disabled (every method a no-op)
/// when no endpoint is configured.
///
/// Call [`Otel::shutdown`] before the last handle goes: dropping the
/// providers unflushed makes the SDK shut them down in `Drop`, which blocks
/// the dropping thread (up to the SDK's own 5 s bounds).
#[derive(Debug, Clone, Default)]
pub struct Otel {
    inner: Option<Arc<Inner>>,
}

impl Otel {
    /// A handle that exports nothing.
    pub fn disabled() -> Otel {
        Otel { inner: None }
    }

    /// Builds the exporters and providers, or a disabled handle when
    /// `config.endpoint` is `None`. Must be called inside a tokio runtime:
    /// exports run on the SDK's background threads, their network I/O on
    /// this runtime.
    ///
    /// Spans and log records go through batch processors
    /// ([`MAX_QUEUE_SIZE`], [`MAX_EXPORT_BATCH_SIZE`],
    /// [`OtelConfig::export_interval`]); metrics through a periodic reader
    /// with the same interval, cumulative temporality. No global provider
    /// is installed.
    pub fn init(config: OtelConfig) -> Result<Otel, Error> {
        let Some(endpoint) = config.endpoint.as_deref() else {
            return Ok(Otel::disabled());
        };
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let counters = Arc::new(Counters::default());
        let exporters = Exporters::build(&config, endpoint, &runtime, &counters)?;

        let resource = Resource::builder().with_service_name(config.service_name.clone()).build();
        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();

        let span_batch = opentelemetry_sdk::trace::BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUE_SIZE)
            .with_max_export_batch_size(MAX_EXPORT_BATCH_SIZE)
            .with_scheduled_delay(config.export_interval)
            .build();
        let tracer_provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_id_generator(crate::trace::PresetIds::default())
            .with_span_processor(
                BatchSpanProcessor::builder(exporters.spans).with_batch_config(span_batch).build(),
            )
            .build();

        let log_batch = opentelemetry_sdk::logs::BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUE_SIZE)
            .with_max_export_batch_size(MAX_EXPORT_BATCH_SIZE)
            .with_scheduled_delay(config.export_interval)
            .build();
        let logger_provider = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_log_processor(
                BatchLogProcessor::builder(exporters.logs).with_batch_config(log_batch).build(),
            )
            .build();

        let reader = PeriodicReader::builder(exporters.metrics)
            .with_interval(config.export_interval)
            .build();
        let meter_provider =
            SdkMeterProvider::builder().with_resource(resource).with_reader(reader).build();

        let tracer = tracer_provider.tracer_with_scope(scope.clone());
        let logger = logger_provider.logger_with_scope(scope.clone());
        let meter = meter_provider.meter_with_scope(scope);
        let instruments = Instruments::new(&meter);
        tracing::debug!(endpoint, protocol = config.protocol.as_str(), "opentelemetry export on");
        Ok(Otel {
            inner: Some(Arc::new(Inner {
                tracer,
                logger,
                instruments,
                counters,
                capture_content: config.capture_content,
                provider_name: config.provider_name.clone(),
                tracer_provider,
                meter_provider,
                logger_provider,
                shutdown_timeout: config.shutdown_timeout,
                shut_down: AtomicBool::new(false),
            })),
        })
    }

    /// Whether this handle exports anything.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether message content is captured.
    pub fn captures_content(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.capture_content)
    }

    /// A sink for the records of one request. Its `gen_ai.provider.name` is
    /// [`RequestInfo::provider_name`], else the configured override, else
    /// what the host and the stream's format say ([`resolve_provider`](crate::resolve_provider)).
    pub fn sink(&self, info: RequestInfo) -> OtelSink {
        let configured = self.inner.as_ref().and_then(|i| i.provider_name.clone());
        OtelSink::new(self.inner.clone(), info, configured)
    }

    /// Reports records dropped outside this crate (e.g. by a tee whose
    /// channel was full): `thinktee.records.dropped` and
    /// [`OtelStats::dropped_records`].
    pub fn add_dropped_records(&self, n: u64) {
        if let Some(inner) = &self.inner
            && n > 0
        {
            inner.add_dropped(n);
        }
    }

    /// What was exported, failed or dropped so far (all zero when disabled).
    pub fn stats(&self) -> OtelStats {
        let Some(inner) = &self.inner else { return OtelStats::default() };
        let c = &inner.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        OtelStats {
            streams: get(&c.streams),
            dropped_records: get(&c.dropped_records),
            parse_errors: get(&c.parse_errors),
            spans_exported: get(&c.spans_exported),
            spans_failed: get(&c.spans_failed),
            logs_exported: get(&c.logs_exported),
            logs_failed: get(&c.logs_failed),
            metric_exports: get(&c.metric_exports),
            metric_exports_failed: get(&c.metric_exports_failed),
        }
    }

    /// Flushes and shuts down the three providers, concurrently, giving up
    /// after [`OtelConfig::shutdown_timeout`] (the export may still finish
    /// in the background). Later calls, and calls on a disabled handle,
    /// return `Ok` at once. Data emitted after shutdown is dropped.
    ///
    /// The blocking work runs on threads of its own, so this never blocks
    /// the runtime.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let Some((rx, timeout)) = self.begin_shutdown() else { return Ok(()) };
        match tokio::task::spawn_blocking(move || wait(&rx, timeout)).await {
            Ok(result) => result,
            Err(e) => Err(Error::Shutdown(e.to_string())),
        }
    }

    /// Like [`Otel::shutdown`], blocking the calling thread; for callers
    /// outside async code (never call it on a runtime thread).
    pub fn shutdown_blocking(&self) -> Result<(), Error> {
        match self.begin_shutdown() {
            Some((rx, timeout)) => wait(&rx, timeout),
            None => Ok(()),
        }
    }

    /// Starts shutting down on background threads, unless already done.
    fn begin_shutdown(&self) -> Option<(mpsc::Receiver<Result<(), String>>, Duration)> {
        let inner = self.inner.as_ref()?;
        if inner.shut_down.swap(true, Ordering::SeqCst) {
            return None;
        }
        let timeout = inner.shutdown_timeout;
        let (tx, rx) = mpsc::channel();
        let providers = [
            Provider::Traces(inner.tracer_provider.clone()),
            Provider::Metrics(inner.meter_provider.clone()),
            Provider::Logs(inner.logger_provider.clone()),
        ];
        for provider in providers {
            let signal = provider.signal();
            let thread_tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("thinktee-otel-shutdown-{signal}"))
                .spawn(move || {
                    let result = provider.shutdown(timeout);
                    let _ = thread_tx.send(result.map_err(|e| format!("{signal}: {e}")));
                });
            if let Err(e) = spawned {
                let _ = tx.send(Err(format!("{signal}: cannot spawn shutdown thread: {e}")));
            }
        }
        Some((rx, timeout))
    }
}

/// One of the three providers, to shut down on its own thread.
enum Provider {
    Traces(SdkTracerProvider),
    Metrics(SdkMeterProvider),
    Logs(SdkLoggerProvider),
}

impl Provider {
    fn signal(&self) -> &'static str {
        match self {
            Provider::Traces(_) => "traces",
            Provider::Metrics(_) => "metrics",
            Provider::Logs(_) => "logs",
        }
    }

    fn shutdown(&self, timeout: Duration) -> Result<(), String> {
        let result = match self {
            Provider::Traces(p) => p.shutdown_with_timeout(timeout),
            Provider::Metrics(p) => p.shutdown_with_timeout(timeout),
            Provider::Logs(p) => p.shutdown_with_timeout(timeout),
        };
        result.map_err(|e| e.to_string())
    }
}

/// Waits for the three shutdown results, at most `timeout` in all.
fn wait(rx: &mpsc::Receiver<Result<(), String>>, timeout: Duration) -> Result<(), Error> {
    let deadline = std::time::Instant::now() + timeout;
    let mut errors = Vec::new();
    for _ in 0..3 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(_) => return Err(Error::ShutdownTimeout(timeout)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        // Returned, not logged: the caller says it once, as it sees fit
        // (an unreachable collector at exit is a warning, not a failure).
        Err(Error::Shutdown(errors.join("; ")))
    }
}
