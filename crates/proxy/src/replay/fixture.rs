//! Recordings the replay server serves: loading, classifying, cutting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use thinktee_pipeline::{
    Collector, DocumentKind, Event, Flow, Pipeline, ReasoningSource, Record, Sink, SplitChoice,
    Usage,
};

use crate::Error;

/// One recording, ready to serve.
#[derive(Debug, Clone)]
pub struct Fixture {
    stem: String,
    path: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// An SSE capture: its events (byte ranges of the file, in order; their
    /// concatenation is the file) and the assembled non-streaming body.
    Stream { events: Arc<[Bytes]>, assembled: Bytes },
    /// A recorded `{"error":...}` body and its status.
    Error { status: StatusCode, body: Bytes },
    /// A recorded JSON body (a `chat.completion`), served as it is.
    Body { body: Bytes },
}

/// What a fixture is, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureKind {
    /// A recorded SSE stream.
    Stream,
    /// A recorded HTTP error body.
    Error,
    /// A recorded non-streaming JSON body.
    Body,
}

impl Fixture {
    /// Reads and classifies one recording (by content, not extension: a
    /// `.sse` file holding a JSON body is a JSON body).
    pub fn load(path: &Path) -> Result<Fixture, Error> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Fixture { path: path.to_owned(), message: e.to_string() })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| Error::Fixture {
                path: path.to_owned(),
                message: "file name is not UTF-8".into(),
            })?
            .to_owned();
        Fixture::from_bytes(stem, path.to_owned(), Bytes::from(bytes))
    }

    /// Classifies a recording held in memory.
    pub fn from_bytes(stem: String, path: PathBuf, bytes: Bytes) -> Result<Fixture, Error> {
        let kind = match thinktee_pipeline::detect(&bytes) {
            DocumentKind::Sse => Kind::Stream {
                events: split_events(&bytes).into_iter().map(|r| bytes.slice(r)).collect(),
                assembled: assemble(&bytes),
            },
            DocumentKind::Json => json_kind(&bytes).ok_or_else(|| Error::Fixture {
                path: path.clone(),
                message: "looks like JSON but is neither a JSON body nor JSON Lines".into(),
            })?,
        };
        Ok(Fixture { stem, path, kind })
    }

    /// The file name without its extension: what `x-thinktee-fixture` names.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it is.
    pub fn kind(&self) -> FixtureKind {
        match self.kind {
            Kind::Stream { .. } => FixtureKind::Stream,
            Kind::Error { .. } => FixtureKind::Error,
            Kind::Body { .. } => FixtureKind::Body,
        }
    }

    /// For a stream: the `chat.completion` body assembled from its first
    /// stream (what a non-streaming request gets).
    pub fn assembled(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Stream { assembled, .. } => Some(assembled),
            _ => None,
        }
    }

    pub(crate) fn served(&self) -> &Kind {
        &self.kind
    }
}

/// Loads every recording named: files as given, directories' `.sse` and
/// `.json` files (not recursing), each directory in name order.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Fixture>, Error> {
    let mut fixtures = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::Fixture { path: path.clone(), message: e.to_string() })?
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|ext| ext == "sse" || ext == "json")
                })
                .collect();
            files.sort();
            for file in files {
                fixtures.push(Fixture::load(&file)?);
            }
        } else {
            fixtures.push(Fixture::load(path)?);
        }
    }
    if fixtures.is_empty() {
        return Err(Error::NoFixtures);
    }
    Ok(fixtures)
}

/// A JSON recording: an error body (status from `error.status`, else 400),
/// or a body served as it is (the first line of JSON Lines).
fn json_kind(bytes: &Bytes) -> Option<Kind> {
    let text = std::str::from_utf8(bytes).ok()?.trim_start_matches('\u{feff}');
    let (value, body) = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => (v, bytes.clone()),
        Err(_) => {
            let line = text.lines().find(|l| !l.trim().is_empty())?;
            (serde_json::from_str(line).ok()?, Bytes::copy_from_slice(line.as_bytes()))
        }
    };
    let Some(error) = value.get("error") else { return Some(Kind::Body { body }) };
    let status = error
        .get("status")
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_REQUEST);
    Some(Kind::Error { status, body })
}

/// Byte ranges of the SSE events of `input`: each ends after the blank
/// line that ends a block with at least one non-blank line (CRLF, LF or CR
/// line ends). Blank lines between blocks stay with the block before them;
/// a tail without a blank line is the last range.
pub(crate) fn split_events(input: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut line_start, mut has_content) = (0, 0, false);
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'\r' && b != b'\n' {
            i += 1;
            continue;
        }
        let end = if b == b'\r' && input.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 };
        if i == line_start {
            if has_content {
                ranges.push(start..end);
                start = end;
                has_content = false;
            }
        } else {
            has_content = true;
        }
        i = end;
        line_start = end;
    }
    if start < input.len() {
        if has_content || line_start < input.len() || ranges.is_empty() {
            ranges.push(start..input.len());
        } else if let Some(last) = ranges.last_mut() {
            last.end = input.len();
        }
    }
    ranges
}

/// Collects the first stream's choices and its `created`.
#[derive(Default)]
struct Assembler {
    collector: Collector,
    created: Option<i64>,
    ended: bool,
}

impl Sink for Assembler {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error> {
        if record.stream > 0 || self.ended {
            return Ok(Flow::Stop);
        }
        if let Event::StreamEnd(end) = record.event {
            self.created = end.created;
            self.ended = true;
        }
        self.collector.record(record)
    }
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: Vec<Choice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<WireUsage>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
}

/// `usage` as the OpenAI wire spells it (details nested).
#[derive(Serialize)]
struct WireUsage {
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_hit_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_miss_tokens: Option<u64>,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
}

impl From<&Usage> for WireUsage {
    fn from(u: &Usage) -> WireUsage {
        WireUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
            prompt_tokens_details: u
                .cached_tokens
                .map(|cached_tokens| PromptDetails { cached_tokens }),
            completion_tokens_details: u
                .reasoning_tokens
                .map(|reasoning_tokens| CompletionDetails { reasoning_tokens }),
            prompt_cache_hit_tokens: u.cache_hit_tokens,
            prompt_cache_miss_tokens: u.cache_miss_tokens,
        }
    }
}

/// The `chat.completion` a non-streaming request gets for a recorded stream:
/// the first stream's id, model, created, per-choice role/content (and
/// `reasoning_content` when the choice had reasoning), finish reason, usage.
pub(crate) fn assemble(sse: &[u8]) -> Bytes {
    let mut assembler = Assembler::default();
    let mut pipeline = Pipeline::default();
    let _ = pipeline.run_document(sse, &mut assembler);
    let records: Vec<SplitChoice> = assembler.collector.drain().collect();
    let first = records.first();
    let completion = Completion {
        id: first.and_then(|r| r.id.as_deref()).unwrap_or("chatcmpl-thinktee-replay"),
        object: "chat.completion",
        created: assembler.created.unwrap_or(0),
        model: first.and_then(|r| r.model.as_deref()).unwrap_or(""),
        choices: records
            .iter()
            .filter_map(|r| Some((r.choice?, r)))
            .map(|(index, r)| Choice {
                index,
                message: Message {
                    role: "assistant",
                    content: &r.content,
                    reasoning_content: (r.reasoning_source != ReasoningSource::None)
                        .then_some(r.reasoning.as_str()),
                },
                finish_reason: r.finish_reason.as_deref(),
            })
            .collect(),
        usage: first.and_then(|r| r.usage.as_ref()).map(WireUsage::from),
    };
    Bytes::from(serde_json::to_vec(&completion).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(input: &str) -> Vec<&str> {
        split_events(input.as_bytes()).into_iter().map(|r| &input[r]).collect()
    }

    #[test]
    fn events_are_cut_after_their_blank_line() {
        assert_eq!(cut("data: a\n\ndata: b\n\n"), ["data: a\n\n", "data: b\n\n"]);
        assert_eq!(
            cut("data: a\r\n\r\n: c\r\ndata: b\r\n\r\n"),
            ["data: a\r\n\r\n", ": c\r\ndata: b\r\n\r\n"]
        );
        assert_eq!(cut("data: a\r\rdata: b\r\r"), ["data: a\r\r", "data: b\r\r"]);
        assert_eq!(cut("\n\ndata: a\n\n\n\ndata: b"), ["\n\ndata: a\n\n", "\n\ndata: b"]);
        assert_eq!(cut("data: a\n\n\n"), ["data: a\n\n\n"]);
        assert_eq!(cut(""), Vec::<&str>::new());
    }

    #[test]
    fn every_e2e_fixture_cuts_back_to_itself() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sse") {
                let bytes = std::fs::read(&path).unwrap();
                let joined: Vec<u8> =
                    split_events(&bytes).into_iter().flat_map(|r| bytes[r].to_vec()).collect();
                assert_eq!(joined, bytes, "{}", path.display());
            }
        }
    }

    #[test]
    fn error_status_comes_from_the_body() {
        let kind = json_kind(&Bytes::from_static(br#"{"error":{"message":"x","status":429}}"#));
        assert!(
            matches!(kind, Some(Kind::Error { status, .. }) if status == StatusCode::TOO_MANY_REQUESTS)
        );
        let kind = json_kind(&Bytes::from_static(br#"{"error":{"message":"x"}}"#));
        assert!(
            matches!(kind, Some(Kind::Error { status, .. }) if status == StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn assembled_body_of_an_inline_think_stream() {
        let sse = "data: {\"id\":\"c1\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"<think>t</think>a\"},\"finish_reason\":null}]}\n\n\
                   data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\ndata: [DONE]\n\n";
        let body = assemble(sse.as_bytes());
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"id":"c1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a","reasoning_content":"t"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#
        );
    }
}
