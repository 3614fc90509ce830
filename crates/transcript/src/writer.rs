//! The JSON Lines writer: buffered, flushed at stream ends, rotated by
//! size, at UTC midnight and on demand.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::private::{Opened, open_append, private_dir};
use crate::record::TranscriptRecord;
use crate::rotate::{Background, Entry, Names, Rotation, day, taken, unix_ms, until_midnight};

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

/// How a file writer checks, rotates and reopens its file.
#[derive(Debug)]
struct Files<W> {
    /// The file being written, always at this path.
    path: PathBuf,
    names: Names,
    rotation: Rotation,
    /// When the first line of the open file was handed in (ms since the
    /// epoch); `None` while it has none.
    started: Option<u64>,
    /// The stamp of the newest rotated file: a new one gets a later one.
    last_stamp: Option<u64>,
    /// Compression and removal of rotated files, when asked for.
    background: Option<Background>,
    open: fn(&Path) -> Result<Opened, Error>,
    /// Whether the open file is still the one at its path.
    still_there: fn(&W, &Path) -> bool,
    wrap: fn(File) -> W,
}

impl<W> Files<W> {
    /// Whether a UTC day began since the first line of the file (and it
    /// rotates daily).
    fn new_day(&self, now: u64) -> bool {
        self.rotation.daily && self.started.is_some_and(|s| day(s) != day(now))
    }

    /// The stamp of the file being rotated: its start, later than any
    /// rotated before it, and free.
    fn next_stamp(&self, now: u64) -> u64 {
        let mut stamp = self.started.unwrap_or(now);
        if let Some(last) = self.last_stamp {
            stamp = stamp.max(last + 1);
        }
        while taken(&self.names, stamp) {
            stamp += 1;
        }
        stamp
    }
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
/// [`JsonlWriter::with_rotation`] (and [`JsonlWriter::create`]) write a
/// file that rotates: it is renamed `<stem>-<start>.<ext>` and a new one is
/// opened at its path, by size, at UTC midnight and on
/// [`rotate`](JsonlWriter::rotate); see [`Rotation`] and the
/// [`rotate`](crate::rotate) module for the names, compression and the
/// files kept. Rotation happens between lines, so a line is never cut
/// across files. Before each write it checks that the file is still the
/// one at its path; when its directory was removed or the file moved away
/// (logrotate), it logs an error and creates them anew (records written
/// after that land in the new file; the moved file is left alone).
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
    files: Option<Files<W>>,
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
            files: None,
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
        if let Some(f) = &self.files {
            let in_file = self.file_bytes + self.pending.len() as u64;
            let now = (f.rotation.daily || f.started.is_none()).then(|| f.rotation.now_ms());
            let full = in_file + len > f.rotation.max_file_bytes;
            if in_file > 0 && (full || now.is_some_and(|now| f.new_day(now))) {
                // The line goes to the next file: what is pending, to this one.
                let now = now.unwrap_or_else(|| f.rotation.now_ms());
                if let Err(e) = self.write_pending().and_then(|()| self.rotate_file(now)) {
                    self.stats.lost += 1;
                    return Err(e);
                }
            }
            if let Some(f) = self.files.as_mut().filter(|f| f.started.is_none()) {
                f.started = Some(now.unwrap_or_else(|| f.rotation.now_ms()));
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
        let Some(f) = &self.files else { return Ok(()) };
        if (f.still_there)(&self.inner, &f.path) {
            return Ok(());
        }
        if !self.gone_logged {
            tracing::error!(path = %f.path.display(), "transcript file removed or moved away while in use: creating it anew");
            self.gone_logged = true;
        }
        let path = f.path.clone();
        let reopened = path.parent().map_or(Ok(()), private_dir).and_then(|()| (f.open)(&path));
        match reopened {
            Ok(opened) => {
                self.switch_to(&path, opened);
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

    /// Renames the file (written out and flushed) to its rotated name,
    /// hands that to the background thread and opens a new file at the
    /// path. A file moved away meanwhile is not renamed (it is whoever
    /// moved it's): a new one is opened, as before any write.
    fn rotate_file(&mut self, now: u64) -> Result<(), Error> {
        if self.files.is_none() {
            return Ok(());
        }
        if let Err(e) = self.inner.flush() {
            return Err(self.failed("rotation", e.into()));
        }
        let Some(f) = &mut self.files else { return Ok(()) };
        if !(f.still_there)(&self.inner, &f.path) {
            return self.check_file();
        }
        let stamp = f.next_stamp(now);
        let rotated = f.names.plain(stamp);
        if let Err(e) = std::fs::rename(&f.path, &rotated) {
            return Err(self.failed("rotation", e.into()));
        }
        f.last_stamp = Some(stamp);
        tracing::info!(path = %rotated.display(), "transcript rotated");
        if let Some(background) = &f.background {
            if f.rotation.compress {
                background.compress(rotated);
            }
            if let Some(keep) = f.rotation.keep {
                background.prune(keep);
            }
        }
        let path = f.path.clone();
        // Until it opens, writes find the path empty and open it then.
        match (f.open)(&path) {
            Ok(opened) => {
                self.switch_to(&path, opened);
                self.stats.files += 1;
                Ok(())
            }
            Err(e) => Err(self.failed("rotation", e)),
        }
    }

    /// Writes go to the file just opened at `path` from now on (the old one
    /// is flushed or gone).
    fn switch_to(&mut self, path: &Path, opened: Opened) {
        let Some(f) = &mut self.files else { return };
        f.started = (opened.len > 0).then(|| found_stamp(&opened.file, f.rotation.now_ms()));
        self.inner = (f.wrap)(opened.file);
        self.file_bytes = opened.len;
        self.torn = false;
        self.report_torn(path, opened.torn);
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

    /// Rotates the file now, if it holds anything (`SIGUSR1`); if it was
    /// moved away (logrotate), opens a new one at its path instead. Does
    /// nothing for a writer that is not a rotating file.
    pub fn rotate(&mut self) -> Result<(), Error> {
        let Some(f) = &self.files else { return Ok(()) };
        let now = f.rotation.now_ms();
        self.write_pending()?;
        if self.file_bytes == 0 {
            return self.check_file();
        }
        self.rotate_file(now)
    }

    /// How long until [`tick`](JsonlWriter::tick) has work: until the next
    /// UTC midnight when the file rotates daily and holds lines; `None`
    /// when no time-driven work can come.
    pub fn next_tick(&self) -> Option<Duration> {
        let f = self.files.as_ref()?;
        (f.rotation.daily && f.started.is_some()).then(|| until_midnight(f.rotation.now_ms()))
    }

    /// Rotates the file if a UTC day began since its first line: daily
    /// rotation when no line comes to trigger it.
    pub fn tick(&mut self) -> Result<(), Error> {
        let Some(f) = &self.files else { return Ok(()) };
        let now = f.rotation.now_ms();
        if !f.new_day(now) {
            return Ok(());
        }
        self.write_pending()?;
        self.rotate_file(now)
    }
}

impl JsonlWriter<File> {
    /// Appends to `path` (created with mode 0600 on unix if missing),
    /// rotated by size at `max_file_bytes` ([`DEFAULT_MAX_FILE_BYTES`](crate::DEFAULT_MAX_FILE_BYTES)
    /// is a good default); rotated files stay as they are, all of them.
    /// [`with_rotation`](JsonlWriter::with_rotation) does more.
    pub fn create(path: impl Into<PathBuf>, max_file_bytes: u64) -> Result<Self, Error> {
        JsonlWriter::with_rotation(path, Rotation::new().max_file_bytes(max_file_bytes))
    }

    /// Appends to `path` (created with mode 0600 on unix if missing),
    /// rotated as `rotation` says.
    ///
    /// A file already at `path` (an earlier run's) is written on. A file
    /// that is a symbolic link or not a regular file is refused; one that
    /// others may read is tightened to 0600 if it is ours, else refused
    /// (see [`private_dir`](crate::private_dir) for directories). A file
    /// that ends in a torn line is reported (a warning naming the file and
    /// the fragment's length, [`WriterStats::torn_lines`]) and the next
    /// record starts on a new line. Compressions an earlier run left
    /// unfinished are finished on the background thread.
    pub fn with_rotation(path: impl Into<PathBuf>, rotation: Rotation) -> Result<Self, Error> {
        let path = path.into();
        let names = Names::new(&path);
        let Opened { file, len, torn } = open_append(&path)?;
        // Rotated names only grow, across runs too.
        let last_stamp = names.list().ok().and_then(|found| {
            found.last().map(|(entry, _)| match *entry {
                Entry::Plain(s) | Entry::Compressed(s) | Entry::Partial(s) => s,
            })
        });
        let background =
            rotation.has_background().then(|| Background::start(names.clone(), &rotation));
        let background = background.transpose().map_err(Error::Io)?;
        let started = (len > 0).then(|| found_stamp(&file, rotation.now_ms()));
        let mut writer = JsonlWriter::new(file);
        writer.file_bytes = len;
        writer.files = Some(Files {
            path: path.clone(),
            names,
            rotation,
            started,
            last_stamp,
            background,
            open: open_append,
            still_there: same_file,
            wrap: |file| file,
        });
        writer.report_torn(&path, torn);
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> Option<&Path> {
        self.files.as_ref().map(|f| f.path.as_path())
    }
}

/// The start of a file found at the path with lines in it: its creation
/// time (its modification time where the file system does not record
/// creation), never before the UTC date of its last line; `now` when
/// neither can be read.
fn found_stamp(file: &File, now: u64) -> u64 {
    let Some(modified) = file.metadata().and_then(|m| m.modified()).ok().map(unix_ms) else {
        return now;
    };
    let created = file.metadata().and_then(|m| m.created()).map_or(modified, unix_ms);
    created.max(day(modified) * 86_400_000)
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
