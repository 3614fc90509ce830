//! Load harness for `thinktee proxy` beside nginx (run by hand:
//! `scripts/load.sh`, which installs nginx and builds everything).
//!
//! One timestamping SSE upstream runs in this process, on loopback: every
//! stream is a role chunk and then N deltas at a fixed pace (the method of
//! published streaming gateway benchmarks), then `[DONE]`; every chunk
//! carries the moment it was handed to hyper (`"t"`, ns on this process's
//! clock), so the client here measures each chunk's latency exactly. The
//! same streams are read, in every round, along five paths:
//!
//! - **direct**: the client to the upstream;
//! - **relay**: this binary as a bare TCP relay (`thinktee-load relay`,
//!   tokio's `copy_bidirectional`, no HTTP): the floor for any forwarder;
//! - **nginx**: Debian's nginx from `benches/load/nginx.conf.template`
//!   (two workers, `proxy_buffering off`, HTTP/1.1 keep-alive upstream);
//! - **thinktee forwarding**: `thinktee proxy`, no transcripts, no OTel;
//! - **thinktee recording**: `thinktee proxy --transcripts DIR`.
//!
//! Every forwarder is a child process started once; its CPU (user plus
//! system, all threads, and for nginx the master and its workers) is read
//! from `/proc` around each of its runs and divided by the chunks the client
//! got through it. Rounds interleave the paths (each round starts one path
//! later), so a busy moment on this shared machine falls on every path in
//! turn; the ratios to nginx are taken within a round and reported as the
//! median and range over rounds.
//!
//! Per path and load: added time to first token (the first delta after the
//! role chunk), added latency per chunk, added inter-chunk gap (the gap
//! between two chunks as the client reads them), each at p50 and p99 and
//! "added" meaning this path's percentile minus direct's in the same round;
//! stalls (a gap over 10x the pace); streams completed; and how often the
//! upstream saw a request on a connection it had served before (the
//! forwarder's upstream pool reuse). Every loop is bounded in count and
//! time; only 127.0.0.1 is used.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
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

// === loads and options ===

/// One load: `streams` clients at once, each reading `repeat` streams one
/// after the other, each stream a role chunk and `deltas` deltas `pace`
/// apart.
#[derive(Clone)]
struct Load {
    name: &'static str,
    streams: usize,
    deltas: usize,
    pace: Duration,
    repeat: usize,
    /// Deltas in `reasoning_content` for their first half (an R1 stream).
    reasoning: bool,
}

fn loads() -> Vec<Load> {
    vec![
        Load {
            name: "a",
            streams: 1000,
            deltas: 64,
            pace: Duration::from_millis(200),
            repeat: 1,
            reasoning: false,
        },
        Load {
            name: "b",
            streams: 100,
            deltas: 64,
            pace: Duration::from_millis(20),
            repeat: 3,
            reasoning: false,
        },
        Load {
            name: "r1",
            streams: 100,
            deltas: 414,
            pace: Duration::from_millis(10),
            repeat: 1,
            reasoning: true,
        },
    ]
}

impl Load {
    fn describe(&self) -> String {
        let rate = 1.0 / self.pace.as_secs_f64();
        format!(
            "{} streams at once × {rate:.0} chunks/s (a role chunk + {} deltas {} ms apart{}{})",
            self.streams,
            self.deltas,
            self.pace.as_millis(),
            if self.reasoning { ", reasoning_content then content" } else { "" },
            if self.repeat > 1 {
                format!(", {} streams in turn per client", self.repeat)
            } else {
                String::new()
            },
        )
    }
}

struct Args {
    thinktee: PathBuf,
    nginx: PathBuf,
    loads: Vec<Load>,
    rounds: usize,
    scratch: PathBuf,
    /// Extra arguments for both thinktee proxies.
    proxy_args: Vec<String>,
    /// Harness on CPU 0, every forwarder on CPU 1.
    pin: bool,
}

/// The options, or `None` after printing help.
fn args() -> Result<Option<Args>, Error> {
    let mut args = Args {
        thinktee: PathBuf::from("target/release/thinktee"),
        nginx: PathBuf::from("/usr/sbin/nginx"),
        loads: loads(),
        rounds: 5,
        scratch: std::env::temp_dir().join(format!("thinktee-load-{}", std::process::id())),
        proxy_args: Vec::new(),
        pin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--thinktee" => args.thinktee = value()?.into(),
            "--nginx" => args.nginx = value()?.into(),
            "--loads" => {
                let names = value()?;
                let all = loads();
                args.loads = names
                    .split(',')
                    .map(|n| {
                        all.iter().find(|l| l.name == n).cloned().ok_or(format!("no load {n}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--rounds" => args.rounds = value()?.parse()?,
            "--scratch" => args.scratch = value()?.into(),
            "--proxy-arg" => args.proxy_args.push(value()?),
            "--pin" => args.pin = true,
            "-h" | "--help" => {
                println!(
                    "thinktee-load [--thinktee PATH] [--nginx PATH] [--loads a,b,r1] [--rounds N] \
                     [--scratch DIR] [--proxy-arg ARG]... [--pin]\n       \
                     thinktee-load relay --upstream HOST:PORT\n\nloads:"
                );
                for load in loads() {
                    println!("  {}: {}", load.name, load.describe());
                }
                return Ok(None);
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if args.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    Ok(Some(args))
}

// === the paths ===

const PATHS: [&str; 5] =
    ["direct", "bare TCP relay", "nginx", "thinktee forwarding", "thinktee recording"];
const DIRECT: usize = 0;
const NGINX: usize = 2;

/// The header telling the upstream which path a request came along.
const PATH_HEADER: &str = "x-load-path";

/// Per path: requests the upstream served, and how many of them were the
/// first on their connection.
static REQUESTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static FRESH: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

// === the timestamping upstream ===

/// A role chunk, `deltas` deltas `pace` apart, each stamped when handed to
/// hyper, then `[DONE]`.
struct StampBody {
    next: usize,
    deltas: usize,
    pace: Duration,
    reasoning: bool,
    sleep: Pin<Box<Sleep>>,
}

impl Body for StampBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.next > self.deltas + 1 {
            return Poll::Ready(None);
        }
        if self.next > 0 {
            ready!(self.sleep.as_mut().poll(cx));
            let deadline = tokio::time::Instant::now() + self.pace;
            self.sleep.as_mut().reset(deadline);
        }
        let i = self.next;
        self.next += 1;
        if i > self.deltas {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n")))));
        }
        // The stamp goes in the text, the one string that changes between a
        // stream's chunks as it does upstream: a stamp of its own elsewhere
        // would make every chunk differ outside its text, which defeats the
        // chunk parser's reuse of the previous parse (thinktee_chunk::Parser)
        // and made recording cost 11 % more instructions per chunk than
        // here (callgrind, scripts/load-profile.sh: 18,131 against 16,395).
        let field = match i {
            0 => r#""role":"assistant","content""#,
            _ if self.reasoning && i <= self.deltas / 2 => r#""reasoning_content""#,
            _ => r#""content""#,
        };
        let event = format!(
            "data: {{\"id\":\"load\",\"object\":\"chat.completion.chunk\",\"model\":\"stamp\",\"choices\":[{{\"index\":0,\"delta\":{{{field}:\"t={} \"}},\"finish_reason\":null}}]}}\n\n",
            now_ns()
        );
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(event)))))
    }
}

fn header_usize(req: &http::Request<Incoming>, name: &str) -> Option<usize> {
    req.headers().get(name)?.to_str().ok()?.parse().ok()
}

async fn stamp_upstream() -> Result<std::net::SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
                let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let fresh = first.swap(false, Ordering::Relaxed);
                    async move {
                        let path = header_usize(&req, PATH_HEADER).unwrap_or(DIRECT).min(4);
                        REQUESTS[path].fetch_add(1, Ordering::Relaxed);
                        if fresh {
                            FRESH[path].fetch_add(1, Ordering::Relaxed);
                        }
                        let deltas = header_usize(&req, "x-load-deltas").unwrap_or(64);
                        let pace = Duration::from_micros(
                            header_usize(&req, "x-load-pace-us").unwrap_or(20_000) as u64,
                        );
                        let reasoning = req.headers().contains_key("x-load-reasoning");
                        let _ = req.into_body().collect().await;
                        let body = StampBody {
                            next: 0,
                            deltas,
                            pace,
                            reasoning,
                            sleep: Box::pin(tokio::time::sleep(pace)),
                        };
                        let mut response = http::Response::new(body);
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("text/event-stream"),
                        );
                        Ok::<_, Infallible>(response)
                    }
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
static PIN_CHILDREN: OnceLock<&'static str> = OnceLock::new();

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
    PIN_CHILDREN.get_or_init(|| "1");
    Ok(())
}

fn command(program: &Path) -> Command {
    let mut command = match PIN_CHILDREN.get() {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpu]).arg(program);
            c
        }
        None => Command::new(program),
    };
    // Forwarding only means no OpenTelemetry: none from the environment.
    command
        .env("THINKTEE_LOG", "error")
        .env_remove("THINKTEE_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .stdin(Stdio::null());
    command
}

/// A forwarder: a child process (and, for nginx, its workers) and where it
/// listens.
struct Forwarder {
    child: Child,
    /// Every process whose CPU counts: the child, and nginx's workers.
    pids: Vec<u32>,
    addr: String,
}

impl Forwarder {
    /// A child that prints `http://ADDR` on its first line.
    fn start(mut command: Command) -> Result<Forwarder, Error> {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let addr = line.trim().strip_prefix("http://").ok_or("no address printed")?.to_owned();
        Ok(Forwarder { pids: vec![child.id()], child, addr })
    }

    /// nginx from the template, in `prefix`, in front of `upstream`.
    fn nginx(nginx: &Path, prefix: &Path, upstream: &str) -> Result<Forwarder, Error> {
        std::fs::create_dir_all(prefix)?;
        // A free port: nginx cannot report the one the OS picks for `:0`.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let user = String::from_utf8(Command::new("id").arg("-un").output()?.stdout)?;
        let template = include_str!("nginx.conf.template");
        let conf = template
            .replace("@PREFIX@", prefix.to_str().ok_or("scratch path")?)
            .replace("@USER@", user.trim())
            .replace("@LISTEN@", &addr)
            .replace("@UPSTREAM@", upstream);
        let conf_path = prefix.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let error_log = prefix.join("error.log");
        let mut command = command(nginx);
        command.arg("-p").arg(prefix).arg("-c").arg(&conf_path).arg("-e").arg(&error_log);
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let master = child.id();
        let mut workers = Vec::new();
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(&error_log).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {log}").into());
            }
            workers = children_of(master);
            if workers.len() >= 2 && std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if workers.len() < 2 {
            let _ = child.kill();
            let _ = child.wait();
            return Err("nginx did not start two workers within 10 s".into());
        }
        let mut pids = vec![master];
        pids.extend(workers);
        Ok(Forwarder { child, pids, addr })
    }

    /// User plus system CPU time so far of every process, in µs (from
    /// `/proc/PID/stat`, clock ticks of 10 ms).
    fn cpu_us(&self) -> u64 {
        self.pids.iter().map(|&pid| cpu_us(pid)).sum()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if self.pids.len() > 1 {
            // nginx: SIGTERM to the master ends its workers and then it (a
            // worker killed alone is respawned; SIGKILL on the master
            // orphans them). Up to 5 s, then SIGKILL to every process.
            let _ = Command::new("kill").arg(self.child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            for &pid in &self.pids[1..] {
                if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fields after a `/proc/PID/stat` line's command name.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().map(str::to_owned).collect()
}

fn cpu_us(pid: u32) -> u64 {
    let fields = stat_fields(pid);
    // utime and stime are the 14th and 15th fields of the whole line.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10_000
}

/// Voluntary and involuntary context switches so far of every thread of
/// `pid`.
fn context_switches(pid: u32) -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return (0, 0) };
    let mut sum = (0, 0);
    for task in tasks.filter_map(Result::ok) {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            let field = |name: &str, to: &mut u64| {
                if let Some(n) = line.strip_prefix(name) {
                    *to += n.trim().parse::<u64>().unwrap_or(0);
                }
            };
            field("voluntary_ctxt_switches:", &mut sum.0);
            field("nonvoluntary_ctxt_switches:", &mut sum.1);
        }
    }
    sum
}

/// One load read through `proxy` by the client (as path 3), under
/// `strace -c -f` when `strace` names its output: "chunks N ok N failed N
/// stalled N voluntary N involuntary N cpu_us N" (switches and CPU over the
/// load, every process of the forwarder).
async fn counted(proxy: &Forwarder, strace: Option<&Path>, load: &Load) -> Result<String, Error> {
    let mut tracer = match strace {
        Some(out) => {
            let mut c = Command::new("strace");
            c.args(["-c", "-f", "-o"]).arg(out);
            for pid in &proxy.pids {
                c.arg("-p").arg(pid.to_string());
            }
            let child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
            // strace stops each thread to attach: let it finish first.
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            Some(child)
        }
        None => None,
    };
    let switches = || {
        proxy.pids.iter().map(|&p| context_switches(p)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let (before, cpu_before) = (switches(), proxy.cpu_us());
    let client = client();
    let r = run(&client, &proxy.addr, 3, load, load.pace).await;
    let (after, cpu_after) = (switches(), proxy.cpu_us());
    if let Some(mut tracer) = tracer.take() {
        let _ = Command::new("kill").args(["-INT", &tracer.id().to_string()]).status();
        tracer.wait()?;
    }
    Ok(format!(
        "chunks {} ok {} failed {} stalled {} voluntary {} involuntary {} cpu_us {}",
        r.chunks,
        r.ok,
        r.failed,
        r.stalled,
        after.0 - before.0,
        after.1 - before.1,
        cpu_after - cpu_before
    ))
}

/// The processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat_fields(pid).get(1).and_then(|p| p.parse().ok()) == Some(parent))
        .collect()
}

// === the client ===

/// What one path's run of one load measured.
#[derive(Default)]
struct Run {
    /// Time to first token (the first delta after the role chunk), ns.
    ttft: Vec<u64>,
    /// Latency per chunk, from the upstream handing it over to reading it.
    latency: Vec<u64>,
    /// Gaps between two chunks as read.
    gaps: Vec<u64>,
    ok: usize,
    failed: usize,
    /// Streams with a gap over 10x the pace.
    stalled: usize,
    /// Chunks read (role and deltas).
    chunks: u64,
    /// The forwarder's CPU during the run, µs.
    cpu_us: u64,
}

async fn run(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: &str,
    path: usize,
    load: &Load,
    spread: Duration,
) -> Run {
    let limit = load.pace * (load.deltas as u32 + 2) * load.repeat as u32 + Duration::from_secs(60);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..load.streams {
        let client = client.clone();
        let url = format!("http://{addr}/v1/chat/completions");
        let offset = spread.mul_f64(i as f64 / load.streams.max(1) as f64);
        let load = load.clone();
        tasks.spawn(async move {
            tokio::time::sleep(offset).await;
            let mut streams = Vec::new();
            for _ in 0..load.repeat {
                let one = tokio::time::timeout(limit, one(&client, &url, path, &load));
                streams.push(one.await.ok().flatten());
            }
            streams
        });
    }
    let mut run = Run::default();
    while let Some(result) = tasks.join_next().await {
        for stream in result.unwrap_or_default() {
            let Some(stream) = stream else {
                run.failed += 1;
                continue;
            };
            run.ok += 1;
            run.chunks += stream.latency.len() as u64;
            let stall = load.pace.as_nanos() as u64 * 10;
            if stream.gaps.iter().any(|&g| g > stall) {
                run.stalled += 1;
            }
            run.ttft.push(stream.ttft);
            run.latency.extend(stream.latency);
            run.gaps.extend(stream.gaps);
        }
    }
    run.failed += load.streams * load.repeat - run.ok - run.failed;
    run
}

struct Stream {
    ttft: u64,
    latency: Vec<u64>,
    gaps: Vec<u64>,
}

/// One stream, read to its end.
async fn one(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    path: usize,
    load: &Load,
) -> Option<Stream> {
    let body = r#"{"model":"load","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut req = http::Request::post(url)
        .header("content-type", "application/json")
        .header(PATH_HEADER, path)
        .header("x-load-deltas", load.deltas)
        .header("x-load-pace-us", load.pace.as_micros() as u64)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .ok()?;
    if load.reasoning {
        req.headers_mut().insert("x-load-reasoning", http::HeaderValue::from_static("1"));
    }
    let sent = now_ns();
    let response = client.request(req).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = response.into_body();
    let mut buf = Vec::new();
    let (mut ttft, mut last, mut done) = (None, None, false);
    let mut latency = Vec::with_capacity(load.deltas + 1);
    let mut gaps = Vec::with_capacity(load.deltas);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else { continue };
        let at = now_ns();
        buf.extend_from_slice(&data);
        let mut start = 0;
        while let Some(end) = buf[start..].windows(2).position(|w| w == b"\n\n") {
            let event = &buf[start..start + end];
            start += end + 2;
            let Some(t) = stamp(event) else {
                done |= event == b"data: [DONE]";
                continue;
            };
            latency.push(at.saturating_sub(t));
            if let Some(last) = last {
                gaps.push(at - last);
            }
            last = Some(at);
            if latency.len() == 2 {
                ttft = Some(at - sent);
            }
        }
        buf.drain(..start);
    }
    (done && latency.len() == load.deltas + 1).then(|| Stream {
        ttft: ttft.unwrap_or(0),
        latency,
        gaps,
    })
}

fn stamp(event: &[u8]) -> Option<u64> {
    let at = event.windows(3).position(|w| w == b"\"t=")? + 3;
    let digits = event[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&event[at..at + digits]).ok()?.parse().ok()
}

// === figures ===

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A run's percentiles, ns: (ttft, latency, gap) × (p50, p99).
struct Percentiles([[u64; 2]; 3]);

fn percentiles(run: &mut Run) -> Percentiles {
    let mut out = [[0; 2]; 3];
    for (i, v) in [&mut run.ttft, &mut run.latency, &mut run.gaps].into_iter().enumerate() {
        v.sort_unstable();
        out[i] = [pct(v, 0.5), pct(v, 0.99)];
    }
    Percentiles(out)
}

/// Median and range of `values` (sorted in place).
fn spread(values: &mut [f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
    Some((median, values[0], values[n - 1]))
}

fn show(s: Option<(f64, f64, f64)>, digits: usize, suffix: &str) -> String {
    match s {
        Some((m, lo, hi)) => {
            format!("{m:.digits$}{suffix} ({lo:.digits$}–{hi:.digits$})")
        }
        None => String::new(),
    }
}

/// Everything measured of one path at one load, over the rounds.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    stalled: usize,
    chunks: u64,
    /// CPU per chunk, µs, per round.
    cpu: Vec<f64>,
    /// CPU per chunk over nginx's in the same round.
    ratio: Vec<f64>,
    /// Per round: this path's percentiles, and minus direct's (µs).
    absolute: Vec<[[f64; 2]; 3]>,
    added: Vec<[[f64; 2]; 3]>,
    requests: u64,
    fresh: u64,
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        // Idle connections outlive the gap between two rounds of a path
        // (nginx's template and thinktee are set alike).
        .pool_idle_timeout(Duration::from_secs(600))
        .build(http)
}

fn print_table(load: &Load, tallies: &[Tally]) {
    println!("\n### {}\n", load.describe());
    println!(
        "| path | streams ok/failed | stalled | chunks | CPU per chunk (µs) | × nginx | TTFT p50 | TTFT p99 | per chunk p50 | per chunk p99 | gap p50 | gap p99 | upstream conns reused |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (path, tally) in tallies.iter().enumerate() {
        let (figures, sign) =
            if path == DIRECT { (&tally.absolute, "") } else { (&tally.added, "+") };
        let column = |i: usize, j: usize| {
            let mut v: Vec<f64> = figures.iter().map(|f| f[i][j]).collect();
            match spread(&mut v) {
                Some((m, _, _)) if sign == "+" => format!("{m:+.0}"),
                Some((m, _, _)) => format!("{m:.0}"),
                None => String::new(),
            }
        };
        let reuse = if tally.requests == 0 {
            String::new()
        } else {
            format!("{:.1} %", 100.0 * (1.0 - tally.fresh as f64 / tally.requests as f64))
        };
        println!(
            "| {}{} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {reuse} |",
            PATHS[path],
            if path == DIRECT { " (absolute)" } else { " (added)" },
            tally.ok,
            tally.failed,
            tally.stalled,
            tally.chunks,
            show(spread(&mut tally.cpu.clone()), 1, ""),
            if path == DIRECT {
                String::new()
            } else {
                show(spread(&mut tally.ratio.clone()), 2, "x")
            },
            column(0, 0),
            column(0, 1),
            column(1, 0),
            column(1, 1),
            column(2, 0),
            column(2, 1),
        );
    }
    let direct_stalls = tallies[DIRECT].stalled;
    println!(
        "\nCarried: {} (the direct run {}).",
        if direct_stalls == 0 && tallies[DIRECT].failed == 0 { "yes" } else { "**no**" },
        if direct_stalls == 0 {
            "had no stall".to_owned()
        } else {
            format!("had {direct_stalls} stalled streams")
        }
    );
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
    if std::env::args().nth(1).as_deref() == Some("once") {
        return once(std::env::args().skip(2).collect()).await;
    }
    let Some(args) = args()? else { return Ok(()) };
    if args.pin {
        pin()?;
    }
    now_ns();
    std::fs::create_dir_all(&args.scratch)?;
    let upstream = stamp_upstream().await?.to_string();
    let upstream_url = format!("http://{upstream}");

    let relay = {
        let mut c = command(&std::env::current_exe()?);
        c.args(["relay", "--upstream", &upstream]);
        Forwarder::start(c)?
    };
    let nginx = Forwarder::nginx(&args.nginx, &args.scratch.join("nginx"), &upstream)?;
    let thinktee = |transcripts: Option<&Path>| -> Result<Forwarder, Error> {
        let mut c = command(&args.thinktee);
        c.args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &upstream_url]);
        c.args(["--client-idle-timeout-s", "600"]);
        c.args(&args.proxy_args);
        if let Some(dir) = transcripts {
            c.arg("--transcripts").arg(dir);
        }
        Forwarder::start(c)
    };
    let forwarding = thinktee(None)?;
    let recording = thinktee(Some(&args.scratch.join("transcripts")))?;
    let forwarders: [Option<&Forwarder>; 5] =
        [None, Some(&relay), Some(&nginx), Some(&forwarding), Some(&recording)];
    let addr = |path: usize| forwarders[path].map_or(upstream.as_str(), |f| f.addr.as_str());

    let client = client();
    // Warm every path up (connections, allocators, page cache).
    let warm = Load {
        name: "warm",
        streams: 20,
        deltas: 5,
        pace: Duration::from_millis(10),
        repeat: 1,
        reasoning: false,
    };
    for path in 0..PATHS.len() {
        run(&client, addr(path), path, &warm, warm.pace).await;
    }

    println!(
        "## thinktee proxy beside nginx ({} rounds, paths interleaved, loopback, {} cores{})\n",
        args.rounds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if args.pin { ", harness on CPU 0, forwarders on CPU 1" } else { "" },
    );
    println!(
        "CPU per chunk: the forwarder's user+system CPU (nginx: master and workers) over the chunks read through it, median (range) over rounds; × nginx: that over nginx's in the same round. Latencies in µs: direct's absolute, the others added (their percentile minus direct's in the same round), median over rounds. TTFT: request sent to the first delta read. Per chunk: upstream handing the chunk over to the client reading it. Gap: between two chunks as read. Stalled: streams with a gap over 10x the pace. Upstream conns reused: requests the upstream saw on a connection it had served before."
    );
    for load in &args.loads {
        let mut tallies: Vec<Tally> = (0..PATHS.len()).map(|_| Tally::default()).collect();
        for round in 0..args.rounds {
            let mut runs: Vec<Option<Run>> = (0..PATHS.len()).map(|_| None).collect();
            for k in 0..PATHS.len() {
                let path = (round + k) % PATHS.len();
                let requests = REQUESTS[path].load(Ordering::Relaxed);
                let fresh = FRESH[path].load(Ordering::Relaxed);
                let before = forwarders[path].map_or(0, Forwarder::cpu_us);
                let mut r = run(&client, addr(path), path, load, load.pace).await;
                r.cpu_us = forwarders[path].map_or(0, Forwarder::cpu_us) - before;
                tallies[path].requests += REQUESTS[path].load(Ordering::Relaxed) - requests;
                tallies[path].fresh += FRESH[path].load(Ordering::Relaxed) - fresh;
                runs[path] = Some(r);
                eprintln!("load {} round {} {}: done", load.name, round + 1, PATHS[path]);
            }
            let mut runs: Vec<Run> = runs.into_iter().map(Option::unwrap_or_default).collect();
            let pcts: Vec<Percentiles> = runs.iter_mut().map(percentiles).collect();
            let per_chunk = |r: &Run| r.cpu_us as f64 / r.chunks.max(1) as f64;
            let nginx_cpu = per_chunk(&runs[NGINX]);
            for (path, r) in runs.iter().enumerate() {
                let tally = &mut tallies[path];
                tally.ok += r.ok;
                tally.failed += r.failed;
                tally.stalled += r.stalled;
                tally.chunks += r.chunks;
                let us = |ns: u64| ns as f64 / 1000.0;
                let mut absolute = [[0.0; 2]; 3];
                let mut added = [[0.0; 2]; 3];
                for i in 0..3 {
                    for j in 0..2 {
                        absolute[i][j] = us(pcts[path].0[i][j]);
                        added[i][j] = us(pcts[path].0[i][j]) - us(pcts[DIRECT].0[i][j]);
                    }
                }
                tally.absolute.push(absolute);
                if path != DIRECT {
                    tally.added.push(added);
                    tally.cpu.push(per_chunk(r));
                    if nginx_cpu > 0.0 {
                        tally.ratio.push(per_chunk(r) / nginx_cpu);
                    }
                }
            }
        }
        print_table(load, &tallies);
    }
    drop((relay, nginx, forwarding, recording));
    let _ = std::fs::remove_dir_all(&args.scratch);
    Ok(())
}

/// `thinktee-load once --thinktee PATH [--transcripts DIR] --streams N
/// --deltas N --pace-ms N [--wrap 'CMD ARGS'] [--proxy-arg ARG]...`: one
/// load through one `thinktee proxy` (started under `--wrap`, e.g.
/// `valgrind --tool=callgrind` or `perf record`), then SIGINT to it and a
/// wait for it to exit (so a wrapper writes its profile). Prints the chunks
/// read, the stalls and failures (for scripts/load-profile.sh).
///
/// For scripts/load-count.sh: `--nginx PATH` reads the load through nginx
/// (from the template) instead of thinktee; `--strace FILE` attaches
/// `strace -c -f` to the forwarder's processes once it listens and detaches
/// it when the load is read (start-up and shutdown are not counted), its
/// table in FILE; and every run prints the forwarder's context switches
/// (voluntary, involuntary; all threads, from `/proc/PID/task/*/status`)
/// over the load.
async fn once(argv: Vec<String>) -> Result<(), Error> {
    let (mut thinktee, mut transcripts, mut wrap) = (None, None, String::new());
    let (mut nginx, mut strace) = (None::<PathBuf>, None::<PathBuf>);
    let mut load = Load {
        name: "once",
        streams: 10,
        deltas: 64,
        pace: Duration::from_millis(50),
        repeat: 1,
        reasoning: false,
    };
    let mut proxy_args = Vec::new();
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--thinktee" => thinktee = Some(PathBuf::from(value()?)),
            "--transcripts" => transcripts = Some(PathBuf::from(value()?)),
            "--wrap" => wrap = value()?,
            "--streams" => load.streams = value()?.parse()?,
            "--deltas" => load.deltas = value()?.parse()?,
            "--pace-ms" => load.pace = Duration::from_millis(value()?.parse()?),
            "--proxy-arg" => proxy_args.push(value()?),
            "--nginx" => nginx = Some(PathBuf::from(value()?)),
            "--strace" => strace = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let upstream = format!("http://{}", stamp_upstream().await?);
    if let Some(nginx) = nginx {
        let scratch =
            std::env::temp_dir().join(format!("thinktee-load-once-{}", std::process::id()));
        let proxy = Forwarder::nginx(&nginx, &scratch, upstream.trim_start_matches("http://"))?;
        let r = counted(&proxy, strace.as_deref(), &load).await?;
        println!("{r}");
        drop(proxy);
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    let thinktee = thinktee.ok_or("--thinktee is needed")?;
    let mut words = wrap.split_whitespace();
    let mut c = match words.next() {
        Some(program) => {
            let mut c = command(Path::new(program));
            c.args(words).arg(&thinktee);
            c
        }
        None => command(&thinktee),
    };
    c.args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &upstream]).args(&proxy_args);
    if let Some(dir) = &transcripts {
        c.arg("--transcripts").arg(dir);
    }
    let mut proxy = Forwarder::start(c)?;
    let r = counted(&proxy, strace.as_deref(), &load).await?;
    println!("{r}");
    let _ = Command::new("kill").args(["-INT", &proxy.child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(120);
    while proxy.child.try_wait()?.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
