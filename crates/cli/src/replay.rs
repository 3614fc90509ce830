//! `thinktee replay`: an OpenAI-compatible upstream serving recordings.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use thinktee_proxy::replay::{Replay, load_all};

use crate::Outcome;
use crate::listen::{Limits, Signals, serve_until_signalled, warn_if_exposed};

/// `thinktee replay [--listen ADDR] [--chunk-delay-ms N] PATH...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (port 0 picks a free one; the bound address is
    /// printed on stdout as `http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Pause between two events of a stream, in milliseconds (a plain
    /// `.sse` recording has no timings of its own).
    #[arg(long, value_name = "N", default_value_t = 0)]
    chunk_delay_ms: u64,
    #[command(flatten)]
    limits: Limits,
    /// Recordings: `.sse` captures, `.json` bodies, or directories of them
    /// (served round-robin, or by the `x-thinktee-fixture: <stem>` header).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    warn_if_exposed("replay", args.listen);
    let fixtures = load_all(&args.paths).context("cannot load recordings")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let signals = Signals::listen().context("cannot listen for signals")?;
        let count = fixtures.len();
        let replay = Replay::new(fixtures)?
            .chunk_delay(Duration::from_millis(args.chunk_delay_ms))
            .client_idle_timeout(args.limits.client_idle_timeout());
        let server = args.limits.limit(replay.bind(args.listen).await?);
        let addr = server.local_addr();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{addr}")?;
        stdout.flush()?;
        crate::logging::say!(
            "thinktee replay: serving {count} recordings on http://{addr} (Ctrl-C stops)"
        );
        serve_until_signalled(server, &signals, || {}).await?;
        Ok(Outcome::Clean)
    })
}
