//! One row: a transcript record as the values of [`COLUMNS`](crate::COLUMNS).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;
use thinktee_pipeline::ErrorKind;
use thinktee_pipeline::{FilterEvent, StreamError, ToolCallRecord};
use thinktee_transcript::TranscriptRecord;

use crate::schema::{COLUMNS, SCHEMA_VERSION};
use crate::time::unix_ms_to_us;

/// One value of a row, borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Str(Option<&'a str>),
    Int(Option<i64>),
    Bool(bool),
    Time(Option<i64>),
    Filters(&'a [FilterEvent]),
    Errors(&'a [StreamError]),
    ToolCalls(&'a [ToolCallRecord]),
}

/// The `extra` column: the long tail, absent keys left out. A struct
/// rather than a `serde_json::Map`, which would allocate every key of
/// every row.
#[derive(Serialize)]
struct Extra<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    errors_omitted: &'a BTreeMap<ErrorKind, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    untracked_deltas: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_hit_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_miss_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_to_first_chunk_us: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gap_p50_us: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gap_p99_us: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gaps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_body: Option<&'a Json>,
}

/// What a row is read from.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The file it came from.
    pub source: &'a str,
    /// The record.
    pub record: &'a TranscriptRecord,
    /// The record is the first of its stream.
    pub first_of_stream: bool,
}

/// How rows are written, the same for every row of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowOptions<'a> {
    pub(crate) export_id: &'a str,
    pub(crate) text: bool,
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn us(ms: Option<f64>) -> Option<i64> {
    // `as` saturates; NaN becomes 0 (never produced by the metrics).
    ms.map(|ms| (ms * 1000.0).round() as i64)
}

impl Row<'_> {
    /// The request time in microseconds, if known and before year 10000.
    pub fn started_us(&self) -> Option<i64> {
        self.record.request.as_ref()?.started_unix_ms.and_then(unix_ms_to_us)
    }

    /// Bytes the row's values take, roughly: what batches are bounded by.
    pub(crate) fn size(&self, text: bool) -> usize {
        let split = &self.record.split;
        let texts = if text { split.reasoning.len() + split.content.len() } else { 0 };
        let filters: usize = split.filters.iter().map(|f| 64 + f.category.len()).sum();
        let errors: usize = split.errors.iter().map(|e| 16 + e.message.len()).sum();
        let calls: usize = split
            .tool_calls
            .iter()
            .map(|c| {
                16 + c.arguments.len()
                    + c.id.as_ref().map_or(0, String::len)
                    + c.name.as_ref().map_or(0, String::len)
            })
            .sum();
        texts + filters + errors + calls + self.source.len() + 8 * COLUMNS.len()
    }

    /// The long tail, as a JSON object (`None` when empty).
    pub(crate) fn extra(&self, text: bool) -> Option<String> {
        let r = self.record;
        let m = &r.metrics;
        let usage = r.split.usage.as_ref();
        let extra = Extra {
            errors_omitted: &r.split.errors_omitted,
            untracked_deltas: Some(r.split.untracked_deltas).filter(|n| *n > 0),
            dropped_before: Some(r.dropped_before).filter(|n| *n > 0),
            total_tokens: usage.and_then(|u| u.total_tokens),
            cache_hit_tokens: usage.and_then(|u| u.cache_hit_tokens),
            cache_miss_tokens: usage.and_then(|u| u.cache_miss_tokens),
            time_to_first_chunk_us: us(m.time_to_first_chunk_ms),
            gap_p50_us: m.gaps.as_ref().and_then(|g| us(Some(g.p50_ms))),
            gap_p99_us: m.gaps.as_ref().and_then(|g| us(Some(g.p99_ms))),
            gaps: m.gaps.as_ref().map(|g| g.count),
            data_bytes: Some(m.data_bytes).filter(|n| *n > 0),
            request_body: r.request.as_ref().and_then(|q| q.body.as_ref()).filter(|_| text),
        };
        let json = serde_json::to_string(&extra).ok()?;
        (json != "{}").then_some(json)
    }

    /// The values of [`COLUMNS`](crate::COLUMNS), in order.
    pub(crate) fn values<'a>(
        &'a self,
        options: &RowOptions<'a>,
        extra: Option<&'a str>,
    ) -> [Value<'a>; COLUMNS.len()] {
        use Value::{Bool, Errors, Filters, Int, Str, Time, ToolCalls};
        let r = self.record;
        let s = &r.split;
        let q = r.request.as_ref();
        let m = &r.metrics;
        let own = m.choices.first();
        let t = &m.tokens;
        let text = |v: &'a str| Str(options.text.then_some(v));
        let first_token = match (m.time_to_first_thinking_ms, m.time_to_first_answer_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let n = |v: Option<u64>| Int(v.map(int));
        [
            Int(Some(SCHEMA_VERSION)),
            Str(Some(options.export_id)),
            Str(Some(self.source)),
            Int(Some(int(s.stream))),
            Int(s.choice.map(i64::from)),
            Bool(self.first_of_stream),
            Str(s.id.as_deref()),
            Str(s.model.as_deref()),
            text(&s.reasoning),
            text(&s.content),
            Str(Some(s.reasoning_source.as_str())),
            Str(s.finish_reason.as_deref()),
            Bool(s.unterminated),
            Bool(s.done),
            Str(Some(s.format.as_str())),
            ToolCalls(&s.tool_calls),
            Int(Some(i64::from(s.reasoning_segments))),
            Bool(s.reasoning_signed),
            Bool(s.reasoning_redacted),
            Bool(s.reasoning_encrypted),
            Str(Some(r.outcome.as_str())),
            Str(q.and_then(|q| q.request_id.as_deref())),
            Str(q.and_then(|q| q.method.as_deref())),
            Str(q.and_then(|q| q.path.as_deref())),
            Str(q.and_then(|q| q.model.as_deref())),
            Str(q.and_then(|q| q.upstream.as_deref())),
            Int(q.and_then(|q| q.status).map(i64::from)),
            Time(self.started_us()),
            n(t.prompt),
            n(t.cached),
            n(t.completion),
            n(t.reasoning),
            n(t.answer),
            Bool(t.estimated),
            Int(us(m.time_to_first_byte_ms)),
            Int(us(first_token)),
            Int(own.and_then(|c| us(c.time_to_first_thinking_ms))),
            Int(own.and_then(|c| us(c.time_to_first_answer_ms))),
            Int(own.and_then(|c| us(c.thinking_duration_ms))),
            Int(us(m.total_duration_ms)),
            Int(m.gaps.as_ref().and_then(|g| us(Some(g.max_ms)))),
            Int(Some(int(s.reasoning.len() as u64))),
            Int(Some(int(s.content.len() as u64))),
            Int(Some(int(m.chunks))),
            Filters(&s.filters),
            Errors(&s.errors),
            Str(extra),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Kind;

    /// A transcript line with every field set, written by hand.
    pub(crate) const FULL: &str = r#"{"dropped_before":2,"request":{"method":"POST","path":"/v1/chat/completions","model":"m-req","request_id":"req-1","upstream":"http://up","started_unix_ms":1777637400000,"status":200,"body":{"messages":[]}},"stream":3,"choice":1,"id":"c-1","model":"m-resp","reasoning":"why","content":"yes","reasoning_source":"field","format":"responses","tool_calls":[{"id":"call_1","name":"f","arguments":"{\"a\":1}"}],"reasoning_segments":2,"reasoning_signed":true,"finish_reason":"stop","unterminated":false,"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"reasoning_tokens":4,"cached_tokens":3},"filters":[{"source":"completion","category":"hate","filtered":false,"severity":"safe"}],"errors":[{"kind":"api","code":"e","message":"boom"}],"errors_omitted":{"api":9},"untracked_deltas":1,"done":true,"outcome":"complete","metrics":{"stream":3,"time_to_first_byte_ms":1.5,"time_to_first_chunk_ms":2.0,"time_to_first_thinking_ms":2.25,"time_to_first_answer_ms":10.0,"thinking_duration_ms":7.0,"total_duration_ms":12.0,"chunks":5,"data_bytes":300,"thinking_bytes":3,"answer_bytes":3,"gaps":{"p50_ms":1.0,"p99_ms":4.0,"max_ms":4.5,"count":4},"tokens":{"prompt":11,"completion":7,"reasoning":4,"answer":3,"cached":3,"estimated":false},"choices":[{"choice":1,"time_to_first_thinking_ms":3.0,"time_to_first_answer_ms":11.0,"thinking_duration_ms":8.0,"thinking_bytes":3,"answer_bytes":3,"thinking_chunks":1,"answer_chunks":1}]}}"#;

    #[test]
    fn every_value_has_its_columns_kind_and_the_expected_value() {
        let record: TranscriptRecord = serde_json::from_str(FULL).unwrap();
        let row = Row { source: "t.jsonl", record: &record, first_of_stream: true };
        let options = RowOptions { export_id: "x", text: true };
        let extra = row.extra(true);
        let values = row.values(&options, extra.as_deref());
        for (c, v) in COLUMNS.iter().zip(&values) {
            let kind = match v {
                Value::Str(_) => Kind::Str,
                Value::Int(_) => Kind::Int,
                Value::Bool(_) => Kind::Bool,
                Value::Time(_) => Kind::Time,
                Value::Filters(_) => Kind::Filters,
                Value::Errors(_) => Kind::Errors,
                Value::ToolCalls(_) => Kind::ToolCalls,
            };
            assert_eq!(kind, c.kind, "{}", c.name);
        }
        let get = |name: &str| values[COLUMNS.iter().position(|c| c.name == name).unwrap()];
        assert_eq!(get("started_at"), Value::Time(Some(1_777_637_400_000_000)));
        assert_eq!(get("time_to_first_byte_us"), Value::Int(Some(1_500)));
        // Stream-level first text; the choice's own thinking and answer.
        assert_eq!(get("time_to_first_token_us"), Value::Int(Some(2_250)));
        assert_eq!(get("time_to_first_thinking_us"), Value::Int(Some(3_000)));
        assert_eq!(get("thinking_duration_us"), Value::Int(Some(8_000)));
        assert_eq!(get("max_gap_us"), Value::Int(Some(4_500)));
        assert_eq!(get("request_model"), Value::Str(Some("m-req")));
        assert_eq!(get("input_tokens"), Value::Int(Some(11)));
        assert_eq!(get("answer_tokens"), Value::Int(Some(3)));
        assert_eq!(get("status"), Value::Int(Some(200)));
        // Schema version 2.
        assert_eq!(get("schema_version"), Value::Int(Some(2)));
        assert_eq!(get("format"), Value::Str(Some("responses")));
        let Value::ToolCalls(calls) = get("tool_calls") else { panic!("tool_calls") };
        assert_eq!(
            (calls.len(), calls[0].id.as_deref(), calls[0].arguments.as_str()),
            (1, Some("call_1"), "{\"a\":1}")
        );
        assert_eq!(get("reasoning_segments"), Value::Int(Some(2)));
        assert_eq!(
            (get("reasoning_signed"), get("reasoning_redacted"), get("reasoning_encrypted")),
            (Value::Bool(true), Value::Bool(false), Value::Bool(false))
        );
        let extra: Json = serde_json::from_str(extra.as_deref().unwrap()).unwrap();
        assert_eq!(
            extra,
            serde_json::json!({
                "errors_omitted": {"api": 9}, "untracked_deltas": 1, "dropped_before": 2,
                "total_tokens": 18, "time_to_first_chunk_us": 2000, "gap_p50_us": 1000,
                "gap_p99_us": 4000, "gaps": 4, "data_bytes": 300,
                "request_body": {"messages": []}
            })
        );
        // Without text: no texts, no prompt, the sizes stay.
        let options = RowOptions { export_id: "x", text: false };
        let extra = row.extra(false).unwrap();
        assert!(!extra.contains("request_body"));
        let values = row.values(&options, Some(&extra));
        let get = |name: &str| values[COLUMNS.iter().position(|c| c.name == name).unwrap()];
        assert_eq!((get("reasoning"), get("content")), (Value::Str(None), Value::Str(None)));
        assert_eq!(get("content_bytes"), Value::Int(Some(3)));
    }
}
