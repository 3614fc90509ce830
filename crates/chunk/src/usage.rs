//! Token usage: OpenAI `usage` with its nested details, plus DeepSeek's cache
//! counters.

use crate::scan::{Scan, Scanner};
use serde::Serialize;

/// Token counts from a chunk's `usage` object.
///
/// Every count is `None` when the wire did not carry it (absent, `null`, or
/// not a non-negative integer). vLLM's `continuous_usage_stats` sends
/// cumulative usage on every chunk: keep the last one, do not sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Usage {
    /// `prompt_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// `completion_tokens` (includes reasoning tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    /// `total_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// `completion_tokens_details.reasoning_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// `prompt_tokens_details.cached_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// DeepSeek `prompt_cache_hit_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit_tokens: Option<u64>,
    /// DeepSeek `prompt_cache_miss_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_miss_tokens: Option<u64>,
}

// === impl Usage ===

impl Usage {
    /// Takes `newer`'s counts, keeping this one's where `newer` has none:
    /// how cumulative usage that carries only some counts each time
    /// (Anthropic's `message_delta`) adds up.
    pub fn merge(&mut self, newer: &Usage) {
        let Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens,
            reasoning_tokens,
            cached_tokens,
            cache_hit_tokens,
            cache_miss_tokens,
        } = *newer;
        let keep = |old: &mut Option<u64>, new: Option<u64>| *old = new.or(*old);
        keep(&mut self.prompt_tokens, prompt_tokens);
        keep(&mut self.completion_tokens, completion_tokens);
        keep(&mut self.total_tokens, total_tokens);
        keep(&mut self.reasoning_tokens, reasoning_tokens);
        keep(&mut self.cached_tokens, cached_tokens);
        keep(&mut self.cache_hit_tokens, cache_hit_tokens);
        keep(&mut self.cache_miss_tokens, cache_miss_tokens);
    }
}

// === parsing ===

/// After `usage`'s `{`: fills `usage`.
pub(crate) fn read_usage(s: &mut Scanner<'_>, usage: &mut Usage) -> Scan<()> {
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"prompt_tokens" => usage.prompt_tokens = s.u64()?,
            b"completion_tokens" => usage.completion_tokens = s.u64()?,
            b"total_tokens" => usage.total_tokens = s.u64()?,
            b"prompt_cache_hit_tokens" => usage.cache_hit_tokens = s.u64()?,
            b"prompt_cache_miss_tokens" => usage.cache_miss_tokens = s.u64()?,
            b"completion_tokens_details" => {
                usage.reasoning_tokens = read_token_details(s)?.and_then(|d| d.reasoning_tokens);
            }
            b"prompt_tokens_details" => {
                usage.cached_tokens = read_token_details(s)?.and_then(|d| d.cached_tokens);
            }
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// `completion_tokens_details` / `prompt_tokens_details`: the one count of
/// each that thinktee reports.
#[derive(Debug, Default)]
pub(crate) struct TokenDetails {
    pub(crate) reasoning_tokens: Option<u64>,
    pub(crate) cached_tokens: Option<u64>,
}

/// A details object; `None` unless an object.
pub(crate) fn read_token_details(s: &mut Scanner<'_>) -> Scan<Option<TokenDetails>> {
    if !s.object()? {
        return Ok(None);
    }
    let mut details = TokenDetails::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"reasoning_tokens" => details.reasoning_tokens = s.u64()?,
            b"cached_tokens" => details.cached_tokens = s.u64()?,
            _ => s.skip_value()?,
        }
    }
    Ok(Some(details))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(json: &str) -> Option<Usage> {
        let mut s = Scanner::new(json);
        let mut usage = None;
        if s.object().unwrap() {
            read_usage(&mut s, usage.insert(Usage::default())).unwrap();
        }
        s.finish().unwrap();
        usage
    }

    #[test]
    fn azure_r1_usage_on_finish_chunk() {
        // FORMATS.md 1(a), last chunk's usage.
        let u =
            usage(r#"{"prompt_tokens":11,"total_tokens":897,"completion_tokens":886}"#).unwrap();
        assert_eq!(
            u,
            Usage {
                prompt_tokens: Some(11),
                completion_tokens: Some(886),
                total_tokens: Some(897),
                ..Usage::default()
            }
        );
    }

    #[test]
    fn deepseek_cache_hit_miss_and_details() {
        // FORMATS.md 1(b), last chunk's usage.
        let u = usage(
            r#"{"prompt_tokens":18,"completion_tokens":240,"total_tokens":258,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":231},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":18}"#,
        )
        .unwrap();
        assert_eq!(u.prompt_tokens, Some(18));
        assert_eq!(u.completion_tokens, Some(240));
        assert_eq!(u.total_tokens, Some(258));
        assert_eq!(u.cached_tokens, Some(0));
        assert_eq!(u.reasoning_tokens, Some(231));
        assert_eq!(u.cache_hit_tokens, Some(0));
        assert_eq!(u.cache_miss_tokens, Some(18));
    }

    #[test]
    fn openai_extra_detail_counts_ignored() {
        // FORMATS.md 1(e), usage-only chunk.
        let u = usage(
            r#"{"prompt_tokens":22,"completion_tokens":210,"total_tokens":232,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#,
        )
        .unwrap();
        assert_eq!(u.reasoning_tokens, Some(192));
        assert_eq!(u.cached_tokens, Some(0));
        assert_eq!(u.cache_hit_tokens, None);
    }

    #[test]
    fn openrouter_cost_ignored_and_null_details() {
        let u = usage(
            r#"{"prompt_tokens":14,"completion_tokens":250,"total_tokens":264,"cost":0.00055,"completion_tokens_details":null,"prompt_tokens_details":{"cached_tokens":null}}"#,
        )
        .unwrap();
        assert_eq!(u.total_tokens, Some(264));
        assert_eq!(u.reasoning_tokens, None);
        assert_eq!(u.cached_tokens, None);
    }

    #[test]
    fn null_and_non_object_usage_is_none() {
        assert_eq!(usage("null"), None);
        assert_eq!(usage("[1,2]"), None);
        assert_eq!(usage("{}"), Some(Usage::default()));
    }

    #[test]
    fn merge_keeps_counts_the_newer_lacks() {
        let mut u =
            Usage { prompt_tokens: Some(10), completion_tokens: Some(1), ..Usage::default() };
        u.merge(&Usage {
            completion_tokens: Some(7),
            reasoning_tokens: Some(3),
            ..Usage::default()
        });
        assert_eq!(
            u,
            Usage {
                prompt_tokens: Some(10),
                completion_tokens: Some(7),
                reasoning_tokens: Some(3),
                ..Usage::default()
            }
        );
    }

    #[test]
    fn serializes_without_absent_counts() {
        let u = Usage { prompt_tokens: Some(3), reasoning_tokens: Some(1), ..Usage::default() };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"prompt_tokens":3,"reasoning_tokens":1}"#
        );
    }
}
