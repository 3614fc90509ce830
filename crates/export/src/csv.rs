//! Rows as CSV (RFC 4180): a header of the column names, one line per row,
//! lists of structs as JSON arrays.
//!
//! A null is an empty field; an empty string is `""`, which DuckDB, Spark
//! and ClickHouse read as an empty string. Times are RFC 3339 UTC with
//! microseconds.

use std::io::{self, Write};

use serde_json::{Map, Value as Json};
use thinktee_pipeline::{FilterEvent, StreamError, ToolCallRecord};

use crate::row::Value;
use crate::schema::COLUMNS;
use crate::time::rfc3339;

/// Writes the header line.
pub(crate) fn write_header(out: &mut impl Write) -> io::Result<()> {
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(c.name.as_bytes())?;
    }
    out.write_all(b"\r\n")
}

/// Writes one row.
pub(crate) fn write_row(out: &mut impl Write, values: &[Value<'_>]) -> io::Result<()> {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        match v {
            Value::Str(None) | Value::Int(None) | Value::Time(None) => {}
            Value::Str(Some(s)) => field(out, s)?,
            Value::Int(Some(n)) => write!(out, "{n}")?,
            Value::Bool(b) => write!(out, "{b}")?,
            Value::Time(Some(us)) => out.write_all(rfc3339(*us).as_bytes())?,
            Value::Filters(f) => field(out, &filters_json(f))?,
            Value::Errors(e) => field(out, &errors_json(e))?,
            Value::ToolCalls(c) => field(out, &tool_calls_json(c))?,
        }
    }
    out.write_all(b"\r\n")
}

/// A text field, quoted when it holds a separator, a quote, a line break,
/// or nothing (so that an empty string is not read as null).
fn field(out: &mut impl Write, s: &str) -> io::Result<()> {
    let quote = s.is_empty() || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        return out.write_all(s.as_bytes());
    }
    out.write_all(b"\"")?;
    for (i, part) in s.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

/// `filters` as a JSON array, with the Parquet struct's field names (null
/// fields left out; keys sorted).
pub(crate) fn filters_json(filters: &[FilterEvent]) -> String {
    let items = filters.iter().map(|f| {
        let mut m = Map::new();
        m.insert("source".into(), f.source.as_str().into());
        m.insert("category".into(), f.category.as_str().into());
        let mut put = |key: &str, v: Option<Json>| {
            if let Some(v) = v {
                m.insert(key.into(), v);
            }
        };
        put("filtered", f.filtered.map(Json::from));
        put("severity", f.severity.as_deref().map(Json::from));
        put("detected", f.detected.map(Json::from));
        put("id", f.id.as_deref().map(Json::from));
        put("code", f.code.as_deref().map(Json::from));
        put("message", f.message.as_deref().map(Json::from));
        let o = f.offsets.unwrap_or_default();
        put("check_offset", o.check_offset.map(Json::from));
        put("start_offset", o.start_offset.map(Json::from));
        put("end_offset", o.end_offset.map(Json::from));
        Json::Object(m)
    });
    Json::Array(items.collect()).to_string()
}

/// `errors` as a JSON array, as `split --format json` writes them.
pub(crate) fn errors_json(errors: &[StreamError]) -> String {
    serde_json::to_string(errors).unwrap_or_else(|_| "[]".into())
}

/// `tool_calls` as a JSON array, as `split --format json` writes them.
pub(crate) fn tool_calls_json(calls: &[ToolCallRecord]) -> String {
    serde_json::to_string(calls).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use thinktee_pipeline::{FilterOffsets, FilterSource};

    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        let values = [
            Value::Str(Some("plain")),
            Value::Str(Some("a,b")),
            Value::Str(Some("say \"hi\"\nthen")),
            Value::Str(Some("")),
            Value::Str(None),
            Value::Int(Some(-3)),
            Value::Bool(true),
            Value::Time(Some(1_777_637_400_000_001)),
        ];
        write_row(&mut out, &values).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,\"a,b\",\"say \"\"hi\"\"\nthen\",\"\",,-3,true,2026-05-01T12:10:00.000001Z\r\n"
        );
    }

    #[test]
    fn lists_are_json_arrays_with_the_struct_field_names() {
        let mut f = FilterEvent::new(FilterSource::Prompt, "self_harm");
        f.filtered = Some(true);
        f.offsets = Some(FilterOffsets { check_offset: Some(4), ..FilterOffsets::default() });
        assert_eq!(
            filters_json(&[f]),
            r#"[{"category":"self_harm","check_offset":4,"filtered":true,"source":"prompt"}]"#
        );
        assert_eq!(filters_json(&[]), "[]");
        let call =
            ToolCallRecord { id: Some("call_1".into()), name: None, arguments: "{\"q\":1}".into() };
        assert_eq!(
            tool_calls_json(&[call]),
            r#"[{"id":"call_1","name":null,"arguments":"{\"q\":1}"}]"#
        );
    }
}
