//! One SSE `data` payload: a chunk, a whole completion, an error, or `[DONE]`.

use std::borrow::Cow;

use crate::choice::{Choice, ChoiceSeen, read_choice};
use crate::error::{ApiError, Error, read_api_error, read_error_event};
use crate::filter::{FilterEvent, read_prompt_filters};
use crate::scan::{Known, Reject, Scan, Scanner};
use crate::text::own;
use crate::usage::{Usage, read_usage};

/// What one `data` payload holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload<'a> {
    /// `[DONE]`: the app-level end-of-stream sentinel.
    Done,
    /// A streamed `chat.completion.chunk`, including Azure annotation-only
    /// chunks (`"id":""`, `choices: []` + `prompt_filter_results`) and
    /// usage-only chunks.
    Chunk(Chunk<'a>),
    /// A whole non-streaming `chat.completion` body (choices carry
    /// `message` instead of `delta`).
    Completion(Chunk<'a>),
    /// `{"error": {..}}` without `choices`: an OpenAI-style mid-stream error,
    /// the HTTP 400 content-filter body, or an `event: error` payload.
    Error(ApiError<'a>),
}

/// The fields of a chunk (or completion) that thinktee reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chunk<'a> {
    /// `id`; `None` when absent or `""` (Azure annotation chunks).
    pub id: Option<Cow<'a, str>>,
    /// `model`; `None` when absent or `""`.
    pub model: Option<Cow<'a, str>>,
    /// `created` (Unix seconds); `None` when absent or 0.
    pub created: Option<i64>,
    /// `choices`, in wire order. May be empty; never assume `choices[0]`.
    pub choices: Choices<'a>,
    /// `usage`; `None` when absent or `null`.
    pub usage: Option<Usage>,
    /// Prompt-level verdicts: `prompt_filter_results` and legacy
    /// `prompt_annotations`.
    pub filters: Vec<FilterEvent>,
    /// OpenRouter's `error` next to `choices` (with `finish_reason: "error"`).
    pub error: Option<ApiError<'a>>,
}

// === impl Payload ===

impl Payload<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Payload<'static> {
        match self {
            Payload::Done => Payload::Done,
            Payload::Chunk(c) => Payload::Chunk(c.into_owned()),
            Payload::Completion(c) => Payload::Completion(c.into_owned()),
            Payload::Error(e) => Payload::Error(e.into_owned()),
        }
    }
}

// === impl Chunk ===

impl Chunk<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Chunk<'static> {
        Chunk {
            id: own(self.id),
            model: own(self.model),
            created: self.created,
            choices: self.choices.into_owned(),
            usage: self.usage,
            filters: self.filters,
            error: self.error.map(ApiError::into_owned),
        }
    }
}

/// `[DONE]` after trimming ASCII whitespace.
#[inline]
fn is_done(data: &str) -> bool {
    data.trim_ascii() == "[DONE]"
}

/// Parses one SSE `data` payload.
///
/// `[DONE]` (after trimming ASCII whitespace) is [`Payload::Done`]. Unknown
/// fields are skipped, `null` means absent, and a known field holding an
/// unexpected type is treated as absent too, except a choice's `index`
/// (see below).
///
/// # Errors
///
/// [`Error::Json`] if the payload is not JSON; [`Error::Shape`] if it is
/// JSON but not an object with any of `choices`, `error`,
/// `prompt_filter_results`, `prompt_annotations` or `usage`;
/// [`Error::ChoiceIndex`] if a choice's `index` is present but not an
/// integer in `0..=u32::MAX`.
pub fn parse(data: &str) -> Result<Payload<'_>, Error> {
    parse_with(&mut Scanner::new(data))
}

/// [`parse`] with the caller's scanner (at the start of the payload), which
/// [`crate::Parser`] asks afterwards where the text fields were.
pub(crate) fn parse_with<'a>(s: &mut Scanner<'a>) -> Result<Payload<'a>, Error> {
    let data = s.src();
    if is_done(data) {
        return Ok(Payload::Done);
    }
    // Filled in place by the readers; moved once, into the result.
    let mut chunk = Chunk::default();
    let seen = match read_payload(s, &mut chunk) {
        Ok(Some(seen)) => seen,
        Ok(None) => return Err(Error::Shape("payload is not a json object")),
        Err(Reject) => return Err(Error::json(data)),
    };
    if let Some(what) = seen.bad_index {
        return Err(Error::ChoiceIndex(what));
    }
    if !seen.choices
        && let Some(error) = chunk.error.take()
    {
        return Ok(Payload::Error(error));
    }
    if !(seen.choices || seen.prompt_filters || chunk.usage.is_some()) {
        return Err(Error::Shape(
            "object has none of choices, error, prompt_filter_results, prompt_annotations, usage",
        ));
    }
    if seen.message || seen.completion_object {
        Ok(Payload::Completion(chunk))
    } else {
        Ok(Payload::Chunk(chunk))
    }
}

/// Parses one SSE `data` payload, honouring the SSE `event` type.
///
/// For `event: error` the data is an error whatever it holds:
/// `{"error": {..}}`, a bare error object (`{"message": ..}`), a JSON
/// string, or plain text (kept whole as the message, borrowed). Any other
/// event type is parsed with [`parse`].
///
/// # Errors
///
/// As [`parse`]; never for `event: error`.
pub fn parse_event<'a>(event_type: &str, data: &'a str) -> Result<Payload<'a>, Error> {
    if event_type != "error" {
        return parse(data);
    }
    let text = data.trim_ascii();
    if let Ok(Some(error)) = read_error_event(text) {
        return Ok(Payload::Error(error));
    }
    let message = (!text.is_empty()).then_some(Cow::Borrowed(text));
    Ok(Payload::Error(ApiError { message, ..ApiError::default() }))
}

/// What a top-level object held besides the chunk's own fields, for
/// classification.
#[derive(Debug, Default)]
struct Seen {
    /// `choices` was an array (at least once).
    choices: bool,
    /// The last `choices` array had a choice with `message`.
    message: bool,
    /// The last `choices` array had a choice with an invalid `index`: what
    /// the first such index was.
    bad_index: Option<&'static str>,
    /// The last `object` was `"chat.completion"`.
    completion_object: bool,
    /// `prompt_filter_results` / `prompt_annotations` was an array.
    prompt_filters: bool,
}

/// `None` for `""`.
#[inline]
fn non_empty(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.filter(|s| !s.is_empty())
}

/// The top-level keys [`read_payload`] reads.
#[derive(Debug, Clone, Copy)]
enum Field {
    Id,
    Object,
    Created,
    Model,
    Choices,
    Usage,
    PromptFilters,
    Error,
    Other,
}

/// In the order chunks usually carry them, as they are tried in that order;
/// `system_fingerprint` is listed (as [`Field::Other`]) only because nearly
/// every chunk has it, and recognising it is cheaper than scanning it:
/// without it, [`parse`] of every payload of the R1 bench stream costs 4.4
/// to 4.6 % more instructions (callgrind).
const FIELDS: &[Known<Field>] = &[
    Known::new(b"id", Field::Id),
    Known::new(b"object", Field::Object),
    Known::new(b"created", Field::Created),
    Known::new(b"model", Field::Model),
    Known::new(b"system_fingerprint", Field::Other),
    Known::new(b"choices", Field::Choices),
    Known::new(b"usage", Field::Usage),
    Known::new(b"prompt_filter_results", Field::PromptFilters),
    Known::new(b"prompt_annotations", Field::PromptFilters),
    Known::new(b"error", Field::Error),
];

/// Reads the whole payload into `chunk`: `None` if it is not an object.
fn read_payload<'a>(s: &mut Scanner<'a>, chunk: &mut Chunk<'a>) -> Scan<Option<Seen>> {
    if !s.object()? {
        s.finish()?;
        return Ok(None);
    }
    let mut seen = Seen::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match field {
            Field::Id => chunk.id = non_empty(s.str()?),
            Field::Object => {
                // Every streamed chunk says `chat.completion.chunk`: compare
                // it in place rather than scan it. Measured (callgrind, R1
                // bench stream): scanning it costs `parse` 4.0 to 4.2 % more
                // instructions.
                seen.completion_object = !s.eat_str(b"chat.completion.chunk")?
                    && s.str()?.as_deref() == Some("chat.completion");
            }
            Field::Created => chunk.created = s.i64()?.filter(|&t| t != 0),
            Field::Model => chunk.model = non_empty(s.str()?),
            Field::Choices => {
                if s.array()? {
                    let choices = read_choices(s, &mut chunk.choices)?;
                    (seen.message, seen.bad_index) = (choices.message, choices.bad_index);
                    seen.choices = true;
                }
            }
            Field::Usage => {
                if s.object()? {
                    read_usage(s, chunk.usage.insert(Usage::default()))?;
                } else {
                    chunk.usage = None;
                }
            }
            Field::PromptFilters => {
                if s.array()? {
                    read_prompt_filters(s, &mut chunk.filters)?;
                    seen.prompt_filters = true;
                }
            }
            Field::Error => chunk.error = read_api_error(s)?,
            Field::Other => s.skip_value()?,
        }
    }
    s.finish()?;
    Ok(Some(seen))
}

/// After `[`: every element that is an object becomes a choice, in place of
/// what `choices` held; returns whether one had `message`, and the first
/// invalid `index`.
fn read_choices<'a>(s: &mut Scanner<'a>, choices: &mut Choices<'a>) -> Scan<ChoiceSeen> {
    *choices = Choices::default();
    let mut all = ChoiceSeen::default();
    let mut first = true;
    while s.element(&mut first)? {
        if s.object()? {
            let one = read_choice(s, choices.push_default())?;
            all.message |= one.message;
            all.bad_index = all.bad_index.or(one.bad_index);
        }
    }
    Ok(all)
}

/// `choices[]`: inline when there is one (streams almost always have
/// `n = 1`), a `Vec` only for several, so a typical chunk allocates nothing.
/// Derefs to a slice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choices<'a>(ChoicesRepr<'a>);

#[derive(Debug, Clone, PartialEq, Default)]
enum ChoicesRepr<'a> {
    #[default]
    Empty,
    One(Choice<'a>),
    Many(Vec<Choice<'a>>),
}

impl<'a> Choices<'a> {
    /// Appends a choice.
    pub fn push(&mut self, choice: Choice<'a>) {
        self.0 = match std::mem::take(&mut self.0) {
            ChoicesRepr::Empty => ChoicesRepr::One(choice),
            ChoicesRepr::One(first) => ChoicesRepr::Many(vec![first, choice]),
            ChoicesRepr::Many(mut all) => {
                all.push(choice);
                ChoicesRepr::Many(all)
            }
        };
    }

    /// Exactly one choice.
    pub(crate) fn one(choice: Choice<'a>) -> Choices<'a> {
        Choices(ChoicesRepr::One(choice))
    }

    /// Appends a default choice and returns it, to be filled in place.
    pub(crate) fn push_default(&mut self) -> &mut Choice<'a> {
        self.0 = match std::mem::take(&mut self.0) {
            ChoicesRepr::Empty => ChoicesRepr::One(Choice::default()),
            ChoicesRepr::One(first) => ChoicesRepr::Many(vec![first, Choice::default()]),
            ChoicesRepr::Many(mut all) => {
                all.push(Choice::default());
                ChoicesRepr::Many(all)
            }
        };
        let all: &mut [Choice<'a>] = match &mut self.0 {
            ChoicesRepr::Empty => &mut [],
            ChoicesRepr::One(c) => std::slice::from_mut(c),
            ChoicesRepr::Many(all) => all,
        };
        let last = all.len() - 1;
        &mut all[last]
    }

    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Choices<'static> {
        Choices(match self.0 {
            ChoicesRepr::Empty => ChoicesRepr::Empty,
            ChoicesRepr::One(c) => ChoicesRepr::One(c.into_owned()),
            ChoicesRepr::Many(all) => {
                ChoicesRepr::Many(all.into_iter().map(Choice::into_owned).collect())
            }
        })
    }
}

impl<'a> std::ops::Deref for Choices<'a> {
    type Target = [Choice<'a>];
    fn deref(&self) -> &[Choice<'a>] {
        match &self.0 {
            ChoicesRepr::Empty => &[],
            ChoicesRepr::One(c) => std::slice::from_ref(c),
            ChoicesRepr::Many(all) => all,
        }
    }
}

impl<'b, 'a> IntoIterator for &'b Choices<'a> {
    type Item = &'b Choice<'a>;
    type IntoIter = std::slice::Iter<'b, Choice<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> From<Vec<Choice<'a>>> for Choices<'a> {
    fn from(all: Vec<Choice<'a>>) -> Self {
        let mut choices = Choices::default();
        for c in all {
            choices.push(c);
        }
        choices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::{FinishReason, ReasoningField};
    use crate::filter::{FilterOffsets, FilterSource};

    fn chunk(data: &str) -> Chunk<'_> {
        match parse(data) {
            Ok(Payload::Chunk(c)) => c,
            other => panic!("expected a chunk, got {other:?}"),
        }
    }

    fn api_error(payload: Result<Payload<'_>, Error>) -> ApiError<'_> {
        match payload {
            Ok(Payload::Error(e)) => e,
            other => panic!("expected an api error, got {other:?}"),
        }
    }

    fn only(c: &Chunk<'_>) -> Choice<'static> {
        assert_eq!(c.choices.len(), 1, "{c:?}");
        c.choices[0].clone().into_owned()
    }

    fn categories(events: &[FilterEvent]) -> Vec<&str> {
        events.iter().map(|e| e.category.as_str()).collect()
    }

    // --- (a) Azure AI model inference, DeepSeek-R1, <think> inline ---

    #[test]
    fn a_azure_r1_inline_think_stream() {
        let first = chunk(
            r#"{"id":"23b54589eba14564ad8a2e6978775a39","object":"chat.completion.chunk","created":1718726371,"model":"DeepSeek-R1","choices":[{"index":0,"delta":{"role":"assistant","content":"<think>"},"finish_reason":null,"logprobs":null}]}"#,
        );
        assert_eq!(first.id.as_deref(), Some("23b54589eba14564ad8a2e6978775a39"));
        assert_eq!(first.model.as_deref(), Some("DeepSeek-R1"));
        assert_eq!(first.created, Some(1718726371));
        assert_eq!(first.usage, None);
        assert!(first.filters.is_empty());
        let c = only(&first);
        assert_eq!(c.role.as_deref(), Some("assistant"));
        assert_eq!(c.content.as_deref(), Some("<think>"));
        assert_eq!(c.reasoning_field, None);

        let mid = chunk(
            r#"{"id":"23b54589eba14564ad8a2e6978775a39","object":"chat.completion.chunk","created":1718726371,"model":"DeepSeek-R1","choices":[{"index":0,"delta":{"content":" exist. Ethnologue lists about 7,168.\n</th"},"finish_reason":null,"logprobs":null}]}"#,
        );
        assert_eq!(
            only(&mid).content.as_deref(),
            Some(" exist. Ethnologue lists about 7,168.\n</th")
        );

        let last = chunk(
            r#"{"id":"23b54589eba14564ad8a2e6978775a39","object":"chat.completion.chunk","created":1718726371,"model":"DeepSeek-R1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":11,"total_tokens":897,"completion_tokens":886}}"#,
        );
        let c = only(&last);
        assert_eq!(c.finish_reason, Some(FinishReason::Stop));
        assert_eq!(c.content.as_deref(), Some(""));
        let u = last.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (Some(11), Some(886), Some(897))
        );
        assert_eq!(u.reasoning_tokens, None);
    }

    #[test]
    fn done_sentinel_with_whitespace() {
        assert_eq!(parse("[DONE]").unwrap(), Payload::Done);
        assert_eq!(parse(" \t[DONE]\r\n").unwrap(), Payload::Done);
        assert!(parse("[DONE]x").is_err());
        assert!(parse("[done]").is_err());
    }

    // --- (b) DeepSeek reasoning_content ---

    #[test]
    fn b_deepseek_reasoning_content_stream() {
        let first = chunk(
            r#"{"id":"0a6f2c1e-5b7e-4d0c-9a1f-3f7c2b8e9d10","object":"chat.completion.chunk","created":1750000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e0991cad4_prod0820","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}"#,
        );
        let c = only(&first);
        assert_eq!(c.content, None);
        assert_eq!(c.reasoning.as_deref(), Some(""));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningContent));

        let r = chunk(
            r#"{"id":"0a6f2c1e-5b7e-4d0c-9a1f-3f7c2b8e9d10","object":"chat.completion.chunk","created":1750000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e0991cad4_prod0820","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Compare 9.11 and 9.8"},"logprobs":null,"finish_reason":null}]}"#,
        );
        assert_eq!(only(&r).reasoning.as_deref(), Some("Compare 9.11 and 9.8"));
        assert!(matches!(r.choices[0].reasoning, Some(Cow::Borrowed(_))));
        assert!(matches!(r.id, Some(Cow::Borrowed(_))));

        let answer = chunk(
            r#"{"id":"0a6f2c1e-5b7e-4d0c-9a1f-3f7c2b8e9d10","object":"chat.completion.chunk","created":1750000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e0991cad4_prod0820","choices":[{"index":0,"delta":{"content":"9.8 is greater.","reasoning_content":null},"logprobs":null,"finish_reason":null}]}"#,
        );
        let c = only(&answer);
        assert_eq!(c.content.as_deref(), Some("9.8 is greater."));
        assert_eq!((c.reasoning, c.reasoning_field), (None, None));

        let last = chunk(
            r#"{"id":"0a6f2c1e-5b7e-4d0c-9a1f-3f7c2b8e9d10","object":"chat.completion.chunk","created":1750000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e0991cad4_prod0820","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":18,"completion_tokens":240,"total_tokens":258,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":231},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":18}}"#,
        );
        assert_eq!(only(&last).finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            last.usage,
            Some(Usage {
                prompt_tokens: Some(18),
                completion_tokens: Some(240),
                total_tokens: Some(258),
                reasoning_tokens: Some(231),
                cached_tokens: Some(0),
                cache_hit_tokens: Some(0),
                cache_miss_tokens: Some(18),
            })
        );
    }

    #[test]
    fn b_azure_2025_04_01_empty_strings() {
        let c = chunk(
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":"Okay, the"}}]}"#,
        );
        let c = only(&c);
        assert_eq!(c.content.as_deref(), Some(""));
        assert_eq!(c.reasoning.as_deref(), Some("Okay, the"));
    }

    // --- (c) vLLM / NIM / SGLang ---

    #[test]
    fn c_vllm_reasoning_stream() {
        let first = chunk(
            r#"{"id":"chatcmpl-9f1c0d2e8a7b4c3d","object":"chat.completion.chunk","created":1767869673,"model":"deepseek-ai/DeepSeek-R1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
        );
        assert_eq!(only(&first).reasoning_field, None);

        let r = chunk(
            r#"{"id":"chatcmpl-9f1c0d2e8a7b4c3d","object":"chat.completion.chunk","created":1767869673,"model":"deepseek-ai/DeepSeek-R1","choices":[{"index":0,"delta":{"reasoning":"Okay, 9.11 vs 9.8"},"logprobs":null,"finish_reason":null}]}"#,
        );
        let c = only(&r);
        assert_eq!(c.reasoning.as_deref(), Some("Okay, 9.11 vs 9.8"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::Reasoning));
        assert_eq!(c.content, None);

        let stop = chunk(
            r#"{"id":"chatcmpl-9f1c0d2e8a7b4c3d","object":"chat.completion.chunk","created":1767869673,"model":"deepseek-ai/DeepSeek-R1","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}"#,
        );
        assert_eq!(only(&stop).finish_reason, Some(FinishReason::Stop));

        let usage = chunk(
            r#"{"id":"chatcmpl-9f1c0d2e8a7b4c3d","object":"chat.completion.chunk","created":1767869673,"model":"deepseek-ai/DeepSeek-R1","choices":[],"usage":{"prompt_tokens":14,"total_tokens":262,"completion_tokens":248}}"#,
        );
        assert!(usage.choices.is_empty());
        assert_eq!(usage.usage.and_then(|u| u.total_tokens), Some(262));
    }

    #[test]
    fn c_vllm_stop_reason_number_ignored() {
        let c = chunk(
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151643}]}"#,
        );
        assert_eq!(only(&c).finish_reason, Some(FinishReason::Stop));
    }

    // --- (d) OpenRouter ---

    #[test]
    fn d_openrouter_stream() {
        let first = chunk(
            r#"{"id":"gen-1750000000-AbCdEf","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1750000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Compare decimals","reasoning_details":[{"type":"reasoning.text","text":"Compare decimals","format":"unknown","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
        );
        let c = only(&first);
        assert_eq!(c.reasoning.as_deref(), Some("Compare decimals"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningDetails));
        assert_eq!(c.content.as_deref(), Some(""));

        let answer = chunk(
            r#"{"id":"gen-1750000000-AbCdEf","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1750000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"9.8 is greater.","reasoning":null},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
        );
        let c = only(&answer);
        assert_eq!(c.content.as_deref(), Some("9.8 is greater."));
        assert_eq!(c.reasoning_field, None);

        let usage = chunk(
            r#"{"id":"gen-1750000000-AbCdEf","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1750000000,"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":250,"total_tokens":264,"cost":0.00055,"completion_tokens_details":{"reasoning_tokens":241},"prompt_tokens_details":{"cached_tokens":0}}}"#,
        );
        let u = usage.usage.unwrap();
        assert_eq!(
            (u.reasoning_tokens, u.cached_tokens, u.total_tokens),
            (Some(241), Some(0), Some(264))
        );
    }

    // --- (e) include_usage: choices [] + usage; usage: null everywhere ---

    #[test]
    fn e_openai_usage_null_obfuscation_service_tier() {
        let first = chunk(
            r#"{"id":"chatcmpl-C1a2b3","object":"chat.completion.chunk","created":1755000000,"model":"o4-mini-2025-04-16","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k3Xq"}"#,
        );
        assert_eq!(first.usage, None);
        assert_eq!(first.id.as_deref(), Some("chatcmpl-C1a2b3"));
        assert_eq!(first.model.as_deref(), Some("o4-mini-2025-04-16"));

        let stop = chunk(
            r#"{"id":"chatcmpl-C1a2b3","object":"chat.completion.chunk","created":1755000000,"model":"o4-mini-2025-04-16","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"Zp1"}"#,
        );
        let c = only(&stop);
        assert_eq!((c.content, c.role, c.reasoning), (None, None, None));
        assert_eq!(c.finish_reason, Some(FinishReason::Stop));

        let usage = chunk(
            r#"{"id":"chatcmpl-C1a2b3","object":"chat.completion.chunk","created":1755000000,"model":"o4-mini-2025-04-16","service_tier":"default","system_fingerprint":null,"choices":[],"usage":{"prompt_tokens":22,"completion_tokens":210,"total_tokens":232,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"a"}"#,
        );
        assert!(usage.choices.is_empty());
        assert_eq!(usage.usage.and_then(|u| u.reasoning_tokens), Some(192));
    }

    #[test]
    fn e_usage_only_chunk_without_choices() {
        let c = chunk(r#"{"usage":{"prompt_tokens":1}}"#);
        assert!(c.choices.is_empty());
        assert_eq!(c.usage.and_then(|u| u.prompt_tokens), Some(1));
    }

    // --- (f) Azure content-filter annotations ---

    #[test]
    fn f_async_filter_prompt_annotation_chunk() {
        let c = chunk(
            r#"{"id":"","object":"","created":0,"model":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"choices":[],"usage":null}"#,
        );
        assert_eq!((c.id.clone(), c.model.clone(), c.created), (None, None, None));
        assert!(c.choices.is_empty());
        assert_eq!(categories(&c.filters), ["hate", "self_harm", "sexual", "violence"]);
        for e in &c.filters {
            assert_eq!(e.source, FilterSource::Prompt);
            assert_eq!(e.filtered, Some(false));
            assert_eq!(e.severity.as_deref(), Some("safe"));
            assert_eq!(e.offsets, None);
        }
    }

    #[test]
    fn f_async_filter_completion_annotations() {
        let delta = chunk(
            r#"{"id":"chatcmpl-8JCbt5d4luUIhYCI7YH4dQK7hnHx2","object":"chat.completion.chunk","created":1699587397,"model":"gpt-35-turbo","choices":[{"index":0,"finish_reason":null,"delta":{"content":"Hey"}}],"usage":null}"#,
        );
        assert_eq!(only(&delta).content.as_deref(), Some("Hey"));

        let annotation = chunk(
            r#"{"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":null,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"check_offset":65,"start_offset":65,"end_offset":1056}}],"usage":null}"#,
        );
        assert_eq!(annotation.id, None);
        let c = only(&annotation);
        assert_eq!((c.content.clone(), c.reasoning.clone()), (None, None));
        assert_eq!(categories(&c.filters), ["hate", "self_harm", "sexual", "violence"]);
        let offsets = FilterOffsets {
            check_offset: Some(65),
            start_offset: Some(65),
            end_offset: Some(1056),
        };
        assert!(
            c.filters
                .iter()
                .all(|e| e.offsets == Some(offsets) && e.source == FilterSource::Completion)
        );

        let blocked = chunk(
            r#"{"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":"content_filter","content_filter_results":{"protected_material_text":{"detected":true,"filtered":true}},"content_filter_offsets":{"check_offset":65,"start_offset":65,"end_offset":1056}}],"usage":null}"#,
        );
        let c = only(&blocked);
        assert_eq!(c.finish_reason, Some(FinishReason::ContentFilter));
        assert_eq!(
            c.filters,
            [FilterEvent {
                filtered: Some(true),
                detected: Some(true),
                offsets: Some(offsets),
                ..FilterEvent::new(FilterSource::Completion, "protected_material_text")
            }]
        );
    }

    #[test]
    fn f_legacy_prompt_annotations_key() {
        let c = chunk(
            r#"{"id":"","object":"","created":0,"model":"","prompt_annotations":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],"choices":[],"usage":null}"#,
        );
        assert_eq!(categories(&c.filters), ["hate"]);
        assert_eq!(c.filters[0].source, FilterSource::Prompt);
    }

    #[test]
    fn f_default_mode_stream() {
        let prompt = chunk(
            r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}"#,
        );
        assert_eq!(
            categories(&prompt.filters),
            ["hate", "jailbreak", "self_harm", "sexual", "violence"]
        );
        assert_eq!(prompt.filters[1].detected, Some(false));
        assert_eq!(prompt.filters[1].severity, None);

        let role = chunk(
            r#"{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1751000792,"id":"chatcmpl-BmvaCUrU0DjRli6juhycOsjF1OAZr","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
        );
        assert!(only(&role).filters.is_empty());

        let content = chunk(
            r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"delta":{"content":"Rust is a systems language"},"finish_reason":null,"index":0,"logprobs":null}],"created":1751000792,"id":"chatcmpl-BmvaCUrU0DjRli6juhycOsjF1OAZr","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
        );
        let c = only(&content);
        assert_eq!(c.content.as_deref(), Some("Rust is a systems language"));
        assert_eq!(c.filters.len(), 6);
        assert_eq!(c.filters[2].category, "protected_material_text");
        assert_eq!(c.filters[2].detected, Some(false));

        let blocked = chunk(
            r#"{"choices":[{"content_filter_results":{"violence":{"filtered":true,"severity":"medium"}},"delta":{},"finish_reason":"content_filter","index":0,"logprobs":null}],"created":1751000792,"id":"chatcmpl-BmvaCUrU0DjRli6juhycOsjF1OAZr","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
        );
        let c = only(&blocked);
        assert_eq!(c.finish_reason, Some(FinishReason::ContentFilter));
        assert_eq!(
            c.filters,
            [FilterEvent {
                filtered: Some(true),
                severity: Some("medium".into()),
                ..FilterEvent::new(FilterSource::Completion, "violence")
            }]
        );

        let usage = chunk(
            r#"{"choices":[],"created":1751000792,"id":"chatcmpl-BmvaCUrU0DjRli6juhycOsjF1OAZr","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0","usage":{"completion_tokens":41,"prompt_tokens":18,"total_tokens":59,"completion_tokens_details":{"reasoning_tokens":0},"prompt_tokens_details":{"cached_tokens":0}}}"#,
        );
        assert_eq!(usage.usage.and_then(|u| u.total_tokens), Some(59));
    }

    #[test]
    fn f_singular_and_plural_with_filter_error() {
        let c = chunk(
            r#"{"choices":[{"index":0,"delta":{"content":"x"},"content_filter_result":{"error":{"code":"content_filter_error","message":"The contents are not filtered"}},"content_filter_results":{},"content_filter_raw":[{"a":1}]}]}"#,
        );
        let c = only(&c);
        assert_eq!(
            c.filters,
            [FilterEvent {
                code: Some("content_filter_error".into()),
                message: Some("The contents are not filtered".into()),
                ..FilterEvent::new(FilterSource::Completion, "error")
            }]
        );
    }

    // --- (g) errors ---

    const AZURE_400: &str = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI’s content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,
 "innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"custom_blocklists":[{"filtered":true,"id":"raiBlocklistName"}],"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}}}"#;

    #[test]
    fn g_azure_400_body_with_blocklist() {
        let e = api_error(parse(AZURE_400));
        assert!(e.message.as_deref().unwrap().starts_with("The response was filtered"));
        assert!(e.message.as_deref().unwrap().contains("OpenAI’s"));
        assert_eq!(e.kind, None);
        assert_eq!(e.param.as_deref(), Some("prompt"));
        assert_eq!(e.code.as_deref(), Some("content_filter"));
        assert_eq!(e.status, Some(400));
        assert_eq!(
            categories(&e.filters),
            ["custom_blocklists", "hate", "self_harm", "sexual", "violence"]
        );
        assert_eq!(
            e.filters[0],
            FilterEvent {
                filtered: Some(true),
                id: Some("raiBlocklistName".into()),
                ..FilterEvent::new(FilterSource::Prompt, "custom_blocklists")
            }
        );
        assert!(e.filters.iter().all(|f| f.source == FilterSource::Prompt));
    }

    #[test]
    fn g_inner_error_plural_self_harm_dash() {
        let e = api_error(parse(
            r#"{"error":{"message":"filtered","code":"content_filter","status":400,"inner_error":{"code":"ResponsibleAIPolicyViolation","content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self-harm":{"filtered":true,"severity":"medium"}}}}}"#,
        ));
        assert_eq!(categories(&e.filters), ["hate", "self_harm"]);
        assert_eq!(e.filters[1].filtered, Some(true));
        assert_eq!(e.filters[1].severity.as_deref(), Some("medium"));
    }

    #[test]
    fn g_openai_mid_stream_error_line() {
        let e = api_error(parse(
            r#"{"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error"}}"#,
        ));
        assert_eq!(
            e.message.as_deref(),
            Some("The server had an error while processing your request. Sorry about that!")
        );
        assert_eq!(e.kind.as_deref(), Some("server_error"));
    }

    #[test]
    fn g_openrouter_error_next_to_choices() {
        let c = chunk(
            r#"{"id":"cmpl-abc123","object":"chat.completion.chunk","created":1234567890,"model":"gpt-3.5-turbo","provider":"openai","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
        );
        assert_eq!(only(&c).finish_reason, Some(FinishReason::Error));
        let e = c.error.unwrap();
        assert_eq!(e.code.as_deref(), Some("server_error"));
        assert_eq!(e.message.as_deref(), Some("Provider disconnected unexpectedly"));

        let c = chunk(
            r#"{"id":"gen-1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":502,"message":"Upstream error"}}"#,
        );
        assert_eq!(c.error.unwrap().code.as_deref(), Some("502"));
    }

    #[test]
    fn g_error_null_is_absent() {
        assert!(matches!(parse(r#"{"error":null}"#), Err(Error::Shape(_))));
        let c = chunk(r#"{"error":null,"choices":[]}"#);
        assert_eq!(c.error, None);
    }

    #[test]
    fn g_event_type_error() {
        let e = api_error(parse_event("error", r#"{"error":{"message":"overloaded","code":529}}"#));
        assert_eq!(e.message.as_deref(), Some("overloaded"));
        assert_eq!(e.code.as_deref(), Some("529"));

        let e = api_error(parse_event("error", r#"{"message":"bare","type":"overloaded_error"}"#));
        assert_eq!(e.message.as_deref(), Some("bare"));
        assert_eq!(e.kind.as_deref(), Some("overloaded_error"));

        let e = api_error(parse_event("error", " upstream timed out \n"));
        assert_eq!(e.message, Some(Cow::Borrowed("upstream timed out")));

        let e = api_error(parse_event("error", r#""quoted \"text\"""#));
        assert_eq!(e.message.as_deref(), Some(r#"quoted "text""#));

        assert_eq!(api_error(parse_event("error", "")), ApiError::default());

        // Other event types parse normally.
        assert_eq!(parse_event("message", "[DONE]").unwrap(), Payload::Done);
        assert!(matches!(parse_event("", r#"{"choices":[]}"#), Ok(Payload::Chunk(_))));
    }

    // --- shapes and errors ---

    #[test]
    fn non_json_is_json_error() {
        for bad in ["", "   ", "hello", "{", r#"{"choices":[}"#, r#"{"a":1} trailing"#, "data: {}"]
        {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::Json(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn json_non_object_and_unknown_object_are_shape_errors() {
        for bad in [
            "[]",
            r#"[{"choices":[]}]"#,
            "42",
            "null",
            r#""[DONE]""#,
            "{}",
            r#"{"object":"chat.completion"}"#,
            r#"{"choices":null,"usage":null}"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::Shape(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn an_invalid_choice_index_refuses_the_whole_payload() {
        for (bad, what) in [
            (
                r#"{"choices":[{"index":0,"delta":{}},{"index":"1","delta":{"content":"x"}}]}"#,
                "a string",
            ),
            (
                r#"{"choices":[{"index":-1,"delta":{"content":"x"}}],"usage":{"total_tokens":1}}"#,
                "negative",
            ),
            (
                r#"{"object":"chat.completion","choices":[{"index":null,"message":{"content":"x"}}]}"#,
                "null",
            ),
            (r#"{"error":{"message":"m"},"choices":[{"index":4294967296}]}"#, "2^32 or more"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::ChoiceIndex(w) if w == what), "{bad}: {err:?}");
            assert_eq!(err.to_string(), format!("invalid choice index: {what}"));
        }
        // Invalid JSON is reported as such, wherever the bad index is.
        let err = parse(r#"{"choices":[{"index":"1"}],"x":}"#).unwrap_err();
        assert!(matches!(err, Error::Json(_)), "{err:?}");
        // A `choices` that a later one replaces does not count.
        let c = chunk(r#"{"choices":[{"index":"1"}],"choices":[{"index":1}]}"#);
        assert_eq!(c.choices[0].index, 1);
    }

    #[test]
    fn completion_body() {
        let p = parse(
            r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Answer","reasoning_content":"Think"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        )
        .unwrap();
        let Payload::Completion(c) = p else { panic!("{p:?}") };
        let choice = only(&c);
        assert_eq!(choice.content.as_deref(), Some("Answer"));
        assert_eq!(choice.reasoning.as_deref(), Some("Think"));
        assert_eq!(choice.role.as_deref(), Some("assistant"));
        assert_eq!(c.usage.and_then(|u| u.total_tokens), Some(3));

        // A message without the object field is still a completion.
        let p = parse(r#"{"choices":[{"message":{"content":"x","reasoning":"r"}}]}"#).unwrap();
        assert!(matches!(p, Payload::Completion(_)));
        // The object field alone decides too.
        let p = parse(r#"{"object":"chat.completion","choices":[]}"#).unwrap();
        assert!(matches!(p, Payload::Completion(_)));
    }

    #[test]
    fn multiple_choices_and_non_object_entries() {
        let c = chunk(
            r#"{"choices":[{"index":1,"delta":{"content":"b"}},null,7,{"index":0,"delta":{"content":"a"}}]}"#,
        );
        assert_eq!(c.choices.len(), 2);
        assert_eq!((c.choices[0].index, c.choices[1].index), (1, 0));
    }

    // --- strings ---

    #[test]
    fn escaped_strings_decode_and_plain_strings_borrow() {
        let data = r#"{"id":"plain","choices":[{"delta":{"content":"line\nnext \u00e9 \ud83d\ude00 \"q\" \\","reasoning_content":"no escapes here","role":"assistant"}}]}"#;
        let c = chunk(data);
        let choice = &c.choices[0];
        assert_eq!(choice.content.as_deref(), Some("line\nnext é 😀 \"q\" \\"));
        assert!(matches!(choice.content, Some(Cow::Owned(_))));
        assert!(matches!(choice.reasoning, Some(Cow::Borrowed("no escapes here"))));
        assert!(matches!(choice.role, Some(Cow::Borrowed("assistant"))));
        assert!(matches!(c.id, Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn lone_surrogate_in_text_is_replaced_not_an_error() {
        // A model can emit half of a surrogate pair at a token boundary; the
        // delta's other text is kept and the half becomes U+FFFD.
        let c = chunk(r#"{"choices":[{"delta":{"content":"a\ud800b"}}]}"#);
        assert_eq!(c.choices[0].content.as_deref(), Some("a\u{fffd}b"));
        // Elsewhere (an id) serde_json's own rule still applies.
        assert!(matches!(parse(r#"{"id":"\ud800","choices":[]}"#), Err(Error::Json(_))));
    }

    #[test]
    fn one_choice_is_inline_several_are_kept_in_order() {
        let c = chunk(
            r#"{"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]}"#,
        );
        let indexes: Vec<u32> = c.choices.iter().map(|c| c.index).collect();
        assert_eq!(indexes, [1, 0]);
        let owned = c.into_owned();
        assert_eq!(owned.choices[1].content.as_deref(), Some("a"));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let open = "[".repeat(100_000);
        let close = "]".repeat(100_000);
        // Skipped values are skipped iteratively by serde_json.
        let deep = format!(r#"{{"choices":[{{"x":{open}1{close}}}]}}"#);
        assert!(matches!(parse(&deep), Ok(Payload::Chunk(_))));
        let deep = format!(r#"{{"choices":{open}{close}}}"#);
        assert!(matches!(parse(&deep), Ok(Payload::Chunk(c)) if c.choices.is_empty()));
        let deep = format!("{open}{close}");
        assert!(matches!(parse(&deep), Err(Error::Shape(_))));
        // Unclosed: still an error, not a crash.
        assert!(matches!(parse(&open), Err(Error::Json(_))));
        let nested_objects = r#"{"a":"#.repeat(10_000);
        assert!(matches!(parse(&nested_objects), Err(Error::Json(_))));
    }

    #[test]
    fn into_owned_round_trip() {
        let data = String::from(
            r#"{"id":"x","choices":[{"delta":{"content":"c"},"finish_reason":"weird"}],"error":{"message":"m"}}"#,
        );
        let owned = parse(&data).unwrap().into_owned();
        drop(data);
        let Payload::Chunk(c) = owned else { panic!() };
        assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Other("weird".into())));
        assert_eq!(c.error.unwrap().message.as_deref(), Some("m"));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Characters that stress JSON string escaping.
        fn tricky_char() -> impl Strategy<Value = char> {
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('/'),
                proptest::char::range('\u{0}', '\u{1f}'),
                Just('\u{7f}'),
                Just('é'),
                Just('\u{2028}'),
                Just('😀'),
                any::<char>(),
            ]
        }

        fn tricky_string() -> impl Strategy<Value = String> {
            proptest::collection::vec(tricky_char(), 0..48).prop_map(|v| v.into_iter().collect())
        }

        proptest! {
            #[test]
            fn content_and_reasoning_round_trip(content in tricky_string(), reasoning in tricky_string()) {
                let body = format!(
                    r#"{{"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":{},"reasoning_content":{}}}}}]}}"#,
                    serde_json::to_string(&content).unwrap(),
                    serde_json::to_string(&reasoning).unwrap(),
                );
                let c = chunk(&body);
                prop_assert_eq!(c.choices[0].content.as_deref(), Some(content.as_str()));
                prop_assert_eq!(c.choices[0].reasoning.as_deref(), Some(reasoning.as_str()));
                prop_assert_eq!(c.choices[0].reasoning_field, Some(ReasoningField::ReasoningContent));
            }

            #[test]
            fn fully_u_escaped_strings_round_trip(content in tricky_string()) {
                // Every UTF-16 unit written as \uXXXX, so non-BMP chars become surrogate pairs.
                let mut escaped = String::from("\"");
                for unit in content.encode_utf16() {
                    escaped.push_str(&format!("\\u{unit:04x}"));
                }
                escaped.push('"');
                let body = format!(r#"{{"choices":[{{"delta":{{"reasoning":{escaped}}}}}]}}"#);
                let c = chunk(&body);
                prop_assert_eq!(c.choices[0].reasoning.as_deref(), Some(content.as_str()));
            }

            #[test]
            fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let text = String::from_utf8_lossy(&bytes);
                let _ = parse(&text);
                let _ = parse_event("error", &text);
            }

            #[test]
            fn parse_never_panics_on_jsonish_text(text in r#"[\[\]{}":,0-9a-z_\\ .-]{0,200}"#) {
                let _ = parse(&text);
                let _ = parse_event("error", &text);
            }

            #[test]
            fn parse_never_panics_on_mutated_chunks(cut in 0usize..400, byte in any::<u8>()) {
                let base = r#"{"id":"","choices":[{"index":0,"delta":{"reasoning_details":[{"type":"reasoning.text","text":"a"}]},"content_filter_results":{"custom_blocklists":[{"filtered":true,"id":"x"}],"self-harm":{"filtered":false}},"content_filter_offsets":{"check_offset":1}}],"usage":{"prompt_tokens":1},"error":{"code":1,"innererror":{"content_filter_result":{}}}}"#;
                let mut bytes = base.as_bytes().to_vec();
                let at = cut % bytes.len();
                bytes[at] = byte;
                let text = String::from_utf8_lossy(&bytes);
                let _ = parse(&text);
                if let Some(prefix) = text.get(..cut) {
                    let _ = parse(prefix);
                }
            }
        }
    }
}
