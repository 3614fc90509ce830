//! The columns of the `streams` table.
//!
//! Types are the ones every engine reads alike: strings, 64-bit signed
//! integers, booleans, timestamps as INT64 microseconds UTC, durations as
//! `*_us` integers, lists of structs; no unsigned, UUID or MAP types (the
//! long tail is a JSON string, `extra`). The date partition (`date`) is in
//! the directory names only, as Hive layout wants it.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Version of the columns below: bumped when one is added, renamed or
/// changes meaning. Every row carries it (`schema_version`), every
/// Parquet file too (key-value metadata `thinktee.schema_version`).
///
/// - 1: the first columns.
/// - 2: `format`, `tool_calls`, `reasoning_segments`, `reasoning_signed`,
///   `reasoning_redacted`, `reasoning_encrypted` (the formats of issue 15).
///   They are nullable so that a reader given this schema reads files of
///   version 1 with nulls there; version 2 files have no null in them
///   (but a tool call's `id` and `name`).
pub const SCHEMA_VERSION: i64 = 2;

/// The table's name in SQL (`thinktee query`) and in the docs.
pub const TABLE: &str = "streams";

/// The Hive partition column, taken from the request time.
pub const PARTITION: &str = "date";

/// The partition of rows without a request time, which engines read as a
/// null `date`.
pub const NO_DATE: &str = "__HIVE_DEFAULT_PARTITION__";

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Str,
    /// A 64-bit signed integer.
    Int,
    /// A boolean.
    Bool,
    /// Microseconds since the epoch, UTC.
    Time,
    /// A list of content-filter events ([`FILTER_FIELDS`]).
    Filters,
    /// A list of stream errors ([`ERROR_FIELDS`]).
    Errors,
    /// A list of tool calls ([`TOOL_CALL_FIELDS`]).
    ToolCalls,
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Whether it can be null.
    pub nullable: bool,
    /// What it means.
    pub doc: &'static str,
}

const fn col(name: &'static str, kind: Kind, nullable: bool, doc: &'static str) -> Column {
    Column { name, kind, nullable, doc }
}

use Kind::{Bool, Errors, Filters, Int, Str, Time, ToolCalls};

/// Every column, in order. Names shared with `thinktee split --format
/// json` mean the same there.
pub const COLUMNS: &[Column] = &[
    col("schema_version", Int, false, "Version of these columns (SCHEMA_VERSION)."),
    col(
        "export_id",
        Str,
        false,
        "The export run that wrote the row: a UUIDv7, so it sorts by time.",
    ),
    col(
        "source",
        Str,
        false,
        "The file the row was read from, as named or found in a named directory.",
    ),
    col("stream", Int, false, "0-based stream index within the source (split's `stream`)."),
    col("choice", Int, true, "The choice index; null for a stream that carried no choice."),
    col(
        "first_of_stream",
        Bool,
        false,
        "The stream's first row. Stream-level values (tokens, timings, errors, prompt-level \
         filters, outcome) repeat on each choice's row: sum them over first_of_stream rows.",
    ),
    col("id", Str, true, "The stream's first non-empty `id`."),
    col("model", Str, true, "The stream's first non-empty `model` (as the response names it)."),
    col("reasoning", Str, true, "All thinking text; null under --no-text."),
    col("content", Str, true, "All answer text; null under --no-text."),
    col("reasoning_source", Str, false, "Where the reasoning came from: tags, field or none."),
    col("finish_reason", Str, true, "The last finish_reason."),
    col("unterminated", Bool, false, "Thinking was never closed."),
    col("done", Bool, false, "The stream ended with [DONE] (or was a whole completion body)."),
    // Schema version 2: null in files of version 1 (see SCHEMA_VERSION).
    col(
        "format",
        Str,
        true,
        "The stream's wire format: chat.completions, responses, messages, gemini, ollama.",
    ),
    col(
        "tool_calls",
        ToolCalls,
        true,
        "The choice's tool calls in the order they began: id, name, arguments as sent.",
    ),
    col(
        "reasoning_segments",
        Int,
        true,
        "Reasoning segments: thinking blocks, or runs of reasoning.",
    ),
    col("reasoning_signed", Bool, true, "The choice's reasoning was signed."),
    col("reasoning_redacted", Bool, true, "Some of the choice's reasoning was redacted."),
    col("reasoning_encrypted", Bool, true, "Some of the choice's reasoning was sent encrypted."),
    col(
        "outcome",
        Str,
        false,
        "How the stream ended: complete, incomplete, upstream_error, client_cancelled, ...",
    ),
    col("request_id", Str, true, "The request id the recorder kept (transcripts)."),
    col("request_method", Str, true, "HTTP method of the request (transcripts)."),
    col("request_path", Str, true, "Path of the request (transcripts)."),
    col("request_model", Str, true, "The model the request asked for (transcripts)."),
    col("upstream", Str, true, "The upstream the request went to (transcripts)."),
    col("status", Int, true, "The HTTP status the client got (transcripts)."),
    col("started_at", Time, true, "When the request started (transcripts); null in recordings."),
    col("input_tokens", Int, true, "Prompt tokens, from usage (never estimated)."),
    col("cached_tokens", Int, true, "Cached prompt tokens, from usage."),
    col("output_tokens", Int, true, "Completion tokens, reasoning included."),
    col("reasoning_tokens", Int, true, "Reasoning tokens."),
    col("answer_tokens", Int, true, "Answer tokens: output minus reasoning."),
    col(
        "tokens_estimated",
        Bool,
        false,
        "No usage came with the stream: output, reasoning and answer tokens count one per \
         chunk that carried such text; input and cached are null.",
    ),
    col("time_to_first_byte_us", Int, true, "From the request to the response's first byte."),
    col("time_to_first_token_us", Int, true, "To the stream's first text, thinking or answer."),
    col("time_to_first_thinking_us", Int, true, "To this choice's first thinking text."),
    col("time_to_first_answer_us", Int, true, "To this choice's first answer text."),
    col("thinking_duration_us", Int, true, "This choice's first thinking text to its end."),
    col("total_duration_us", Int, true, "To the end of the stream."),
    col("max_gap_us", Int, true, "The longest gap between two chunks of the stream."),
    col("reasoning_bytes", Int, false, "Bytes of thinking text (also under --no-text)."),
    col("content_bytes", Int, false, "Bytes of answer text (also under --no-text)."),
    col("chunks", Int, false, "Data events of the stream parsed as chunks."),
    col(
        "filters",
        Filters,
        false,
        "Content-filter events: this choice's, and on the stream's first row the prompt's first.",
    ),
    col("errors", Errors, false, "The stream's errors (on its first row), as split shows them."),
    col(
        "extra",
        Str,
        true,
        "The long tail as a JSON object, null when empty: errors_omitted, untracked_deltas, \
         dropped_before, total_tokens, cache_hit_tokens, cache_miss_tokens, \
         time_to_first_chunk_us, gap_p50_us, gap_p99_us, gaps, data_bytes, request_body.",
    ),
];

/// The fields of one content-filter event (`filters` item).
pub const FILTER_FIELDS: &[(&str, Kind)] = &[
    ("source", Str),
    ("category", Str),
    ("filtered", Bool),
    ("severity", Str),
    ("detected", Bool),
    ("id", Str),
    ("code", Str),
    ("message", Str),
    ("check_offset", Int),
    ("start_offset", Int),
    ("end_offset", Int),
];

/// The fields of one stream error (`errors` item).
pub const ERROR_FIELDS: &[(&str, Kind)] = &[("kind", Str), ("code", Str), ("message", Str)];

/// The fields of one tool call (`tool_calls` item), as `split` names them.
pub const TOOL_CALL_FIELDS: &[(&str, Kind)] = &[("id", Str), ("name", Str), ("arguments", Str)];

/// Fields of a struct. The first two of a filter (`source`, `category`),
/// an error's `kind` and `message` and a tool call's `arguments` are never
/// null.
pub(crate) fn struct_fields(fields: &[(&str, Kind)]) -> Fields {
    let required: &[&str] = if fields == ERROR_FIELDS {
        &["kind", "message"]
    } else if fields == TOOL_CALL_FIELDS {
        &["arguments"]
    } else {
        &["source", "category"]
    };
    fields
        .iter()
        .map(|(name, kind)| Field::new(*name, data_type(*kind), !required.contains(name)))
        .collect()
}

/// The list item field of `filters`, `errors` and `tool_calls`.
pub(crate) fn item_field(fields: &[(&str, Kind)]) -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(struct_fields(fields)), false))
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Str => DataType::Utf8,
        Int => DataType::Int64,
        Bool => DataType::Boolean,
        Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Filters => DataType::List(item_field(FILTER_FIELDS)),
        Errors => DataType::List(item_field(ERROR_FIELDS)),
        ToolCalls => DataType::List(item_field(TOOL_CALL_FIELDS)),
    }
}

/// The Arrow schema of the table (without the partition column).
pub fn schema() -> SchemaRef {
    let fields: Vec<Field> =
        COLUMNS.iter().map(|c| Field::new(c.name, data_type(c.kind), c.nullable)).collect();
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lowercase_snake_case() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        assert!(!names.contains(&PARTITION), "the partition is in directory names only");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
    }
}
