//! Reading recorded material offline, for `analyze` and `export`: the
//! files named and found, read by workers ahead of the command that folds
//! their streams, in input order.
//!
//! Inputs are raw SSE captures (`.sse`), non-streaming JSON bodies
//! (`.json`, also JSON Lines of bodies) and transcripts (`.jsonl` whose
//! lines are `TranscriptRecord`s), each also compressed (`.gz`, `.zst`:
//! recognized by their magic bytes and decoded as they are read).
//! Directories are searched recursively for those extensions; a FIFO,
//! socket or device met there is skipped with a notice (a path named on the
//! command line is always read). A file that is none of them (JSON that is
//! neither a transcript nor a chat-completion body, like the `split`
//! expectations in `fixtures/e2e/*.expected.jsonl`) is skipped and counted;
//! a file that cannot be read whole (unreadable, not a stream, malformed
//! transcript lines, a JSON line past the limit) is reported and counted as
//! malformed, the streams it did yield still count, and the exit code is 1.
//! See [`read`] for how a file is told apart.
//!
//! Workers read files ahead of the one being folded, at most
//! [`Ahead::files`] files and [`Ahead::streams`] streams each: memory is
//! bounded by those counts, whatever the input's size.

use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};
use thinktee_pipeline::SplitterConfig;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::term::escape;

pub(crate) mod read;

pub(crate) use read::{FileKind, Tally, read_file};

/// Show the progress bar from the start when there are this many files...
const PROGRESS_MIN_FILES: usize = 200;
/// ...or once the run has taken this long.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);
/// File extensions picked up when searching directories (also under
/// `.gz` and `.zst`).
const EXTENSIONS: [&str; 3] = ["sse", "json", "jsonl"];
/// Skipped files named on stderr before the rest are only counted.
const SKIPPED_NAMED: usize = 3;

/// How far workers may read ahead of the fold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ahead {
    /// Files whose streams are queued (besides the ones being read).
    pub(crate) files: usize,
    /// Streams queued per file: sent in messages of half as many, one
    /// queued while the next fills.
    pub(crate) streams: usize,
}

// === listing ===

/// A file to read, or what is already known of a path.
#[derive(Debug)]
pub(crate) struct Listed {
    pub(crate) path: PathBuf,
    pub(crate) known: Option<FileKind>,
}

/// Every file to read, in order: named paths as given (any kind of file:
/// `analyze <(zcat x.gz)` works), directories searched (sorted) for
/// [`EXTENSIONS`]. Paths that cannot be listed, and files found in a
/// directory that are not regular files, come back already known.
pub(crate) fn list(paths: &[PathBuf]) -> Vec<Listed> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut out),
            Ok(_) => out.push(Listed { path: path.clone(), known: None }),
            Err(e) => out.push(Listed {
                path: path.clone(),
                known: Some(FileKind::Malformed(e.to_string())),
            }),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<Listed>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let kind = FileKind::Malformed(format!("cannot list: {e}"));
            out.push(Listed { path: dir.to_owned(), known: Some(kind) });
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else { continue };
        if file_type.is_dir() {
            walk(&path, out);
            continue;
        }
        if !has_extension(&path) {
            continue;
        }
        // A symlink counts as what it points to (directories are not followed).
        let regular = file_type.is_file()
            || (file_type.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()));
        let known = (!regular).then(|| {
            FileKind::Skipped("not a regular file (a FIFO, socket, device or dangling link)".into())
        });
        out.push(Listed { path, known });
    }
}

fn has_extension(path: &Path) -> bool {
    EXTENSIONS.contains(&read::inner_extension(path))
}

// === reading in order ===

/// What the fold is handed, in input order: the streams of file `i`, then
/// what file `i` turned out to be.
pub(crate) enum Item<'a, S> {
    Stream(usize, S),
    File(usize, &'a FileKind),
}

/// One file's results, in order: its streams a few at a time (one
/// message per stream cost an export of 640,000 streams 1.3 s of system
/// time in futex waits, 20% of its CPU), then what the file was.
enum Msg<S> {
    Streams(Vec<S>),
    Done(FileKind),
}

/// Reads every listed file with up to `workers` threads and hands its
/// streams, then its kind, to `fold`, in input order. Stops at the first
/// error `fold` returns.
pub(crate) fn read_all<T: Tally>(
    listed: &[Listed],
    splitter: &SplitterConfig,
    workers: usize,
    ahead: Ahead,
    fold: &mut dyn FnMut(Item<'_, T::Stream>) -> io::Result<()>,
) -> io::Result<()>
where
    T::Stream: Send,
{
    let workers = workers.min(listed.len());
    if workers <= 1 {
        for (i, file) in listed.iter().enumerate() {
            let kind = match &file.known {
                Some(kind) => kind.clone(),
                None => {
                    let mut result = Ok(());
                    let kind = read_file::<T>(&file.path, splitter, &mut |s| {
                        if result.is_ok() {
                            result = fold(Item::Stream(i, s));
                        }
                    });
                    result?;
                    kind
                }
            };
            fold(Item::File(i, &kind))?;
        }
        return Ok(());
    }
    in_parallel::<T>(listed, splitter, workers, ahead, fold)
}

/// Workers take the next file in order and send its streams over a
/// channel of its own; the fold takes the channels in file order. The
/// channels are handed over in order through a bounded queue, so at most
/// `ahead.files` files (and the ones being read) are ahead of the fold.
fn in_parallel<T: Tally>(
    listed: &[Listed],
    splitter: &SplitterConfig,
    workers: usize,
    ahead: Ahead,
    fold: &mut dyn FnMut(Item<'_, T::Stream>) -> io::Result<()>,
) -> io::Result<()>
where
    T::Stream: Send,
{
    let (hand_over, files) = sync_channel::<Receiver<Msg<T::Stream>>>(ahead.files);
    let claims = Mutex::new(Claims { next: 0, hand_over: Some(hand_over), workers });
    let cancelled = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker::<T>(listed, splitter, ahead.streams, &claims, &cancelled));
        }
        let result = fold_in_order(listed.len(), &files, fold);
        if result.is_err() {
            cancelled.store(true, Ordering::Relaxed);
        }
        drop(files);
        result
    })
}

/// Which file is next, and the queue its channel goes into (dropped by
/// the last worker to leave, so the fold sees the end even after a panic).
struct Claims<S> {
    next: usize,
    hand_over: Option<SyncSender<Receiver<Msg<S>>>>,
    workers: usize,
}

/// A worker leaving, by return or by panic.
struct Leave<'a, S>(&'a Mutex<Claims<S>>);

impl<S> Drop for Leave<'_, S> {
    fn drop(&mut self) {
        let mut claims = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        claims.workers -= 1;
        if claims.workers == 0 {
            claims.hand_over = None;
        }
    }
}

fn worker<T: Tally>(
    listed: &[Listed],
    splitter: &SplitterConfig,
    streams_ahead: usize,
    claims: &Mutex<Claims<T::Stream>>,
    cancelled: &AtomicBool,
) {
    let _leave = Leave(claims);
    loop {
        // Claimed and handed over under one lock: channels queue in order.
        let (i, sender) = {
            let Ok(mut claims) = claims.lock() else { return };
            let i = claims.next;
            if i >= listed.len() || cancelled.load(Ordering::Relaxed) {
                return;
            }
            claims.next += 1;
            // Two messages of half the streams ahead each.
            let (sender, receiver) = sync_channel(1);
            match &claims.hand_over {
                Some(hand_over) if hand_over.send(receiver).is_ok() => {}
                _ => return,
            }
            (i, sender)
        };
        let file = &listed[i];
        let per_message = (streams_ahead / 2).max(1);
        let mut streams = Vec::with_capacity(per_message);
        let kind = match &file.known {
            Some(kind) => kind.clone(),
            None => read_file::<T>(&file.path, splitter, &mut |s| {
                streams.push(s);
                if streams.len() >= per_message {
                    let full = std::mem::replace(&mut streams, Vec::with_capacity(per_message));
                    let _ = sender.send(Msg::Streams(full));
                }
            }),
        };
        if !streams.is_empty() {
            let _ = sender.send(Msg::Streams(streams));
        }
        let _ = sender.send(Msg::Done(kind));
    }
}

fn fold_in_order<S>(
    files_listed: usize,
    files: &Receiver<Receiver<Msg<S>>>,
    fold: &mut dyn FnMut(Item<'_, S>) -> io::Result<()>,
) -> io::Result<()> {
    for i in 0..files_listed {
        let Ok(file) = files.recv() else { break };
        loop {
            match file.recv() {
                Ok(Msg::Streams(streams)) => {
                    for s in streams {
                        fold(Item::Stream(i, s))?;
                    }
                }
                Ok(Msg::Done(kind)) => {
                    fold(Item::File(i, &kind))?;
                    break;
                }
                Err(_) => {
                    fold(Item::File(i, &FileKind::Malformed("its reader stopped".into())))?;
                    break;
                }
            }
        }
    }
    Ok(())
}

// === reporting ===

/// What is said of the files as they are folded: malformed ones on stderr
/// at once, skipped ones summed up at the end; and the progress bar.
#[derive(Debug)]
pub(crate) struct FileReport {
    progress: Progress,
    started: Instant,
    malformed: u64,
    /// Skipped files per reason: how many, and the first few names.
    skipped: Vec<(String, u64, Vec<String>)>,
}

impl FileReport {
    pub(crate) fn new(files: usize) -> FileReport {
        FileReport {
            progress: Progress::new(files),
            started: Instant::now(),
            malformed: 0,
            skipped: Vec::new(),
        }
    }

    /// File `path` was read whole and was `kind`.
    pub(crate) fn file(&mut self, path: &Path, kind: &FileKind) {
        let name = escape(&path.display().to_string()).into_owned();
        match kind {
            FileKind::Malformed(why) => {
                self.malformed += 1;
                self.progress.bar.suspend(|| eprintln!("thinktee: {name}: {}", escape(why)));
            }
            FileKind::Skipped(why) => match self.skipped.iter_mut().find(|(w, ..)| w == why) {
                Some((_, n, names)) => {
                    *n += 1;
                    if names.len() < SKIPPED_NAMED {
                        names.push(name);
                    }
                }
                None => self.skipped.push((why.clone(), 1, vec![name])),
            },
            FileKind::Recording | FileKind::Transcript => {}
        }
        self.progress.tick(self.started);
    }

    /// Malformed files seen.
    pub(crate) fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Clears the bar; returns the skipped files summed up per reason.
    pub(crate) fn finish(self) -> Skipped {
        self.progress.finish();
        let mut skipped = self.skipped;
        skipped.sort();
        Skipped(skipped)
    }
}

/// Skipped files per reason: how many, and the first few names.
#[derive(Debug, Default)]
pub(crate) struct Skipped(Vec<(String, u64, Vec<String>)>);

impl Skipped {
    /// Says on stderr which files were skipped, per reason.
    pub(crate) fn report(&self) {
        for (why, n, names) in &self.0 {
            let more = match *n as usize - names.len() {
                0 => String::new(),
                more => format!(" and {more} more"),
            };
            eprintln!("thinktee: skipped {n} file(s), {why}: {}{more}", names.join(", "));
        }
    }
}

/// A progress bar on stderr, drawn only on a terminal and only for long
/// runs (many files, or past [`PROGRESS_AFTER`]).
#[derive(Debug)]
struct Progress {
    bar: ProgressBar,
    terminal: bool,
    shown: AtomicBool,
}

impl Progress {
    fn new(files: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}") {
            bar.set_style(style);
        }
        let progress =
            Progress { bar, terminal: io::stderr().is_terminal(), shown: AtomicBool::new(false) };
        if files >= PROGRESS_MIN_FILES {
            progress.show();
        }
        progress
    }

    fn show(&self) {
        if self.terminal && !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn tick(&self, started: Instant) {
        self.bar.inc(1);
        if started.elapsed() >= PROGRESS_AFTER {
            self.show();
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
