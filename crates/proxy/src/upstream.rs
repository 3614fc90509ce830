//! The one upstream a proxy talks to, and the HTTP(S) client for it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::Error;

/// An upstream base URL: scheme, host, port and an optional path prefix.
///
/// A request for `/v1/chat/completions?x=1` goes to
/// `{scheme}://{authority}{prefix}/v1/chat/completions?x=1`. Only the path
/// and query of a client's request are used: an absolute-form request
/// target or a `Host` header never chooses where the proxy connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    scheme: Scheme,
    authority: Authority,
    /// The URL's path without a trailing `/` (empty for `/`).
    prefix: String,
    host_header: HeaderValue,
}

impl FromStr for Upstream {
    type Err = Error;

    fn from_str(url: &str) -> Result<Upstream, Error> {
        let uri: Uri = url.parse().map_err(|e| Error::InvalidUpstream(format!("{url}: {e}")))?;
        let scheme = uri.scheme().cloned().ok_or_else(|| {
            Error::InvalidUpstream(format!("{url}: needs a scheme (http:// or https://)"))
        })?;
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(Error::InvalidUpstream(format!("{url}: scheme must be http or https")));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| Error::InvalidUpstream(format!("{url}: needs a host")))?;
        if authority.as_str().contains('@') {
            return Err(Error::InvalidUpstream(format!(
                "{url}: credentials in the URL are not supported; send them as headers"
            )));
        }
        if uri.query().is_some() {
            return Err(Error::InvalidUpstream(format!("{url}: a query string is not supported")));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|e| Error::InvalidUpstream(format!("{url}: {e}")))?;
        Ok(Upstream { scheme, authority, prefix, host_header })
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

impl Upstream {
    /// The host name (or address) to connect to.
    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// The port, defaulted from the scheme.
    pub fn port(&self) -> u16 {
        self.authority.port_u16().unwrap_or(if self.is_https() { 443 } else { 80 })
    }

    /// Whether the upstream is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The `Host` header value sent upstream.
    pub fn host_header(&self) -> &HeaderValue {
        &self.host_header
    }

    /// The upstream URI for a client request's path and query.
    pub fn uri_for(&self, path_and_query: Option<&PathAndQuery>) -> Uri {
        let pq = path_and_query.map_or("/", PathAndQuery::as_str);
        let pq = if pq.starts_with('/') { pq.to_owned() } else { format!("/{pq}") };
        let joined = format!("{}{pq}", self.prefix);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(joined)
            .build()
            .unwrap_or_else(|_| {
                // The prefix and path were both valid on their own.
                Uri::builder()
                    .scheme(self.scheme.clone())
                    .authority(self.authority.clone())
                    .path_and_query("/")
                    .build()
                    .expect("scheme, authority and / make a URI")
            })
    }
}

/// The connector: plain TCP (`TCP_NODELAY`, a connect timeout) under rustls
/// for `https` upstreams, ALPN offering HTTP/2 and HTTP/1.1.
pub(crate) type Connector = HttpsConnector<HttpConnector>;

/// hyper's pooled client, used for upstreams that pick HTTP/2 (HTTP/1.1
/// ones go through [`crate::h1`]).
pub(crate) fn client<B>(connector: Connector) -> Client<Connector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(crate::h1::POOL_IDLE_TIMEOUT)
        .build(connector)
}

/// The connector for every upstream connection. Server certificates are
/// checked against the bundled Mozilla roots plus `extra_roots` (PEM: a
/// private CA in front of a gateway, or a test CA).
pub(crate) fn connector(
    connect_timeout: Option<Duration>,
    extra_roots: Option<&[u8]>,
) -> Result<Connector, Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(connect_timeout);
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(pem) = extra_roots {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Tls(format!("upstream CA: {e}")))?;
            roots.add(cert).map_err(|e| Error::Tls(format!("upstream CA: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::Tls("upstream CA: no PEM certificate found".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_prefix_and_request_path() {
        let up: Upstream = "https://res.openai.azure.com/openai/v1/".parse().unwrap();
        let pq = PathAndQuery::from_static("/chat/completions?api-version=1");
        assert_eq!(
            up.uri_for(Some(&pq)).to_string(),
            "https://res.openai.azure.com/openai/v1/chat/completions?api-version=1"
        );
        assert_eq!(up.port(), 443);
        let up: Upstream = "http://127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            up.uri_for(Some(&pq)).to_string(),
            "http://127.0.0.1:8080/chat/completions?api-version=1"
        );
        assert_eq!(up.host_header(), "127.0.0.1:8080");
    }

    #[test]
    fn rejects_what_is_not_an_upstream() {
        for bad in ["localhost:8080", "ftp://x", "/v1", "http://u:p@host", "http://h/?q=1"] {
            assert!(bad.parse::<Upstream>().is_err(), "{bad}");
        }
    }
}
