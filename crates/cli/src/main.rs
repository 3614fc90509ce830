//! `thinktee`: split reasoning-model streams into thinking and answer,
//! record transcripts and metrics, replay and proxy.
#![forbid(unsafe_code)]

mod about;
mod analyze;
mod demo;
mod environment;
mod events;
mod export;
mod files;
mod input;
mod listen;
mod logging;
mod ops;
mod prom;
mod proxy;
mod query;
mod replay;
mod report;
mod select;
mod split;
mod term;
mod transcripts;

use std::io;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::logging::LogFormat;

/// Stream-processing reasoning parser for OpenAI-compatible chat streams.
#[derive(Debug, Parser)]
#[command(
    name = "thinktee",
    version,
    long_version = about::LONG_VERSION,
    about,
    propagate_version = true,
    after_help = ENVIRONMENT_HELP
)]
struct Cli {
    /// Logs on stderr: text (coloured only on a terminal) or json (one
    /// object per line, for log shippers). THINKTEE_LOG (else RUST_LOG)
    /// filters them: warn by default, info, debug, or per crate as in
    /// `thinktee_proxy=debug,warn`.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "THINKTEE_LOG_FORMAT",
        hide_env_values = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The variables, below the top-level help.
const ENVIRONMENT_HELP: &str = "Environment:
  THINKTEE_LOG         log filter (EnvFilter syntax; default warn; RUST_LOG when unset)
  THINKTEE_LOG_FORMAT  --log-format
  THINKTEE_*           every flag of `proxy` (THINKTEE_UPSTREAM for --upstream, ...)
  THINKTEE_REPLAY_*    every flag of `replay` (THINKTEE_REPLAY_LISTEN for --listen, ...)
A flag on the command line wins over its variable; the proxy's OpenTelemetry
flags then fall back on the standard OTEL_* variables.";

#[derive(Debug, Subcommand)]
// Built once per run and moved once: the size of the proxy's flags costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Split recorded streams into reasoning and answer, per choice.
    Split(split::Args),
    /// Print each dispatched SSE event as one JSON line.
    Events(events::Args),
    /// Summarize recordings and transcripts: sizes, tokens, timings, filters, outcomes.
    Analyze(analyze::Args),
    /// Write one HTML page of charts for reasoning models: the thinking
    /// tax, thinking durations, reasoning share of tokens, outcomes,
    /// content filters, the slowest streams.
    Report(report::Args),
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
    Proxy(Box<proxy::Args>),
    /// Serve recorded streams as an OpenAI-compatible endpoint (tests, demos, load).
    Replay(replay::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(about::Args),
}

/// The command line as parsed: the derived definitions, with the variables
/// of `proxy` and `replay` ([`environment`]).
pub(crate) fn command() -> clap::Command {
    environment::with_variables(Cli::command())
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
    let cli = match command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Split(args) => split::run(args),
        Command::Events(args) => events::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Report(args) => report::run(args),
        Command::Export(args) => export::run(args),
        Command::Query(args) => query::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Proxy(args) => proxy::run(*args),
        Command::Replay(args) => replay::run(args),
        Command::Completions(args) => about::completions(args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::HadErrors) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            logging::say!(error: "thinktee: {e:#}");
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

/// Unit tests count allocations and live bytes (the analyze memory test).
#[cfg(test)]
#[global_allocator]
static ALLOC: thinktee_testkit::CountingAlloc = thinktee_testkit::CountingAlloc;
