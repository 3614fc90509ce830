//! The JSON Lines writer: buffered, flushed at stream ends, rotated by size.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::private::{Opened, open_append, private_dir};
use crate::record::TranscriptRecord;

/// Default size at which [`JsonlWriter::create`] moves on to a new file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Size of the write buffer: pending lines are written out when they pass
/// it, and at every flush.
pub const WRITE_BUFFER_SIZE: usize = 64 * 1024;

/// What a [`JsonlWriter`] has done so far.
///
/// Every record handed to [`JsonlWriter::write_record`] ends up counted
/// once, in `records` or in `lost`, when the write it waited for happens
/// (at the next flush, or when the buffer fills).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records written: the underlying writer took their whole line.
    pub records: u64,
    /// Bytes the underlying writer took (lines, the newlines that close
    /// torn lines, and the part of a line a failed write left).
    pub bytes: u64,
    /// Files opened (1 without rotation).
    pub files: u64,
    /// Writes, flushes, rotations and re-openings that failed.
    pub failures: u64,
    /// Records that could not be written: a failed write drops the lines it
    /// did not finish (they are never written later, so a record is either
    /// counted here or in `records`, never both).
    pub lost: u64,
    /// Lines found cut at the end of a file when it was opened (a crash or
    /// a full disk in an earlier run), or cut by a failed write. Each is
    /// closed by a newline before the next record, so it stays alone on
    /// its line.
    pub torn_lines: u64,
    /// Times the file was found removed or replaced (its directory deleted,
    /// the file moved away) and was opened anew at its path.
    pub reopened: u64,
}

/// How a file writer finds, checks and moves on to its files.
#[derive(Debug)]
struct Rotation<W> {
    base: PathBuf,
    current: PathBuf,
    /// Number of the next rotated file.
    next: u64,
    max_file_bytes: u64,
    open: fn(&Path) -> Result<Opened, Error>,
    /// Whether the open file is still the one at its path.
    still_there: fn(&W, &Path) -> bool,
    wrap: fn(File) -> W,
}

/// Writes [`TranscriptRecord`]s as JSON Lines, through a buffer.
///
/// Written out at every stream end (see [`Output`](crate::Output)), on
/// [`flush`](JsonlWriter::flush), on drop, and whenever more than
/// [`WRITE_BUFFER_SIZE`] bytes are pending. A failure is logged (a
/// `tracing` error event), counted in [`WriterStats`] and returned; it
/// never panics. A failed write loses the records it did not finish
/// ([`WriterStats::lost`]) and nothing else: the next write starts afresh
/// (after a newline if the failure cut a line), so when the disk has room
/// again, later records are written and counted as written.
///
/// [`JsonlWriter::create`] writes files that rotate by size: `path` first,
/// then `<stem>-1.<ext>`, `<stem>-2.<ext>`, ... Rotation happens between
/// lines, so a line is never cut across files. Before each write it checks
/// that the file is still the one at its path; when its directory was
/// removed or the file moved away, it logs an error and creates them anew
/// (records written after that land in the new file).
#[derive(Debug)]
pub struct JsonlWriter<W: Write> {
    inner: W,
    /// Whole lines not yet written, after `lead` newline bytes.
    pending: Vec<u8>,
    /// Records in `pending`.
    pending_records: u64,
    /// 1 when `pending` starts with a newline closing a torn line.
    lead: usize,
    line: Vec<u8>,
    file_bytes: u64,
    rotation: Option<Rotation<W>>,
    /// The output ends inside a line: start the next write with a newline.
    torn: bool,
    /// The file was found gone and that was logged; not logged again until
    /// it is back.
    gone_logged: bool,
    stats: WriterStats,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer to `inner`, never rotated.
    pub fn new(inner: W) -> JsonlWriter<W> {
        JsonlWriter {
            inner,
            // Its full size at once: it is emptied each time it passes it.
            pending: Vec::with_capacity(WRITE_BUFFER_SIZE),
            pending_records: 0,
            lead: 0,
            line: Vec::new(),
            file_bytes: 0,
            rotation: None,
            torn: false,
            gone_logged: false,
            stats: WriterStats { files: 1, ..WriterStats::default() },
        }
    }

    /// What was written so far.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer, mutably (writing to it directly may mix
    /// with buffered lines: flush first).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Writes one record as one line (buffered: call
    /// [`flush`](JsonlWriter::flush) to push it out). An `Err` here is a
    /// record that could not be serialized, or an earlier buffered write
    /// that failed now.
    pub fn write_record(&mut self, record: &TranscriptRecord) -> Result<(), Error> {
        self.line.clear();
        if let Err(e) = serde_json::to_writer(&mut self.line, record) {
            self.stats.lost += 1;
            return Err(self.failed("serialize", e.into()));
        }
        self.line.push(b'\n');
        let len = self.line.len() as u64;
        if let Some(r) = &self.rotation {
            let in_file = self.file_bytes + self.pending.len() as u64;
            if in_file > 0 && in_file + len > r.max_file_bytes {
                // The line goes to the next file: what is pending, to this one.
                if let Err(e) = self.write_pending().and_then(|()| self.rotate()) {
                    self.stats.lost += 1;
                    return Err(e);
                }
            }
        }
        if self.pending.is_empty() && self.torn {
            self.pending.push(b'\n');
            self.lead = 1;
        }
        self.pending.extend_from_slice(&self.line);
        self.pending_records += 1;
        if self.pending.len() > WRITE_BUFFER_SIZE {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the records of one stream and flushes them. At the first
    /// failure the stream's records not yet written are counted as lost
    /// too (none is tried after it), and the error is returned.
    pub fn write_stream_records(&mut self, records: &[TranscriptRecord]) -> Result<(), Error> {
        for (i, record) in records.iter().enumerate() {
            if let Err(e) = self.write_record(record) {
                self.stats.lost += (records.len() - i - 1) as u64;
                return Err(e);
            }
        }
        self.flush()
    }

    /// Writes pending lines to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.write_pending()?;
        self.inner.flush().map_err(|e| self.failed("flush", e.into()))
    }

    /// Hands the pending lines to the underlying writer, counting exactly
    /// which records it took whole.
    fn write_pending(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.check_file() {
            self.drop_pending(0);
            return Err(e);
        }
        let mut written = 0;
        let result = loop {
            if written == self.pending.len() {
                break Ok(());
            }
            match self.inner.write(&self.pending[written..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.stats.bytes += written as u64;
        self.file_bytes += written as u64;
        match result {
            Ok(()) => {
                self.stats.records += self.pending_records;
                self.torn = false;
                self.pending.clear();
                self.pending_records = 0;
                self.lead = 0;
                Ok(())
            }
            Err(e) => {
                self.drop_pending(written);
                Err(self.failed("write", e.into()))
            }
        }
    }

    /// A write took only `written` bytes of the pending ones: the whole
    /// lines among them were written, the others are lost.
    fn drop_pending(&mut self, written: usize) {
        let lead = self.lead.min(written);
        let done = &self.pending[lead..written];
        let whole = done.iter().filter(|&&b| b == b'\n').count() as u64;
        self.stats.records += whole;
        self.stats.lost += self.pending_records - whole;
        if written > self.lead {
            // Past the closing newline: the output now ends where the write
            // stopped, inside a line or at the end of one.
            let cut = !done.ends_with(b"\n");
            self.torn = cut;
            self.stats.torn_lines += u64::from(cut);
        }
        self.pending.clear();
        self.pending_records = 0;
        self.lead = 0;
    }

    fn failed(&mut self, what: &str, error: Error) -> Error {
        self.stats.failures += 1;
        tracing::error!(
            error = &error as &dyn std::error::Error,
            failures = self.stats.failures,
            lost = self.stats.lost,
            "transcript {what} failed"
        );
        error
    }

    /// Makes sure the file being written is still the one at its path;
    /// opens it anew (and its directory) when it is not.
    fn check_file(&mut self) -> Result<(), Error> {
        let Some(r) = &self.rotation else { return Ok(()) };
        if (r.still_there)(&self.inner, &r.current) {
            return Ok(());
        }
        if !self.gone_logged {
            tracing::error!(path = %r.current.display(), "transcript file removed or moved away while in use: creating it anew");
            self.gone_logged = true;
        }
        let current = r.current.clone();
        let reopened =
            current.parent().map_or(Ok(()), private_dir).and_then(|()| (r.open)(&current));
        match reopened {
            Ok(opened) => {
                let wrap = r.wrap;
                self.switch_to(wrap(opened.file), opened.len);
                self.report_torn(&current, opened.torn);
                // The newline that closed a torn line of the old file has
                // no place in the new one, unless it is torn too.
                if self.lead == 1 && !self.torn {
                    self.pending.remove(0);
                    self.lead = 0;
                } else if self.lead == 0 && self.torn {
                    self.pending.insert(0, b'\n');
                    self.lead = 1;
                }
                self.stats.reopened += 1;
                self.gone_logged = false;
                Ok(())
            }
            Err(e) => Err(self.failed("re-opening", e)),
        }
    }

    fn rotate(&mut self) -> Result<(), Error> {
        let Some(r) = &mut self.rotation else { return Ok(()) };
        let next = numbered(&r.base, r.next);
        if let Err(e) = self.inner.flush() {
            return Err(self.failed("rotation", e.into()));
        }
        match (r.open)(&next) {
            Ok(opened) => {
                r.next += 1;
                r.current = next.clone();
                let wrap = r.wrap;
                self.switch_to(wrap(opened.file), opened.len);
                self.report_torn(&next, opened.torn);
                self.stats.files += 1;
                tracing::debug!(path = %next.display(), "transcript rotated");
                Ok(())
            }
            Err(e) => Err(self.failed("rotation", e)),
        }
    }

    /// Writes go to `inner` from now on (the old one is flushed or gone).
    fn switch_to(&mut self, inner: W, len: u64) {
        self.inner = inner;
        self.file_bytes = len;
        self.torn = false;
    }

    /// A file that ends inside a line gets a newline before the next record.
    fn report_torn(&mut self, path: &Path, torn: u64) {
        if torn > 0 {
            tracing::warn!(
                path = %path.display(),
                fragment_bytes = torn,
                "transcript file ends in a torn line (an earlier crash or full disk): the next record starts on a new line"
            );
            self.torn = true;
            self.stats.torn_lines += 1;
        }
    }
}

impl JsonlWriter<File> {
    /// Appends to `path` (created with mode 0600 on unix if missing),
    /// moving on to `<stem>-<n>.<ext>` when a line would take the file past
    /// `max_file_bytes` ([`DEFAULT_MAX_FILE_BYTES`] is a good default).
    ///
    /// If rotated files from an earlier run exist, writing resumes in the
    /// highest-numbered one, so the files stay in order. A file that is a
    /// symbolic link or not a regular file is refused; one that others may
    /// read is tightened to 0600 if it is ours, else refused (see
    /// [`private_dir`](crate::private_dir) for directories). A file that
    /// ends in a torn line is reported (a warning naming the file and the
    /// fragment's length, [`WriterStats::torn_lines`]) and the next record
    /// starts on a new line.
    pub fn create(path: impl Into<PathBuf>, max_file_bytes: u64) -> Result<Self, Error> {
        let base = path.into();
        let mut last = 0;
        while std::fs::symlink_metadata(numbered(&base, last + 1)).is_ok() {
            last += 1;
        }
        let current = numbered(&base, last);
        let Opened { file, len, torn } = open_append(&current)?;
        let mut writer = JsonlWriter::new(file);
        writer.file_bytes = len;
        writer.rotation = Some(Rotation {
            base,
            current: current.clone(),
            next: last + 1,
            max_file_bytes,
            open: open_append,
            still_there: same_file,
            wrap: |file| file,
        });
        writer.report_torn(&current, torn);
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

/// Whether `file` is still the file at `path` (not removed, not replaced).
/// A path that cannot be checked for another reason counts as unchanged.
fn same_file(file: &File, path: &Path) -> bool {
    let at_path = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match file.metadata() {
            Ok(open) => {
                open.dev() == at_path.dev() && open.ino() == at_path.ino() && open.nlink() > 0
            }
            Err(_) => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, at_path);
        true
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
