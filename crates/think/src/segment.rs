//! What the splitter emits: borrowed, typed pieces of the input.

/// The channel a piece of text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// Reasoning text (between the tags, or before a bare close tag).
    Thinking,
    /// The answer: everything that is not thinking or structure.
    Answer,
    /// Structure: the tags themselves, whitespace before the open tag,
    /// (with `trim`) whitespace the policy assigns to the tags, and
    /// harmony's headers and end tokens.
    Markup,
    /// Tool-call markup, whole: from its open marker to its close marker
    /// (or to where the stream or the hold limit cut it). Read it with
    /// [`parse_calls`](crate::parse_calls); what does not parse is answer
    /// text.
    ToolCall,
}

impl SegmentKind {
    /// `"thinking"`, `"answer"`, `"markup"` or `"tool_call"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Thinking => "thinking",
            SegmentKind::Answer => "answer",
            SegmentKind::Markup => "markup",
            SegmentKind::ToolCall => "tool_call",
        }
    }
}

/// A piece of text and its channel. `text` borrows the caller's input, or
/// (for a held tag prefix, held whitespace or held undecided text) the
/// splitter itself; it is never empty and never cut inside a code point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Which channel the text belongs to.
    pub kind: SegmentKind,
    /// The text.
    pub text: &'a str,
}

/// What the end of the stream revealed; returned by
/// [`Splitter::finish`](crate::Splitter::finish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// A thinking block was found (opened by a tag, proved by a close tag,
    /// or implied by `implicit` start mode).
    pub thinking: bool,
    /// The stream ended inside thinking (no close tag): how a `max_tokens`
    /// cut looks.
    pub unterminated: bool,
    /// `auto`/`explicit` mode held more undecided text than the configured
    /// limit, and decided it was answer without seeing a tag; or markup
    /// held whole (a tool call, a harmony header) passed it.
    pub hold_limit_hit: bool,
    /// The output was read as harmony channels (it started with a harmony
    /// header).
    pub channels: bool,
}
