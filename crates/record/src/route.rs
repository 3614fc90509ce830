//! [`Route`]: which LLM API call a request path names, if any.

use thinktee_pipeline::Format;

/// An LLM API call named by a request path: what thinktee records.
///
/// The path's end decides, so that prefixes (`/openai/v1`), Azure
/// deployment names and Gemini model names do not matter:
///
/// | path ends with | format | template |
/// |---|---|---|
/// | `/chat/completions` | chat completions | `/chat/completions` |
/// | `/responses` | Responses | `/responses` |
/// | `/messages` | Anthropic Messages | `/messages` |
/// | `/MODEL:streamGenerateContent` | Gemini (a stream) | `/models/*:streamGenerateContent` |
/// | `/MODEL:generateContent` | Gemini (one body) | `/models/*:generateContent` |
///
/// A query string and a trailing `/` are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// The API, hence the wire format its responses should have.
    pub format: Format,
    /// The path's end with variable parts replaced by `*` (the model): a
    /// label value of bounded cardinality. (No `{model}`: some exposition
    /// parsers trip on braces inside label values.)
    pub template: &'static str,
    /// The model the path names (Gemini's), if any.
    pub model: Option<&'a str>,
    /// Whether the path alone says the response streams (Gemini's
    /// methods do); `None`: the request body says (`"stream": true`).
    pub stream: Option<bool>,
}

/// The path endings of the APIs whose body names the model and stream.
const BODY_ROUTES: [(&str, Format); 3] = [
    ("/chat/completions", Format::ChatCompletions),
    ("/responses", Format::Responses),
    ("/messages", Format::Messages),
];

/// Gemini's methods: the last path segment is `MODEL:METHOD`.
const GEMINI_METHODS: [(&str, &str, bool); 2] = [
    ("streamGenerateContent", "/models/*:streamGenerateContent", true),
    ("generateContent", "/models/*:generateContent", false),
];

impl<'a> Route<'a> {
    /// The route of a request path (query string allowed), if it names one
    /// of the APIs in the table above. The method is not looked at.
    pub fn of_path(path: &'a str) -> Option<Route<'a>> {
        let path = path.split_once('?').map_or(path, |(p, _)| p).trim_end_matches('/');
        if let Some(&(template, format)) = BODY_ROUTES.iter().find(|(end, _)| path.ends_with(end)) {
            return Some(Route { format, template, model: None, stream: None });
        }
        let last = path.rsplit('/').next()?;
        let (model, method) = last.split_once(':')?;
        let &(_, template, stream) = GEMINI_METHODS.iter().find(|(m, _, _)| *m == method)?;
        Some(Route {
            format: Format::Gemini,
            template,
            model: Some(model).filter(|m| !m.is_empty()),
            stream: Some(stream),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (format, template, model, stream) of a route.
    type Named<'a> = (Format, &'a str, Option<&'a str>, Option<bool>);

    #[test]
    fn routes_by_the_end_of_the_path() {
        let cases: [(&str, Option<Named<'_>>); 12] = [
            (
                "/v1/chat/completions",
                Some((Format::ChatCompletions, "/chat/completions", None, None)),
            ),
            (
                "/openai/deployments/r1/chat/completions?api-version=1",
                Some((Format::ChatCompletions, "/chat/completions", None, None)),
            ),
            ("/v1/responses/", Some((Format::Responses, "/responses", None, None))),
            ("/v1/messages", Some((Format::Messages, "/messages", None, None))),
            (
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                Some((
                    Format::Gemini,
                    "/models/*:streamGenerateContent",
                    Some("gemini-2.5-flash"),
                    Some(true),
                )),
            ),
            (
                "/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:generateContent",
                Some((
                    Format::Gemini,
                    "/models/*:generateContent",
                    Some("gemini-2.5-pro"),
                    Some(false),
                )),
            ),
            (
                "/v1beta/models/:generateContent",
                Some((Format::Gemini, "/models/*:generateContent", None, Some(false))),
            ),
            ("/v1beta/models/g:countTokens", None),
            ("/v1/messages/count_tokens", None),
            ("/v1/embeddings", None),
            ("/v1/models", None),
            ("/", None),
        ];
        for (path, want) in cases {
            let got = Route::of_path(path).map(|r| (r.format, r.template, r.model, r.stream));
            assert_eq!(got, want, "{path}");
        }
    }
}
