//! Splitter policy: start mode, tags, interleaving, trimming, hold limit.

use std::fmt;
use std::sync::Arc;

use crate::Splitter;

/// Longest tag accepted, in bytes. Tags are matched in place and a partial
/// tag is remembered as a length, so this bounds work, not memory.
pub const MAX_TAG_LEN: usize = 64;

/// Default bound on text held undecided in `auto` mode (1 MiB).
pub const DEFAULT_MAX_HOLD: usize = 1 << 20;

/// How the start of the output is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMode {
    /// Thinking if the output opens (after whitespace) with the open tag;
    /// otherwise text is held until a close tag proves it was thinking, or an
    /// open tag, the end, or the hold limit proves it was answer.
    #[default]
    Auto,
    /// Thinking only when the output opens with the open tag.
    Explicit,
    /// The output starts inside thinking (the template put the open tag in
    /// the prompt); one echoed open tag at the very start is markup.
    Implicit,
}

impl StartMode {
    /// `"auto"`, `"explicit"` or `"implicit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StartMode::Auto => "auto",
            StartMode::Explicit => "explicit",
            StartMode::Implicit => "implicit",
        }
    }
}

impl std::str::FromStr for StartMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(StartMode::Auto),
            "explicit" => Ok(StartMode::Explicit),
            "implicit" => Ok(StartMode::Implicit),
            _ => Err(ConfigError::UnknownStartMode),
        }
    }
}

/// Named sets of markers, one per model family (`FORMATS-MORE.md`
/// section 4). A preset sets the tags, the tool-call markup and whether a
/// tool call ends thinking; [`Builder`] settings made after it override it.
/// Whatever the preset, output that starts with a harmony header
/// (`<|channel|>`, `<|start|>`) is read as harmony channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preset {
    /// DeepSeek-R1, QwQ (the default): `<think>` … `</think>`, DeepSeek's
    /// tool tokens `<｜tool▁calls▁begin｜>` … `<｜tool▁calls▁end｜>`.
    #[default]
    DeepseekR1,
    /// Qwen3: `<think>` … `</think>`, `<tool_call>` … `</tool_call>`; a
    /// tool call inside thinking ends it.
    Qwen3,
    /// Kimi-K2 (Thinking): `<think>` … `</think>`, tool-call sections
    /// `<|tool_calls_section_begin|>` … `<|tool_calls_section_end|>`; a
    /// section inside thinking ends it.
    KimiK2,
    /// Kimi-VL / k1.5: `◁think▷` … `◁/think▷`.
    Kimi,
    /// Mistral Magistral (self-hosted): `[THINK]` … `[/THINK]`.
    Magistral,
    /// IBM Granite 3.x: `Here is my thought process:` … `Here is my response:`.
    Granite,
    /// gpt-oss: harmony channels, and with the special tokens stripped,
    /// `analysis` … `assistantfinal`, and a call `assistantcommentary
    /// to=functions.NAME json{…}` (which ends thinking, and the output).
    GptOss,
}

impl Preset {
    /// Every preset.
    /// `kimi-k2` comes before `kimi`: a caller that matches names by prefix
    /// finds the longer one first.
    pub const ALL: [Preset; 7] = [
        Preset::DeepseekR1,
        Preset::Qwen3,
        Preset::KimiK2,
        Preset::Kimi,
        Preset::Magistral,
        Preset::Granite,
        Preset::GptOss,
    ];

    /// `"deepseek-r1"`, `"qwen3"`, `"kimi-k2"`, `"kimi"`, `"magistral"`,
    /// `"granite"` or `"gpt-oss"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::DeepseekR1 => "deepseek-r1",
            Preset::Qwen3 => "qwen3",
            Preset::KimiK2 => "kimi-k2",
            Preset::Kimi => "kimi",
            Preset::Magistral => "magistral",
            Preset::Granite => "granite",
            Preset::GptOss => "gpt-oss",
        }
    }

    /// Its open and close tags.
    pub fn tags(self) -> (&'static str, &'static str) {
        match self {
            Preset::DeepseekR1 | Preset::Qwen3 | Preset::KimiK2 => ("<think>", "</think>"),
            Preset::Kimi => ("◁think▷", "◁/think▷"),
            Preset::Magistral => ("[THINK]", "[/THINK]"),
            Preset::Granite => ("Here is my thought process:", "Here is my response:"),
            Preset::GptOss => ("analysis", "assistantfinal"),
        }
    }

    /// Its tool-call markup's open and close markers, if it has any.
    pub fn call_markers(self) -> Option<(&'static str, &'static str)> {
        match self {
            Preset::DeepseekR1 => {
                Some((crate::markup::DEEPSEEK_CALLS_OPEN, crate::markup::DEEPSEEK_CALLS_CLOSE))
            }
            Preset::Qwen3 => Some((crate::markup::QWEN_CALL_OPEN, crate::markup::QWEN_CALL_CLOSE)),
            Preset::KimiK2 => {
                Some((crate::markup::KIMI_CALLS_OPEN, crate::markup::KIMI_CALLS_CLOSE))
            }
            // Harmony with its special tokens stripped: a call has no end
            // marker left, and runs to the end of the output (a call ends
            // the turn); `<|call|>` ends it if it was kept.
            Preset::GptOss => {
                Some((crate::markup::HARMONY_STRIPPED_CALL_OPEN, crate::markup::HARMONY_CALL_END))
            }
            Preset::Kimi | Preset::Magistral | Preset::Granite => None,
        }
    }

    /// Whether a tool call inside thinking ends it.
    pub fn call_ends_thinking(self) -> bool {
        matches!(self, Preset::Qwen3 | Preset::KimiK2 | Preset::GptOss)
    }
}

impl std::str::FromStr for Preset {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s).ok_or(ConfigError::UnknownPreset)
    }
}

/// The full policy of a [`Splitter`]. Cheap to clone (tags are shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) start: StartMode,
    pub(crate) open: Arc<str>,
    pub(crate) close: Arc<str>,
    /// Tool-call markup: open and close markers.
    pub(crate) call: Option<(Arc<str>, Arc<str>)>,
    pub(crate) call_ends_thinking: bool,
    pub(crate) interleaved: bool,
    pub(crate) trim: bool,
    pub(crate) max_hold: usize,
    /// Derived: the first byte of every marker that matters inside
    /// thinking, when they all share it (the splitter's fast path).
    pub(crate) think_first: Option<u8>,
    /// Derived: what matters in the answer (the splitter's fast path).
    pub(crate) answer_marker: AnswerMarker,
    /// Derived: the call open marker's first byte and, when it has one,
    /// its second ([`Config::may_hold_call`]).
    pub(crate) call_lead: Option<(u8, Option<u8>)>,
}

/// The markers that matter in the answer, as the splitter's fast path
/// looks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerMarker {
    /// None: answer text is answer.
    None,
    /// One, starting with `first` then `second` (`first` again for a
    /// one-byte marker): text with no `second` byte that does not end with
    /// `first` cannot hold the start of it. Searching for the second byte
    /// keeps answers that merely contain `<` on the fast path: DeepSeek's
    /// tool tokens go on with a byte (0xEF) that ASCII text never has.
    One { first: u8, second: u8 },
    /// Several.
    Many,
}

impl Default for Config {
    fn default() -> Self {
        Config::preset(Preset::DeepseekR1)
    }
}

impl Config {
    /// The policy of `preset`, otherwise the defaults.
    pub fn preset(preset: Preset) -> Config {
        let (open, close) = preset.tags();
        Config {
            start: StartMode::Auto,
            open: Arc::from(open),
            close: Arc::from(close),
            call: preset.call_markers().map(|(o, c)| (Arc::from(o), Arc::from(c))),
            call_ends_thinking: preset.call_ends_thinking(),
            interleaved: false,
            trim: false,
            max_hold: DEFAULT_MAX_HOLD,
            think_first: None,
            answer_marker: AnswerMarker::Many,
            call_lead: None,
        }
        .derive()
    }

    /// Fills in the derived fields.
    fn derive(mut self) -> Config {
        let first = |t: &Arc<str>| t.as_bytes()[0];
        let call_first = self.call.as_ref().map(|(open, _)| first(open));
        let close = first(&self.close);
        self.think_first = match call_first {
            Some(c) if self.call_ends_thinking && c != close => None,
            _ => Some(close),
        };
        let open = self.interleaved.then_some(&self.open);
        let call_open = self.call.as_ref().map(|(open, _)| open);
        self.answer_marker = match (open, call_open) {
            (None, None) => AnswerMarker::None,
            (Some(marker), None) | (None, Some(marker)) => {
                let bytes = marker.as_bytes();
                AnswerMarker::One { first: bytes[0], second: *bytes.get(1).unwrap_or(&bytes[0]) }
            }
            (Some(_), Some(_)) => AnswerMarker::Many,
        };
        self.call_lead = self.call.as_ref().map(|(open, _)| {
            let bytes = open.as_bytes();
            (bytes[0], bytes.get(1).copied())
        });
        self
    }

    /// Whether `text`, read on its own, could hold tool-call markup or the
    /// start of it: the call open marker's first byte followed by its
    /// second, or ending the text. Text that could not is all of its
    /// field's kind while no markup is under way
    /// ([`FieldMarkup::idle`](crate::FieldMarkup::idle)): one search per
    /// delta, of a byte that prose seldom has (`<` for every preset but
    /// `gpt-oss`). Searching for the first byte rather than the second
    /// keeps Chinese text on this path: DeepSeek's markers go on with
    /// 0xEF, which also leads its full-width punctuation (`，`).
    #[inline]
    pub fn may_hold_call(&self, text: &str) -> bool {
        let Some((first, second)) = self.call_lead else { return false };
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(i) = memchr::memchr(first, &bytes[from..]) {
            let next = from + i + 1;
            match (bytes.get(next), second) {
                (None, _) | (_, None) => return true,
                (Some(&b), Some(second)) if b == second => return true,
                _ => from = next,
            }
        }
        false
    }

    /// The start mode.
    pub fn start(&self) -> StartMode {
        self.start
    }
    /// The open tag.
    pub fn open_tag(&self) -> &str {
        &self.open
    }
    /// The close tag.
    pub fn close_tag(&self) -> &str {
        &self.close
    }
    /// The tool-call markup's open and close markers, if any.
    pub fn call_markers(&self) -> Option<(&str, &str)> {
        self.call.as_ref().map(|(open, close)| (&**open, &**close))
    }
    /// Whether a tool call inside thinking ends it.
    pub fn call_ends_thinking(&self) -> bool {
        self.call_ends_thinking
    }
    /// Whether later thinking blocks are accepted.
    pub fn interleaved(&self) -> bool {
        self.interleaved
    }
    /// Whether structural whitespace is moved into markup.
    pub fn trim(&self) -> bool {
        self.trim
    }
    /// The undecided-hold bound in bytes.
    pub fn max_hold(&self) -> usize {
        self.max_hold
    }
}

/// Builds a [`Splitter`] (or a [`Config`]) with a non-default policy.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    config: Config,
    error: Option<ConfigError>,
}

impl Builder {
    /// A builder with the default policy.
    pub fn new() -> Builder {
        Builder::default()
    }
    /// Sets everything a preset sets (tags, tool-call markup, whether a
    /// call ends thinking); later settings override it.
    pub fn preset(mut self, preset: Preset) -> Builder {
        let p = Config::preset(preset);
        self.config.open = p.open;
        self.config.close = p.close;
        self.config.call = p.call;
        self.config.call_ends_thinking = p.call_ends_thinking;
        self
    }
    /// Sets the tool-call markup's open and close markers (`None`: no
    /// markup is looked for).
    pub fn call_markers(mut self, markers: Option<(&str, &str)>) -> Builder {
        if let Some((open, close)) = markers {
            self.error = self.error.or(check_tag(open)).or(check_tag(close));
        }
        self.config.call = markers.map(|(o, c)| (Arc::from(o), Arc::from(c)));
        self
    }
    /// Whether a tool call inside thinking ends it.
    pub fn call_ends_thinking(mut self, on: bool) -> Builder {
        self.config.call_ends_thinking = on;
        self
    }
    /// Sets the start mode (default `auto`).
    pub fn start(mut self, start: StartMode) -> Builder {
        self.config.start = start;
        self
    }
    /// Sets the open and close tags (default `<think>` / `</think>`).
    pub fn tags(mut self, open: &str, close: &str) -> Builder {
        self.error = self.error.or(check_tag(open)).or(check_tag(close));
        if open == close {
            self.error = self.error.or(Some(ConfigError::SameTags));
        }
        self.config.open = Arc::from(open);
        self.config.close = Arc::from(close);
        self
    }
    /// Accept further thinking blocks after the first closes (default off).
    pub fn interleaved(mut self, on: bool) -> Builder {
        self.config.interleaved = on;
        self
    }
    /// Move whitespace after the open tag, before the close tag and at the
    /// start of the answer into markup (default off: whitespace verbatim).
    pub fn trim(mut self, on: bool) -> Builder {
        self.config.trim = on;
        self
    }
    /// Bound on text held undecided in `auto` mode (default 1 MiB).
    pub fn max_hold(mut self, bytes: usize) -> Builder {
        self.config.max_hold = bytes;
        self
    }
    /// The policy, or the first configuration error.
    pub fn config(self) -> Result<Config, ConfigError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.config.derive()),
        }
    }
    /// A splitter with this policy, or the first configuration error.
    pub fn build(self) -> Result<Splitter, ConfigError> {
        self.config().map(Splitter::with_config)
    }
}

fn check_tag(t: &str) -> Option<ConfigError> {
    if t.is_empty() {
        Some(ConfigError::EmptyTag)
    } else if t.len() > MAX_TAG_LEN {
        Some(ConfigError::TagTooLong)
    } else {
        None
    }
}

/// Why a policy was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// A tag was the empty string.
    EmptyTag,
    /// A tag was longer than [`MAX_TAG_LEN`] bytes.
    TagTooLong,
    /// The open and close tags were the same string.
    SameTags,
    /// A start mode other than `auto`, `explicit` or `implicit`.
    UnknownStartMode,
    /// A preset name not in [`Preset::ALL`].
    UnknownPreset,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::EmptyTag => "tag is empty",
            ConfigError::TagTooLong => "tag is longer than 64 bytes",
            ConfigError::SameTags => "open and close tags are the same",
            ConfigError::UnknownStartMode => "start mode is not auto, explicit or implicit",
            ConfigError::UnknownPreset => {
                "preset is not deepseek-r1, qwen3, kimi-k2, kimi, magistral, granite or gpt-oss"
            }
        })
    }
}

impl std::error::Error for ConfigError {}
