//! Borrowed model of OpenAI-compatible chat-completion chunks, usage and
//! content-filter annotations, and of the events of the other streaming
//! APIs (the Responses API, Anthropic Messages) in the same terms.
//!
//! This crate turns one SSE `data` payload into typed items that borrow from
//! the caller's buffer (strings are copied only when the JSON escaped them):
//!
//! - [`parse`] / [`parse_event`]: the entry points; [`Parser`] does the
//!   same for a stream's payloads in order, faster, by reusing the previous
//!   parse when only the text changed.
//! - [`Payload`]: `[DONE]`, a streamed [`Chunk`], a whole completion, or an
//!   [`ApiError`].
//! - [`Chunk`]: `id`, `model`, `created`, choices, [`Usage`] and prompt-level
//!   [`FilterEvent`]s.
//! - [`Choice`]: role, content, the de-duplicated reasoning text (and the
//!   [`ReasoningField`] it came from), [`ToolCall`] pieces, [`Marks`] of
//!   opaque reasoning, [`FinishReason`], completion-level filter events.
//! - [`Format`]: which API a stream speaks, told from its first event
//!   ([`Format::detect`]).
//! - [`responses::parse`], [`messages::parse`]: one event of a Responses
//!   API or Anthropic Messages stream, as an [`Update`]: the same parts as a
//!   choice (reasoning with its [`ReasoningKind`], answer text, a tool-call
//!   piece, marks, finish reason, usage, error) for the one output such a
//!   stream has.
//! - [`gemini::parse`]: one chunk of a Gemini `alt=sse` stream, the same
//!   parts per candidate; [`ollama::parse`]: one line of Ollama's NDJSON.
//! - [`Usage`]: token counts, including reasoning, cached and DeepSeek cache
//!   hit/miss tokens.
//! - [`FilterEvent`], [`FilterSource`], [`FilterOffsets`]: Azure
//!   content-filter verdicts, one event per category in wire order.
//! - [`ApiError`]: an error object sent by the API; [`Error`]: why a payload
//!   could not be read.
//!
//! Every dialect in the project's FORMATS.md is accepted: `<think>` inline in
//! `content`, `reasoning_content` (DeepSeek, SGLang, older vLLM), `reasoning`
//! (newer vLLM, OpenRouter), `reasoning_details[]` (OpenRouter), `content`
//! as typed parts (Mistral), `thinking_blocks[]` (LiteLLM), `tool_calls[]`,
//! `choices: []` usage and annotation chunks, `"usage": null` on every
//! chunk, and errors inside the stream. Unknown fields are skipped; `null`
//! and absent mean the same; a known field of an unexpected type is treated
//! as absent, except a choice's `index`, which must be an integer in
//! `0..=u32::MAX` when present (else [`Error::ChoiceIndex`]: text is never
//! put on a choice it may not belong to); a lone surrogate escape in a text
//! field becomes U+FFFD; when a key repeats, the last value wins (but a
//! later `choices` that is not an array is ignored, and filter results
//! accumulate).
//!
//! The JSON is read by a validating scanner specialised for these payloads,
//! which accepts exactly the JSON serde_json accepts for them (see
//! [`Error::Json`] for the details).
//!
//! # Example
//!
//! ```
//! use thinktee_chunk::{parse, Payload, ReasoningField};
//!
//! let data = r#"{"id":"0a6f2c1e","object":"chat.completion.chunk","created":1750000000,"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Compare 9.11 and 9.8"},"logprobs":null,"finish_reason":null}]}"#;
//!
//! let Payload::Chunk(chunk) = parse(data)? else { panic!("not a chunk") };
//! assert_eq!(chunk.model.as_deref(), Some("deepseek-reasoner"));
//! let choice = &chunk.choices[0];
//! assert_eq!(choice.content, None);
//! assert_eq!(choice.reasoning.as_deref(), Some("Compare 9.11 and 9.8"));
//! assert_eq!(choice.reasoning_field, Some(ReasoningField::ReasoningContent));
//!
//! assert_eq!(parse("[DONE]")?, Payload::Done);
//! # Ok::<(), thinktee_chunk::Error>(())
//! ```
//!
//! # Conventions
//!
//! Slicing, as in the rest of the workspace: a range that an invariant
//! guarantees (between two positions the scanner has passed, a span kept
//! from an earlier payload) is sliced with plain indexing, so that a broken
//! invariant panics at once, in tests and under fuzzing, instead of turning
//! into an empty slice and wrong output; the invariant is stated with
//! `debug_assert!` where it is relied on. `.get(..)` is used only where being
//! out of range is a case the code handles, with a comment that says which:
//! the payload may end inside a string, a number or a key.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod choice;
mod error;
mod filter;
mod format;
pub mod gemini;
mod memo;
mod memo_update;
pub mod messages;
pub mod ollama;
mod payload;
pub mod responses;
mod scan;
mod special;
mod text;
mod update;
mod usage;

pub use choice::{Choice, FinishReason, ReasoningField, ToolCalls};
pub use error::{ApiError, Error};
pub use filter::{FilterEvent, FilterOffsets, FilterSource};
pub use format::Format;
pub use memo::Parser;
pub use payload::{Choices, Chunk, Payload, parse, parse_event};
pub use update::{Marks, Reasoning, ReasoningKind, ToolCall, Update};
pub use usage::Usage;
