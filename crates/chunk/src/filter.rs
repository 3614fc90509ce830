//! Azure OpenAI content-filter annotations, flattened into [`FilterEvent`]s.
//!
//! A results object maps a category to a verdict:
//!
//! ```text
//! "content_filter_results": {
//!   "hate":                    {"filtered": false, "severity": "safe"},
//!   "jailbreak":               {"filtered": false, "detected": false},
//!   "protected_material_code": {"filtered": false, "detected": false, "citation": {..}},
//!   "custom_blocklists":       [{"filtered": true, "id": "raiBlocklistName"}],
//!   "custom_blocklists":       {"filtered": true, "details": [{"filtered": true, "id": ".."}]},
//!   "error":                   {"code": "content_filter_error", "message": ".."}
//! }
//! ```
//!
//! Each category yields events in wire order (read as the keys come, since
//! `serde_json::Map` would sort them).

use std::borrow::Cow;

use crate::scan::{Scalar, Scan, Scanner};
use serde::Serialize;

/// Where an annotation applies: the prompt or the generated completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterSource {
    /// `prompt_filter_results` / `prompt_annotations`, or the 400 body's
    /// `innererror`.
    Prompt,
    /// A choice's `content_filter_results` / `content_filter_result`.
    Completion,
}

impl FilterSource {
    /// `"prompt"` or `"completion"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterSource::Prompt => "prompt",
            FilterSource::Completion => "completion",
        }
    }
}

/// `content_filter_offsets`: which stretch of the output an annotation
/// covers, in characters.
///
/// `check_offset` is an exclusive lower bound on the `end_offset` of future
/// annotations and never decreases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct FilterOffsets {
    /// `check_offset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_offset: Option<u64>,
    /// `start_offset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<u64>,
    /// `end_offset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_offset: Option<u64>,
}

/// One category's verdict from a content-filter results object.
///
/// Serializes flat, leaving out every field that is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FilterEvent {
    /// Prompt or completion.
    pub source: FilterSource,
    /// The category key as on the wire (`hate`, `jailbreak`,
    /// `protected_material_text`, `custom_blocklists`, `error`, ...), with
    /// `self-harm` normalized to `self_harm`.
    pub category: String,
    /// `filtered`: whether the content was blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<bool>,
    /// `severity`: `safe`, `low`, `medium`, `high`, or whatever the wire says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// `detected`, for detection categories (jailbreak, protected material).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
    /// The blocklist `id`, one event per `custom_blocklists` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `code` of an `error` entry (`content_filter_error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `message` of an `error` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The choice's (or prompt entry's) `content_filter_offsets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offsets: Option<FilterOffsets>,
}

// === impl FilterEvent ===

impl FilterEvent {
    /// An event with only `source` and `category` set.
    pub fn new(source: FilterSource, category: impl Into<String>) -> Self {
        FilterEvent {
            source,
            category: category.into(),
            filtered: None,
            severity: None,
            detected: None,
            id: None,
            code: None,
            message: None,
            offsets: None,
        }
    }
}

/// Wire category key to [`FilterEvent::category`].
fn category_name(key: Cow<'_, str>) -> String {
    if key == "self-harm" { "self_harm".to_owned() } else { key.into_owned() }
}

/// Sets `offsets` on every event.
pub(crate) fn attach_offsets(events: &mut [FilterEvent], offsets: Option<FilterOffsets>) {
    if let Some(offsets) = offsets {
        for event in events {
            event.offsets = Some(offsets);
        }
    }
}

// === parsing ===

/// `content_filter_offsets`: `None` unless an object.
pub(crate) fn read_offsets(s: &mut Scanner<'_>) -> Scan<Option<FilterOffsets>> {
    if !s.object()? {
        return Ok(None);
    }
    let mut offsets = FilterOffsets::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"check_offset" => offsets.check_offset = s.u64()?,
            b"start_offset" => offsets.start_offset = s.u64()?,
            b"end_offset" => offsets.end_offset = s.u64()?,
            _ => s.skip_value()?,
        }
    }
    Ok(Some(offsets))
}

/// After a results object's `{`: appends its events, category by category
/// in wire order.
pub(crate) fn read_filter_results(
    s: &mut Scanner<'_>,
    source: FilterSource,
    out: &mut Vec<FilterEvent>,
) -> Scan<()> {
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        if key.as_bytes() == b"content_filter_raw" {
            s.skip_value()?;
            continue;
        }
        let category = key.into_str();
        if let Some(verdict) = read_verdict(s)? {
            verdict.push_events(source, category_name(category), out);
        }
    }
    Ok(())
}

/// One category's value, whatever its shape.
#[derive(Debug, Default)]
struct Verdict<'a> {
    filtered: Option<bool>,
    severity: Option<Cow<'a, str>>,
    detected: Option<bool>,
    id: Option<Cow<'a, str>>,
    code: Option<String>,
    message: Option<Cow<'a, str>>,
    /// `{filtered, details: [..]}`.
    details: Option<Vec<Entry<'a>>>,
    /// The value itself was an array: `[{filtered, id}, ..]`.
    entries: Option<Vec<Entry<'a>>>,
}

impl Verdict<'_> {
    fn push_events(self, source: FilterSource, category: String, out: &mut Vec<FilterEvent>) {
        if let Some(entries) = self.entries {
            for entry in entries {
                let mut event = FilterEvent::new(source, category.clone());
                event.filtered = entry.filtered;
                event.id = entry.id.map(Cow::into_owned);
                out.push(event);
            }
            return;
        }
        let base = FilterEvent {
            source,
            category,
            filtered: self.filtered,
            severity: self.severity.map(Cow::into_owned),
            detected: self.detected,
            id: self.id.map(Cow::into_owned),
            code: self.code,
            message: self.message.map(Cow::into_owned),
            offsets: None,
        };
        match self.details {
            Some(details) if !details.is_empty() => {
                for entry in details {
                    let mut event = base.clone();
                    event.filtered = entry.filtered.or(base.filtered);
                    if let Some(id) = entry.id {
                        event.id = Some(id.into_owned());
                    }
                    out.push(event);
                }
            }
            _ => out.push(base),
        }
    }
}

/// A category's value: an object, an array of entries, `true`/`false`
/// (`filtered`), a string (`message`), or a number (no fields); `None` for
/// `null`.
fn read_verdict<'a>(s: &mut Scanner<'a>) -> Scan<Option<Verdict<'a>>> {
    let mut verdict = Verdict::default();
    match s.peek()? {
        b'{' => {
            s.object()?;
            let mut first = true;
            while let Some(key) = s.key(&mut first)? {
                match key.as_bytes() {
                    b"filtered" => verdict.filtered = s.bool()?,
                    b"severity" => verdict.severity = s.str()?,
                    b"detected" => verdict.detected = s.bool()?,
                    b"id" => verdict.id = s.str()?,
                    b"code" => verdict.code = s.code()?,
                    b"message" => verdict.message = s.str()?,
                    b"details" => verdict.details = read_entries(s)?,
                    _ => s.skip_value()?,
                }
            }
        }
        b'[' => verdict.entries = read_entries(s)?,
        _ => match s.scalar()? {
            None => return Ok(None),
            Some(Scalar::Bool(b)) => verdict.filtered = Some(b),
            Some(Scalar::Str(message)) => verdict.message = Some(message),
            Some(_) => {}
        },
    }
    Ok(Some(verdict))
}

#[derive(Debug, Default)]
struct Entry<'a> {
    filtered: Option<bool>,
    id: Option<Cow<'a, str>>,
}

/// An array of `{filtered, id}` (non-object elements are skipped); `None`
/// unless an array.
fn read_entries<'a>(s: &mut Scanner<'a>) -> Scan<Option<Vec<Entry<'a>>>> {
    if !s.array()? {
        return Ok(None);
    }
    let mut entries = Vec::new();
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let mut entry = Entry::default();
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"filtered" => entry.filtered = s.bool()?,
                b"id" => entry.id = s.str()?,
                _ => s.skip_value()?,
            }
        }
        entries.push(entry);
    }
    Ok(Some(entries))
}

/// After the `[` of `prompt_filter_results` / `prompt_annotations`: an array
/// of `{prompt_index, content_filter_results}`, flattened into prompt events
/// appended to `out`.
pub(crate) fn read_prompt_filters(s: &mut Scanner<'_>, out: &mut Vec<FilterEvent>) -> Scan<()> {
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let start = out.len();
        let mut offsets = None;
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"content_filter_results" | b"content_filter_result" => {
                    if s.object()? {
                        read_filter_results(s, FilterSource::Prompt, out)?;
                    }
                }
                b"content_filter_offsets" => offsets = read_offsets(s)?,
                _ => s.skip_value()?,
            }
        }
        attach_offsets(&mut out[start..], offsets);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(json: &str) -> Vec<FilterEvent> {
        let mut s = Scanner::new(json);
        assert!(s.object().unwrap(), "not an object: {json}");
        let mut out = Vec::new();
        read_filter_results(&mut s, FilterSource::Completion, &mut out).unwrap();
        s.finish().unwrap();
        out
    }

    fn ev(category: &str) -> FilterEvent {
        FilterEvent::new(FilterSource::Completion, category)
    }

    #[test]
    fn severity_categories_in_wire_order() {
        // FORMATS.md 1(f): keys deliberately not alphabetical here.
        let events = results(
            r#"{"violence":{"filtered":false,"severity":"safe"},"hate":{"filtered":true,"severity":"medium"},"self_harm":{"filtered":false,"severity":"low"}}"#,
        );
        let cats: Vec<&str> = events.iter().map(|e| e.category.as_str()).collect();
        assert_eq!(cats, ["violence", "hate", "self_harm"]);
        assert_eq!(
            events[1],
            FilterEvent { filtered: Some(true), severity: Some("medium".into()), ..ev("hate") }
        );
    }

    #[test]
    fn detected_and_citation_shapes() {
        let events = results(
            r#"{"protected_material_code":{"filtered":false,"detected":true,"citation":{"URL":"https://x","license":"MIT"}},"protected_material_text":{"detected":true,"filtered":true}}"#,
        );
        assert_eq!(
            events,
            [
                FilterEvent {
                    filtered: Some(false),
                    detected: Some(true),
                    ..ev("protected_material_code")
                },
                FilterEvent {
                    filtered: Some(true),
                    detected: Some(true),
                    ..ev("protected_material_text")
                },
            ]
        );
    }

    #[test]
    fn blocklist_array_one_event_per_entry() {
        let events = results(
            r#"{"custom_blocklists":[{"filtered":true,"id":"a"},{"filtered":false,"id":"b"}]}"#,
        );
        assert_eq!(
            events,
            [
                FilterEvent {
                    filtered: Some(true),
                    id: Some("a".into()),
                    ..ev("custom_blocklists")
                },
                FilterEvent {
                    filtered: Some(false),
                    id: Some("b".into()),
                    ..ev("custom_blocklists")
                },
            ]
        );
        assert!(results(r#"{"custom_blocklists":[]}"#).is_empty());
    }

    #[test]
    fn details_shape_one_event_per_detail() {
        let events = results(
            r#"{"custom_blocklists":{"filtered":true,"details":[{"filtered":true,"id":"x"},{"filtered":false,"id":"y"}]}}"#,
        );
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id.as_deref(), Some("x"));
        assert_eq!(events[0].filtered, Some(true));
        assert_eq!(events[1].id.as_deref(), Some("y"));
        assert_eq!(events[1].filtered, Some(false));

        let events = results(r#"{"custom_blocklists":{"filtered":false,"details":[]}}"#);
        assert_eq!(events, [FilterEvent { filtered: Some(false), ..ev("custom_blocklists") }]);
    }

    #[test]
    fn error_entry_has_code_and_message() {
        let events = results(
            r#"{"error":{"code":"content_filter_error","message":"The contents are not filtered"}}"#,
        );
        assert_eq!(
            events,
            [FilterEvent {
                code: Some("content_filter_error".into()),
                message: Some("The contents are not filtered".into()),
                ..ev("error")
            }]
        );
    }

    #[test]
    fn empty_object_and_nulls_give_no_events() {
        assert!(results("{}").is_empty());
        assert!(results(r#"{"hate":null}"#).is_empty());
        assert!(results(r#"{"content_filter_raw":[{"x":1}]}"#).is_empty());
    }

    #[test]
    fn unknown_shapes_give_one_event_with_what_was_read() {
        let events = results(
            r#"{"ungrounded_material":{"filtered":false,"detected":true,"weird":[1]},"novel":{},"flag":true,"n":3}"#,
        );
        assert_eq!(
            events,
            [
                FilterEvent {
                    filtered: Some(false),
                    detected: Some(true),
                    ..ev("ungrounded_material")
                },
                ev("novel"),
                FilterEvent { filtered: Some(true), ..ev("flag") },
                ev("n"),
            ]
        );
    }

    #[test]
    fn self_harm_dash_is_normalized() {
        let events = results(r#"{"self-harm":{"filtered":false,"severity":"safe"}}"#);
        assert_eq!(events[0].category, "self_harm");
    }

    #[test]
    fn prompt_list_accepts_both_result_spellings_and_offsets() {
        let mut s = Scanner::new(
            r#"[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}},{"prompt_index":1,"content_filter_result":{"jailbreak":{"filtered":true,"detected":true}},"content_filter_offsets":{"check_offset":1}}, null, 3]"#,
        );
        assert!(s.array().unwrap());
        let mut list = Vec::new();
        read_prompt_filters(&mut s, &mut list).unwrap();
        s.finish().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|e| e.source == FilterSource::Prompt));
        assert_eq!(list[0].offsets, None);
        assert_eq!(list[1].category, "jailbreak");
        assert_eq!(list[1].offsets.and_then(|o| o.check_offset), Some(1));
    }

    #[test]
    fn event_serializes_flat_without_nones() {
        let event = FilterEvent {
            filtered: Some(true),
            severity: Some("high".into()),
            offsets: Some(FilterOffsets {
                check_offset: Some(65),
                start_offset: None,
                end_offset: Some(1056),
            }),
            ..FilterEvent::new(FilterSource::Prompt, "hate")
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"source":"prompt","category":"hate","filtered":true,"severity":"high","offsets":{"check_offset":65,"end_offset":1056}}"#
        );
        assert_eq!(FilterSource::Completion.as_str(), "completion");
    }
}
