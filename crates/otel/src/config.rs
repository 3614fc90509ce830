//! What to export where: [`OtelConfig`] and [`Protocol`].

use std::time::Duration;

/// How often the batch processors export, and the metric reader collects.
pub const EXPORT_INTERVAL: Duration = Duration::from_secs(5);
/// Bound on one export attempt, retries included.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on [`Otel::shutdown`](crate::Otel::shutdown) as a whole.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Spans (and log records) queued for export before new ones are dropped.
pub const MAX_QUEUE_SIZE: usize = 2048;
/// Spans (and log records) sent in one export request.
pub const MAX_EXPORT_BATCH_SIZE: usize = 512;

/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
pub const ENV_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_SERVICE_NAME`.
pub const ENV_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.
pub const ENV_CAPTURE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// The service name used when none is configured.
pub const DEFAULT_SERVICE_NAME: &str = "thinktee";

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OTLP/gRPC (default port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318); the endpoint is
    /// the base URL, `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended.
    HttpProtobuf,
}

impl Protocol {
    /// Parses the values of `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or
    /// `http/protobuf` (`http/json` is not supported).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" | "http-protobuf" | "http" => Some(Protocol::HttpProtobuf),
            _ => None,
        }
    }

    /// `grpc` or `http/protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// What to export and where. Nothing is exported unless
/// [`endpoint`](OtelConfig::endpoint) is set.
///
/// Build it from the standard environment variables with
/// [`OtelConfig::from_env`], then override with the setters (CLI flags win).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtelConfig {
    /// The OTLP endpoint (`http://localhost:4317`); `None` disables export.
    pub endpoint: Option<String>,
    /// gRPC or HTTP/protobuf.
    pub protocol: Protocol,
    /// Opt-in: record request and response messages (thinking included) in
    /// `gen_ai.client.inference.operation.details` events.
    pub capture_content: bool,
    /// `service.name` of the resource.
    pub service_name: String,
    /// Overrides the `gen_ai.provider.name` otherwise derived from the host.
    pub provider_name: Option<String>,
    /// Batch export and metric collection interval ([`EXPORT_INTERVAL`]).
    pub export_interval: Duration,
    /// Bound on one export, retries included ([`EXPORT_TIMEOUT`]).
    pub export_timeout: Duration,
    /// Bound on [`Otel::shutdown`](crate::Otel::shutdown) ([`SHUTDOWN_TIMEOUT`]).
    pub shutdown_timeout: Duration,
}

impl Default for OtelConfig {
    fn default() -> Self {
        OtelConfig {
            endpoint: None,
            protocol: Protocol::Grpc,
            capture_content: false,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            provider_name: None,
            export_interval: EXPORT_INTERVAL,
            export_timeout: EXPORT_TIMEOUT,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
        }
    }
}

/// Reads `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `true`/`false`,
/// or the `ContentCapturingMode` names (`SPAN_ONLY`, `EVENT_ONLY`,
/// `SPAN_AND_EVENT` are on, `NO_CONTENT` is off). Case-insensitive.
pub fn parse_capture_content(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "span_only" | "event_only" | "span_and_event" => Some(true),
        "false" | "0" | "no_content" => Some(false),
        _ => None,
    }
}

impl OtelConfig {
    /// Disabled: no endpoint, everything else at its default.
    pub fn new() -> OtelConfig {
        OtelConfig::default()
    }

    /// Reads `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_SERVICE_NAME` and `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.
    /// Empty or unrecognized values are ignored (with a `tracing` warning).
    pub fn from_env() -> OtelConfig {
        OtelConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`OtelConfig::from_env`], with variables looked up by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> OtelConfig {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = OtelConfig {
            endpoint: get(ENV_ENDPOINT).map(|v| v.trim().to_owned()),
            ..OtelConfig::default()
        };
        if let Some(v) = get(ENV_PROTOCOL) {
            match Protocol::parse(&v) {
                Some(p) => config.protocol = p,
                None => tracing::warn!(value = %v, "ignoring unsupported {ENV_PROTOCOL}"),
            }
        }
        if let Some(v) = get(ENV_SERVICE_NAME) {
            config.service_name = v.trim().to_owned();
        }
        if let Some(v) = get(ENV_CAPTURE_CONTENT) {
            match parse_capture_content(&v) {
                Some(on) => config.capture_content = on,
                None => tracing::warn!(value = %v, "ignoring unrecognized {ENV_CAPTURE_CONTENT}"),
            }
        }
        config
    }

    /// Sets (or with `None` clears) the endpoint.
    pub fn endpoint(mut self, endpoint: impl Into<Option<String>>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Turns message capture on or off.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = on;
        self
    }

    /// Sets `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Sets (or clears) the `gen_ai.provider.name` override.
    pub fn provider_name(mut self, name: impl Into<Option<String>>) -> Self {
        self.provider_name = name.into();
        self
    }

    /// Sets the export interval of all three signals.
    pub fn export_interval(mut self, interval: Duration) -> Self {
        self.export_interval = interval;
        self
    }

    /// Sets the bound on one export.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Sets the bound on shutdown.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether an endpoint is configured.
    pub fn is_enabled(&self) -> bool {
        self.endpoint.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn empty_environment_is_disabled_grpc_without_content() {
        let c = OtelConfig::from_lookup(env(&[]));
        assert_eq!(c, OtelConfig::default());
        assert!(!c.is_enabled());
        assert_eq!((c.protocol, c.capture_content), (Protocol::Grpc, false));
        assert_eq!(c.service_name, "thinktee");
    }

    #[test]
    fn standard_variables_are_read() {
        let c = OtelConfig::from_lookup(env(&[
            (ENV_ENDPOINT, " http://collector:4318 "),
            (ENV_PROTOCOL, "http/protobuf"),
            (ENV_SERVICE_NAME, "gateway"),
            (ENV_CAPTURE_CONTENT, "SPAN_AND_EVENT"),
        ]));
        assert_eq!(c.endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.service_name, "gateway");
        assert!(c.capture_content);
    }

    #[test]
    fn capture_modes() {
        for on in ["true", "TRUE", "span_only", "EVENT_ONLY", "SPAN_AND_EVENT"] {
            assert_eq!(parse_capture_content(on), Some(true), "{on}");
        }
        for off in ["false", "False", "NO_CONTENT"] {
            assert_eq!(parse_capture_content(off), Some(false), "{off}");
        }
        assert_eq!(parse_capture_content("maybe"), None);
    }

    #[test]
    fn bad_values_are_ignored_and_setters_override() {
        let c = OtelConfig::from_lookup(env(&[
            (ENV_ENDPOINT, ""),
            (ENV_PROTOCOL, "http/json"),
            (ENV_CAPTURE_CONTENT, "perhaps"),
        ]));
        assert_eq!(c, OtelConfig::default());
        let c = c
            .endpoint(Some("http://127.0.0.1:4317".to_owned()))
            .protocol(Protocol::HttpProtobuf)
            .capture_content(true)
            .provider_name(Some("vllm".to_owned()))
            .service_name("x");
        assert!(c.is_enabled());
        assert_eq!(c.provider_name.as_deref(), Some("vllm"));
        assert_eq!(Protocol::parse("GRPC"), Some(Protocol::Grpc));
        assert_eq!(Protocol::HttpProtobuf.as_str(), "http/protobuf");
    }
}
