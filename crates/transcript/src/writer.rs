//! The JSON Lines writer: buffered, flushed at stream ends, rotated by size.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::record::TranscriptRecord;

/// Default size at which [`JsonlWriter::create`] moves on to a new file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Size of the write buffer.
pub const WRITE_BUFFER_SIZE: usize = 64 * 1024;

/// What a [`JsonlWriter`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records written (handed to the buffer without error).
    pub records: u64,
    /// Bytes of those records, newlines included.
    pub bytes: u64,
    /// Files opened (1 without rotation).
    pub files: u64,
    /// Writes, flushes or rotations that failed.
    pub failures: u64,
}

/// How a file writer moves on to the next file.
#[derive(Debug)]
struct Rotation<W> {
    base: PathBuf,
    current: PathBuf,
    /// Number of the next rotated file.
    next: u64,
    max_file_bytes: u64,
    open: fn(&Path) -> io::Result<W>,
}

/// Writes [`TranscriptRecord`]s as JSON Lines, through a buffer.
///
/// Flushed at every stream end (see [`Output`](crate::Output)), on
/// [`flush`](JsonlWriter::flush) and on drop. A failure is logged (a
/// `tracing` error event), counted in [`WriterStats::failures`] and
/// returned; it never panics. After a failed write the next line starts
/// with a newline, so a half-written line stays alone on its line.
///
/// [`JsonlWriter::create`] writes files that rotate by size: `path` first,
/// then `<stem>-1.<ext>`, `<stem>-2.<ext>`, ... Rotation happens between
/// lines, so a line is never cut across files.
#[derive(Debug)]
pub struct JsonlWriter<W: Write> {
    out: BufWriter<W>,
    line: Vec<u8>,
    file_bytes: u64,
    rotation: Option<Rotation<W>>,
    /// The last write failed: start the next one on a new line.
    broken: bool,
    stats: WriterStats,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer to `inner`, never rotated.
    pub fn new(inner: W) -> JsonlWriter<W> {
        JsonlWriter {
            out: BufWriter::with_capacity(WRITE_BUFFER_SIZE, inner),
            line: Vec::new(),
            file_bytes: 0,
            rotation: None,
            broken: false,
            stats: WriterStats { files: 1, ..WriterStats::default() },
        }
    }

    /// What was written so far.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// The underlying writer, mutably (writing to it directly may mix
    /// with buffered lines: flush first).
    pub fn get_mut(&mut self) -> &mut W {
        self.out.get_mut()
    }

    /// Writes one record as one line (buffered: call
    /// [`flush`](JsonlWriter::flush) to push it out).
    pub fn write_record(&mut self, record: &TranscriptRecord) -> Result<(), Error> {
        self.line.clear();
        if self.broken {
            self.line.push(b'\n');
        }
        if let Err(e) = serde_json::to_writer(&mut self.line, record) {
            return Err(self.failed("serialize", e.into()));
        }
        self.line.push(b'\n');
        let len = self.line.len() as u64;
        if let Some(r) = &self.rotation
            && self.file_bytes > 0
            && self.file_bytes + len > r.max_file_bytes
        {
            self.rotate()?;
        }
        if let Err(e) = self.out.write_all(&self.line) {
            self.broken = true;
            return Err(self.failed("write", e.into()));
        }
        self.broken = false;
        self.file_bytes += len;
        self.stats.records += 1;
        self.stats.bytes += len;
        Ok(())
    }

    /// Pushes buffered lines to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(|e| {
            self.broken = true;
            self.failed("flush", e.into())
        })
    }

    fn failed(&mut self, what: &str, error: Error) -> Error {
        self.stats.failures += 1;
        tracing::error!(%error, failures = self.stats.failures, "transcript {what} failed");
        error
    }

    fn rotate(&mut self) -> Result<(), Error> {
        let Some(r) = &mut self.rotation else { return Ok(()) };
        let next = numbered(&r.base, r.next);
        let result = self.out.flush().and_then(|()| (r.open)(&next));
        match result {
            Ok(file) => {
                r.next += 1;
                r.current = next;
                // The old file is flushed: dropping its writer loses nothing.
                let _ = std::mem::replace(
                    &mut self.out,
                    BufWriter::with_capacity(WRITE_BUFFER_SIZE, file),
                );
                self.file_bytes = 0;
                self.stats.files += 1;
                tracing::debug!(path = %r.current.display(), "transcript rotated");
                Ok(())
            }
            Err(e) => Err(self.failed("rotation", e.into())),
        }
    }
}

impl JsonlWriter<File> {
    /// Appends to `path` (created with mode 0600 on unix if missing),
    /// moving on to `<stem>-<n>.<ext>` when a line would take the file past
    /// `max_file_bytes` ([`DEFAULT_MAX_FILE_BYTES`] is a good default).
    ///
    /// If rotated files from an earlier run exist, writing resumes in the
    /// highest-numbered one, so the files stay in order.
    pub fn create(path: impl Into<PathBuf>, max_file_bytes: u64) -> Result<Self, Error> {
        let base = path.into();
        let mut last = 0;
        while numbered(&base, last + 1).exists() {
            last += 1;
        }
        let current = numbered(&base, last);
        let file = open_private(&current)?;
        let file_bytes = file.metadata()?.len();
        let mut writer = JsonlWriter::new(file);
        writer.file_bytes = file_bytes;
        writer.rotation =
            Some(Rotation { base, current, next: last + 1, max_file_bytes, open: open_private });
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> Option<&Path> {
        self.rotation.as_ref().map(|r| r.current.as_path())
    }
}

impl<W: Write> Drop for JsonlWriter<W> {
    fn drop(&mut self) {
        // Errors are logged and counted by `flush`; nobody is left to tell.
        let _ = self.flush();
    }
}

/// `base` for 0, else `<stem>-<n>.<ext>` next to it.
fn numbered(base: &Path, n: u64) -> PathBuf {
    if n == 0 {
        return base.to_owned();
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    base.with_file_name(name)
}

/// [`OpenOptions`] that create files with mode 0600 on unix (readable by
/// their owner only: transcripts and captures hold prompts and answers).
/// Add `create`/`append`/`create_new` as needed.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens `path` for appending, creating it private if missing.
fn open_private(path: &Path) -> io::Result<File> {
    private_options().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_keep_the_extension() {
        let base = Path::new("/tmp/x/transcripts.jsonl");
        assert_eq!(numbered(base, 0), base);
        assert_eq!(numbered(base, 3), Path::new("/tmp/x/transcripts-3.jsonl"));
        assert_eq!(numbered(Path::new("t"), 1), Path::new("t-1"));
    }
}
