//! Lenient deserialization machinery shared by every payload type.
//!
//! Provider payloads drift: a field that is a string on one host is a number
//! on another, `null` stands in for "absent", and unknown fields appear every
//! month. Instead of serde's derive (which fails the whole payload on a type
//! mismatch and cannot borrow through `Option<Cow<str>>`), every type here
//! implements [`Lenient`]: it says what it makes of a scalar, an object or an
//! array, and anything else becomes `None` after the value has been skipped.
//!
//! The only errors left are the ones serde_json raises for text that is not
//! JSON at all (syntax, end of input, nesting deeper than its recursion
//! limit).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON scalar other than `null` (which always means "absent").
#[derive(Debug)]
pub(crate) enum Scalar<'de> {
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
}

/// How a type is read from whatever JSON value sits where it is expected.
///
/// Every method defaults to "not this shape": the value is skipped and the
/// result is `None`. `null` never reaches these methods.
pub(crate) trait Lenient<'de>: Sized {
    /// A string, number or boolean.
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        let _ = value;
        None
    }

    /// An object. Implementations must consume every entry.
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        skip_map(map).map(|()| None)
    }

    /// An array. Implementations must consume every element.
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        skip_seq(seq).map(|()| None)
    }
}

/// Deserializes any JSON value into `Option<T>` through [`Lenient`].
#[derive(Debug)]
pub(crate) struct L<T>(pub(crate) Option<T>);

impl<'de, T: Lenient<'de>> Deserialize<'de> for L<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData)).map(L)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::I64(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::U64(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::F64(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Owned(v))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq)
    }
}

/// Reads the value of the current map entry leniently.
#[inline]
pub(crate) fn value<'de, T: Lenient<'de>, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<T>, A::Error> {
    map.next_value::<L<T>>().map(|l| l.0)
}

/// Skips the value of the current map entry.
#[inline]
pub(crate) fn skip_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

pub(crate) fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

pub(crate) fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

// === impl Lenient for scalars ===

impl<'de> Lenient<'de> for Cow<'de, str> {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for bool {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for u64 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::U64(n) => Some(n),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for i64 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::I64(n) => Some(n),
            Scalar::U64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for u32 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        u64::from_scalar(value).and_then(|n| u32::try_from(n).ok())
    }
}

impl<'de> Lenient<'de> for u16 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        u64::from_scalar(value).and_then(|n| u16::try_from(n).ok())
    }
}

/// An error `code`: a string, or a number rendered in decimal (OpenRouter
/// sends `502`).
#[derive(Debug)]
pub(crate) struct Code(pub(crate) String);

impl<'de> Lenient<'de> for Code {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(s) => Some(Code(s.into_owned())),
            Scalar::U64(n) => Some(Code(n.to_string())),
            Scalar::I64(n) => Some(Code(n.to_string())),
            Scalar::F64(n) if n.is_finite() => Some(Code(n.to_string())),
            _ => None,
        }
    }
}

/// An object key as written on the wire (borrowed unless it had escapes).
#[derive(Debug)]
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Every object key this crate reads, across all payload types.
///
/// One enum serves every object: a key that means nothing in a given object
/// is skipped there, exactly like [`Field::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    // chunk
    Id,
    Object,
    Model,
    Created,
    Choices,
    Usage,
    PromptFilterResults,
    PromptAnnotations,
    Error,
    // choice
    Index,
    Delta,
    Message,
    FinishReason,
    ContentFilterResults,
    ContentFilterResult,
    ContentFilterOffsets,
    // message / delta
    Role,
    Content,
    Reasoning,
    ReasoningContent,
    ReasoningDetails,
    Type,
    Text,
    Summary,
    // usage
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    CompletionTokensDetails,
    PromptTokensDetails,
    ReasoningTokens,
    CachedTokens,
    PromptCacheHitTokens,
    PromptCacheMissTokens,
    // filters
    Filtered,
    Severity,
    Detected,
    Details,
    CheckOffset,
    StartOffset,
    EndOffset,
    // errors
    Code,
    Param,
    Status,
    InnerError,
    /// Anything else.
    Other,
}

impl Field {
    fn from_key(key: &str) -> Self {
        match key {
            "id" => Field::Id,
            "object" => Field::Object,
            "model" => Field::Model,
            "created" => Field::Created,
            "choices" => Field::Choices,
            "usage" => Field::Usage,
            "prompt_filter_results" => Field::PromptFilterResults,
            "prompt_annotations" => Field::PromptAnnotations,
            "error" => Field::Error,
            "index" => Field::Index,
            "delta" => Field::Delta,
            "message" => Field::Message,
            "finish_reason" => Field::FinishReason,
            "content_filter_results" => Field::ContentFilterResults,
            "content_filter_result" => Field::ContentFilterResult,
            "content_filter_offsets" => Field::ContentFilterOffsets,
            "role" => Field::Role,
            "content" => Field::Content,
            "reasoning" => Field::Reasoning,
            "reasoning_content" => Field::ReasoningContent,
            "reasoning_details" => Field::ReasoningDetails,
            "type" => Field::Type,
            "text" => Field::Text,
            "summary" => Field::Summary,
            "prompt_tokens" => Field::PromptTokens,
            "completion_tokens" => Field::CompletionTokens,
            "total_tokens" => Field::TotalTokens,
            "completion_tokens_details" => Field::CompletionTokensDetails,
            "prompt_tokens_details" => Field::PromptTokensDetails,
            "reasoning_tokens" => Field::ReasoningTokens,
            "cached_tokens" => Field::CachedTokens,
            "prompt_cache_hit_tokens" => Field::PromptCacheHitTokens,
            "prompt_cache_miss_tokens" => Field::PromptCacheMissTokens,
            "filtered" => Field::Filtered,
            "severity" => Field::Severity,
            "detected" => Field::Detected,
            "details" => Field::Details,
            "check_offset" => Field::CheckOffset,
            "start_offset" => Field::StartOffset,
            "end_offset" => Field::EndOffset,
            "code" => Field::Code,
            "param" => Field::Param,
            "status" => Field::Status,
            "innererror" | "inner_error" => Field::InnerError,
            _ => Field::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::from_key(v))
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// Makes a borrowed string owned, for the `into_owned` helpers.
#[inline]
pub(crate) fn own(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    s.map(|s| Cow::Owned(s.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<'de, T: Lenient<'de>>(json: &'de str) -> Option<T> {
        serde_json::from_str::<L<T>>(json).expect("valid json").0
    }

    #[test]
    fn null_is_none_for_every_type() {
        assert_eq!(read::<Cow<'_, str>>("null"), None);
        assert_eq!(read::<u64>("null"), None);
        assert_eq!(read::<bool>("null"), None);
    }

    #[test]
    fn type_mismatch_is_none_not_error() {
        assert_eq!(read::<u64>(r#""12""#), None);
        assert_eq!(read::<u64>("-1"), None);
        assert_eq!(read::<u64>("1.5"), None);
        assert_eq!(read::<bool>("[true, {\"a\": [1]}]"), None);
        assert_eq!(read::<Cow<'_, str>>(r#"{"a":"b","c":[1,2]}"#), None);
        assert_eq!(read::<u16>("70000"), None);
        assert_eq!(read::<u32>("4294967296"), None);
    }

    #[test]
    fn scalars_read() {
        assert_eq!(read::<u64>("18446744073709551615"), Some(u64::MAX));
        assert_eq!(read::<i64>("-5"), Some(-5));
        assert_eq!(read::<i64>("18446744073709551615"), None);
        assert_eq!(read::<bool>("false"), Some(false));
        assert_eq!(read::<u16>("400"), Some(400));
    }

    #[test]
    fn code_is_string_or_decimal_number() {
        assert_eq!(read::<Code>(r#""server_error""#).unwrap().0, "server_error");
        assert_eq!(read::<Code>("502").unwrap().0, "502");
        assert_eq!(read::<Code>("-1").unwrap().0, "-1");
        assert!(read::<Code>("true").is_none());
    }

    #[test]
    fn strings_borrow_without_escapes() {
        let s = read::<Cow<'_, str>>(r#""plain""#).unwrap();
        assert!(matches!(s, Cow::Borrowed("plain")));
        let s = read::<Cow<'_, str>>(r#""a\tb""#).unwrap();
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(s, "a\tb");
    }

    #[test]
    fn field_names_map_both_inner_error_spellings() {
        assert_eq!(Field::from_key("innererror"), Field::InnerError);
        assert_eq!(Field::from_key("inner_error"), Field::InnerError);
        assert_eq!(Field::from_key("Id"), Field::Other);
    }

    #[test]
    fn escaped_key_is_still_matched() {
        let f: Field = serde_json::from_str(r#""\u0069d""#).unwrap();
        assert_eq!(f, Field::Id);
    }
}
