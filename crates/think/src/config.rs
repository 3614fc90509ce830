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

/// The full policy of a [`Splitter`]. Cheap to clone (tags are shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) start: StartMode,
    pub(crate) open: Arc<str>,
    pub(crate) close: Arc<str>,
    pub(crate) interleaved: bool,
    pub(crate) trim: bool,
    pub(crate) max_hold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            start: StartMode::Auto,
            open: Arc::from("<think>"),
            close: Arc::from("</think>"),
            interleaved: false,
            trim: false,
            max_hold: DEFAULT_MAX_HOLD,
        }
    }
}

impl Config {
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
    /// Sets the start mode (default `auto`).
    pub fn start(mut self, start: StartMode) -> Builder {
        self.config.start = start;
        self
    }
    /// Sets the open and close tags (default `<think>` / `</think>`).
    pub fn tags(mut self, open: &str, close: &str) -> Builder {
        let check = |t: &str| {
            if t.is_empty() {
                Some(ConfigError::EmptyTag)
            } else if t.len() > MAX_TAG_LEN {
                Some(ConfigError::TagTooLong)
            } else {
                None
            }
        };
        self.error = self.error.or(check(open)).or(check(close));
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
            None => Ok(self.config),
        }
    }
    /// A splitter with this policy, or the first configuration error.
    pub fn build(self) -> Result<Splitter, ConfigError> {
        self.config().map(Splitter::with_config)
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
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::EmptyTag => "tag is empty",
            ConfigError::TagTooLong => "tag is longer than 64 bytes",
            ConfigError::SameTags => "open and close tags are the same",
            ConfigError::UnknownStartMode => "start mode is not auto, explicit or implicit",
        })
    }
}

impl std::error::Error for ConfigError {}
