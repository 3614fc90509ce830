//! Deterministic inputs for the thinktee benches and allocation tests.
//!
//! - [`r1_stream`]: realistic DeepSeek-R1 `chat.completion.chunk` SSE
//!   streams back to back, in either [`Dialect`]: token-sized deltas of 1 to
//!   8 words, JSON escapes (`\n`, `\"`, `\\`, `\t`), raw UTF-8, and the close
//!   tag cut across two deltas in the inline dialect.
//! - [`plain_text`]: prose without a single `<`, for the splitter's
//!   memchr-bound path.
//! - [`Chunking`], [`byte_pieces`], [`event_pieces`], [`text_pieces`]: how
//!   the input is cut before it is fed, as network reads would cut it.
//! - [`shared_pieces`]: the same pieces as `bytes::Bytes`, for the stream
//!   adapters of the baselines.
//! - [`user_today`]: the owned structs and `String`-buffer tag splitter of
//!   the end-to-end baseline.
//! - [`formats`]: realistic Responses API, Anthropic Messages, Gemini and
//!   Ollama streams, and the SDK-shaped owned types a user reads them into
//!   today.
//! - [`bench_mode`]: whether criterion measures (`cargo bench`) or only runs
//!   each bench once (`cargo test`), to size the inputs.
//!
//! Everything is generated from a fixed seed: every run measures the same
//! bytes.

pub mod formats;

/// Where a stream carries its reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `<think>` … `</think>` inline in `delta.content` (Azure AI, vLLM
    /// without a reasoning parser, many R1 hosts).
    Inline,
    /// `delta.reasoning_content` beside `delta.content` (DeepSeek's API).
    ReasoningContent,
}

impl Dialect {
    /// A short name for bench ids.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Inline => "inline",
            Dialect::ReasoningContent => "reasoning_content",
        }
    }
}

/// Generated SSE bytes and what a correct reader must find in them.
#[derive(Debug, Clone)]
pub struct R1Stream {
    /// The SSE body: streams back to back, each ended by `data: [DONE]`.
    pub bytes: Vec<u8>,
    /// Number of SSE events (including the `[DONE]`s).
    pub events: usize,
    /// Number of streams.
    pub streams: usize,
    /// The decoded `content` deltas of each stream, in order (for the
    /// splitter benches: in the inline dialect they carry the tags).
    pub contents: Vec<Vec<String>>,
    /// Total bytes of reasoning text (without tags).
    pub thinking_bytes: usize,
    /// Total bytes of answer text.
    pub answer_bytes: usize,
}

/// A small xorshift64* generator: deterministic and dependency-free.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// A random element.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() - 1)]
    }
}

/// Words of a typical R1 reasoning trace and answer.
const WORDS: &[&str] = &[
    "Okay,",
    "so",
    "the",
    "user",
    "is",
    "asking",
    "which",
    "number",
    "is",
    "larger:",
    "9.11",
    "or",
    "9.8.",
    "Let",
    "me",
    "think",
    "about",
    "this",
    "carefully.",
    "First,",
    "I",
    "need",
    "to",
    "compare",
    "the",
    "whole",
    "parts,",
    "which",
    "are",
    "both",
    "9.",
    "Then",
    "look",
    "at",
    "the",
    "decimal",
    "parts:",
    "0.11",
    "versus",
    "0.80.",
    "Wait,",
    "maybe",
    "they",
    "mean",
    "version",
    "numbers",
    "instead.",
    "Hmm,",
    "that",
    "would",
    "change",
    "things,",
    "because",
    "11",
    ">",
    "8",
    "when",
    "compared",
    "as",
    "integers.",
    "But",
    "the",
    "question",
    "says",
    "numbers,",
    "so",
    "decimal",
    "comparison",
    "applies.",
    "Let's",
    "verify:",
    "9.80",
    "-",
    "9.11",
    "=",
    "0.69,",
    "which",
    "is",
    "positive.",
    "Therefore",
    "9.8",
    "is",
    "greater.",
    "Also",
    "check",
    "edge",
    "cases",
    "like",
    "trailing",
    "zeros;",
    "they",
    "don't",
    "matter.",
    "In",
    "code,",
    "float(a)",
    "<",
    "float(b)",
    "returns",
    "False",
    "here.",
    "≈",
    "café",
    "naïve",
    "—",
    "résumé",
];

/// Words that need a JSON escape or make a line break.
const SPECIAL: &[&str] = &["\n", "\n\n", "\"quoted\"", "path\\to\\file", "a\tb", "say \"hi\"\n"];

/// One token-sized delta: 1 to 8 words, with escapes now and then.
pub(crate) fn delta(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.range(1, 8) {
        if rng.percent(8) {
            out.push_str(rng.pick(SPECIAL));
        } else {
            out.push(' ');
            out.push_str(rng.pick(WORDS));
        }
    }
    out
}

/// Appends `s` as a JSON string literal (raw UTF-8 kept, as DeepSeek sends).
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.push(b'"');
}

/// Writes DeepSeek-style SSE events.
struct Writer {
    bytes: Vec<u8>,
    events: usize,
    id: String,
}

impl Writer {
    /// One `chat.completion.chunk` event whose `delta` object is `delta`
    /// (its JSON body without braces).
    fn chunk(&mut self, delta: &[u8], finish: Option<&str>, usage: Option<&str>) {
        let b = &mut self.bytes;
        b.extend_from_slice(b"data: {\"id\":\"");
        b.extend_from_slice(self.id.as_bytes());
        b.extend_from_slice(
            b"\",\"object\":\"chat.completion.chunk\",\"created\":1750000000,\
              \"model\":\"deepseek-reasoner\",\"system_fingerprint\":\"fp_7e0991cad4_prod0820\",\
              \"choices\":[{\"index\":0,\"delta\":{",
        );
        b.extend_from_slice(delta);
        b.extend_from_slice(b"},\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(reason) => {
                b.push(b'"');
                b.extend_from_slice(reason.as_bytes());
                b.push(b'"');
            }
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b"}]");
        if let Some(usage) = usage {
            b.extend_from_slice(b",\"usage\":");
            b.extend_from_slice(usage.as_bytes());
        }
        b.extend_from_slice(b"}\n\n");
        self.events += 1;
    }

    /// A delta with `content` (inline) or with `reasoning_content` / `content`.
    fn text(&mut self, dialect: Dialect, reasoning: bool, text: &str) {
        let mut delta = Vec::with_capacity(text.len() + 48);
        match (dialect, reasoning) {
            (Dialect::Inline, _) => {
                delta.extend_from_slice(b"\"content\":");
                push_json_string(&mut delta, text);
            }
            (Dialect::ReasoningContent, true) => {
                delta.extend_from_slice(b"\"content\":null,\"reasoning_content\":");
                push_json_string(&mut delta, text);
            }
            (Dialect::ReasoningContent, false) => {
                delta.extend_from_slice(b"\"content\":");
                push_json_string(&mut delta, text);
                delta.extend_from_slice(b",\"reasoning_content\":null");
            }
        }
        self.chunk(&delta, None, None);
    }

    fn done(&mut self) {
        self.bytes.extend_from_slice(b"data: [DONE]\n\n");
        self.events += 1;
    }
}

/// Realistic R1 streams back to back until the body holds at least
/// `target_len` bytes (one stream at least). Each stream: a role chunk, 100
/// to 700 reasoning deltas, 30 to 200 answer deltas, a `stop` chunk with
/// usage, `[DONE]`. In the inline dialect the first content delta is
/// `<think>` and `</think>` is cut across two deltas (`…</th` | `ink>…`).
pub fn r1_stream(dialect: Dialect, target_len: usize) -> R1Stream {
    let mut rng = Rng::new(0x5EED_0000 + dialect as u64);
    let mut w =
        Writer { bytes: Vec::with_capacity(target_len + 64 * 1024), events: 0, id: String::new() };
    let (mut contents, mut thinking_bytes, mut answer_bytes) = (Vec::new(), 0, 0);
    while contents.is_empty() || w.bytes.len() < target_len {
        w.id = format!(
            "{:08x}-{:04x}-4d0c-9a1f-{:012x}",
            rng.next_u64() as u32,
            rng.range(0, 0xffff),
            rng.next_u64() >> 16
        );
        let mut content: Vec<String> = Vec::new();
        let role = match dialect {
            Dialect::Inline => &b"\"role\":\"assistant\",\"content\":\"\""[..],
            Dialect::ReasoningContent => {
                b"\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"\""
            }
        };
        w.chunk(role, None, None);
        content.push(String::new());
        let (think_deltas, answer_deltas) = (rng.range(100, 700), rng.range(30, 200));
        let mut reasoning: Vec<String> = (0..think_deltas).map(|_| delta(&mut rng)).collect();
        let mut answer: Vec<String> = (0..answer_deltas).map(|_| delta(&mut rng)).collect();
        reasoning[0] = reasoning[0].trim_start().to_owned();
        thinking_bytes += reasoning.iter().map(String::len).sum::<usize>();
        answer[0] = format!("\n\n{}", answer[0].trim_start());
        answer_bytes += answer.iter().map(String::len).sum::<usize>();
        if dialect == Dialect::Inline {
            // `<think>` alone first; `</th` ends the last reasoning delta
            // and `ink>` starts the first answer delta.
            reasoning.insert(0, "<think>".to_owned());
            if let Some(last) = reasoning.last_mut() {
                last.push_str("</th");
            }
            answer[0].insert_str(0, "ink>");
        }
        for text in &reasoning {
            w.text(dialect, true, text);
        }
        for text in &answer {
            w.text(dialect, false, text);
        }
        let tokens = (think_deltas + answer_deltas) * 3;
        let usage = format!(
            "{{\"prompt_tokens\":18,\"completion_tokens\":{tokens},\"total_tokens\":{},\
             \"prompt_tokens_details\":{{\"cached_tokens\":0}},\
             \"completion_tokens_details\":{{\"reasoning_tokens\":{}}},\
             \"prompt_cache_hit_tokens\":0,\"prompt_cache_miss_tokens\":18}}",
            tokens + 18,
            think_deltas * 3
        );
        let last = match dialect {
            Dialect::Inline => &b"\"content\":\"\""[..],
            Dialect::ReasoningContent => b"\"content\":\"\",\"reasoning_content\":null",
        };
        w.chunk(last, Some("stop"), Some(&usage));
        w.done();
        if dialect == Dialect::Inline {
            content.extend(reasoning);
            content.extend(answer);
        } else {
            content.extend(answer);
        }
        content.push(String::new());
        contents.push(content);
    }
    R1Stream {
        streams: contents.len(),
        bytes: w.bytes,
        events: w.events,
        contents,
        thinking_bytes,
        answer_bytes,
    }
}

/// Prose of at least `len` bytes without a `<` (so no tag can start): what
/// the splitter sees from a model that does not think, or inside a long
/// thinking block.
pub fn plain_text(len: usize) -> String {
    let mut rng = Rng::new(0x7A61_1E55);
    let mut out = String::with_capacity(len + 64);
    while out.len() < len {
        let word = rng.pick(WORDS);
        out.push_str(if word == "<" { "less than" } else { word });
        out.push(if rng.percent(6) { '\n' } else { ' ' });
    }
    out
}

/// How an input is cut before it is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Pieces of this many bytes (text pieces end on a code point boundary).
    Bytes(usize),
    /// One piece per SSE event (per delta for the splitter).
    Events,
}

impl Chunking {
    /// The four cuts every stage is measured with: 1, 10 and 1460 bytes (one
    /// TCP segment) and event-aligned.
    pub const ALL: [Chunking; 4] =
        [Chunking::Bytes(1), Chunking::Bytes(10), Chunking::Bytes(1460), Chunking::Events];

    /// A short name for bench ids: `1B`, `10B`, `1460B`, `event`.
    pub fn name(self) -> String {
        match self {
            Chunking::Bytes(n) => format!("{n}B"),
            Chunking::Events => "event".to_owned(),
        }
    }
}

/// `bytes` cut as `chunking` says (events end after a blank line).
pub fn cut(bytes: &[u8], chunking: Chunking) -> Vec<&[u8]> {
    match chunking {
        Chunking::Bytes(n) => byte_pieces(bytes, n),
        Chunking::Events => event_pieces(bytes),
    }
}

/// Pieces of `n` bytes (the last may be shorter).
pub fn byte_pieces(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    bytes.chunks(n.max(1)).collect()
}

/// One piece per event: cut after every blank line (`\n\n`, or `\r\n\r\n`).
pub fn event_pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in blank_line_ends(bytes) {
        out.push(&bytes[start..end]);
        start = end;
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// The positions just after each `\n\n`.
/// Where each blank line ends: after `\n\n`, or `\n\r\n` (CRLF framing).
fn blank_line_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..bytes.len())
        .filter(move |&i| matches!(bytes[..=i], [.., b'\n', b'\n'] | [.., b'\n', b'\r', b'\n']))
        .map(|i| i + 1)
}

/// One piece per line (NDJSON's events): cut after every `\n`.
pub fn line_pieces(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// The same pieces as [`bytes::Bytes`] slices of one shared buffer, as a
/// network client hands them to a stream adapter.
pub fn shared_pieces(pieces: &[&[u8]]) -> Vec<bytes::Bytes> {
    let shared = bytes::Bytes::from(pieces.concat());
    let mut start = 0;
    pieces
        .iter()
        .map(|piece| {
            start += piece.len();
            shared.slice(start - piece.len()..start)
        })
        .collect()
}

/// Pieces of about `n` bytes of `text`, each ending on a code point boundary.
pub fn text_pieces(text: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + n.max(1)).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

/// Whether the bench binary was started by `cargo bench` (criterion
/// measures) rather than `cargo test` (criterion runs each bench once, in a
/// debug build): inputs are sized down for the latter.
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Input sizes: `(main, one_byte)`. `cargo bench`: 4 MiB, and 256 KiB for
/// 1-byte pieces (the baselines need seconds per MiB there); `cargo test`:
/// 48 KiB and 12 KiB.
pub fn input_sizes() -> (usize, usize) {
    if bench_mode() { (4 << 20, 256 << 10) } else { (48 << 10, 12 << 10) }
}

/// What a user writes today to read these streams, for the end-to-end
/// baseline: serde_json into owned structs, and a `String`-buffer tag
/// splitter that searches the buffer with `str::find`.
pub mod user_today {
    use serde::Deserialize;

    /// A chunk, deserialized into owned fields.
    #[derive(Debug, Deserialize)]
    pub struct ChatChunk {
        /// `id`.
        pub id: Option<String>,
        /// `model`.
        pub model: Option<String>,
        /// `choices`.
        pub choices: Vec<ChatChoice>,
        /// `usage`.
        pub usage: Option<ChatUsage>,
    }

    /// One choice.
    #[derive(Debug, Deserialize)]
    pub struct ChatChoice {
        /// `index`.
        pub index: u32,
        /// `delta`.
        pub delta: ChatDelta,
        /// `finish_reason`.
        pub finish_reason: Option<String>,
    }

    /// A delta.
    #[derive(Debug, Deserialize)]
    pub struct ChatDelta {
        /// `role`.
        pub role: Option<String>,
        /// `content`.
        pub content: Option<String>,
        /// `reasoning_content`.
        pub reasoning_content: Option<String>,
    }

    /// Token counts.
    #[derive(Debug, Deserialize)]
    pub struct ChatUsage {
        /// `prompt_tokens`.
        pub prompt_tokens: u64,
        /// `completion_tokens`.
        pub completion_tokens: u64,
        /// `total_tokens`.
        pub total_tokens: u64,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum State {
        Start,
        Think,
        Answer,
    }

    /// A simple, reasonable tag splitter: content is appended to a `String`
    /// buffer, which is searched with `str::find` for `<think>` at the start
    /// and then for `</think>`; thinking is released except for a tail that
    /// could be the start of a cut `</think>`.
    #[derive(Debug)]
    pub struct TagSplitter {
        buf: String,
        state: State,
    }

    impl Default for TagSplitter {
        fn default() -> TagSplitter {
            TagSplitter { buf: String::new(), state: State::Start }
        }
    }

    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";

    impl TagSplitter {
        /// Appends one content delta; calls `thinking` / `answer` with the
        /// text decided so far.
        pub fn push(
            &mut self,
            delta: &str,
            thinking: &mut impl FnMut(&str),
            answer: &mut impl FnMut(&str),
        ) {
            self.buf.push_str(delta);
            loop {
                match self.state {
                    State::Start => {
                        let trimmed = self.buf.trim_start();
                        if let Some(rest) = trimmed.strip_prefix(OPEN) {
                            let skip = self.buf.len() - rest.len();
                            self.buf.drain(..skip);
                            self.state = State::Think;
                        } else if OPEN.starts_with(trimmed) {
                            return; // maybe a cut `<think>`: wait
                        } else {
                            self.state = State::Answer;
                        }
                    }
                    State::Think => {
                        if let Some(at) = self.buf.find(CLOSE) {
                            thinking(&self.buf[..at]);
                            self.buf.drain(..at + CLOSE.len());
                            self.state = State::Answer;
                        } else {
                            let mut keep = self.buf.len().saturating_sub(CLOSE.len() - 1);
                            while !self.buf.is_char_boundary(keep) {
                                keep -= 1;
                            }
                            thinking(&self.buf[..keep]);
                            self.buf.drain(..keep);
                            return;
                        }
                    }
                    State::Answer => {
                        answer(&self.buf);
                        self.buf.clear();
                        return;
                    }
                }
            }
        }

        /// The stream ended: whatever is held goes to its channel.
        pub fn finish(&mut self, thinking: &mut impl FnMut(&str), answer: &mut impl FnMut(&str)) {
            match self.state {
                State::Think => thinking(&self.buf),
                State::Start | State::Answer => answer(&self.buf),
            }
            self.buf.clear();
            self.state = State::Start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_well_formed() {
        for dialect in [Dialect::Inline, Dialect::ReasoningContent] {
            let a = r1_stream(dialect, 100_000);
            let b = r1_stream(dialect, 100_000);
            assert_eq!(a.bytes, b.bytes);
            assert!(a.bytes.len() >= 100_000 && a.streams >= 1);
            assert_eq!(event_pieces(&a.bytes).len(), a.events);
            assert!(a.bytes.ends_with(b"data: [DONE]\n\n"));
            let text = std::str::from_utf8(&a.bytes).unwrap();
            assert!(text.contains("\\n") && text.contains("\\\""), "escapes present");
            if dialect == Dialect::Inline {
                assert!(text.contains("</th\"}") && text.contains("\"ink>\\n\\n"), "tag cut");
            } else {
                assert!(!text.contains("<think>"));
            }
        }
    }

    #[test]
    fn pieces_cover_the_input() {
        let s = r1_stream(Dialect::Inline, 10_000);
        for chunking in Chunking::ALL {
            assert_eq!(cut(&s.bytes, chunking).concat(), s.bytes);
        }
        let text = "añb€c😀d".repeat(10);
        for n in [1, 2, 3, 10] {
            assert_eq!(text_pieces(&text, n).concat(), text);
        }
        assert!(!plain_text(10_000).contains('<'));
    }
}
