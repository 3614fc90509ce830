//! Load harness for `thinktee proxy` (run by hand: `scripts/load.sh`).
//!
//! Two upstreams, both on loopback:
//!
//! 1. A timestamping SSE upstream, in this process: every event carries the
//!    moment it was handed to the HTTP stack (`"t"`, ns on this process's
//!    monotonic clock), so the client here measures each chunk's latency
//!    exactly, directly and through the proxy, in the same run. The added
//!    latency per chunk is the difference of the two distributions'
//!    percentiles. (A plain recording cannot do this: tokio's timer paces
//!    `thinktee replay` to the millisecond, coarser than what is measured.)
//! 2. `thinktee replay` (a child process) serving a recording with a chunk
//!    delay: time to first byte and whole-stream time, directly and through
//!    a second proxy.
//!
//! Both proxies are `thinktee proxy` child processes recording transcripts
//! (the full parse path); their peak RSS (`VmHWM`) is read from `/proc`.
//!
//! Beside the proxy, phase 1 measures a floor: this binary run as a bare
//! TCP relay (`thinktee-load relay`, tokio's `copy_bidirectional`, no HTTP,
//! no parsing) in front of the same upstream. No proxy can add less than
//! one more process's read and write per chunk, so what the relay adds on
//! this machine bounds what any proxy could reach here. With `--pin`, the
//! harness runs on CPU 0 and the proxy and relay on CPU 1 (`taskset`), so
//! the proxy has a core of its own.
//! Streams start spread over one chunk delay, then all overlap. Every loop
//! is bounded in count and time; only 127.0.0.1 is used.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Sleep;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Nanoseconds since the harness started (one clock for both ends).
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

// === options ===

struct Args {
    thinktee: PathBuf,
    fixture: PathBuf,
    levels: Vec<usize>,
    events: usize,
    delay: Duration,
    scratch: PathBuf,
    /// Run the proxies without `--transcripts` (forwarding cost alone).
    bare: bool,
    /// Streams start spread evenly over this window.
    spread: Duration,
    /// Extra arguments for the proxies (`--proxy-arg=--worker-threads=1`).
    proxy_args: Vec<String>,
    /// Skip the bare TCP relay (the floor) in phase 1.
    no_relay: bool,
    /// Harness on CPU 0, proxies and relay on CPU 1.
    pin: bool,
}

/// The options, or `None` after printing help.
fn args() -> Result<Option<Args>, Error> {
    let mut args = Args {
        thinktee: PathBuf::from("target/release/thinktee"),
        fixture: PathBuf::from("fixtures/e2e/azure_inline_think.sse"),
        levels: vec![1, 100, 1000],
        events: 50,
        delay: Duration::from_millis(20),
        scratch: std::env::temp_dir().join(format!("thinktee-load-{}", std::process::id())),
        bare: false,
        spread: Duration::from_millis(500),
        proxy_args: Vec::new(),
        no_relay: false,
        pin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--thinktee" => args.thinktee = value()?.into(),
            "--fixture" => args.fixture = value()?.into(),
            "--levels" => {
                args.levels = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            "--events" => args.events = value()?.parse()?,
            "--delay-ms" => args.delay = Duration::from_millis(value()?.parse()?),
            "--scratch" => args.scratch = value()?.into(),
            "--bare" => args.bare = true,
            "--proxy-arg" => args.proxy_args.push(value()?),
            "--spread-ms" => args.spread = Duration::from_millis(value()?.parse()?),
            "--no-relay" => args.no_relay = true,
            "--pin" => args.pin = true,
            "-h" | "--help" => {
                println!(
                    "thinktee-load [--thinktee PATH] [--fixture FILE] [--levels 1,100,1000] \
                     [--events N] [--delay-ms N] [--scratch DIR] [--bare] [--spread-ms N] [--proxy-arg ARG]... \
                     [--no-relay] [--pin]\n       thinktee-load relay --upstream HOST:PORT"
                );
                return Ok(None);
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(Some(args))
}

// === the timestamping upstream ===

/// `events` SSE chunks (inline `<think>` first, `</think>` halfway), each
/// stamped when handed to hyper, `delay` apart, then `[DONE]`.
struct StampBody {
    next: usize,
    events: usize,
    delay: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl Body for StampBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.next > self.events {
            return Poll::Ready(None);
        }
        if self.next > 0 {
            ready!(self.sleep.as_mut().poll(cx));
            let deadline = tokio::time::Instant::now() + self.delay;
            self.sleep.as_mut().reset(deadline);
        }
        let i = self.next;
        self.next += 1;
        let event = if i == self.events {
            "data: [DONE]\n\n".to_owned()
        } else {
            let content = match i {
                0 => "<think>",
                i if i == self.events / 2 => "</think>",
                _ => "token ",
            };
            format!(
                "data: {{\"id\":\"load\",\"object\":\"chat.completion.chunk\",\"model\":\"stamp\",\"t\":{},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n",
                now_ns()
            )
        };
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(event)))))
    }
}

async fn stamp_upstream(events: usize, delay: Duration) -> Result<std::net::SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        let body = StampBody {
                            next: 0,
                            events,
                            delay,
                            sleep: Box::pin(tokio::time::sleep(delay)),
                        };
                        let mut response = http::Response::new(body);
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("text/event-stream"),
                        );
                        Ok::<_, Infallible>(response)
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

// === the floor: a bare TCP relay ===

/// `thinktee-load relay --upstream HOST:PORT`: prints `http://ADDR` and
/// relays every connection to the upstream byte for byte.
async fn relay(upstream: String) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    loop {
        let (mut client, _) = listener.accept().await?;
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

// === children ===

/// The CPU children run on with `--pin` (the harness takes CPU 0).
static PIN_CHILDREN: OnceLock<Option<&'static str>> = OnceLock::new();

/// Pins this process (all its threads so far; later ones inherit) to CPU 0
/// and its children to CPU 1, with `taskset`.
fn pin() -> Result<(), Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        return Err("--pin needs two CPUs".into());
    }
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("taskset could not pin the harness".into());
    }
    PIN_CHILDREN.get_or_init(|| Some("1"));
    Ok(())
}

struct Child_ {
    child: Child,
    addr: String,
}

impl Child_ {
    fn start(program: &PathBuf, args: &[&str]) -> Result<Child_, Error> {
        let mut command = match PIN_CHILDREN.get().copied().flatten() {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu]).arg(program);
                c
            }
            None => Command::new(program),
        };
        let mut child = command
            .args(args)
            .env("THINKTEE_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let addr = line.trim().strip_prefix("http://").ok_or("no address printed")?.to_owned();
        Ok(Child_ { child, addr })
    }

    /// (`VmHWM`, `VmRSS`) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// User plus system CPU time so far, in µs (from `/proc/PID/stat`,
    /// clock ticks of 10 ms).
    fn cpu_us(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesized command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        (ticks(11) + ticks(12)) * 10_000
    }
}

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `thinktee proxy` in front of `upstream`, recording transcripts into
/// `transcripts` when given.
fn start_proxy(
    thinktee: &PathBuf,
    upstream: &str,
    transcripts: Option<&std::path::Path>,
    extra: &[String],
) -> Result<Child_, Error> {
    let mut args = vec!["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream];
    args.extend(extra.iter().map(String::as_str));
    if let Some(dir) = transcripts {
        args.extend(["--transcripts", dir.to_str().ok_or("scratch path")?]);
    }
    Child_::start(thinktee, &args)
}

// === the client ===

#[derive(Default)]
struct Run {
    ttfb: Vec<u64>,
    chunk: Vec<u64>,
    total: Vec<u64>,
    ok: usize,
    failed: usize,
    events: usize,
}

async fn run(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: &str,
    streams: usize,
    spread: Duration,
    limit: Duration,
    fixture: Option<&str>,
) -> Run {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..streams {
        let client = client.clone();
        let url = format!("http://{addr}/v1/chat/completions");
        let offset = spread.mul_f64(i as f64 / streams.max(1) as f64);
        let fixture = fixture.map(str::to_owned);
        tasks.spawn(async move {
            tokio::time::sleep(offset).await;
            tokio::time::timeout(limit, one(&client, &url, fixture.as_deref())).await.ok().flatten()
        });
    }
    let mut run = Run::default();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(Some((ttfb, chunks, total, events))) => {
                run.ok += 1;
                run.ttfb.push(ttfb);
                run.chunk.extend(chunks);
                run.total.push(total);
                run.events += events;
            }
            _ => run.failed += 1,
        }
    }
    run
}

/// One stream: (time to first body byte, per-chunk latencies, whole time, events).
async fn one(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    fixture: Option<&str>,
) -> Option<(u64, Vec<u64>, u64, usize)> {
    let body = r#"{"model":"load","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .ok()?;
    if let Some(stem) = fixture {
        req.headers_mut().insert("x-thinktee-fixture", stem.parse().ok()?);
    }
    let sent = now_ns();
    let response = client.request(req).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = response.into_body();
    let (mut first, mut buf, mut latencies, mut events) = (None, Vec::new(), Vec::new(), 0);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else { continue };
        let at = now_ns();
        first.get_or_insert(at);
        buf.extend_from_slice(&data);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            events += 1;
            if let Some(t) = stamp(&event) {
                latencies.push(at.saturating_sub(t));
            }
        }
    }
    Some((first? - sent, latencies, now_ns() - sent, events))
}

fn stamp(event: &[u8]) -> Option<u64> {
    let at = event.windows(4).position(|w| w == b"\"t\":")? + 4;
    let digits: Vec<u8> = event[at..].iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(ns: u64) -> String {
    format!("{:.0}", ns as f64 / 1000.0)
}

fn signed_us(a: u64, b: u64) -> String {
    format!("{:+.0}", (a as f64 - b as f64) / 1000.0)
}

struct Summary {
    ttfb: (u64, u64),
    chunk: (u64, u64),
    total: (u64, u64),
    ok: usize,
    failed: usize,
    events: usize,
    chunks: usize,
}

fn summarize(mut run: Run) -> Summary {
    run.ttfb.sort_unstable();
    run.chunk.sort_unstable();
    run.total.sort_unstable();
    Summary {
        ttfb: (pct(&run.ttfb, 0.5), pct(&run.ttfb, 0.99)),
        chunk: (pct(&run.chunk, 0.5), pct(&run.chunk, 0.99)),
        total: (pct(&run.total, 0.5), pct(&run.total, 0.99)),
        ok: run.ok,
        failed: run.failed,
        events: run.events,
        chunks: run.chunk.len(),
    }
}

/// One row of the per-chunk table; `process` is (CPU µs, `VmHWM` KiB) of
/// the process in the path.
fn row(n: usize, name: &str, s: &Summary, process: Option<(u64, u64)>) {
    let (per_chunk, rss) = match process {
        Some((cpu, hwm)) => (
            format!("{:.0}", cpu as f64 / s.chunks.max(1) as f64),
            format!("{:.1}", hwm as f64 / 1024.0),
        ),
        None => (String::new(), String::new()),
    };
    println!(
        "| {n} | {name} | {}/{} | {} | {} | {} | {} | {} | {per_chunk} | {rss} |",
        s.ok,
        s.failed,
        us(s.ttfb.0),
        us(s.ttfb.1),
        us(s.chunk.0),
        us(s.chunk.1),
        s.chunks
    );
}

fn added(n: usize, name: &str, path: &Summary, direct: &Summary) {
    println!(
        "| {n} | **{name}** | | {} | {} | {} | {} | | | |",
        signed_us(path.ttfb.0, direct.ttfb.0),
        signed_us(path.ttfb.1, direct.ttfb.1),
        signed_us(path.chunk.0, direct.chunk.0),
        signed_us(path.chunk.1, direct.chunk.1),
    );
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(2048)
        .pool_idle_timeout(Duration::from_secs(30))
        .build(http)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("relay") {
        let (Some(flag), Some(upstream)) = (argv.next(), argv.next()) else {
            return Err("usage: thinktee-load relay --upstream HOST:PORT".into());
        };
        if flag != "--upstream" {
            return Err(format!("unknown flag {flag}").into());
        }
        return relay(upstream).await;
    }
    let Some(args) = args()? else { return Ok(()) };
    if args.pin {
        pin()?;
    }
    now_ns();
    std::fs::create_dir_all(&args.scratch)?;
    let limit = args.delay * (args.events as u32 + 2) + Duration::from_secs(60);
    let thinktee = &args.thinktee;

    // Phase 1: per-chunk latency against the timestamping upstream.
    let stamp = stamp_upstream(args.events, args.delay).await?;
    let stamp_url = format!("http://{stamp}");
    let transcripts = args.scratch.join("transcripts-stamp");
    let proxy = start_proxy(
        thinktee,
        &stamp_url,
        (!args.bare).then_some(transcripts.as_path()),
        &args.proxy_args,
    )?;
    let client = client();
    let stamp_addr = stamp.to_string();
    let relay = if args.no_relay {
        None
    } else {
        Some(Child_::start(&std::env::current_exe()?, &["relay", "--upstream", &stamp_addr])?)
    };
    // Warm up every path (connections, allocator, page cache).
    run(&client, &stamp_addr, 10, args.delay, limit, None).await;
    if let Some(relay) = &relay {
        run(&client, &relay.addr, 10, args.delay, limit, None).await;
    }
    run(&client, &proxy.addr, 10, args.delay, limit, None).await;

    println!(
        "## thinktee proxy under load ({} chunks per stream, {} ms apart, starts spread over {} ms, loopback, {} cores{}, {})\n",
        args.events,
        args.delay.as_millis(),
        args.spread.as_millis(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if args.pin { ", harness on CPU 0, proxy and relay on CPU 1" } else { "" },
        if args.bare { "proxy not recording" } else { "proxy recording transcripts" },
    );
    println!(
        "Latency per chunk: from the upstream handing the event to its HTTP stack to this client reading it. Time to first byte: from sending the request to the first body byte. All in µs; \"added\" is through the relay or the proxy minus direct, percentile by percentile. The relay is a bare TCP relay (tokio `copy_bidirectional`, no HTTP): the floor for any proxy on this machine.\n"
    );
    println!(
        "| streams | path | ok/failed | first byte p50 | first byte p99 | per chunk p50 | per chunk p99 | chunks measured | CPU per chunk (µs) | peak RSS (MiB) |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &args.levels {
        let direct = summarize(run(&client, &stamp_addr, n, args.spread, limit, None).await);
        row(n, "direct", &direct, None);
        let mut floor = None;
        if let Some(relay) = &relay {
            let cpu_before = relay.cpu_us();
            let relayed = summarize(run(&client, &relay.addr, n, args.spread, limit, None).await);
            let cpu = relay.cpu_us().saturating_sub(cpu_before);
            row(n, "relay", &relayed, Some((cpu, relay.memory().0)));
            floor = Some(relayed);
        }
        let cpu_before = proxy.cpu_us();
        let proxied = summarize(run(&client, &proxy.addr, n, args.spread, limit, None).await);
        let cpu = proxy.cpu_us().saturating_sub(cpu_before);
        row(n, "proxied", &proxied, Some((cpu, proxy.memory().0)));
        if let Some(floor) = &floor {
            added(n, "added by the relay (floor)", floor, &direct);
        }
        added(n, "added by the proxy", &proxied, &direct);
    }
    drop(relay);
    drop(proxy);

    // Phase 2: against `thinktee replay`.
    let delay_ms = args.delay.as_millis().to_string();
    let replay = Child_::start(
        thinktee,
        &[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--chunk-delay-ms",
            &delay_ms,
            args.fixture.to_str().ok_or("fixture path")?,
        ],
    )?;
    let replay_url = format!("http://{}", replay.addr);
    let transcripts = args.scratch.join("transcripts-replay");
    let proxy = start_proxy(
        thinktee,
        &replay_url,
        (!args.bare).then_some(transcripts.as_path()),
        &args.proxy_args,
    )?;
    run(&client, &replay.addr, 10, args.delay, limit, None).await;
    run(&client, &proxy.addr, 10, args.delay, limit, None).await;
    println!(
        "\n### Against `thinktee replay --chunk-delay-ms {delay_ms} {}`\n",
        args.fixture.display()
    );
    println!(
        "| streams | path | ok/failed | events | first byte p50 | first byte p99 | whole stream p50 | whole stream p99 | proxy peak RSS (MiB) |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|");
    for &n in &args.levels {
        let direct = summarize(run(&client, &replay.addr, n, args.spread, limit, None).await);
        let proxied = summarize(run(&client, &proxy.addr, n, args.spread, limit, None).await);
        let (hwm, _) = proxy.memory();
        for (name, s) in [("direct", &direct), ("proxied", &proxied)] {
            let rss = if name == "proxied" {
                format!("{:.1}", hwm as f64 / 1024.0)
            } else {
                String::new()
            };
            println!(
                "| {n} | {name} | {}/{} | {} | {} | {} | {} | {} | {rss} |",
                s.ok,
                s.failed,
                s.events,
                us(s.ttfb.0),
                us(s.ttfb.1),
                us(s.total.0),
                us(s.total.1)
            );
        }
        println!(
            "| {n} | **added** | | | {} | {} | {} | {} | |",
            signed_us(proxied.ttfb.0, direct.ttfb.0),
            signed_us(proxied.ttfb.1, direct.ttfb.1),
            signed_us(proxied.total.0, direct.total.0),
            signed_us(proxied.total.1, direct.total.1),
        );
    }
    let _ = std::fs::remove_dir_all(&args.scratch);
    Ok(())
}
