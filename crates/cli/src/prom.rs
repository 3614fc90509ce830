//! The proxy's Prometheus metrics, served on `--admin-listen` at
//! `/metrics`: counted from the records the proxy already makes (each
//! exchange's status and model, each stream's transcript record), plus
//! gauges read at scrape time.
//!
//! Names follow Prometheus conventions (`_total`, base units); the
//! histograms use the OpenTelemetry GenAI conventions' duration buckets.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use thinktee_otel::Otel;
use thinktee_otel::semconv::DURATION_BUCKETS;
use thinktee_pipeline::{Flow, Record, Sink};
use thinktee_proxy::Connections;
use thinktee_record::{Exchange, Route};
use thinktee_transcript::{Assembler, TranscriptRecord};

/// Most distinct `model` label values; requests naming others count
/// under [`OTHER`]. The model is whatever the client wrote: without a cap
/// a client could make the series count, and the scrape, grow at will.
pub(crate) const MAX_MODEL_LABELS: usize = 64;
/// The label value for models past the cap, routes not known and
/// missing values.
pub(crate) const OTHER: &str = "_other";
/// Routes counted by name besides the recorded ones (whose template
/// [`Route`] gives): the path's end, so that prefixes and Azure deployment
/// names do not make series; other paths are [`OTHER`].
pub(crate) const OTHER_ROUTES: [&str; 3] = ["/completions", "/embeddings", "/models"];

type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS.iter().copied())
}

/// The metrics, shared by the recorder and the admin listener.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    streams: Family<Labels, Counter>,
    chunks: Counter,
    bytes: Counter,
    filters: Family<Labels, Counter>,
    tokens: Family<Labels, Counter>,
    first_byte: Histogram,
    first_token: Histogram,
    first_answer: Histogram,
    thinking: Histogram,
    stream_duration: Histogram,
    dropped: Counter,
    open_connections: Gauge,
    export_failures: Counter,
    models: Mutex<HashSet<String>>,
    /// Read at scrape time.
    sources: Mutex<Sources>,
}

/// Where the scrape-time values come from.
#[derive(Default)]
pub(crate) struct Sources {
    pub(crate) connections: Option<Connections>,
    pub(crate) dropped: Option<Arc<AtomicU64>>,
    pub(crate) otel: Option<Otel>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut r = Registry::default();
        let requests = Family::default();
        r.register(
            "thinktee_requests",
            "Requests by route, status the client got, and model asked for",
            requests.clone(),
        );
        let streams = Family::default();
        r.register("thinktee_streams", "Recorded responses by how they ended", streams.clone());
        let chunks = Counter::default();
        r.register("thinktee_chunks", "Chat chunks forwarded", chunks.clone());
        let bytes = Counter::default();
        r.register_with_unit(
            "thinktee_forwarded",
            "Response body bytes forwarded (SSE data payloads)",
            Unit::Bytes,
            bytes.clone(),
        );
        let filters = Family::default();
        r.register(
            "thinktee_content_filter_events",
            "Content-filter verdicts by category and severity",
            filters.clone(),
        );
        let tokens = Family::default();
        r.register("thinktee_tokens", "Tokens by type (input, output, reasoning)", tokens.clone());
        let seconds = |r: &mut Registry, name: &str, help: &str| {
            let h = histogram();
            r.register_with_unit(name, help, Unit::Seconds, h.clone());
            h
        };
        let first_byte =
            seconds(&mut r, "thinktee_time_to_first_byte", "Request to first body byte");
        let first_token =
            seconds(&mut r, "thinktee_time_to_first_token", "Request to first chat chunk");
        let first_answer =
            seconds(&mut r, "thinktee_time_to_first_answer", "Request to first answer text");
        let thinking = seconds(&mut r, "thinktee_thinking_duration", "First to last thinking text");
        let stream_duration =
            seconds(&mut r, "thinktee_stream_duration", "Request to the end of the response");
        let dropped = Counter::default();
        r.register(
            "thinktee_records_dropped",
            "Transcript records dropped while the writer fell behind",
            dropped.clone(),
        );
        let open_connections = Gauge::default();
        r.register(
            "thinktee_open_connections",
            "Client connections open",
            open_connections.clone(),
        );
        let export_failures = Counter::default();
        r.register(
            "thinktee_otel_export_failures",
            "OpenTelemetry spans, log records and metric exports that failed",
            export_failures.clone(),
        );
        let build = Family::<Labels, Gauge>::default();
        r.register("thinktee_build_info", "Always 1: the version as a label", build.clone());
        build.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_owned())]).set(1);
        Metrics {
            registry: r,
            requests,
            streams,
            chunks,
            bytes,
            filters,
            tokens,
            first_byte,
            first_token,
            first_answer,
            thinking,
            stream_duration,
            dropped,
            open_connections,
            export_failures,
            models: Mutex::default(),
            sources: Mutex::default(),
        }
    }

    /// Sets where scrape-time values come from.
    pub(crate) fn set_sources(&self, sources: Sources) {
        *self.sources.lock().unwrap_or_else(|e| e.into_inner()) = sources;
    }

    /// Counts one exchange (every one the proxy sees, recorded or not).
    pub(crate) fn request(&self, exchange: &Exchange) {
        let route = Route::of_path(&exchange.path).map(|r| r.template).unwrap_or_else(|| {
            let path = exchange.path.split_once('?').map_or(exchange.path.as_str(), |(p, _)| p);
            let path = path.trim_end_matches('/');
            OTHER_ROUTES.iter().find(|r| path.ends_with(*r)).copied().unwrap_or(OTHER)
        });
        let status = exchange
            .response_status
            .or(exchange.status)
            .map_or_else(|| OTHER.to_owned(), |s| s.as_u16().to_string());
        let model = self.model_label(exchange.model.as_deref());
        self.requests
            .get_or_create(&vec![("route", route.to_owned()), ("status", status), ("model", model)])
            .inc();
    }

    /// `model` as a label value: itself while fewer than
    /// [`MAX_MODEL_LABELS`] distinct ones were seen, else [`OTHER`].
    fn model_label(&self, model: Option<&str>) -> String {
        let Some(model) = model else { return OTHER.to_owned() };
        let mut seen = self.models.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(model) || seen.len() < MAX_MODEL_LABELS && seen.insert(model.to_owned()) {
            model.to_owned()
        } else {
            OTHER.to_owned()
        }
    }

    /// Counts one stream from its first transcript record.
    fn stream(&self, record: &TranscriptRecord) {
        let m = &record.metrics;
        self.chunks.inc_by(m.chunks);
        self.bytes.inc_by(m.data_bytes);
        for f in &record.split.filters {
            let severity = f.severity.clone().unwrap_or_else(|| OTHER.to_owned());
            self.filters
                .get_or_create(&vec![("category", f.category.clone()), ("severity", severity)])
                .inc();
        }
        let tokens = [
            ("input", m.tokens.prompt),
            ("output", m.tokens.completion),
            ("reasoning", m.tokens.reasoning),
        ];
        // Counts the upstream reported, not estimates.
        for (kind, n) in tokens.into_iter().filter(|_| !m.tokens.estimated) {
            if let Some(n) = n {
                self.tokens.get_or_create(&vec![("type", kind.to_owned())]).inc_by(n);
            }
        }
        let observe = |h: &Histogram, ms: Option<f64>| {
            if let Some(ms) = ms {
                h.observe(ms / 1000.0);
            }
        };
        observe(&self.first_byte, m.time_to_first_byte_ms);
        observe(&self.first_token, m.time_to_first_chunk_ms);
        observe(&self.first_answer, m.time_to_first_answer_ms);
        observe(&self.thinking, m.thinking_duration_ms);
        observe(&self.stream_duration, m.total_duration_ms);
        // Last: a scrape that counts the stream sees all of the above (the
        // ops test waits for this count; counted first, a scrape in between
        // read a histogram one short).
        self.streams.get_or_create(&vec![("outcome", record.outcome.as_str().to_owned())]).inc();
    }

    /// The text exposition of every metric, scrape-time values read now.
    pub(crate) fn encode(&self) -> String {
        {
            let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = &sources.connections {
                self.open_connections.set(i64::try_from(c.open()).unwrap_or(i64::MAX));
            }
            let catch_up = |counter: &Counter, now: u64| {
                counter.inc_by(now.saturating_sub(counter.get()));
            };
            if let Some(d) = &sources.dropped {
                catch_up(&self.dropped, d.load(std::sync::atomic::Ordering::Relaxed));
            }
            if let Some(otel) = &sources.otel {
                catch_up(&self.export_failures, otel.stats().export_failures());
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// A sink counting each stream of one exchange once, from its records
/// assembled as the transcript's are.
pub(crate) struct PromSink {
    metrics: Arc<Metrics>,
    assembler: Assembler,
    counted: Vec<u64>,
}

impl PromSink {
    pub(crate) fn new(metrics: Arc<Metrics>) -> PromSink {
        PromSink { metrics, assembler: Assembler::new(), counted: Vec::new() }
    }
}

impl Sink for PromSink {
    type Error = std::convert::Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error> {
        self.assembler.record(record)?;
        for line in self.assembler.drain() {
            if !self.counted.contains(&line.split.stream) {
                self.counted.push(line.split.stream);
                self.metrics.stream(&line);
            }
        }
        Ok(Flow::Continue)
    }
}
