//! `thinktee`: split reasoning-model streams into thinking and answer,
//! record transcripts and metrics, replay and proxy.
#![forbid(unsafe_code)]

mod analyze;
mod demo;
mod events;
mod export;
mod files;
mod input;
mod listen;
mod proxy;
mod query;
mod replay;
mod select;
mod split;
mod term;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stream-processing reasoning parser for OpenAI-compatible chat streams.
#[derive(Debug, Parser)]
#[command(name = "thinktee", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Split recorded streams into reasoning and answer, per choice.
    Split(split::Args),
    /// Print each dispatched SSE event as one JSON line.
    Events(events::Args),
    /// Summarize recordings and transcripts: sizes, tokens, timings, filters, outcomes.
    Analyze(analyze::Args),
    /// Write the streams table (one row per choice of each stream) as
    /// Parquet or CSV files that DuckDB, Spark, Trino, ClickHouse, BigQuery
    /// and DataFusion read.
    Export(export::Args),
    /// SQL over the streams table, from exported directories, recordings
    /// or transcripts (with the `sql` feature: embedded Apache DataFusion).
    Query(query::Args),
    /// Run the whole pipeline on the bundled recordings (no network) and summarize.
    Demo(demo::Args),
    /// Transparent recording reverse proxy in front of an OpenAI-compatible endpoint.
    Proxy(proxy::Args),
    /// Serve recorded streams as an OpenAI-compatible endpoint (tests, demos, load).
    Replay(replay::Args),
}

/// What a command reports to `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything parsed cleanly.
    Clean,
    /// Some input had errors; everything readable was printed.
    HadErrors,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_tracing();
    let result = match cli.command {
        Command::Split(args) => split::run(args),
        Command::Events(args) => events::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Export(args) => export::run(args),
        Command::Query(args) => query::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Replay(args) => replay::run(args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::HadErrors) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "thinktee: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A closed pipe (`thinktee split … | head -1`) ends the run quietly:
/// whoever read the output has what they wanted.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = Some(io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().map(io::Error::kind) == broken
            || c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

/// Logs go to stderr; `THINKTEE_LOG` (or `RUST_LOG`) sets the filter.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("THINKTEE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).try_init();
}

/// Unit tests count allocations and live bytes (the analyze memory test).
#[cfg(test)]
#[global_allocator]
static ALLOC: thinktee_testkit::CountingAlloc = thinktee_testkit::CountingAlloc;
