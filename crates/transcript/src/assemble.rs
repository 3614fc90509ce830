//! Assembling transcript records from pipeline records.

use std::convert::Infallible;
use std::time::Duration;

use thinktee_metrics::{MetricsSink, StreamMetrics};
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

    /// Keeps at most `bytes` of each stream's text (see
    /// [`Collector::with_text_limit`]).
    pub fn with_text_limit(mut self, bytes: usize) -> Assembler {
        self.collector = std::mem::take(&mut self.collector).with_text_limit(bytes);
        self
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

    /// Joins the stream's choice records with its metrics: each record gets
    /// the stream's metrics with its own choice's entry only. Both lists
    /// are by choice index, so they are merged in one pass, and what is
    /// copied per record does not grow with the number of choices.
    fn assemble(&mut self, outcome: StreamOutcome) {
        let Some(mut metrics) = self.metrics.drain().next_back() else { return };
        let mut per_choice = std::mem::take(&mut metrics.choices).into_iter().peekable();
        // The request body (content capture) is on the first record only,
        // like the split's stream-level fields: it is set aside while the
        // rest of the metadata is copied onto each record.
        let mut body = self.meta.as_mut().and_then(|meta| meta.body.take());
        let mut first = true;
        for c in self.collector.drain() {
            let mut request = self.meta.clone();
            if std::mem::take(&mut first)
                && let Some(meta) = &mut request
            {
                meta.body.clone_from(&body);
            }
            let mut own = Vec::new();
            if let Some(choice) = c.choice {
                // Entries of choices without a record (none are expected)
                // are passed over.
                while per_choice.next_if(|m| m.choice < choice).is_some() {}
                own.extend(per_choice.next_if(|m| m.choice == choice));
            }
            self.finished.push(TranscriptRecord {
                dropped_before: 0,
                request,
                split: c,
                outcome,
                metrics: StreamMetrics { choices: own, ..metrics.clone() },
            });
        }
        if let Some(meta) = &mut self.meta {
            meta.body = body.take();
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
