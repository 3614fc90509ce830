//! `proxy` flags for running it next to other services: which request
//! headers are recorded, the provider name.

use http::HeaderName;
use thinktee_record::Exchange;
use thinktee_record::headers::is_sensitive;
use thinktee_transcript::RequestMeta;

use std::collections::BTreeMap;

/// `--record-header` and `--provider-name`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Ops {
    /// Record this request header's value in the transcript's request
    /// metadata (user, session, tags); repeat for several. Credential
    /// headers (authorization, api-key, cookie, ...) are refused.
    #[arg(long = "record-header", value_name = "NAME", value_parser = parse_record_header)]
    pub(crate) record_headers: Vec<HeaderName>,
    /// `gen_ai.provider.name` for the upstream, for one whose host does not
    /// say which provider it is (a private gateway): otherwise derived
    /// from the host, else from the API (openai for Responses, anthropic
    /// for Messages, gcp.gemini for Gemini).
    #[arg(long, value_name = "NAME")]
    pub(crate) provider_name: Option<String>,
    /// Serve `/healthz`, `/readyz` (503 once shutdown begins) and
    /// `/metrics` (Prometheus) on this address; off by default. Never on
    /// --listen, where every path belongs to the upstream. At most 16
    /// connections, each closed after 10 s without a request.
    #[arg(long, value_name = "ADDR")]
    pub(crate) admin_listen: Option<std::net::SocketAddr>,
}

/// A header name that may be recorded: never a credential.
fn parse_record_header(s: &str) -> Result<HeaderName, String> {
    let name =
        HeaderName::from_bytes(s.as_bytes()).map_err(|_| format!("{s:?} is not a header name"))?;
    if is_sensitive(&name) {
        return Err(format!("{name} carries credentials: it is never recorded"));
    }
    Ok(name)
}

impl Ops {
    /// The chosen request headers of an exchange, by name.
    pub(crate) fn recorded_headers(&self, exchange: &Exchange) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in &self.record_headers {
            let values: Vec<_> = exchange
                .request_headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if !values.is_empty() {
                out.insert(name.as_str().to_owned(), values.join(", "));
            }
        }
        out
    }
}

/// The ids the upstream answered an exchange with, by header name.
pub(crate) fn upstream_request_ids(exchange: &Exchange) -> BTreeMap<String, String> {
    thinktee_proxy::UPSTREAM_REQUEST_IDS
        .iter()
        .filter_map(|name| {
            let value = exchange.response_headers.get(*name)?;
            Some(((*name).to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        })
        .collect()
}

/// Sets the ids and recorded headers of an exchange on its transcript
/// metadata.
pub(crate) fn identify(meta: &mut RequestMeta, ops: &Ops, exchange: &Exchange) {
    meta.request_id = exchange.request_id.clone();
    meta.unique_id = exchange.unique_id.clone();
    meta.upstream_request_ids = upstream_request_ids(exchange);
    meta.headers = ops.recorded_headers(exchange);
    if let Some(trace) = exchange.extensions.get::<thinktee_otel::RequestTrace>() {
        meta.trace_id = Some(trace.trace_id());
        meta.span_id = Some(trace.span_id());
    }
}

/// Binds the admin listener and serves it on a task (abort it to stop);
/// warns when other hosts can reach it.
pub(crate) async fn serve_admin(
    addr: std::net::SocketAddr,
    readiness: thinktee_proxy::Readiness,
    metrics: std::sync::Arc<crate::prom::Metrics>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    if crate::listen::is_exposed(addr) {
        crate::logging::say!(warn:
            "thinktee proxy: warning: --admin-listen {addr} is not a loopback address; other \
             hosts can read its metrics"
        );
    }
    let text = std::sync::Arc::new(move || metrics.encode());
    let admin = thinktee_proxy::AdminServer::bind(addr, readiness, text).await?;
    crate::logging::say!("thinktee proxy: admin endpoints on http://{}", admin.local_addr());
    Ok(tokio::spawn(admin.run()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_cannot_be_recorded() {
        for name in ["authorization", "Api-Key", "cookie", "x-api-key"] {
            assert!(parse_record_header(name).is_err(), "{name}");
        }
        assert_eq!(parse_record_header("X-User").unwrap(), "x-user");
        assert!(parse_record_header("bad name").is_err());
    }
}
