//! Which headers and query parameters carry credentials: never recorded
//! or logged.

use http::header::{HeaderMap, HeaderName};

/// Headers that carry credentials or session state. They are forwarded to
/// the upstream (request) or the client (response) but never recorded or
/// logged: [`recordable`] leaves them out.
pub const SENSITIVE: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "ocp-apim-subscription-key",
    "cookie",
    "set-cookie",
    "x-goog-api-key",
];

/// Query parameters whose values are credentials (Azure accepts
/// `subscription-key` and some gateways `api-key` in the query string).
const SENSITIVE_QUERY: [&str; 8] =
    ["api-key", "api_key", "apikey", "key", "subscription-key", "code", "sig", "token"];

/// Whether a header must never be recorded or logged.
pub fn is_sensitive(name: &HeaderName) -> bool {
    SENSITIVE.contains(&name.as_str())
}

/// A copy of `headers` without the [`SENSITIVE`] ones: what may be recorded.
pub fn recordable(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !is_sensitive(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// `path?query` with the values of credential-like query parameters
/// replaced by `redacted`: what may be recorded or logged.
///
/// A parameter's name is compared with the sensitive names as a server
/// reads it: percent-decoded once (`api%2Dkey` and `%61pi-key` are
/// `api-key`; an invalid escape stays literal), `+` read as a space,
/// surrounding whitespace trimmed, ASCII case ignored. Decoding happens
/// once, like servers do, so `api%252Dkey` is the name `api%2Dkey`, which
/// no server takes for `api-key`: it is kept. The output keeps the name as
/// the client spelled it.
pub fn redact_query(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_owned();
    };
    let mut out = String::with_capacity(path_and_query.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if is_sensitive_query(name) {
            out.push_str(name);
            out.push_str("=redacted");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// Whether a query parameter name, as spelled in the URL, names a credential.
fn is_sensitive_query(raw: &str) -> bool {
    let decoded = percent_decode_once(raw);
    let name = decoded.trim_matches(|c: char| c.is_ascii_whitespace());
    SENSITIVE_QUERY.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// `%XX` (hex, either case) decoded once, `+` as a space; invalid escapes
/// stay as they are; bytes that do not form UTF-8 become U+FFFD.
fn percent_decode_once(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if bytes.len() - i >= 3 => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn sensitive_headers_are_not_recordable() {
        let mut h = HeaderMap::new();
        h.insert("api-key", HeaderValue::from_static("secret"));
        h.insert("authorization", HeaderValue::from_static("Bearer secret"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let kept = recordable(&h);
        assert_eq!(kept.len(), 1);
        assert!(kept.contains_key("content-type"));
    }

    #[test]
    fn query_credentials_are_redacted() {
        assert_eq!(
            redact_query("/chat/completions?api-version=2024-10-21&api-key=s3cret"),
            "/chat/completions?api-version=2024-10-21&api-key=redacted"
        );
        assert_eq!(redact_query("/v1/chat/completions"), "/v1/chat/completions");
    }

    #[test]
    fn hostile_encoded_query_names_are_redacted() {
        for (query, name) in [
            ("api%2Dkey", "api%2Dkey"),
            ("%61pi-key", "%61pi-key"),
            ("subscription%2dkey", "subscription%2dkey"),
            ("API%2d%4BEY", "API%2d%4BEY"),
            ("Subscription-Key", "Subscription-Key"),
            ("+api-key", "+api-key"),
            ("api-key%20", "api-key%20"),
            ("%20%09Token+", "%20%09Token+"),
            ("%73%69%67", "%73%69%67"),
        ] {
            assert_eq!(
                redact_query(&format!("/c?a=1&{query}=s3cret&b=2")),
                format!("/c?a=1&{name}=redacted&b=2"),
                "{query}"
            );
        }
        // Decoded once, as servers do: `%252D` is the name `api%2Dkey`.
        assert_eq!(redact_query("/c?api%252Dkey=v"), "/c?api%252Dkey=v");
        // Invalid or cut escapes stay literal, and are no credential.
        assert_eq!(
            redact_query("/c?api%2Xkey=v&api-key%2=w&%=x"),
            "/c?api%2Xkey=v&api-key%2=w&%=x"
        );
        // Names that only contain a sensitive one are kept.
        assert_eq!(redact_query("/c?api-key-id=v&keys=w"), "/c?api-key-id=v&keys=w");
        assert_eq!(percent_decode_once("%E2%9C%93%ff+"), "\u{2713}\u{fffd} ");
    }
}
