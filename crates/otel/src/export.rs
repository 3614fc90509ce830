//! OTLP exporters for the three signals, wrapped to count what they export.
//!
//! The SDK's batch span and log processors and its periodic metric reader
//! each run on a dedicated thread and drive the exporter's future with a
//! plain executor. The gRPC exporter works there because tonic's channel was
//! built inside the runtime (its connection task lives there). The hyper
//! client of the HTTP exporter needs the runtime for every request, so
//! [`RuntimeHttpClient`] spawns each request onto the runtime captured at
//! [`Otel::init`](crate::Otel::init) and awaits its join handle.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tokio::runtime::Handle;

use crate::config::{OtelConfig, Protocol};
use crate::error::Error;

/// Which signal an exporter carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// Shared counters behind [`OtelStats`](crate::OtelStats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) streams: AtomicU64,
    pub(crate) dropped_records: AtomicU64,
    pub(crate) parse_errors: AtomicU64,
    pub(crate) spans_exported: AtomicU64,
    pub(crate) spans_failed: AtomicU64,
    pub(crate) logs_exported: AtomicU64,
    pub(crate) logs_failed: AtomicU64,
    pub(crate) metric_exports: AtomicU64,
    pub(crate) metric_exports_failed: AtomicU64,
    /// A failed export has been logged at warn level already.
    warned: AtomicBool,
}

impl Counters {
    fn export_result(&self, signal: Signal, items: u64, result: &OTelSdkResult) {
        let (ok, failed) = match signal {
            Signal::Traces => (&self.spans_exported, &self.spans_failed),
            Signal::Logs => (&self.logs_exported, &self.logs_failed),
            Signal::Metrics => (&self.metric_exports, &self.metric_exports_failed),
        };
        match result {
            Ok(()) => {
                ok.fetch_add(items, Ordering::Relaxed);
            }
            Err(e) => {
                failed.fetch_add(items, Ordering::Relaxed);
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(signal = signal.as_str(), error = %e, "otlp export failed; telemetry is dropped (further failures are logged at debug)");
                } else {
                    tracing::debug!(signal = signal.as_str(), error = %e, "otlp export failed");
                }
            }
        }
    }
}

/// An exporter that counts what it exported and what failed.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    inner: E,
    counters: Arc<Counters>,
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.counters.export_result(Signal::Traces, n, &result);
        result
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let n = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        self.counters.export_result(Signal::Logs, n, &result);
        result
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Counted<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.counters.export_result(Signal::Metrics, 1, &result);
        result
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

// === impl RuntimeHttpClient ===

/// An [`HttpClient`] that runs each request on a tokio runtime, so that it
/// can be driven from the SDK's export threads.
#[derive(Clone)]
struct RuntimeHttpClient {
    inner: Arc<dyn HttpClient>,
    runtime: Handle,
}

impl fmt::Debug for RuntimeHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHttpClient").field("inner", &self.inner).finish_non_exhaustive()
    }
}

type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'a>>;

impl HttpClient for RuntimeHttpClient {
    // The expansion of `#[async_trait]` on the trait's `async fn send_bytes`.
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> ResponseFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let inner = Arc::clone(&self.inner);
        let task = self.runtime.spawn(async move { inner.send_bytes(request).await });
        Box::pin(async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(Box::new(e) as HttpError),
            }
        })
    }
}

/// The hyper client for `http://` (and, with the `tls` feature, `https://`)
/// endpoints.
fn hyper_client(timeout: Duration) -> Result<Arc<dyn HttpClient>, Error> {
    #[cfg(feature = "tls")]
    {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| Error::Build(format!("tls: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Arc::new(opentelemetry_http::hyper::HyperClient::new(connector, timeout, None)))
    }
    #[cfg(not(feature = "tls"))]
    {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        Ok(Arc::new(opentelemetry_http::hyper::HyperClient::new(connector, timeout, None)))
    }
}

/// The three exporters, built from the config.
pub(crate) struct Exporters {
    pub(crate) spans: Counted<opentelemetry_otlp::SpanExporter>,
    pub(crate) metrics: Counted<opentelemetry_otlp::MetricExporter>,
    pub(crate) logs: Counted<opentelemetry_otlp::LogExporter>,
}

/// Checks the endpoint's scheme; returns whether it is `https`.
fn check_endpoint(endpoint: &str) -> Result<bool, Error> {
    let lower = endpoint.to_ascii_lowercase();
    let https = if lower.starts_with("https://") {
        true
    } else if lower.starts_with("http://") {
        false
    } else {
        return Err(Error::InvalidEndpoint(format!(
            "{endpoint:?} must start with http:// or https://"
        )));
    };
    if https && !cfg!(feature = "tls") {
        return Err(Error::Build(format!(
            "{endpoint:?} needs TLS; thinktee-otel was built without its `tls` feature"
        )));
    }
    Ok(https)
}

/// `base` + `/v1/<signal>`, as OTLP/HTTP does for `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn http_url(base: &str, signal: Signal) -> String {
    format!("{}{}", base.trim_end_matches('/'), signal.http_path())
}

impl Exporters {
    /// Builds the exporters; must run inside a tokio runtime.
    pub(crate) fn build(
        config: &OtelConfig,
        endpoint: &str,
        runtime: &Handle,
        counters: &Arc<Counters>,
    ) -> Result<Exporters, Error> {
        let https = check_endpoint(endpoint)?;
        let timeout = config.export_timeout;
        let (spans, metrics, logs) = match config.protocol {
            Protocol::Grpc => {
                let _guard = runtime.enter();
                let tonic = || {
                    let b = opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                        .with_timeout(timeout);
                    with_tls(b, https)
                };
                let spans = tonic().build()?;
                let b = opentelemetry_otlp::MetricExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                    .with_timeout(timeout)
                    .with_temporality(Temporality::Cumulative);
                let metrics = with_tls(b, https).build()?;
                let b = opentelemetry_otlp::LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                    .with_timeout(timeout);
                let logs = with_tls(b, https).build()?;
                (spans, metrics, logs)
            }
            Protocol::HttpProtobuf => {
                let client = RuntimeHttpClient {
                    inner: {
                        let _guard = runtime.enter();
                        hyper_client(timeout)?
                    },
                    runtime: runtime.clone(),
                };
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(client.clone())
                    .with_endpoint(http_url(endpoint, Signal::Traces))
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(timeout)
                    .build()?;
                let metrics = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_http_client(client.clone())
                    .with_endpoint(http_url(endpoint, Signal::Metrics))
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(timeout)
                    .with_temporality(Temporality::Cumulative)
                    .build()?;
                let logs = opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_http_client(client)
                    .with_endpoint(http_url(endpoint, Signal::Logs))
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(timeout)
                    .build()?;
                (spans, metrics, logs)
            }
        };
        Ok(Exporters {
            spans: Counted { inner: spans, counters: Arc::clone(counters) },
            metrics: Counted { inner: metrics, counters: Arc::clone(counters) },
            logs: Counted { inner: logs, counters: Arc::clone(counters) },
        })
    }
}

/// Adds the webpki roots for an `https` gRPC endpoint.
#[cfg(feature = "tls")]
fn with_tls<B: opentelemetry_otlp::WithTonicConfig>(builder: B, https: bool) -> B {
    use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
    if https {
        builder.with_tls_config(ClientTlsConfig::new().with_webpki_roots())
    } else {
        builder
    }
}

#[cfg(not(feature = "tls"))]
fn with_tls<B>(builder: B, _https: bool) -> B {
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert!(!check_endpoint("http://127.0.0.1:4317").unwrap());
        assert_eq!(check_endpoint("HTTPS://collector:4317").is_ok(), cfg!(feature = "tls"));
        assert!(matches!(check_endpoint("collector:4317"), Err(Error::InvalidEndpoint(_))));
        assert_eq!(http_url("http://c:4318/", Signal::Traces), "http://c:4318/v1/traces");
        assert_eq!(http_url("http://c:4318/otlp", Signal::Logs), "http://c:4318/otlp/v1/logs");
    }
}
