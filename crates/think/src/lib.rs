//! Incremental, zero-copy splitter of reasoning-model text into thinking,
//! answer and markup.
//!
//! - [`Splitter`]: feed the text deltas of one choice as they arrive (cut
//!   anywhere, even inside a tag); it calls you with [`Segment`]s that borrow
//!   your input. [`Splitter::finish`] flushes what was held and returns an
//!   [`Outcome`].
//! - [`Builder`] / [`Config`]: the policy ([`StartMode`], tags, tool-call
//!   markers, interleaved blocks, whitespace trimming, the hold bound);
//!   [`Preset`]: the markers of a model family (`deepseek-r1`, `qwen3`,
//!   `kimi-k2`, `kimi`, `magistral`, `granite`, `gpt-oss`).
//! - [`markup`]: complete grammars (nom) for what the splitter delimits
//!   whole: tool-call markup ([`parse_calls`]) and harmony headers.
//! - [`FieldMarkup`]: tool-call markup in text whose kind is known
//!   (reasoning or answer sent in fields of their own), with
//!   [`Config::may_hold_call`] to pass most deltas by.
//! - [`split_all`]: one-shot helper for whole strings.
//!
//! Concatenating every segment in order gives back the input exactly. The
//! only state carried across feeds is a partial tag (remembered as a length:
//! its bytes are the tag's own prefix), plus text the policy must hold:
//! undecided text in `auto` mode (bounded, 1 MiB by default) and whitespace
//! in `trim` mode.
//!
//! # Policy
//! 1. Start mode `auto` (default): output that opens, after whitespace, with
//!    the open tag has a thinking block; otherwise text is held undecided
//!    until a close tag proves it was thinking (DeepSeek-R1 puts `<think>`
//!    in the prompt), or an open tag, the end or the hold bound proves it was
//!    answer. `explicit`: thinking only when the output opens with the tag.
//!    `implicit`: the output starts inside thinking.
//! 2. Only the first block counts unless `interleaved`; later tags are text.
//! 3. Text before the open tag (other than whitespace) means no block.
//! 4. Whitespace is verbatim; `trim` moves whitespace after the open tag,
//!    before the close tag and at the start of the answer into markup.
//!    Whitespace before the open tag is always markup.
//! 5. Near-tags (`</th` + `ing>`, `<thinking>`) are released as text as soon
//!    as they can no longer become a tag.
//! 6. At the end a held partial tag is text of the current channel;
//!    thinking never closed is reported as [`Outcome::unterminated`].
//! 7. Tool-call markup (the configured markers: DeepSeek's tool tokens,
//!    Qwen's `<tool_call>`) is held from its open marker to its close
//!    marker and emitted whole as one [`SegmentKind::ToolCall`] segment, for
//!    the caller to read with [`parse_calls`]. With `qwen3` a call inside
//!    thinking ends it. Markup over the hold bound is emitted as far as it
//!    was held, and the rest of the stream is answer.
//! 8. Output that starts (after whitespace) with a harmony header
//!    (`<|channel|>`, `<|start|>`) is read as harmony channels, whatever
//!    the tags: `analysis` is thinking, `final` (and any channel without a
//!    recipient) answer, a message to a recipient (`commentary
//!    to=functions.NAME`) a tool call ending at `<|call|>`; headers and end
//!    tokens are markup ([`Outcome::channels`]).
//!
//! # Example
//! A close tag cut across two feeds (DeepSeek-R1 style, no open tag):
//! ```
//! use thinktee_think::{Splitter, SegmentKind};
//!
//! let mut splitter = Splitter::new();
//! let mut seen = Vec::new();
//! splitter.feed("9.8 > 9.11 because 0.80 > 0.11.</th", |s| seen.push((s.kind, s.text.to_owned())));
//! // Undecided until the tag completes: nothing is emitted yet.
//! assert!(seen.is_empty());
//! splitter.feed("ink>\n\n9.8 is larger.", |s| seen.push((s.kind, s.text.to_owned())));
//! let outcome = splitter.finish(|s| seen.push((s.kind, s.text.to_owned())));
//! assert_eq!(seen, [
//!     (SegmentKind::Thinking, "9.8 > 9.11 because 0.80 > 0.11.".to_owned()),
//!     (SegmentKind::Markup, "</think>".to_owned()),
//!     (SegmentKind::Answer, "\n\n9.8 is larger.".to_owned()),
//! ]);
//! assert!(outcome.thinking && !outcome.unterminated);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod config;
mod field;
pub mod markup;
mod segment;
mod splitter;

#[cfg(test)]
mod tests;

pub use config::{Builder, Config, ConfigError, DEFAULT_MAX_HOLD, MAX_TAG_LEN, Preset, StartMode};
pub use field::FieldMarkup;
pub use markup::{Call, MarkupError, parse_calls};
pub use segment::{Outcome, Segment, SegmentKind};
pub use splitter::{Splitter, split_all};
