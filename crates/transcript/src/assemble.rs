//! Assembling transcript records from pipeline records.

use std::convert::Infallible;
use std::time::Duration;

use thinktee_metrics::MetricsSink;
use thinktee_pipeline::{Collector, Event, Flow, Record, Sink, StreamOutcome};

use crate::record::{RequestMeta, TranscriptRecord};

/// A sink that builds one [`TranscriptRecord`] per choice of each stream,
/// in memory; take them with [`Assembler::drain`] (a stream's records
/// appear when it ends).
///
/// Text, filters and errors are gathered by a
/// [`Collector`](thinktee_pipeline::Collector), timings by a
/// [`MetricsSink`](thinktee_metrics::MetricsSink); this only joins their
/// results with the request metadata and the stream's outcome. Like the
/// collector it copies all text.
#[derive(Debug, Default)]
pub struct Assembler {
    meta: Option<RequestMeta>,
    collector: Collector,
    metrics: MetricsSink,
    finished: Vec<TranscriptRecord>,
}

impl Assembler {
    /// An assembler without request metadata.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// An assembler whose records carry `meta`.
    pub fn with_meta(meta: RequestMeta) -> Assembler {
        Assembler { meta: Some(meta), ..Assembler::default() }
    }

    /// The request metadata put on records of streams that end from now on.
    pub fn set_meta(&mut self, meta: Option<RequestMeta>) {
        self.meta = meta;
    }

    /// The request metadata, if any.
    pub fn meta(&self) -> Option<&RequestMeta> {
        self.meta.as_ref()
    }

    /// The first byte of the current stream's body arrived at `at` (see
    /// [`MetricsSink::observe_first_byte`]).
    pub fn observe_first_byte(&mut self, at: Duration) {
        self.metrics.observe_first_byte(at);
    }

    /// The records of every stream that ended since the last drain.
    pub fn drain(&mut self) -> std::vec::Drain<'_, TranscriptRecord> {
        self.finished.drain(..)
    }

    fn assemble(&mut self, outcome: StreamOutcome) {
        let Some(metrics) = self.metrics.drain().next_back() else { return };
        for c in self.collector.drain() {
            let mut metrics = metrics.clone();
            metrics.choices.retain(|m| Some(m.choice) == c.choice);
            self.finished.push(TranscriptRecord {
                request: self.meta.clone(),
                split: c,
                outcome,
                metrics,
            });
        }
    }
}

impl Sink for Assembler {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        self.collector.record(record)?;
        self.metrics.record(record)?;
        if let Event::StreamEnd(end) = record.event {
            self.assemble(end.outcome);
        }
        Ok(Flow::Continue)
    }
}
