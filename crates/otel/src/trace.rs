//! Trace context: a request's `chat {model}` span joins the caller's
//! trace, and the upstream learns which span is its parent.
//!
//! The span is emitted when the stream ends, but its ids must go upstream
//! (in `traceparent`) before the request does: [`Otel::trace_request`]
//! fixes them then, and the span is built with them at the end through
//! [`PresetIds`], the tracer's id generator.

use std::cell::Cell;

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use crate::Otel;

/// Where a request's span sits: the caller's span (if its `traceparent`
/// named one) and the ids the span will have.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTrace {
    /// The caller's span, from its `traceparent` and `tracestate`.
    pub parent: Option<SpanContext>,
    /// The request span's own context: the caller's trace id (or a new
    /// one), a new span id, the caller's flags and trace state.
    pub span: SpanContext,
}

impl RequestTrace {
    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        self.span.trace_id().to_string()
    }

    /// The request span's id, 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        self.span.span_id().to_string()
    }

    /// The context to build the span in: the caller's, or none.
    pub(crate) fn parent_context(&self) -> Context {
        match &self.parent {
            Some(parent) => Context::new().with_remote_span_context(parent.clone()),
            None => Context::new(),
        }
    }
}

impl Otel {
    /// Reads the W3C `traceparent`/`tracestate` of a request about to go
    /// upstream, fixes the ids of its `chat {model}` span (a child of the
    /// caller's span, or the root of a new trace), and replaces those
    /// headers with ones naming that span. Pass the result in
    /// [`RequestInfo::trace`](crate::RequestInfo::trace).
    ///
    /// `None` (headers untouched: a caller's context goes through as is)
    /// when this handle exports nothing.
    pub fn trace_request(&self, headers: &mut HeaderMap) -> Option<RequestTrace> {
        if !self.is_enabled() {
            return None;
        }
        let propagator = TraceContextPropagator::new();
        let caller = propagator.extract(&HeaderExtractor(headers));
        let parent = Some(caller.span().span_context().clone()).filter(SpanContext::is_valid);
        let ids = RandomIdGenerator::default();
        let span = match &parent {
            Some(p) => SpanContext::new(
                p.trace_id(),
                ids.new_span_id(),
                p.trace_flags(),
                false,
                p.trace_state().clone(),
            ),
            None => SpanContext::new(
                ids.new_trace_id(),
                ids.new_span_id(),
                TraceFlags::SAMPLED,
                false,
                Default::default(),
            ),
        };
        headers.remove("traceparent");
        headers.remove("tracestate");
        let ours = Context::new().with_remote_span_context(span.clone());
        propagator.inject_context(&ours, &mut HeaderInjector(headers));
        Some(RequestTrace { parent, span })
    }
}

thread_local! {
    /// Ids for the next span built on this thread ([`with_preset`]).
    static PRESET: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// The tracer's id generator: random ids, except while [`with_preset`]
/// builds a span whose ids were fixed beforehand.
#[derive(Debug, Default)]
pub(crate) struct PresetIds {
    random: RandomIdGenerator,
}

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        PRESET.with(Cell::get).map_or_else(|| self.random.new_trace_id(), |(t, _)| t)
    }

    fn new_span_id(&self) -> SpanId {
        PRESET.with(Cell::get).map_or_else(|| self.random.new_span_id(), |(_, s)| s)
    }
}

/// Runs `build` (which starts one span, synchronously) with the ids of
/// `span` as the ones the tracer generates.
pub(crate) fn with_preset<T>(span: &SpanContext, build: impl FnOnce() -> T) -> T {
    PRESET.with(|p| p.set(Some((span.trace_id(), span.span_id()))));
    let out = build();
    PRESET.with(|p| p.set(None));
    out
}
