//! Request ids: which one an exchange goes by, and which ones the
//! upstream gave it.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// The request header a client names its request by; the proxy forwards
/// its id upstream under the same name.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The response header carrying the proxy's id for the exchange, on every
/// response (the proxy's own errors too). The upstream's `x-request-id`
/// is left as it sent it: OpenAI and Azure clients show it for support.
pub const THINKTEE_REQUEST_ID: HeaderName = HeaderName::from_static("x-thinktee-request-id");
/// The response headers upstreams name their request ids in (OpenAI,
/// Azure API Management, Azure services): recorded as they come.
pub const UPSTREAM_REQUEST_IDS: [&str; 3] = ["x-request-id", "apim-request-id", "x-ms-request-id"];
/// Longest client request id taken as the exchange's id; a longer one (or
/// one that is not visible ASCII) is replaced by a new id, so that a
/// client cannot make every record and log line it appears in large.
pub const MAX_CLIENT_REQUEST_ID: usize = 128;

/// The ids of one exchange.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    /// What the exchange goes by: the client's `x-request-id`, else
    /// `unique`.
    pub(crate) request: HeaderValue,
    /// A new UUIDv7, unique to this exchange even when clients reuse ids.
    pub(crate) unique: String,
}

impl Ids {
    /// The ids for a request with these headers.
    pub(crate) fn for_request(headers: &HeaderMap) -> Ids {
        let unique = uuid::Uuid::now_v7().to_string();
        let client = headers.get(&REQUEST_ID).filter(|v| usable(v.as_bytes())).cloned();
        let request = client.unwrap_or_else(|| {
            HeaderValue::from_str(&unique).expect("a UUID is a valid header value")
        });
        Ids { request, unique }
    }

    /// The request id as text (always visible ASCII).
    pub(crate) fn request_str(&self) -> &str {
        self.request.to_str().unwrap_or(&self.unique)
    }
}

/// A client id is kept if it is 1 to [`MAX_CLIENT_REQUEST_ID`] bytes of
/// visible ASCII (no spaces or controls: it names files and log fields).
fn usable(id: &[u8]) -> bool {
    (1..=MAX_CLIENT_REQUEST_ID).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(value: Option<&[u8]>) -> Ids {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(REQUEST_ID, HeaderValue::from_bytes(v).unwrap());
        }
        Ids::for_request(&h)
    }

    #[test]
    fn a_client_id_is_kept_and_a_unique_one_made_anyway() {
        let got = ids(Some(b"req-42"));
        assert_eq!(got.request_str(), "req-42");
        assert_eq!(got.unique.len(), 36);
        assert_eq!(&got.unique[14..15], "7", "a UUIDv7: {}", got.unique);
    }

    #[test]
    fn without_a_usable_client_id_the_unique_one_is_the_request_id() {
        let long = [b'a'; MAX_CLIENT_REQUEST_ID + 1];
        for value in [None, Some(&b""[..]), Some(b"has space"), Some(&long[..])] {
            let got = ids(value);
            assert_eq!(got.request_str(), got.unique, "{value:?}");
        }
        let longest = [b'a'; MAX_CLIENT_REQUEST_ID];
        assert_eq!(ids(Some(&longest)).request.as_bytes(), &longest[..]);
    }

    #[test]
    fn unique_ids_differ_and_sort_by_time() {
        let a = ids(None).unique;
        let b = ids(None).unique;
        assert!(a < b, "{a} then {b}");
    }
}
