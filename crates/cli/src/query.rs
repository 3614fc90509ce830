//! `thinktee query`: SQL over the `streams` table on embedded Apache
//! DataFusion (the `sql` feature), from exported directories, recordings
//! or transcripts alike: the latter are exported to a temporary directory
//! first, so memory stays bounded by the export's batches and DataFusion's
//! own limits.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use thinktee_export::MANIFEST_DIR;
use thinktee_query::VIEWS;

use crate::Outcome;

/// Output format of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// An aligned table (the default on a terminal).
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row (the default otherwise).
    Json,
}

/// `thinktee query [--format table|csv|json] SQL PATH...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Print the named views (their SQL runs on DuckDB too) and exit.
    #[arg(long)]
    list_views: bool,
    /// The query, over the table `streams` and the named views.
    #[arg(required_unless_present = "list_views", value_name = "SQL")]
    sql: Option<String>,
    /// Directories written by `thinktee export`, or recordings and
    /// transcripts (exported to a temporary directory first).
    #[arg(required_unless_present = "list_views", value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let mut out = BufWriter::new(stdout.lock());
    if args.list_views {
        for v in VIEWS {
            writeln!(out, "-- {}: {}\n{};\n", v.name, v.doc, v.sql)?;
        }
        out.flush()?;
        return Ok(Outcome::Clean);
    }
    let format = args.format.unwrap_or(if terminal { Format::Table } else { Format::Json });
    let sql = args.sql.unwrap_or_default();
    engine::run(&sql, &args.paths, format, &mut out)
}

/// Whether `path` is a directory `thinktee export` wrote (or any directory
/// of Parquet files in Hive layout).
fn is_table_dir(path: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(path) else { return false };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == MANIFEST_DIR || name.starts_with("date=") || name.ends_with(".parquet")
    })
}

#[cfg(not(feature = "sql"))]
mod engine {
    use super::*;

    pub(super) fn run(
        _sql: &str,
        _paths: &[PathBuf],
        _format: Format,
        _out: &mut dyn Write,
    ) -> anyhow::Result<Outcome> {
        let _ = is_table_dir;
        anyhow::bail!(
            "this thinktee was built without SQL: `cargo install --path crates/cli --features sql` \
             builds it with Apache DataFusion (Rust 1.94 or newer; about 10 minutes on two cores). \
             Meanwhile the exported files answer the same SQL on DuckDB \
             (`thinktee query --list-views` prints the views)"
        )
    }
}

#[cfg(feature = "sql")]
mod engine {
    use thinktee_export::Options;
    use thinktee_query::Output;

    use super::*;
    use crate::select::SelectArgs;

    /// A temporary export, removed when dropped.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(super) fn run(
        sql: &str,
        paths: &[PathBuf],
        format: Format,
        out: &mut dyn Write,
    ) -> anyhow::Result<Outcome> {
        let (mut dirs, raw): (Vec<PathBuf>, Vec<PathBuf>) =
            paths.iter().cloned().partition(|p| is_table_dir(p));
        let mut outcome = Outcome::Clean;
        let _scratch = if raw.is_empty() {
            None
        } else {
            let dir = std::env::temp_dir()
                .join(format!("thinktee-query-{}", thinktee_export::new_export_id()));
            let scratch = Scratch(dir.clone());
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            let select = SelectArgs::default().select();
            let done = crate::export::export(
                &raw,
                &dir,
                Options::default(),
                &thinktee_pipeline::SplitterConfig::default(),
                &select,
                workers,
            )?;
            if done.malformed > 0 {
                outcome = Outcome::HadErrors;
            }
            dirs.push(dir);
            Some(scratch)
        };
        let output = match format {
            Format::Table => Output::Table,
            Format::Csv => Output::Csv,
            Format::Json => Output::Json,
        };
        thinktee_query::run(sql, &dirs, output, out)?;
        out.flush()?;
        Ok(outcome)
    }
}
