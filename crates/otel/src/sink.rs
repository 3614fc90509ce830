//! [`OtelSink`]: one request's records → a span, metrics and events.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{Span as _, SpanContext, SpanKind, Status, Tracer as _};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use thinktee_metrics::{MetricsSink, StreamMetrics, Tokens};
use thinktee_pipeline::{
    ChoiceEnd, ChoiceMap, ErrorKind, Event, FilterEvent, Flow, Pipeline, ReasoningSource, Record,
    SegmentKind, Sink, Stamped, StreamEnd, StreamOutcome,
};
use thinktee_pipeline::{Format, prefix_within};

use crate::messages::{arguments, finish_reason};
use crate::provider::resolve_provider;

use crate::otel::Inner;
use crate::semconv::*;
use crate::trace::{RequestTrace, with_preset};

/// Content-filter verdicts kept per stream; later ones are dropped and counted.
pub const MAX_FILTER_EVENTS: usize = 4096;
/// Bytes of thinking and answer text and tool calls captured per stream
/// (only with content capture on); the rest is cut at a character boundary
/// and counted.
pub const MAX_CAPTURE_BYTES: usize = 1 << 20;
/// Longest upstream error code used as `error.type` as is; longer ones (and
/// codes with characters other than `[A-Za-z0-9_.-]`) become `_OTHER`.
pub const MAX_ERROR_TYPE_LEN: usize = 64;

/// What is known about a request before its response arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestInfo {
    /// The request's `model`.
    pub request_model: Option<String>,
    /// The upstream host (`server.address`).
    pub server_address: Option<String>,
    /// The upstream port (`server.port`, exported only with an address).
    pub server_port: Option<u16>,
    /// `gen_ai.provider.name` for this request; when `None`, the configured
    /// override, then the host and the format decide (see
    /// [`resolve_provider`](crate::resolve_provider)).
    pub provider_name: Option<String>,
    /// The wire format the request's API answers in (its route's): the
    /// format of a stream that does not tell its own (an error body that
    /// reads as chat completions, no body at all), for
    /// `gen_ai.provider.name` and the output messages' finish reasons.
    pub format: Format,
    /// The request asked for a stream: then (only) `gen_ai.request.stream`
    /// is set, and the time-to-first-chunk attribute and metrics and the
    /// time-per-output-chunk metric are recorded.
    pub stream: bool,
    /// `gen_ai.input.messages`: the request's history as a JSON array of
    /// messages in the conventions' format ([`input_messages`](crate::input_messages)
    /// reads it from a request body); exported only when content capture
    /// is on.
    pub request_messages_json: Option<String>,
    /// `gen_ai.system_instructions`: instructions given apart from the
    /// history, a JSON array of parts ([`input_messages`](crate::input_messages));
    /// exported only when content capture is on.
    pub system_instructions_json: Option<String>,
    /// When the request was sent: the span's start. Record timestamps
    /// (`Record::at`) are durations since this instant.
    pub start: SystemTime,
    /// The span's place in a trace, fixed before the request went
    /// upstream ([`Otel::trace_request`](crate::Otel::trace_request));
    /// `None`: a root span with new ids.
    pub trace: Option<RequestTrace>,
}

impl RequestInfo {
    /// A streaming request starting now, nothing else known.
    pub fn new() -> RequestInfo {
        RequestInfo {
            request_model: None,
            server_address: None,
            server_port: None,
            provider_name: None,
            format: Format::ChatCompletions,
            stream: true,
            request_messages_json: None,
            system_instructions_json: None,
            start: SystemTime::now(),
            trace: None,
        }
    }
}

impl Default for RequestInfo {
    fn default() -> Self {
        RequestInfo::new()
    }
}

/// One part of a choice's output message, in arrival order.
#[derive(Debug)]
enum OutPart {
    Reasoning(String),
    Text(String),
    ToolCall { id: Option<String>, name: Option<String>, arguments: String },
}

/// The output message of one choice (content capture only): its parts,
/// consecutive text of one kind in one part, and where each tool call is
/// among them: `calls[n]` is the part of the choice's call `n` (the
/// pipeline numbers a choice's calls 0, 1, 2, … in the order they begin).
#[derive(Debug, Default)]
struct ChoiceParts {
    parts: Vec<OutPart>,
    calls: Vec<usize>,
}

impl ChoiceParts {
    fn has_tool_calls(&self) -> bool {
        !self.calls.is_empty()
    }

    /// The parts as the conventions' JSON. Chat completions and Ollama
    /// carry a message's tool calls in a field of their own, after its
    /// text (answer text held back by tag splitting may be recorded after
    /// the calls): their tool calls go last. The other formats' blocks do
    /// interleave: their parts keep arrival order.
    fn to_json(&self, format: Format) -> Vec<serde_json::Value> {
        let mut parts: Vec<&OutPart> = self.parts.iter().collect();
        if matches!(format, Format::ChatCompletions | Format::Ollama) {
            parts.sort_by_key(|p| matches!(p, OutPart::ToolCall { .. }));
        }
        let part = |p: &&OutPart| match p {
            OutPart::Reasoning(t) => serde_json::json!({"type": "reasoning", "content": t}),
            OutPart::Text(t) => serde_json::json!({"type": "text", "content": t}),
            OutPart::ToolCall { id, name, arguments: args } => {
                let mut call = serde_json::json!({"type": "tool_call", "name": name});
                if let Some(id) = id {
                    call["id"] = id.as_str().into();
                }
                call["arguments"] = arguments(args);
                call
            }
        };
        parts.iter().map(part).collect()
    }
}

/// One content-filter verdict and when it arrived.
#[derive(Debug)]
struct FilterRecord {
    choice: Option<u32>,
    at: Option<Duration>,
    event: FilterEvent,
}

/// What one stream has shown so far, beyond what its [`MetricsSink`]
/// measures (first chunk, gaps, usage, counts).
#[derive(Debug, Default)]
struct StreamAcc {
    started: bool,
    last_at: Option<Duration>,
    id: Option<String>,
    model: Option<String>,
    choices: Vec<ChoiceEnd>,
    texts: ChoiceMap<ChoiceParts>,
    captured: usize,
    filters: Vec<FilterRecord>,
    /// The first upstream error: its code and message.
    api_error: Option<(Option<String>, String)>,
    parse_errors: Vec<(&'static str, u64)>,
    dropped: u64,
}

/// A [`Sink`] that turns the records of one request into OpenTelemetry
/// data; get one from [`Otel::sink`](crate::Otel::sink).
///
/// [`Sink::record`] only accumulates and never fails or blocks: timings,
/// gaps and usage in its [`MetricsSink`] (gaps bounded by
/// [`thinktee_metrics::MAX_GAP_SAMPLES`]), the rest bounded by
/// [`MAX_FILTER_EVENTS`] and [`MAX_CAPTURE_BYTES`].
/// At each [`Event::StreamEnd`] it emits:
///
/// - a CLIENT span `chat {model}` from [`RequestInfo::start`] to the end
///   record's time, with the GenAI attributes, `thinktee.*` attributes and
///   `gen_ai.guardrail.result` events;
/// - the metrics (operation duration, time to first chunk, one
///   time-per-output-chunk sample per chunk after the first, token usage,
///   `thinktee.*` instruments);
/// - a `gen_ai.guardrail.result` log record per content-filter verdict, and
///   with content capture on a `gen_ai.client.inference.operation.details`
///   log record and span event.
///
/// Emitting hands the data to the SDK's batch processors, which queue
/// without blocking and drop when full. A sink dropped in the middle of a
/// stream emits it with outcome `client_cancelled`.
#[derive(Debug)]
pub struct OtelSink {
    otel: Option<Arc<Inner>>,
    info: RequestInfo,
    /// The configured `gen_ai.provider.name` override.
    configured: Option<String>,
    provider: String,
    metrics: MetricsSink,
    acc: StreamAcc,
    /// Set while [`OtelSink::record_http_error`] runs.
    http_status: Option<u16>,
}

// === impl OtelSink ===

impl OtelSink {
    pub(crate) fn new(
        otel: Option<Arc<Inner>>,
        info: RequestInfo,
        configured: Option<String>,
    ) -> OtelSink {
        let provider = provider_of(&info, configured.as_deref(), info.format);
        OtelSink {
            otel,
            info,
            configured,
            provider,
            metrics: MetricsSink::new(),
            acc: StreamAcc::default(),
            http_status: None,
        }
    }

    /// Whether this sink exports anything (an endpoint is configured).
    pub fn is_enabled(&self) -> bool {
        self.otel.is_some()
    }

    /// The request this sink reports.
    pub fn request(&self) -> &RequestInfo {
        &self.info
    }

    /// The resolved `gen_ai.provider.name`: by the request's
    /// [format](RequestInfo::format) until a stream tells its own.
    pub fn provider_name(&self) -> &str {
        &self.provider
    }

    /// Records an HTTP error response that carried no stream (e.g. the 400
    /// JSON body of a filtered prompt), ending now: an errored span with
    /// `error.type` = the body's `error.code` (else the status code) and
    /// `http.response.status_code`, and the content-filter verdicts of the
    /// body's `innererror` as events.
    pub fn record_http_error(&mut self, status: u16, body: &[u8]) {
        self.record_http_error_at(status, body, None);
    }

    /// Like [`OtelSink::record_http_error`], ending `at` after the request
    /// started (`None`: now).
    pub fn record_http_error_at(&mut self, status: u16, body: &[u8], at: Option<Duration>) {
        if self.otel.is_none() {
            return;
        }
        if self.acc.started {
            self.end_open_stream(StreamOutcome::Incomplete);
        }
        self.http_status = Some(status);
        let body = String::from_utf8_lossy(body);
        let mut pipeline = Pipeline::default();
        let _ = pipeline.body(&body, &mut Stamped::new(&mut *self, at));
        if self.acc.started {
            // `body` always ends the stream it starts; this is a safeguard.
            self.end_open_stream(StreamOutcome::UpstreamError);
        }
        self.http_status = None;
    }

    /// Ends a stream the pipeline did not end, as if a `StreamEnd` came.
    /// Only this sink reads it, and its counts and usage come from the
    /// metrics sink: they are left empty here.
    fn end_open_stream(&mut self, outcome: StreamOutcome) {
        let end = StreamEnd {
            // The stream did not end by itself: the route's format.
            format: self.info.format,
            id: self.acc.id.clone(),
            model: self.acc.model.clone(),
            created: None,
            usage: None,
            done: false,
            outcome,
            chunks: 0,
            errors: 0,
            untracked_deltas: 0,
        };
        let at = self.acc.last_at;
        let _ = self.record(&Record { stream: 0, at, event: Event::StreamEnd(&end) });
    }

    fn captures(&self) -> bool {
        self.otel.as_ref().is_some_and(|o| o.capture_content)
    }

    /// As much of `text` as the capture bound leaves room for, counted; a
    /// cut counts as a dropped record.
    fn take<'t>(&mut self, text: &'t str) -> &'t str {
        let acc = &mut self.acc;
        let taken = prefix_within(text, MAX_CAPTURE_BYTES.saturating_sub(acc.captured));
        if taken.len() < text.len() {
            acc.dropped += 1;
        }
        acc.captured += taken.len();
        taken
    }

    fn on_text(&mut self, choice: u32, kind: SegmentKind, text: &str) {
        if !self.captures() || kind == SegmentKind::Markup {
            return;
        }
        let text = self.take(text);
        if text.is_empty() {
            return;
        }
        let parts = &mut self.acc.texts.get_or_insert_with(choice, ChoiceParts::default).parts;
        match (kind, parts.last_mut()) {
            (SegmentKind::Thinking, Some(OutPart::Reasoning(t))) => t.push_str(text),
            (SegmentKind::Thinking, _) => parts.push(OutPart::Reasoning(text.to_owned())),
            (_, Some(OutPart::Text(t))) => t.push_str(text),
            _ => parts.push(OutPart::Text(text.to_owned())),
        }
    }

    fn on_tool_call(
        &mut self,
        choice: u32,
        call: u32,
        id: Option<&str>,
        name: Option<&str>,
        args: &str,
    ) {
        if !self.captures() {
            return;
        }
        let (id, name, args) =
            (id.map(|s| self.take(s)), name.map(|s| self.take(s)), self.take(args));
        let choice = self.acc.texts.get_or_insert_with(choice, ChoiceParts::default);
        // A call's pieces are found by its number, not by a search of the
        // calls so far: a stream of many small calls costs linear time.
        let at = match usize::try_from(call).ok().and_then(|n| choice.calls.get(n)) {
            Some(&at) => at,
            None => {
                let empty = OutPart::ToolCall { id: None, name: None, arguments: String::new() };
                choice.parts.push(empty);
                choice.calls.push(choice.parts.len() - 1);
                choice.parts.len() - 1
            }
        };
        if let OutPart::ToolCall { id: i, name: n, arguments } = &mut choice.parts[at] {
            if let Some(id) = id.filter(|s| !s.is_empty()) {
                i.get_or_insert_with(|| id.to_owned());
            }
            if let Some(name) = name.filter(|s| !s.is_empty()) {
                n.get_or_insert_with(|| name.to_owned());
            }
            arguments.push_str(args);
        }
    }

    fn on_error(&mut self, kind: ErrorKind, code: Option<&str>, message: &str) {
        let acc = &mut self.acc;
        if kind == ErrorKind::Api {
            acc.api_error.get_or_insert_with(|| (code.map(str::to_owned), message.to_owned()));
            return;
        }
        let kind = kind.as_str();
        match acc.parse_errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => acc.parse_errors.push((kind, 1)),
        }
    }

    /// Emits everything about the stream that just ended.
    fn emit(&mut self, end: &StreamEnd, at: Option<Duration>) {
        let acc = std::mem::take(&mut self.acc);
        let measured = self.metrics.drain().next_back();
        let Some(otel) = self.otel.clone() else { return };
        // A stream that reads as chat completions may be an error body of
        // another API: the route's format knows better then.
        let format = match end.format {
            Format::ChatCompletions => self.info.format,
            told => told,
        };
        self.provider = provider_of(&self.info, self.configured.as_deref(), format);
        let report = Report::new(
            &self.info,
            &self.provider,
            format,
            self.http_status,
            end,
            at,
            acc,
            measured,
        );
        report.emit(&otel, &self.metrics);
    }
}

impl Sink for OtelSink {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        if self.otel.is_none() {
            return Ok(Flow::Continue);
        }
        let _ = self.metrics.record(record);
        let at = record.at;
        if at.is_some() {
            self.acc.last_at = at;
        }
        match record.event {
            Event::StreamStart => self.acc.started = true,
            Event::Chunk(info) => {
                let acc = &mut self.acc;
                acc.started = true;
                if acc.id.is_none() {
                    acc.id = info.id.map(str::to_owned);
                }
                if acc.model.is_none() {
                    acc.model = info.model.map(str::to_owned);
                }
            }
            Event::Text { choice, kind, text, .. } => self.on_text(choice, kind, text),
            Event::ToolCall { choice, call, id, name, arguments } => {
                self.on_tool_call(choice, call, id, name, arguments)
            }
            Event::Filter { choice, filter } => {
                let acc = &mut self.acc;
                if acc.filters.len() < MAX_FILTER_EVENTS {
                    acc.filters.push(FilterRecord { choice, at, event: filter.clone() });
                } else {
                    acc.dropped += 1;
                }
            }
            Event::Error(e) => self.on_error(e.kind, e.code.as_deref(), &e.message),
            Event::ChoiceEnd(c) => self.acc.choices.push(c.clone()),
            Event::StreamEnd(end) => self.emit(end, at),
            _ => {}
        }
        Ok(Flow::Continue)
    }
}

impl Drop for OtelSink {
    fn drop(&mut self) {
        if self.otel.is_some() && self.acc.started {
            self.end_open_stream(StreamOutcome::ClientCancelled);
        }
    }
}

// === impl Report ===

/// `gen_ai.provider.name` of a request whose response is in `format`.
fn provider_of(info: &RequestInfo, configured: Option<&str>, format: Format) -> String {
    let host = info.server_address.as_deref();
    resolve_provider(info.provider_name.as_deref(), configured, host, format)
}

/// Everything emitted for one stream, computed once.
struct Report<'a> {
    info: &'a RequestInfo,
    format: Format,
    span_name: String,
    start: SystemTime,
    end: SystemTime,
    duration: f64,
    /// Attributes shared by every metric of this stream.
    common: Vec<KeyValue>,
    span_attributes: Vec<KeyValue>,
    error: Option<String>,
    acc: StreamAcc,
    measured: Option<StreamMetrics>,
    outcome: StreamOutcome,
    /// The status of an HTTP error response.
    http_error: Option<u16>,
    /// The stream's usage (not estimated counts).
    usage: Option<Tokens>,
    /// Time to the first chunk, in seconds.
    first_chunk: Option<f64>,
}

fn secs(ms: f64) -> f64 {
    ms / 1000.0
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `error.type` from an upstream code: as is when short and plain, else `_OTHER`.
fn error_type_of_code(code: &str) -> String {
    let plain = !code.is_empty()
        && code.len() <= MAX_ERROR_TYPE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if plain { code.to_owned() } else { "_OTHER".to_owned() }
}

impl<'a> Report<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        info: &'a RequestInfo,
        provider: &str,
        format: Format,
        http_status: Option<u16>,
        end: &StreamEnd,
        at: Option<Duration>,
        acc: StreamAcc,
        measured: Option<StreamMetrics>,
    ) -> Report<'a> {
        let start = info.start;
        let elapsed =
            at.unwrap_or_else(|| SystemTime::now().duration_since(start).unwrap_or_default());
        let http_error = http_status.filter(|s| *s >= 400);
        let error = match (&acc.api_error, http_error, end.outcome) {
            (Some((Some(code), _)), _, _) => Some(error_type_of_code(code)),
            (_, Some(status), _) => Some(status.to_string()),
            (_, _, StreamOutcome::Complete) => None,
            (Some((None, _)), _, _) => Some(StreamOutcome::UpstreamError.as_str().to_owned()),
            (None, None, outcome) => Some(outcome.as_str().to_owned()),
        };
        let response_id = end.id.clone().or_else(|| acc.id.clone());
        let response_model = end.model.clone().or_else(|| acc.model.clone());
        let usage = measured.as_ref().map(|m| m.tokens).filter(|t| !t.estimated);
        let first_chunk = measured.as_ref().and_then(|m| m.time_to_first_chunk_ms).map(secs);

        let mut common = vec![
            KeyValue::new(GEN_AI_OPERATION_NAME, OPERATION_CHAT),
            KeyValue::new(GEN_AI_PROVIDER_NAME, provider.to_owned()),
        ];
        if let Some(m) = &info.request_model {
            common.push(KeyValue::new(GEN_AI_REQUEST_MODEL, m.clone()));
        }
        if let Some(m) = &response_model {
            common.push(KeyValue::new(GEN_AI_RESPONSE_MODEL, m.clone()));
        }
        if let Some(a) = &info.server_address {
            common.push(KeyValue::new(SERVER_ADDRESS, a.clone()));
            if let Some(p) = info.server_port {
                common.push(KeyValue::new(SERVER_PORT, i64::from(p)));
            }
        }
        if let Some(e) = &error {
            common.push(KeyValue::new(ERROR_TYPE, e.clone()));
        }

        let mut span = common.clone();
        if info.stream {
            // Conditionally required: only on streaming requests.
            span.push(KeyValue::new(GEN_AI_REQUEST_STREAM, true));
        }
        if let Some(id) = &response_id {
            span.push(KeyValue::new(GEN_AI_RESPONSE_ID, id.clone()));
        }
        let reasons: Vec<StringValue> = acc
            .choices
            .iter()
            .filter_map(|c| c.finish_reason.clone())
            .map(StringValue::from)
            .collect();
        if !reasons.is_empty() {
            span.push(KeyValue::new(
                GEN_AI_RESPONSE_FINISH_REASONS,
                Value::Array(Array::String(reasons)),
            ));
        }
        if let Some(u) = &usage {
            let tokens = [
                (GEN_AI_USAGE_INPUT_TOKENS, u.prompt),
                (GEN_AI_USAGE_OUTPUT_TOKENS, u.completion),
                (GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, u.reasoning),
                (GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, u.cached),
            ];
            for (key, n) in tokens {
                if let Some(n) = n {
                    span.push(KeyValue::new(key, int(n)));
                }
            }
        }
        if info.stream
            && let Some(first) = first_chunk
        {
            span.push(KeyValue::new(GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, first));
        }
        if let Some(status) = http_status {
            span.push(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        }
        if let Some(m) = &measured {
            if let Some(ms) = m.time_to_first_answer_ms {
                span.push(KeyValue::new(THINKTEE_TIME_TO_FIRST_ANSWER, secs(ms)));
            }
            if let Some(ms) = m.thinking_duration_ms {
                span.push(KeyValue::new(THINKTEE_THINKING_DURATION, secs(ms)));
            }
        }
        let source = if acc.choices.iter().any(|c| c.reasoning_source == ReasoningSource::Field) {
            ReasoningSource::Field
        } else if acc.choices.iter().any(|c| c.reasoning_source == ReasoningSource::Tags) {
            ReasoningSource::Tags
        } else {
            ReasoningSource::None
        };
        span.push(KeyValue::new(THINKTEE_REASONING_SOURCE, source.as_str()));
        span.push(KeyValue::new(
            THINKTEE_THINKING_UNTERMINATED,
            acc.choices.iter().any(|c| c.unterminated),
        ));
        span.push(KeyValue::new(THINKTEE_OUTCOME, end.outcome.as_str()));

        Report {
            info,
            format,
            span_name: match &info.request_model {
                Some(m) => format!("{OPERATION_CHAT} {m}"),
                None => OPERATION_CHAT.to_owned(),
            },
            start,
            end: start + elapsed,
            duration: elapsed.as_secs_f64(),
            common,
            span_attributes: span,
            error,
            acc,
            measured,
            outcome: end.outcome,
            http_error,
            usage,
            first_chunk,
        }
    }

    /// The `gen_ai.output.messages` JSON, or `None` when no choice produced
    /// anything.
    fn output_messages(&self) -> Option<String> {
        let messages: Vec<serde_json::Value> = self
            .acc
            .choices
            .iter()
            .filter_map(|c| {
                let choice = self.acc.texts.get(c.choice);
                let parts = choice.map(|c| c.to_json(self.format)).unwrap_or_default();
                if parts.is_empty() && c.finish_reason.is_none() {
                    return None;
                }
                let calls = choice.is_some_and(ChoiceParts::has_tool_calls);
                Some(serde_json::json!({
                    "role": "assistant",
                    "parts": parts,
                    "finish_reason": finish_reason(self.format, c.finish_reason.as_deref(), calls),
                }))
            })
            .collect();
        if messages.is_empty() {
            None
        } else {
            Some(serde_json::Value::Array(messages).to_string())
        }
    }

    /// Emits the stream; `metrics` is the sink that measured it (its
    /// gaps are recorded one by one).
    fn emit(self, otel: &Inner, metrics: &MetricsSink) {
        let builder = otel
            .tracer
            .span_builder(self.span_name.clone())
            .with_kind(SpanKind::Client)
            .with_start_time(self.start)
            .with_attributes(self.span_attributes.clone());
        let mut span = match &self.info.trace {
            Some(trace) => with_preset(&trace.span, || {
                builder.start_with_context(&otel.tracer, &trace.parent_context())
            }),
            None => builder.start(&otel.tracer),
        };
        let context = span.span_context().clone();

        for f in &self.acc.filters {
            let attributes = guardrail_attributes(f);
            let time = f.at.map_or(self.end, |at| self.start + at);
            let severity =
                if f.event.filtered == Some(true) { Severity::Warn } else { Severity::Info };
            emit_log(otel, &context, EVENT_GUARDRAIL_RESULT, time, severity, &attributes);
            span.add_event_with_timestamp(EVENT_GUARDRAIL_RESULT, time, attributes);
        }

        if otel.capture_content {
            let mut attributes: Vec<KeyValue> = self
                .span_attributes
                .iter()
                .filter(|kv| !kv.key.as_str().starts_with("thinktee."))
                .cloned()
                .collect();
            let input = self.info.request_messages_json.clone();
            let system = self.info.system_instructions_json.clone();
            let output = self.output_messages();
            if input.is_some() || system.is_some() || output.is_some() {
                if let Some(system) = system {
                    attributes.push(KeyValue::new(GEN_AI_SYSTEM_INSTRUCTIONS, system));
                }
                if let Some(input) = input {
                    attributes.push(KeyValue::new(GEN_AI_INPUT_MESSAGES, input));
                }
                if let Some(output) = output {
                    attributes.push(KeyValue::new(GEN_AI_OUTPUT_MESSAGES, output));
                }
                emit_log(
                    otel,
                    &context,
                    EVENT_OPERATION_DETAILS,
                    self.end,
                    Severity::Info,
                    &attributes,
                );
                span.add_event_with_timestamp(EVENT_OPERATION_DETAILS, self.end, attributes);
            }
        }

        if self.error.is_some() {
            let description = match &self.acc.api_error {
                Some((_, message)) => message.clone(),
                None => match self.http_error {
                    Some(status) => format!("http status {status}"),
                    None => self.outcome.as_str().to_owned(),
                },
            };
            span.set_status(Status::error(description));
        }
        span.end_with_timestamp(self.end);

        self.record_metrics(otel, metrics);
        otel.counters.streams.fetch_add(1, Ordering::Relaxed);
    }

    fn record_metrics(&self, otel: &Inner, metrics: &MetricsSink) {
        let m = &otel.instruments;
        let common = &self.common[..];
        m.operation_duration.record(self.duration, common);
        if self.info.stream
            && let Some(first) = self.first_chunk
        {
            m.time_to_first_chunk.record(first, common);
            for gap in metrics.last_gaps() {
                m.time_per_output_chunk.record(gap.as_secs_f64(), common);
            }
        }
        if let Some(u) = &self.usage {
            let typed = |kind: &'static str| {
                let mut attrs = self.common.clone();
                attrs.push(KeyValue::new(GEN_AI_TOKEN_TYPE, kind));
                attrs
            };
            if let Some(n) = u.prompt {
                m.token_usage.record(n, &typed("input"));
            }
            if let Some(n) = u.completion {
                m.token_usage.record(n, &typed("output"));
            }
            if let Some(n) = u.reasoning {
                m.reasoning_tokens.record(n, common);
            }
        }
        if let Some(s) = &self.measured {
            if let Some(ms) = s.time_to_first_answer_ms {
                m.time_to_first_answer.record(secs(ms), common);
            }
            if let Some(ms) = s.thinking_duration_ms {
                m.thinking_duration.record(secs(ms), common);
            }
        }
        let provider = self.common[1].clone();
        for f in &self.acc.filters {
            let e = &f.event;
            let mut attrs = vec![
                provider.clone(),
                KeyValue::new(GEN_AI_GUARDRAIL_SOURCE, e.source.as_str()),
                KeyValue::new(GEN_AI_GUARDRAIL_RISK_CATEGORY, e.category.clone()),
            ];
            if let Some(s) = &e.severity {
                attrs.push(KeyValue::new(THINKTEE_CONTENT_FILTER_SEVERITY, s.clone()));
            }
            if let Some(filtered) = e.filtered {
                attrs.push(KeyValue::new(THINKTEE_CONTENT_FILTER_FILTERED, filtered));
            }
            m.content_filter_events.add(1, &attrs);
        }
        let mut parse_errors = 0;
        for (kind, n) in &self.acc.parse_errors {
            m.parse_errors.add(*n, &[KeyValue::new(THINKTEE_PARSE_ERROR_KIND, *kind)]);
            parse_errors += n;
        }
        otel.counters.parse_errors.fetch_add(parse_errors, Ordering::Relaxed);
        let dropped = self.acc.dropped + metrics.last_gaps_not_kept();
        if dropped > 0 {
            otel.add_dropped(dropped);
        }
    }
}

/// The attributes of one `gen_ai.guardrail.result` event.
fn guardrail_attributes(f: &FilterRecord) -> Vec<KeyValue> {
    let e = &f.event;
    let (kind, value) = if e.category == "error" || (e.code.is_some() && e.severity.is_none()) {
        ("error", e.code.clone().unwrap_or_else(|| "error".to_owned()))
    } else if let Some(s) = &e.severity {
        ("severity", s.clone())
    } else if let Some(d) = e.detected {
        ("detected", d.to_string())
    } else if let Some(b) = e.filtered {
        ("filtered", b.to_string())
    } else {
        ("filtered", "unknown".to_owned())
    };
    let mut attrs = vec![
        KeyValue::new(GEN_AI_GUARDRAIL_SOURCE, e.source.as_str()),
        KeyValue::new(GEN_AI_GUARDRAIL_RESULT_TYPE, kind),
        KeyValue::new(GEN_AI_GUARDRAIL_RESULT_VALUE, value),
        KeyValue::new(GEN_AI_GUARDRAIL_RISK_CATEGORY, e.category.clone()),
    ];
    if let Some(b) = e.filtered {
        attrs.push(KeyValue::new(THINKTEE_CONTENT_FILTER_FILTERED, b));
    }
    if let Some(id) = &e.id {
        attrs.push(KeyValue::new(GEN_AI_GUARDRAIL_POLICY_ID, id.clone()));
    }
    if let Some(choice) = f.choice {
        attrs.push(KeyValue::new(THINKTEE_CONTENT_FILTER_CHOICE, i64::from(choice)));
    }
    if let Some(o) = &e.offsets {
        let offsets = [
            (THINKTEE_CONTENT_FILTER_CHECK_OFFSET, o.check_offset),
            (THINKTEE_CONTENT_FILTER_START_OFFSET, o.start_offset),
            (THINKTEE_CONTENT_FILTER_END_OFFSET, o.end_offset),
        ];
        for (key, n) in offsets {
            if let Some(n) = n {
                attrs.push(KeyValue::new(key, int(n)));
            }
        }
    }
    attrs
}

/// A span attribute value as a log attribute value.
fn any_value(v: &Value) -> AnyValue {
    match v {
        Value::Bool(b) => AnyValue::Boolean(*b),
        Value::I64(n) => AnyValue::Int(*n),
        Value::F64(x) => AnyValue::Double(*x),
        Value::String(s) => AnyValue::String(s.clone()),
        Value::Array(Array::Bool(a)) => a.iter().map(|b| AnyValue::Boolean(*b)).collect(),
        Value::Array(Array::I64(a)) => a.iter().map(|n| AnyValue::Int(*n)).collect(),
        Value::Array(Array::F64(a)) => a.iter().map(|x| AnyValue::Double(*x)).collect(),
        Value::Array(Array::String(a)) => a.iter().map(|s| AnyValue::String(s.clone())).collect(),
        other => AnyValue::String(other.to_string().into()),
    }
}

/// Emits one event as a log record tied to the span.
fn emit_log(
    otel: &Inner,
    span: &SpanContext,
    name: &'static str,
    time: SystemTime,
    severity: Severity,
    attributes: &[KeyValue],
) {
    let mut record = otel.logger.create_log_record();
    record.set_event_name(name);
    record.set_timestamp(time);
    record.set_observed_timestamp(SystemTime::now());
    record.set_severity_number(severity);
    record.set_severity_text(if severity == Severity::Warn { "WARN" } else { "INFO" });
    record.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
    for kv in attributes {
        record.add_attribute(kv.key.clone(), any_value(&kv.value));
    }
    otel.logger.emit(record);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_low_cardinality() {
        assert_eq!(error_type_of_code("content_filter"), "content_filter");
        assert_eq!(error_type_of_code("502"), "502");
        assert_eq!(error_type_of_code("rate limit: try in 20s"), "_OTHER");
        assert_eq!(error_type_of_code(&"x".repeat(65)), "_OTHER");
        assert_eq!(error_type_of_code(""), "_OTHER");
    }

    #[test]
    fn guardrail_result_types() {
        use thinktee_pipeline::FilterSource::{Completion, Prompt};
        // (category, severity, detected, filtered, code) -> (type, value),
        // as Azure sends them (FORMATS.md, content filtering).
        type Verdict =
            (&'static str, Option<&'static str>, Option<bool>, Option<bool>, Option<&'static str>);
        let cases: [(Verdict, (&str, &str)); 6] = [
            (("hate", Some("safe"), None, Some(false), None), ("severity", "safe")),
            (("violence", Some("medium"), None, Some(true), None), ("severity", "medium")),
            (("jailbreak", None, Some(true), Some(true), None), ("detected", "true")),
            (("custom_blocklists", None, None, Some(true), None), ("filtered", "true")),
            (
                ("error", None, None, None, Some("content_filter_error")),
                ("error", "content_filter_error"),
            ),
            (("hate", None, None, None, None), ("filtered", "unknown")),
        ];
        for ((category, severity, detected, filtered, code), want) in cases {
            let mut e = FilterEvent::new(Completion, category);
            e.severity = severity.map(str::to_owned);
            e.detected = detected;
            e.filtered = filtered;
            e.code = code.map(str::to_owned);
            let attrs = guardrail_attributes(&FilterRecord { choice: Some(0), at: None, event: e });
            let get = |k: &str| {
                attrs.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string())
            };
            let got = (get(GEN_AI_GUARDRAIL_RESULT_TYPE), get(GEN_AI_GUARDRAIL_RESULT_VALUE));
            assert_eq!(got, (Some(want.0.to_owned()), Some(want.1.to_owned())), "{category}");
        }
        let mut e = FilterEvent::new(Prompt, "custom_blocklists");
        e.filtered = Some(true);
        e.id = Some("list".into());
        let attrs = guardrail_attributes(&FilterRecord { choice: None, at: None, event: e });
        let get = |k: &str| attrs.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.clone());
        assert_eq!(get(GEN_AI_GUARDRAIL_POLICY_ID), Some("list".into()));
        assert_eq!(get(THINKTEE_CONTENT_FILTER_CHOICE), None, "a prompt verdict has no choice");
    }
}
