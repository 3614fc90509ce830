//! When a [`JsonlWriter`](crate::JsonlWriter) moves on to a new file, what
//! the old one is called, and the thread that compresses and removes old
//! files off the writer's path.
//!
//! # Names
//!
//! The file being written keeps its name (`transcripts.jsonl`): tailing
//! tools and logrotate find it there. A rotated file is renamed
//! `<stem>-<start>.<ext>` next to it, where `<start>` is the UTC time its
//! first line was written, to the millisecond, as `YYYY-MM-DDThhmmss.mmmZ`:
//! `transcripts-2025-01-15T000003.117Z.jsonl`. The names sort in time
//! order (a later file never gets an earlier or equal name: a clash or a
//! clock stepped back moves the stamp on by a millisecond) and begin with
//! the UTC date of their lines when files roll at midnight. Compressed, the
//! file gains `.zst`: `transcripts-2025-01-15T000003.117Z.jsonl.zst`.
//!
//! A file found at the path when writing starts (an earlier run's) is
//! dated by its creation time (its modification time where the file system
//! does not record creation), never before the UTC date of its last line.
//!
//! # Compression
//!
//! On its own thread, in the order files were rotated: `<name>.zst.tmp` is
//! written and synced, renamed `<name>.zst`, then the plain file is removed;
//! a crash leaves either the plain file or both, never a torn `.zst`. When
//! writing starts, leftovers of an interrupted compression are finished:
//! a `.zst.tmp` is removed and its plain file compressed again; a plain
//! file next to its `.zst` is removed.
//!
//! # Keeping
//!
//! Everything is kept unless [`Rotation::keep`] is set. Then, after each
//! rotation, only the newest `N` rotated files are kept; the files removed
//! are only ever those named by this scheme for this path (plain or
//! compressed, regular files, owned by the user writing): the file being
//! written, other files in the directory and files that logrotate moved
//! away are never touched.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::private::private_options;

/// Default size at which a file is rotated.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// zstd level of rotated files (zstd's own default: fast, about 5 to 10
/// times smaller on transcripts).
pub const ZSTD_LEVEL: i32 = 3;

/// Name of the thread that compresses and removes rotated files.
pub const COMPRESS_THREAD_NAME: &str = "thinktee-transcript-zstd";

const MS_PER_DAY: u64 = 86_400_000;

/// When a [`JsonlWriter`](crate::JsonlWriter) rotates its file and what
/// becomes of rotated files (see the [module docs](self) for the names).
///
/// [`Rotation::new`] rotates by size only, at [`DEFAULT_MAX_FILE_BYTES`],
/// and keeps rotated files plain and forever; the setters add rotation at
/// UTC midnight, compression and a bound on the files kept.
#[derive(Clone)]
pub struct Rotation {
    pub(crate) max_file_bytes: u64,
    pub(crate) daily: bool,
    pub(crate) compress: bool,
    pub(crate) keep: Option<usize>,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            daily: false,
            compress: false,
            keep: None,
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("max_file_bytes", &self.max_file_bytes)
            .field("daily", &self.daily)
            .field("compress", &self.compress)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl Rotation {
    /// By size at [`DEFAULT_MAX_FILE_BYTES`], plain, everything kept.
    pub fn new() -> Rotation {
        Rotation::default()
    }

    /// Rotates before a line would take the file past `bytes` (a line is
    /// never cut: a file holds at least one line). `u64::MAX`: never by size.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Also rotates at UTC midnight: before the first line of a new UTC
    /// day, and when idle (see [`JsonlWriter::next_tick`](crate::JsonlWriter::next_tick)),
    /// so that each file holds the lines of one UTC date.
    pub fn daily(mut self, on: bool) -> Self {
        self.daily = on;
        self
    }

    /// Compresses rotated files with zstd, on a thread of their own.
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    /// Keeps only the newest `n` rotated files (`None`: all of them).
    pub fn keep(mut self, n: Option<usize>) -> Self {
        self.keep = n;
        self
    }

    /// Reads the time from `clock` instead of the system clock (tests).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Milliseconds since the epoch, by the clock (0 before it).
    pub(crate) fn now_ms(&self) -> u64 {
        unix_ms((self.clock)())
    }

    /// Whether the background thread has work to do.
    pub(crate) fn has_background(&self) -> bool {
        self.compress || self.keep.is_some()
    }
}

// === time stamps ===

/// Milliseconds since the epoch (0 before it, saturating far after it).
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The UTC day of `ms` (days since 1970-01-01).
pub(crate) fn day(ms: u64) -> u64 {
    ms / MS_PER_DAY
}

/// How long from `ms` to the next UTC midnight.
pub(crate) fn until_midnight(ms: u64) -> Duration {
    Duration::from_millis(MS_PER_DAY - ms % MS_PER_DAY)
}

/// `(year, month, day)` of a day counted from 1970-01-01, in the
/// proleptic Gregorian calendar. Counted in 400-year eras that start on
/// March 1st, so that the leap day ends the year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // 719_468 days from 0000-03-01 to 1970-01-01; 146_097 days in an era.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`]; `None` before 1970 or for a date
/// that does not exist.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if year < 1970 || !(1..=month_len).contains(&day) {
        return None;
    }
    let year = year - u64::from(month <= 2);
    let (era, year_of_era) = (year / 400, year % 400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).checked_sub(719_468)
}

/// `YYYY-MM-DDThhmmss.mmmZ`: sorts as it counts (four-digit years).
pub(crate) fn format_stamp(ms: u64) -> String {
    let (year, month, day) = civil_from_days(day(ms));
    let in_day = ms % MS_PER_DAY;
    let (h, m, s, milli) =
        (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}{m:02}{s:02}.{milli:03}Z")
}

/// The inverse of [`format_stamp`], for exactly its shape.
pub(crate) fn parse_stamp(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let shape = b.len() == 22
        && [(4, b'-'), (7, b'-'), (10, b'T'), (17, b'.'), (21, b'Z')]
            .iter()
            .all(|&(i, c)| b[i] == c);
    if !shape {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u64> {
        let digits = &s[from..to];
        digits.bytes().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let days = days_from_civil(num(0, 4)?, num(5, 7)?, num(8, 10)?)?;
    let (h, m, sec, milli) = (num(11, 13)?, num(13, 15)?, num(15, 17)?, num(18, 21)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(days * MS_PER_DAY + ((h * 60 + m) * 60 + sec) * 1000 + milli)
}

// === names ===

/// The names around one transcript path.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    dir: PathBuf,
    /// `<stem>-`
    prefix: String,
    /// `.<ext>`, or empty.
    suffix: String,
}

/// What a directory entry is, to the rotation of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `<stem>-<stamp>.<ext>`
    Plain(u64),
    /// `<stem>-<stamp>.<ext>.zst`
    Compressed(u64),
    /// `<stem>-<stamp>.<ext>.zst.tmp`
    Partial(u64),
}

impl Names {
    pub(crate) fn new(path: &Path) -> Names {
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let stem = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
        let suffix = path.extension().map(|e| format!(".{}", e.to_string_lossy()));
        Names { dir, prefix: format!("{stem}-"), suffix: suffix.unwrap_or_default() }
    }

    /// `<stem>-<stamp>.<ext>`
    pub(crate) fn plain(&self, stamp: u64) -> PathBuf {
        self.dir.join(format!("{}{}{}", self.prefix, format_stamp(stamp), self.suffix))
    }

    /// What `name` is, if it is one of this path's rotated files.
    pub(crate) fn entry(&self, name: &str) -> Option<Entry> {
        let rest = name.strip_prefix(&self.prefix)?;
        let (stamp, tail) = rest.split_at_checked(22)?;
        let stamp = parse_stamp(stamp)?;
        let tail = tail.strip_prefix(&self.suffix)?;
        match tail {
            "" => Some(Entry::Plain(stamp)),
            ".zst" => Some(Entry::Compressed(stamp)),
            ".zst.tmp" => Some(Entry::Partial(stamp)),
            _ => None,
        }
    }

    /// The rotated files of this path in its directory (regular files,
    /// ours), sorted by stamp.
    pub(crate) fn list(&self) -> io::Result<Vec<(Entry, PathBuf)>> {
        let dir = if self.dir.as_os_str().is_empty() { Path::new(".") } else { &self.dir };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Some(kind) = entry.file_name().to_str().and_then(|n| self.entry(n)) else {
                continue;
            };
            if entry.file_type().is_ok_and(|t| t.is_file()) && is_ours(&entry.path()) {
                found.push((kind, entry.path()));
            }
        }
        found.sort_by_key(|(kind, _)| stamp_of(*kind));
        Ok(found)
    }
}

fn stamp_of(entry: Entry) -> u64 {
    match entry {
        Entry::Plain(s) | Entry::Compressed(s) | Entry::Partial(s) => s,
    }
}

/// `path` with `ext` appended: `a.jsonl` and `zst` give `a.jsonl.zst`.
fn with_added(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Whether the user writing owns `path` (always true off unix).
fn is_ours(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == me)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// Whether any form of `stamp`'s rotated file exists.
pub(crate) fn taken(names: &Names, stamp: u64) -> bool {
    let plain = names.plain(stamp);
    let zst = with_added(&plain, "zst");
    [with_added(&zst, "tmp"), zst, plain].iter().any(|p| std::fs::symlink_metadata(p).is_ok())
}

// === the background thread ===

enum Task {
    Compress(PathBuf),
    Prune(usize),
}

/// Compresses rotated files and removes old ones, on its own thread, in
/// the order it is told. Dropping it waits for the work queued.
#[derive(Debug)]
pub(crate) struct Background {
    tx: Option<mpsc::Sender<Task>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Compress(path) => write!(f, "Compress({})", path.display()),
            Task::Prune(keep) => write!(f, "Prune({keep})"),
        }
    }
}

impl Background {
    /// Starts the thread and gives it what an earlier run left unfinished.
    pub(crate) fn start(names: Names, rotation: &Rotation) -> io::Result<Background> {
        let (tx, rx) = mpsc::channel::<Task>();
        let thread_names = names.clone();
        let thread = std::thread::Builder::new().name(COMPRESS_THREAD_NAME.into()).spawn(move || {
            for task in rx {
                match task {
                    Task::Compress(plain) => {
                        if let Err(e) = compress(&plain) {
                            tracing::error!(path = %plain.display(), error = &e as &dyn std::error::Error, "cannot compress a rotated transcript (it stays uncompressed)");
                        }
                    }
                    Task::Prune(keep) => prune(&thread_names, keep),
                }
            }
        })?;
        let background = Background { tx: Some(tx), thread: Some(thread) };
        if rotation.compress {
            background.recover(&names);
        }
        Ok(background)
    }

    /// Finishes the compressions an earlier run left (see the module docs).
    fn recover(&self, names: &Names) {
        let found = match names.list() {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot list the transcript directory to finish earlier compressions"
                );
                return;
            }
        };
        let compressed = |s: u64| found.iter().any(|(k, _)| *k == Entry::Compressed(s));
        for (kind, path) in &found {
            match *kind {
                Entry::Partial(_) => {
                    let _ = std::fs::remove_file(path);
                }
                Entry::Plain(s) if compressed(s) => {
                    let _ = std::fs::remove_file(path);
                }
                Entry::Plain(_) => self.send(Task::Compress(path.clone())),
                Entry::Compressed(_) => {}
            }
        }
    }

    pub(crate) fn compress(&self, plain: PathBuf) {
        self.send(Task::Compress(plain));
    }

    pub(crate) fn prune(&self, keep: usize) {
        self.send(Task::Prune(keep));
    }

    fn send(&self, task: Task) {
        if let Some(tx) = &self.tx {
            // The thread ends only when this sender is dropped.
            let _ = tx.send(task);
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Compresses `plain` to `<plain>.zst` through `<plain>.zst.tmp`, then
/// removes `plain`. Memory stays bounded (a streaming encoder).
fn compress(plain: &Path) -> io::Result<()> {
    let zst = with_added(plain, "zst");
    let tmp = with_added(&zst, "tmp");
    let written = (|| {
        let mut input = File::open(plain)?;
        let out = private_options().write(true).create_new(true).open(&tmp)?;
        let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
        io::copy(&mut input, &mut encoder)?;
        let out = encoder.finish()?;
        out.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &zst)?;
    sync_dir(&zst);
    std::fs::remove_file(plain)?;
    tracing::debug!(path = %zst.display(), "rotated transcript compressed");
    Ok(())
}

/// Makes a rename in `path`'s directory durable (best effort, unix only).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Removes all but the newest `keep` rotated files of `names` (a stamp's
/// plain and compressed forms count once; a `.zst.tmp` is never touched
/// here: it is being written).
fn prune(names: &Names, keep: usize) {
    let found = match names.list() {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                "cannot list the transcript directory to remove old files"
            );
            return;
        }
    };
    let mut stamps: Vec<u64> = found
        .iter()
        .filter(|(kind, _)| !matches!(kind, Entry::Partial(_)))
        .map(|(kind, _)| stamp_of(*kind))
        .collect();
    stamps.dedup();
    // The oldest stamps go, all but the newest `keep`.
    let gone = stamps.len().saturating_sub(keep);
    if gone > 0 {
        remove_older(&found, stamps.get(gone).copied().unwrap_or(u64::MAX));
    }
}

fn remove_older(found: &[(Entry, PathBuf)], oldest_kept: u64) {
    for (kind, path) in found {
        if matches!(kind, Entry::Plain(_) | Entry::Compressed(_)) && stamp_of(*kind) < oldest_kept {
            match std::fs::remove_file(path) {
                Ok(()) => tracing::info!(path = %path.display(), "old transcript removed"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = &e as &dyn std::error::Error, "cannot remove an old transcript")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from GNU date: `date -u -d @SECONDS +%FT%T`.
    #[test]
    fn stamps_are_utc_dates_and_times() {
        assert_eq!(format_stamp(0), "1970-01-01T000000.000Z");
        assert_eq!(format_stamp(951_782_400_000), "2000-02-29T000000.000Z");
        assert_eq!(format_stamp(1_736_899_425_117), "2025-01-15T000345.117Z");
        assert_eq!(format_stamp(4_107_542_399_999), "2100-02-28T235959.999Z");
        assert_eq!(format_stamp(253_402_300_799_000), "9999-12-31T235959.000Z");
        for ms in [0, 951_782_400_000, 1_736_899_425_117, 4_107_542_399_999, 253_402_300_799_000] {
            assert_eq!(parse_stamp(&format_stamp(ms)), Some(ms));
        }
        // Every day of four centuries round-trips (leap rules included).
        for d in 0..146_097 {
            let ms = d * MS_PER_DAY + 45_296_789;
            assert_eq!(parse_stamp(&format_stamp(ms)), Some(ms), "day {d}");
        }
    }

    #[test]
    fn only_the_exact_shape_is_a_stamp() {
        for bad in [
            "2025-01-15T000345.117",
            "2025-01-15T000345.117ZZ",
            "2025-02-29T000000.000Z",
            "2100-02-29T000000.000Z",
            "2025-13-01T000000.000Z",
            "2025-01-15T240000.000Z",
            "2025-01-15T006000.000Z",
            "1969-12-31T235959.999Z",
            "2025-01-1xT000000.000Z",
            "+025-01-15T000000.000Z",
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
        assert_eq!(parse_stamp("2000-02-29T000000.000Z"), Some(951_782_400_000));
    }

    #[test]
    fn midnight_is_utc() {
        let ms = 1_736_899_425_117; // 2025-01-15T00:03:45.117Z
        assert_eq!(day(ms), 20_103);
        assert_eq!(until_midnight(ms), Duration::from_millis(86_400_000 - 225_117));
        assert_eq!(until_midnight(20_104 * MS_PER_DAY), Duration::from_millis(MS_PER_DAY));
    }

    #[test]
    fn names_of_one_path_and_no_other() {
        let names = Names::new(Path::new("/t/transcripts.jsonl"));
        let stamp = 1_736_899_425_117;
        assert_eq!(names.plain(stamp), Path::new("/t/transcripts-2025-01-15T000345.117Z.jsonl"));
        let entry = |n: &str| names.entry(n);
        assert_eq!(entry("transcripts-2025-01-15T000345.117Z.jsonl"), Some(Entry::Plain(stamp)));
        assert_eq!(
            entry("transcripts-2025-01-15T000345.117Z.jsonl.zst"),
            Some(Entry::Compressed(stamp))
        );
        assert_eq!(
            entry("transcripts-2025-01-15T000345.117Z.jsonl.zst.tmp"),
            Some(Entry::Partial(stamp))
        );
        for other in [
            "transcripts.jsonl",
            "transcripts.jsonl.1",
            "transcripts-1.jsonl",
            "transcripts-run1-2025-01-15T000345.117Z.jsonl",
            "transcripts-2025-01-15T000345.117Z.jsonl.gz",
            "transcripts-2025-01-15T000345.117Z.json",
            "other-2025-01-15T000345.117Z.jsonl",
            "transcripts-2025-01-15T000345.117Z.jsonl.zst.tmp.x",
        ] {
            assert_eq!(entry(other), None, "{other}");
        }
        let bare = Names::new(Path::new("t"));
        assert_eq!(bare.plain(0), Path::new("t-1970-01-01T000000.000Z"));
        assert_eq!(bare.entry("t-1970-01-01T000000.000Z.zst"), Some(Entry::Compressed(0)));
    }
}
