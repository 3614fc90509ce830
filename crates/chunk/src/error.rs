//! This crate's [`Error`], and [`ApiError`]: an error object sent by the API.

use std::borrow::Cow;
use std::fmt;

use serde::de::MapAccess;

use crate::de::{Code, Field, L, Lenient, Scalar, own, skip_value, value};
use crate::filter::{FilterEvent, FilterResults, append};

/// Why a data payload could not be read.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The payload is not valid JSON (or nests deeper than serde_json's
    /// recursion limit).
    Json(serde_json::Error),
    /// Valid JSON of an unknown shape: not an object, or an object with none
    /// of `choices`, `error`, `prompt_filter_results`, `prompt_annotations`,
    /// `usage`.
    Shape(&'static str),
}

impl Error {
    /// A stable, low-cardinality name: `invalid_json` or `unknown_shape`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Error::Json(_) => "invalid_json",
            Error::Shape(_) => "unknown_shape",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Json(e) => write!(f, "invalid json: {e}"),
            Error::Shape(what) => write!(f, "unknown payload shape: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Json(e) => Some(e),
            Error::Shape(_) => None,
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

    /// Reads one key of an error object; `false` if the key is not an error
    /// field (its value is then still unread).
    fn read_field<'de, A: MapAccess<'de>>(
        err: &mut ApiError<'de>,
        field: Field,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match field {
            Field::Message => err.message = value(map)?,
            Field::Code => err.code = value::<Code, _>(map)?.map(|c| c.0),
            Field::Type => err.kind = value(map)?,
            Field::Param => err.param = value(map)?,
            Field::Status => err.status = value(map)?,
            Field::InnerError => {
                if let Some(inner) = value::<InnerError, _>(map)? {
                    append(&mut err.filters, inner.0);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl<'de> Lenient<'de> for ApiError<'de> {
    /// `"error": "text"` is taken as the message.
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(message) => {
                Some(ApiError { message: Some(message), ..ApiError::default() })
            }
            _ => None,
        }
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut err = ApiError::default();
        while let Some(field) = map.next_key::<Field>()? {
            if !ApiError::read_field(&mut err, field, &mut map)? {
                skip_value(&mut map)?;
            }
        }
        Ok(Some(err))
    }
}

/// `innererror`: only its content-filter results are kept.
#[derive(Debug)]
struct InnerError(Vec<FilterEvent>);

impl<'de> Lenient<'de> for InnerError {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut events = Vec::new();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ContentFilterResult | Field::ContentFilterResults => {
                    if let Some(results) = value::<FilterResults<true>, _>(&mut map)? {
                        append(&mut events, results.0);
                    }
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(InnerError(events)))
    }
}

/// The data of an `event: error`: either `{"error": {..}}` or the error
/// object itself (`{"message": ..}`).
#[derive(Debug)]
pub(crate) struct ErrorEnvelope<'a> {
    outer: ApiError<'a>,
    nested: Option<ApiError<'a>>,
}

impl<'a> ErrorEnvelope<'a> {
    /// The nested `error` object if there was one, else the outer fields.
    pub(crate) fn into_error(self) -> ApiError<'a> {
        self.nested.unwrap_or(self.outer)
    }
}

impl<'de> Lenient<'de> for ErrorEnvelope<'de> {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        ApiError::from_scalar(value).map(|outer| ErrorEnvelope { outer, nested: None })
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut envelope = ErrorEnvelope { outer: ApiError::default(), nested: None };
        while let Some(field) = map.next_key::<Field>()? {
            if field == Field::Error {
                envelope.nested = map.next_value::<L<ApiError<'de>>>()?.0;
            } else if !ApiError::read_field(&mut envelope.outer, field, &mut map)? {
                skip_value(&mut map)?;
            }
        }
        Ok(Some(envelope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterSource;

    fn api_error(json: &str) -> ApiError<'_> {
        serde_json::from_str::<L<ApiError<'_>>>(json).unwrap().0.unwrap()
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
        let env = serde_json::from_str::<L<ErrorEnvelope<'_>>>(
            r#"{"message":"outer","error":{"message":"inner","code":429}}"#,
        )
        .unwrap()
        .0
        .unwrap();
        let e = env.into_error();
        assert_eq!(e.message.as_deref(), Some("inner"));
        assert_eq!(e.code.as_deref(), Some("429"));
    }

    #[test]
    fn display_and_kind() {
        let json_err = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = Error::from(json_err);
        assert_eq!(e.kind_str(), "invalid_json");
        assert!(e.to_string().starts_with("invalid json"));
        assert!(std::error::Error::source(&e).is_some());
        let e = Error::Shape("not an object");
        assert_eq!(e.kind_str(), "unknown_shape");
        assert_eq!(e.to_string(), "unknown payload shape: not an object");
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
