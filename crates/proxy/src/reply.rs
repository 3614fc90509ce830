//! Response bodies and OpenAI-shaped error responses.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, Version, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};

/// Errors carried by response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response the proxy and the replay server send.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// The JSON an OpenAI-compatible server sends for an error:
/// `{"error":{"message","type","param":null,"code"}}`.
pub fn error_json(message: &str, kind: &str, code: Option<&str>) -> Bytes {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: Inner<'a>,
    }
    #[derive(serde::Serialize)]
    struct Inner<'a> {
        message: &'a str,
        r#type: &'a str,
        param: Option<&'a str>,
        code: Option<&'a str>,
    }
    let body = Body { error: Inner { message, r#type: kind, param: None, code } };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// An error response with an OpenAI-shaped JSON body.
pub fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> Response<ProxyBody> {
    let mut response = Response::new(full(error_json(message, kind, code)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Ends an HTTP/1 connection after `response`, whose request body was left
/// unread (its rest would be read as the next request). HTTP/2 needs
/// nothing: the stream alone ends.
pub(crate) fn close_after(response: &mut Response<ProxyBody>, version: Version) {
    if version < Version::HTTP_2 {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// A body that fails at once (the client sees an aborted response).
pub(crate) fn failed(error: BoxError) -> ProxyBody {
    Failed(Some(error)).boxed_unsync()
}

struct Failed(Option<BoxError>);

impl http_body::Body for Failed {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        std::task::Poll::Ready(self.0.take().map(Err))
    }
}
