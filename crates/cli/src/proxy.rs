//! `thinktee proxy`: a transparent recording reverse proxy.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use thinktee_otel::{Otel, OtelConfig, Protocol, RequestInfo, RequestTrace};
use thinktee_pipeline::{DynSink, FanOut, Options, SplitterConfig, StartMode, dyn_sink};

use crate::split::SplitterArgs;
use thinktee_proxy::{
    Config, DEFAULT_MAX_BUFFERED_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BODY,
    DEFAULT_MAX_REQUEST_HEADERS, MAX_NORMALIZE_BODY, Proxy, Readiness, ReasoningTarget, Upstream,
};
use thinktee_record::{Exchange, Recorder};
use thinktee_tee::{ChannelOutput, ParsePool, RawCapture, Tap, TeeHandle, TranscriptWriter};
use thinktee_transcript::{DEFAULT_MAX_TRANSCRIPT_TEXT, RequestMeta, TranscriptSink};

use crate::Outcome;
use crate::listen::{Limits, Signals, serve_until_signalled, warn_if_exposed};
use crate::ops::{self, Ops, serve_admin};
use crate::prom::{Metrics, PromSink, Sources};

/// What `--normalize` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Normalize {
    /// Forward the upstream's bytes untouched.
    None,
    /// Move inline `<think>` text into `delta.reasoning_content`.
    #[value(name = "reasoning_content")]
    ReasoningContent,
    /// Move inline `<think>` text into `delta.reasoning`.
    Reasoning,
}

/// `thinktee proxy --upstream URL [OPTIONS]`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (port 0 picks a free one; the bound address is
    /// printed on stdout as `http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The OpenAI-compatible endpoint every request goes to (http or
    /// https; a path is a prefix: `https://x.openai.azure.com/openai/v1`).
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// Write a JSON Lines transcript of every LLM call (chat completions,
    /// Responses, Messages, Gemini generateContent) to
    /// `DIR/transcripts.jsonl` (files mode 0600). Rotated by size, at UTC
    /// midnight and on SIGUSR1: renamed after the UTC time of its first
    /// line, `DIR/transcripts-2025-01-15T000003.117Z.jsonl`, then compressed
    /// to `.jsonl.zst`; the names sort in time order and begin with the date
    /// of their lines. `thinktee analyze DIR` reads them all.
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,
    #[command(flatten)]
    rotation: crate::transcripts::RotationArgs,
    /// Keep the exact bytes of every recorded response in
    /// `DIR/<unique-id>.sse` (mode 0600; the proxy's own UUIDv7 for the
    /// exchange, `unique_id` in the transcript); `thinktee replay DIR`
    /// serves them.
    #[arg(long, value_name = "DIR")]
    capture_raw: Option<PathBuf>,
    /// Text kept in a transcript per response (reasoning, answer and
    /// tool-call arguments together); the rest is counted in the record's
    /// `text_omitted`, per choice. The client always gets every byte.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_TRANSCRIPT_TEXT)]
    max_transcript_text: usize,
    /// Rewrite inline thinking into a reasoning delta field (chat
    /// completions only). Needs --start explicit (the default here) or
    /// implicit.
    #[arg(long, value_enum, default_value = "none")]
    normalize: Normalize,
    #[command(flatten)]
    splitter: SplitterArgs,
    /// Export OpenTelemetry GenAI spans and metrics to this OTLP endpoint
    /// (default: $OTEL_EXPORTER_OTLP_ENDPOINT; none: no export).
    #[arg(long, value_name = "URL")]
    otlp_endpoint: Option<String>,
    /// OTLP protocol (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else grpc).
    #[arg(long, value_parser = parse_protocol, value_name = "grpc|http")]
    otlp_protocol: Option<Protocol>,
    /// Also record prompts (request bodies) in transcripts and send prompt
    /// and answer text to OpenTelemetry (default:
    /// $OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, else off).
    /// `--capture-content=false` turns it off.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    capture_content: Option<bool>,
    /// Time allowed to connect to the upstream, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    connect_timeout_ms: u64,
    /// Also trust the CA certificates in this PEM file for an https upstream
    /// (a private gateway's CA); the bundled Mozilla roots are always trusted.
    #[arg(long, value_name = "FILE")]
    upstream_ca: Option<PathBuf>,
    /// Longest upstream silence (before the response head, or between two
    /// reads) before the exchange fails, in seconds; 0 waits forever.
    #[arg(long, value_name = "S", default_value_t = 300)]
    idle_timeout_s: u64,
    /// Largest request body accepted (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_REQUEST_BODY)]
    max_request_body: usize,
    /// Largest request header block accepted (431 above).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_REQUEST_HEADERS)]
    max_request_headers: usize,
    /// Largest non-streaming body buffered to normalize it; a larger one is
    /// passed through unnormalized (and recorded as usual).
    #[arg(long, value_name = "BYTES", default_value_t = MAX_NORMALIZE_BODY)]
    max_normalize_body: usize,
    /// Request body bytes buffered at once across all requests (at least
    /// --max-request-body); a request that does not fit gets 503 with
    /// Retry-After: 1.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED_REQUEST_BYTES)]
    max_buffered_request_bytes: usize,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    ops: Ops,
    /// On Ctrl-C, SIGTERM or SIGHUP, how long open streams may go on, in
    /// seconds (a second signal cuts them at once; they are recorded as
    /// `shutdown`).
    #[arg(long, value_name = "S", default_value_t = 10)]
    shutdown_grace_s: u64,
    /// Runtime worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    worker_threads: Option<usize>,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    Protocol::parse(s).ok_or_else(|| format!("unknown protocol {s:?} (grpc or http)"))
}

impl Args {
    fn field(&self) -> Option<ReasoningTarget> {
        match self.normalize {
            Normalize::None => None,
            Normalize::ReasoningContent => Some(ReasoningTarget::ReasoningContent),
            Normalize::Reasoning => Some(ReasoningTarget::Reasoning),
        }
    }

    /// The splitter policy; normalizing defaults to `explicit` and refuses
    /// `auto` (it would hold undecided text back from the client).
    fn splitter(&self) -> anyhow::Result<SplitterConfig> {
        let start = match (self.field(), self.splitter.start) {
            (Some(_), Some(StartMode::Auto)) => anyhow::bail!(
                "--normalize cannot use --start auto: auto holds text back until a tag or the end \
                 decides it, which would stall the client; use --start explicit (the default with \
                 --normalize) or --start implicit"
            ),
            (Some(_), None) => StartMode::Explicit,
            (None, None) => StartMode::Auto,
            (_, Some(start)) => start,
        };
        self.splitter.config_with_start(start)
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    warn_if_exposed("proxy", args.listen);
    let splitter = args.splitter()?;
    let upstream: Upstream = args.upstream.parse().map_err(anyhow::Error::new)?;
    let mut config = Config::new(upstream.clone());
    config.normalize = args.field();
    config.splitter = splitter.clone();
    config.connect_timeout = Some(Duration::from_millis(args.connect_timeout_ms));
    config.idle_timeout =
        (args.idle_timeout_s > 0).then(|| Duration::from_secs(args.idle_timeout_s));
    config.max_request_body = args.max_request_body;
    config.max_request_headers = args.max_request_headers;
    config.max_normalize_body = args.max_normalize_body;
    config.max_buffered_request_bytes = args.max_buffered_request_bytes;
    config.client_idle_timeout = args.limits.client_idle_timeout();
    if let Some(path) = &args.upstream_ca {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("--upstream-ca {}: {e}", path.display()))?;
        config.upstream_ca_pem = Some(pem);
    }
    for dir in [&args.transcripts, &args.capture_raw].into_iter().flatten() {
        thinktee_transcript::private_dir(dir)
            .with_context(|| format!("cannot use {} for recordings", dir.display()))?;
    }

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.worker_threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        // Before the address is printed: a signal from then on is ours.
        let signals = Signals::listen().context("cannot listen for signals")?;
        let mut otel_config = OtelConfig::from_env();
        if let Some(endpoint) = &args.otlp_endpoint {
            otel_config = otel_config.endpoint(Some(endpoint.clone()));
        }
        if let Some(protocol) = args.otlp_protocol {
            otel_config = otel_config.protocol(protocol);
        }
        if let Some(on) = args.capture_content {
            otel_config = otel_config.capture_content(on);
        }
        if let Some(name) = &args.ops.provider_name {
            otel_config = otel_config.provider_name(Some(name.clone()));
        }
        let otel = Otel::init(otel_config).context("cannot set up OpenTelemetry export")?;
        let writer = match &args.transcripts {
            Some(dir) => Some(crate::transcripts::open(dir, &args.rotation)?),
            None => {
                crate::transcripts::ignore_rotation_signal()?;
                None
            }
        };
        let dropped = writer.as_ref().map(TranscriptWriter::dropped_total);
        // The threads that parse (and capture) every recorded response.
        let pool = ParsePool::new().context("cannot start the parse threads")?;
        let metrics = args.ops.admin_listen.map(|_| Arc::new(Metrics::new()));
        let recorder = CliRecorder {
            metrics: metrics.clone(),
            pool: pool.clone(),
            transcript: writer.as_ref().map(TranscriptWriter::output),
            transcript_text: args.max_transcript_text,
            capture_raw: args.capture_raw.clone(),
            otel: otel.is_enabled().then(|| otel.clone()),
            // Every exchange leaves a record, those without a body too.
            options: Options { splitter, record_empty: true, ..Options::default() },
            capture_content: args.capture_content.unwrap_or_else(|| otel.captures_content()),
            upstream,
            ops: args.ops.clone(),
        };
        let upstream = config.upstream.to_string();
        let proxy = Proxy::with_recorder(config, Some(Box::new(recorder)))?;
        let server =
            proxy.bind(args.listen).await?.grace(Duration::from_secs(args.shutdown_grace_s));
        let server = args.limits.limit(server);
        let readiness = Readiness::new();
        let admin = match (args.ops.admin_listen, &metrics) {
            (Some(addr), Some(metrics)) => {
                metrics.set_sources(Sources {
                    connections: Some(server.connections()),
                    dropped: dropped.clone(),
                    otel: otel.is_enabled().then(|| otel.clone()),
                });
                Some(serve_admin(addr, readiness.clone(), metrics.clone()).await?)
            }
            _ => None,
        };
        let addr = server.local_addr();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{addr}")?;
        stdout.flush()?;
        crate::logging::say!("thinktee proxy: http://{addr} -> {upstream} (Ctrl-C stops)");

        let grace = args.shutdown_grace_s;
        let first = signals.clone();
        tokio::spawn(async move {
            first.nth(1).await;
            readiness.set_shutting_down();
            crate::logging::say!(
                "thinktee proxy: shutting down: open exchanges have {grace} s to finish \
                 (a second signal cuts them now)"
            );
        });
        let cut = proxy.shutdown_flag();
        serve_until_signalled(server, &signals, || {
            // Cut what is open: recorded as shutdown, like the end of the
            // grace period.
            crate::logging::say!("thinktee proxy: second signal: cutting open exchanges");
            cut.set();
        })
        .await?;
        if let Some(admin) = admin {
            admin.abort();
        }
        // The pool's threads end once every recording's parse side has.
        let finished = tokio::time::timeout(Duration::from_secs(30), pool.shutdown()).await;
        if finished.is_err() {
            crate::logging::say!(warn: "thinktee proxy: some recordings did not finish in time");
        }
        drop(proxy); // and with it the recorder's transcript senders
        if let Some(writer) = writer {
            writer.shutdown().await.context("cannot flush the transcript")?;
        }
        let dropped = dropped.map_or(0, |d| d.load(std::sync::atomic::Ordering::Relaxed));
        if dropped > 0 {
            crate::logging::say!(warn:
                "thinktee proxy: warning: {dropped} transcript record(s) dropped while the writer \
                 fell behind (each gap is marked by dropped_before on the next line)"
            );
        }
        // Telemetry that cannot be delivered is not a failure of the proxy.
        if let Err(e) = otel.shutdown().await {
            crate::logging::say!(warn: "thinktee proxy: warning: cannot flush OpenTelemetry: {e}");
        }
        Ok(Outcome::Clean)
    })
}

/// Records every LLM API call (chat completions, Responses, Messages,
/// Gemini: see [`Route`](thinktee_record::Route)) into the transcript, the
/// raw capture directory and OpenTelemetry, as configured.
struct CliRecorder {
    /// Counted for `/metrics` (with --admin-listen).
    metrics: Option<Arc<Metrics>>,
    pool: ParsePool,
    transcript: Option<ChannelOutput>,
    /// `--max-transcript-text`.
    transcript_text: usize,
    capture_raw: Option<PathBuf>,
    otel: Option<Otel>,
    options: Options,
    capture_content: bool,
    upstream: Upstream,
    ops: Ops,
}

impl Recorder for CliRecorder {
    fn prepare(&self, exchange: &mut Exchange, headers: &mut http::HeaderMap) {
        if let Some(trace) = self.otel.as_ref().and_then(|otel| otel.trace_request(headers)) {
            exchange.extensions.insert(trace);
        }
    }

    fn tap(&self, exchange: &Exchange) -> Option<Tap> {
        if let Some(metrics) = &self.metrics {
            metrics.request(exchange);
        }
        let route = exchange.route()?;
        let body = self
            .capture_content
            .then(|| serde_json::from_slice::<serde_json::Value>(&exchange.request_body).ok())
            .flatten();
        let mut sinks: Vec<DynSink> = Vec::new();
        if let Some(output) = &self.transcript {
            let mut meta = RequestMeta {
                method: Some(exchange.method.to_string()),
                path: Some(exchange.path.clone()),
                model: exchange.model.clone(),
                upstream: Some(self.upstream.to_string()),
                started_unix_ms: exchange
                    .started
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .and_then(|d| u64::try_from(d.as_millis()).ok()),
                status: exchange.response_status.or(exchange.status).map(|s| s.as_u16()),
                body: body.clone().or_else(|| {
                    (self.capture_content && !exchange.request_body.is_empty()).then(|| {
                        String::from_utf8_lossy(&exchange.request_body).into_owned().into()
                    })
                }),
                ..RequestMeta::default()
            };
            ops::identify(&mut meta, &self.ops, exchange);
            let sink = TranscriptSink::with_meta(output.clone(), meta)
                .with_text_limit(self.transcript_text);
            sinks.push(dyn_sink(sink));
        }
        if let Some(otel) = &self.otel {
            let mut info = RequestInfo::new();
            info.request_model = exchange.model.clone();
            info.server_address = Some(self.upstream.host().to_owned());
            info.server_port = Some(self.upstream.port());
            info.stream = exchange.stream;
            info.format = route.format;
            if let Some(body) = &body {
                let input = thinktee_otel::input_messages(route.format, body);
                info.request_messages_json = input.messages;
                info.system_instructions_json = input.system_instructions;
            }
            info.start = exchange.started;
            info.trace = exchange.extensions.get::<RequestTrace>().cloned();
            sinks.push(dyn_sink(otel.sink(info)));
        }
        if let Some(metrics) = &self.metrics {
            sinks.push(dyn_sink(PromSink::new(metrics.clone())));
        }
        let mut tee = exchange.tee(&self.pool).pipeline(self.options.clone());
        // The file is made with the first byte: an exchange without a body
        // (the proxy answered it) leaves none.
        if let (Some(dir), Some(name)) = (&self.capture_raw, &exchange.unique_id) {
            match RawCapture::create(dir, name) {
                Ok(capture) => tee = tee.capture(capture),
                Err(e) => tracing::warn!(error = %e, "cannot create the raw capture file"),
            }
        }
        if sinks.is_empty() && self.capture_raw.is_none() {
            return None;
        }
        let (tap, handle) = tee.tap(FanOut::from(sinks));
        tokio::spawn(log_failures(exchange.id, handle));
        Some(tap)
    }
}

/// Waits for a recording's parse side and logs what went wrong in it.
async fn log_failures(id: u64, handle: TeeHandle<FanOut<DynSink>>) {
    match handle.join().await {
        Ok(report) => {
            if let Some(e) = &report.sink_error {
                tracing::warn!(id, error = e as &dyn std::error::Error, "recording failed");
            }
            if let Some(e) = &report.capture_error {
                tracing::warn!(id, error = e as &dyn std::error::Error, "raw capture failed");
            }
            if report.overflowed {
                tracing::warn!(id, "recording fell behind; stream partly recorded");
            }
        }
        Err(e) => tracing::warn!(id, error = &e as &dyn std::error::Error, "recording failed"),
    }
}
