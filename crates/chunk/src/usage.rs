//! Token usage: OpenAI `usage` with its nested details, plus DeepSeek's cache
//! counters.

use serde::Serialize;
use serde::de::MapAccess;

use crate::de::{Field, Lenient, skip_value, value};

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

impl<'de> Lenient<'de> for Usage {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut usage = Usage::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::PromptTokens => usage.prompt_tokens = value(&mut map)?,
                Field::CompletionTokens => usage.completion_tokens = value(&mut map)?,
                Field::TotalTokens => usage.total_tokens = value(&mut map)?,
                Field::PromptCacheHitTokens => usage.cache_hit_tokens = value(&mut map)?,
                Field::PromptCacheMissTokens => usage.cache_miss_tokens = value(&mut map)?,
                Field::CompletionTokensDetails => {
                    usage.reasoning_tokens =
                        value::<TokenDetails, _>(&mut map)?.and_then(|d| d.reasoning_tokens);
                }
                Field::PromptTokensDetails => {
                    usage.cached_tokens =
                        value::<TokenDetails, _>(&mut map)?.and_then(|d| d.cached_tokens);
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(usage))
    }
}

/// `completion_tokens_details` / `prompt_tokens_details`: the one count of
/// each that thinktee reports.
#[derive(Debug, Default)]
struct TokenDetails {
    reasoning_tokens: Option<u64>,
    cached_tokens: Option<u64>,
}

impl<'de> Lenient<'de> for TokenDetails {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut details = TokenDetails::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ReasoningTokens => details.reasoning_tokens = value(&mut map)?,
                Field::CachedTokens => details.cached_tokens = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de::L;

    fn usage(json: &str) -> Option<Usage> {
        serde_json::from_str::<L<Usage>>(json).unwrap().0
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
    fn serializes_without_absent_counts() {
        let u = Usage { prompt_tokens: Some(3), reasoning_tokens: Some(1), ..Usage::default() };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"prompt_tokens":3,"reasoning_tokens":1}"#
        );
    }
}
