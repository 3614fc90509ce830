//! Logs on stderr, for a person at a terminal or for a log shipper.
//!
//! - `THINKTEE_LOG` (else `RUST_LOG`) sets the filter, in the
//!   `tracing-subscriber` `EnvFilter` syntax: `warn` (the default), `info`,
//!   `thinktee_proxy=debug,warn`, ...
//! - `--log-format text` (the default) writes a line per event, coloured
//!   only when stderr is a terminal and `NO_COLOR` is not set;
//!   `--log-format json` writes one JSON object per line, never coloured.
//! - The operator's lines (the address the proxy listens on, shutdown
//!   progress, warnings: [`say!`]) are printed as they are in text mode and
//!   are JSON events too in JSON mode, whatever the filter, so that every
//!   stderr line parses.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// `--log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One line per event, for people; coloured only on a terminal.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`
    /// with `message`, `span`, `spans`), for log shippers.
    Json,
}

/// The target of the operator's lines in JSON mode.
pub(crate) const SAY_TARGET: &str = "thinktee::say";

/// The filter used when neither `THINKTEE_LOG` nor `RUST_LOG` is set.
const DEFAULT_FILTER: &str = "warn";

/// Whether the operator's lines are JSON events.
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the subscriber (once; later calls do nothing).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("THINKTEE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_writer(io::stderr);
    let installed = match format {
        LogFormat::Text => builder.with_env_filter(filter).with_ansi(colour()).try_init(),
        LogFormat::Json => {
            let say = format!("{SAY_TARGET}=info").parse().expect("a valid directive");
            builder.json().with_env_filter(filter.add_directive(say)).with_ansi(false).try_init()
        }
    };
    if installed.is_ok() {
        JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    }
}

/// Colour codes only for a person: stderr is a terminal, and `NO_COLOR`
/// (<https://no-color.org>) is unset or empty.
fn colour() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints one of the operator's lines (use [`say!`]).
pub(crate) fn print_line(level: tracing::Level, line: fmt::Arguments<'_>) {
    if !JSON.load(Ordering::Relaxed) {
        // A closed stderr loses the line; nothing better can be done with it.
        let _ = writeln!(io::stderr(), "{line}");
    } else if level == tracing::Level::ERROR {
        tracing::error!(target: SAY_TARGET, "{line}");
    } else if level == tracing::Level::WARN {
        tracing::warn!(target: SAY_TARGET, "{line}");
    } else {
        tracing::info!(target: SAY_TARGET, "{line}");
    }
}

/// One of the operator's lines on stderr: as written in text mode, a JSON
/// event (INFO, or the level given first) in JSON mode.
///
/// `say!("thinktee proxy: listening")`, `say!(warn: "...")`,
/// `say!(error: "...")`.
macro_rules! say {
    (warn: $($arg:tt)*) => { $crate::logging::print_line(::tracing::Level::WARN, format_args!($($arg)*)) };
    (error: $($arg:tt)*) => { $crate::logging::print_line(::tracing::Level::ERROR, format_args!($($arg)*)) };
    ($($arg:tt)*) => { $crate::logging::print_line(::tracing::Level::INFO, format_args!($($arg)*)) };
}
pub(crate) use say;
