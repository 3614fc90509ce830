//! This crate's [`Error`], and [`ApiError`]: an error object sent by the API.

use std::borrow::Cow;
use std::fmt;

use crate::filter::{FilterEvent, FilterSource, read_filter_results};
use crate::scan::{Scalar, Scan, Scanner};
use crate::text::own;

/// Why a data payload could not be read.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The payload is not JSON this crate reads: invalid syntax, or a lone
    /// surrogate escape or out-of-range number where a value is read (not
    /// in text fields or skipped values). The error is serde_json's, with
    /// its position and reason.
    Json(serde_json::Error),
    /// Valid JSON of an unknown shape: not an object, or an object with none
    /// of `choices`, `error`, `prompt_filter_results`, `prompt_annotations`,
    /// `usage`.
    Shape(&'static str),
    /// A choice's `index` is present but is not an integer in
    /// `0..=u32::MAX`: a string, `null`, a boolean, an object or array, a
    /// negative number, a fraction or exponent, or 2^32 and above (the
    /// text says which). The whole payload is refused, so that its text is
    /// never put on a choice it does not belong to. An absent `index` is
    /// choice 0.
    ChoiceIndex(&'static str),
}

impl Error {
    /// The error for a payload the scanner rejected: serde_json's own, with
    /// its position and reason, from re-reading the payload (cold: only
    /// invalid input pays for it).
    ///
    /// Skipping as `IgnoredAny` finds every syntax error; what it lets
    /// through and the scanner still rejects (a lone surrogate or an
    /// out-of-range number where a value is read) a `Value` finds.
    #[cold]
    #[inline(never)]
    pub(crate) fn json(data: &str) -> Error {
        let e = serde_json::from_str::<serde::de::IgnoredAny>(data)
            .err()
            .or_else(|| serde_json::from_str::<serde_json::Value>(data).err())
            .unwrap_or_else(|| serde::de::Error::custom("rejected by the scanner"));
        Error::Json(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The cause (position and reason) is the source.
            Error::Json(_) => f.write_str("invalid json"),
            Error::Shape(what) => write!(f, "unknown payload shape: {what}"),
            Error::ChoiceIndex(what) => write!(f, "invalid choice index: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Json(e) => Some(e),
            Error::Shape(_) | Error::ChoiceIndex(_) => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

/// An error object from the API: an OpenAI-style `{"error": {..}}` line
/// mid-stream, OpenRouter's `error` next to `choices`, an `event: error`
/// payload, or the HTTP 400 body of a filtered prompt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiError<'a> {
    /// `message`.
    pub message: Option<Cow<'a, str>>,
    /// `code`: a string, or a number rendered in decimal (`"502"`).
    pub code: Option<String>,
    /// `type` (e.g. `server_error`).
    pub kind: Option<Cow<'a, str>>,
    /// `param` (e.g. `prompt`).
    pub param: Option<Cow<'a, str>>,
    /// `status`, when the body repeats the HTTP status.
    pub status: Option<u16>,
    /// Prompt-side verdicts from `innererror` / `inner_error`
    /// (`content_filter_result` or `content_filter_results`).
    pub filters: Vec<FilterEvent>,
}

// === impl ApiError ===

impl ApiError<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> ApiError<'static> {
        ApiError {
            message: own(self.message),
            code: self.code,
            kind: own(self.kind),
            param: own(self.param),
            status: self.status,
            filters: self.filters,
        }
    }
}

// === parsing ===

/// Reads one key of an error object; `false` if the key is not an error
/// field (its value is then still unread).
fn read_error_field<'a>(s: &mut Scanner<'a>, err: &mut ApiError<'a>, key: &[u8]) -> Scan<bool> {
    match key {
        b"message" => err.message = s.str()?,
        b"code" => err.code = s.code()?,
        b"type" => err.kind = s.str()?,
        b"param" => err.param = s.str()?,
        b"status" => err.status = s.u64()?.and_then(|n| u16::try_from(n).ok()),
        b"innererror" | b"inner_error" => {
            if s.object()? {
                read_inner_error(s, &mut err.filters)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The value of an `error` field: an object, or a string taken as the
/// message; `None` for anything else.
pub(crate) fn read_api_error<'a>(s: &mut Scanner<'a>) -> Scan<Option<ApiError<'a>>> {
    match s.peek()? {
        b'{' => {
            s.object()?;
            let mut err = ApiError::default();
            let mut first = true;
            while let Some(key) = s.key(&mut first)? {
                if !read_error_field(s, &mut err, key.as_bytes())? {
                    s.skip_value()?;
                }
            }
            Ok(Some(err))
        }
        _ => Ok(match s.scalar()? {
            Some(Scalar::Str(message)) => {
                Some(ApiError { message: Some(message), ..ApiError::default() })
            }
            _ => None,
        }),
    }
}

/// After `innererror`'s `{`: only its content-filter results are kept,
/// appended to `out`.
fn read_inner_error(s: &mut Scanner<'_>, out: &mut Vec<FilterEvent>) -> Scan<()> {
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"content_filter_result" | b"content_filter_results" => {
                if s.object()? {
                    read_filter_results(s, FilterSource::Prompt, out)?;
                }
            }
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// The data of an `event: error` (already trimmed): `{"error": {..}}` (the
/// nested object wins), the error object itself (`{"message": ..}`), or a
/// JSON string (the message). `Ok(None)` for other JSON.
pub(crate) fn read_error_event(text: &str) -> Scan<Option<ApiError<'_>>> {
    let mut s = Scanner::new(text);
    let error = if s.peek()? == b'{' {
        s.object()?;
        let mut outer = ApiError::default();
        let mut nested = None;
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            if key.as_bytes() == b"error" {
                nested = read_api_error(&mut s)?;
            } else if !read_error_field(&mut s, &mut outer, key.as_bytes())? {
                s.skip_value()?;
            }
        }
        Some(nested.unwrap_or(outer))
    } else {
        match s.scalar()? {
            Some(Scalar::Str(message)) => {
                Some(ApiError { message: Some(message), ..ApiError::default() })
            }
            _ => None,
        }
    };
    s.finish()?;
    Ok(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterSource;

    fn api_error(json: &str) -> ApiError<'_> {
        let mut s = Scanner::new(json);
        let err = read_api_error(&mut s).unwrap().unwrap();
        s.finish().unwrap();
        err
    }

    #[test]
    fn openai_server_error_object() {
        let e = api_error(
            r#"{"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error"}"#,
        );
        assert_eq!(
            e.message.as_deref(),
            Some("The server had an error while processing your request. Sorry about that!")
        );
        assert_eq!(e.kind.as_deref(), Some("server_error"));
        assert_eq!(e.code, None);
        assert!(e.filters.is_empty());
    }

    #[test]
    fn numeric_code_and_status() {
        let e = api_error(r#"{"code":502,"message":"bad gateway","status":502,"type":null}"#);
        assert_eq!(e.code.as_deref(), Some("502"));
        assert_eq!(e.status, Some(502));
        assert_eq!(e.kind, None);
    }

    #[test]
    fn inner_error_spelling_and_plural_results() {
        let e = api_error(
            r#"{"code":"content_filter","inner_error":{"code":"ResponsibleAIPolicyViolation","content_filter_results":{"self-harm":{"filtered":true,"severity":"high"},"hate":{"filtered":false,"severity":"safe"}}}}"#,
        );
        assert_eq!(e.filters.len(), 2);
        assert_eq!(
            e.filters[0],
            FilterEvent {
                filtered: Some(true),
                severity: Some("high".into()),
                ..FilterEvent::new(FilterSource::Prompt, "self_harm")
            }
        );
    }

    #[test]
    fn string_error_is_message() {
        let e = api_error(r#""rate limited""#);
        assert_eq!(e.message.as_deref(), Some("rate limited"));
    }

    #[test]
    fn envelope_prefers_nested() {
        let e = read_error_event(r#"{"message":"outer","error":{"message":"inner","code":429}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(e.message.as_deref(), Some("inner"));
        assert_eq!(e.code.as_deref(), Some("429"));
    }

    #[test]
    fn a_cause_is_in_the_source_not_in_the_message() {
        let json_err = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let cause = json_err.to_string();
        let e = Error::from(json_err);
        assert_eq!(e.to_string(), "invalid json");
        let source = std::error::Error::source(&e).expect("the serde_json error");
        assert_eq!(source.to_string(), cause);
        let e = Error::Shape("not an object");
        assert_eq!(e.to_string(), "unknown payload shape: not an object");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn into_owned_keeps_fields() {
        let e = api_error(r#"{"message":"m","type":"t","param":"p","code":"c"}"#).into_owned();
        assert_eq!(e.message.as_deref(), Some("m"));
        assert_eq!(e.kind.as_deref(), Some("t"));
        assert_eq!(e.param.as_deref(), Some("p"));
        assert_eq!(e.code.as_deref(), Some("c"));
    }
}
