//! The proxy's transcript files: `--transcripts DIR` and how they rotate.
//!
//! `DIR/transcripts.jsonl` is the file being written. It is rotated when a
//! line would take it past `--transcripts-max-file-bytes`, at UTC midnight
//! (`--transcripts-rotate daily`, the default) and on `SIGUSR1`: renamed
//! `transcripts-<UTC time of its first line>.jsonl`, e.g.
//! `transcripts-2025-01-15T000003.117Z.jsonl`, then compressed to
//! `….jsonl.zst` on a thread of its own. The names sort in time order and
//! begin with the UTC date of their lines. `thinktee analyze DIR` reads
//! them all, compressed or not.
//!
//! For logrotate: move `transcripts.jsonl` away and send `SIGUSR1` (or
//! nothing: the writer notices before its next write); the moved file is
//! left alone. Everything is kept unless `--transcripts-keep N`: then only
//! the newest N rotated files named as above are kept; nothing else in the
//! directory is ever removed.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use thinktee_tee::{TRANSCRIPT_QUEUE, TranscriptWriter};
use thinktee_transcript::{DEFAULT_MAX_FILE_BYTES, JsonlWriter, Rotation};

/// Name of the file being written in `--transcripts DIR`.
pub(crate) const TRANSCRIPT_FILE: &str = "transcripts.jsonl";

/// When `--transcripts-rotate` starts a new file, besides size and SIGUSR1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RotateAt {
    /// Also at UTC midnight: each file holds one UTC date's lines.
    Daily,
    /// Only by size and on SIGUSR1.
    Size,
}

/// How transcript files rotate.
#[derive(Debug, clap::Args)]
pub(crate) struct RotationArgs {
    /// Start a new transcript file before a line would take the current one
    /// past this size (0: never by size).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES)]
    transcripts_max_file_bytes: u64,
    /// Also start a new transcript file at UTC midnight (daily), or only by
    /// size and on SIGUSR1 (size).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "daily")]
    transcripts_rotate: RotateAt,
    /// Keep only the newest N rotated transcript files (the ones this
    /// writer names `transcripts-<time>.jsonl[.zst]`; nothing else is
    /// removed). Default: keep everything.
    #[arg(long, value_name = "N")]
    transcripts_keep: Option<usize>,
}

impl RotationArgs {
    fn rotation(&self) -> Rotation {
        let max = match self.transcripts_max_file_bytes {
            0 => u64::MAX,
            n => n,
        };
        Rotation::new()
            .max_file_bytes(max)
            .daily(self.transcripts_rotate == RotateAt::Daily)
            .compress(true)
            .keep(self.transcripts_keep)
    }
}

/// Opens `dir/transcripts.jsonl` on a writer thread and, on unix, rotates
/// it on every SIGUSR1 (from a task on the current runtime).
pub(crate) fn open(
    dir: &Path,
    args: &RotationArgs,
) -> anyhow::Result<TranscriptWriter<JsonlWriter<File>>> {
    let path = dir.join(TRANSCRIPT_FILE);
    let file = JsonlWriter::with_rotation(&path, args.rotation())
        .with_context(|| format!("cannot open {}", path.display()))?;
    let writer = TranscriptWriter::spawn(file, TRANSCRIPT_QUEUE)?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut usr1 = signal(SignalKind::user_defined1()).context("cannot listen for SIGUSR1")?;
        let rotator = writer.rotator();
        tokio::spawn(async move {
            while usr1.recv().await.is_some() {
                tracing::info!("SIGUSR1: rotating the transcript");
                if !rotator.rotate() {
                    break;
                }
            }
        });
    }
    Ok(writer)
}

/// Without transcripts there is nothing to rotate, but a logrotate
/// `postrotate` that sends SIGUSR1 must not kill the proxy (the signal's
/// default action): it is logged and otherwise ignored.
pub(crate) fn ignore_rotation_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut usr1 = signal(SignalKind::user_defined1()).context("cannot listen for SIGUSR1")?;
        tokio::spawn(async move {
            while usr1.recv().await.is_some() {
                tracing::info!("SIGUSR1: no --transcripts, nothing to rotate");
            }
        });
    }
    Ok(())
}
