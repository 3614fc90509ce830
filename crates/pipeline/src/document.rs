//! Whole recorded documents: an SSE body, a JSON body, or JSON Lines.

use crate::pipeline::Pipeline;
use crate::sink::{Flow, Sink};

/// What a recorded document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// Server-sent events (one or more streams back to back).
    Sse,
    /// One JSON body, or JSON Lines of bodies.
    Json,
}

/// Tells a JSON document (first non-whitespace byte `{`, after an optional
/// BOM) from an SSE one.
pub fn detect(input: &[u8]) -> DocumentKind {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    match input.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => DocumentKind::Json,
        _ => DocumentKind::Sse,
    }
}

impl Pipeline {
    /// Runs a whole recorded document through the pipeline and finishes
    /// the sink: SSE is fed as one read; JSON is read as one body if it
    /// parses as one, otherwise as JSON Lines (one body per non-blank line).
    pub fn run_document<S: Sink>(&mut self, input: &[u8], sink: &mut S) -> Result<Flow, S::Error> {
        match detect(input) {
            DocumentKind::Sse => {
                self.feed(input, sink)?;
                self.finish(sink)
            }
            DocumentKind::Json => {
                let text = String::from_utf8_lossy(input);
                let text = text.trim_start_matches('\u{feff}');
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    self.body(text, sink)?;
                } else {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        self.body(line, sink)?;
                    }
                }
                self.finish(sink)
            }
        }
    }
}
