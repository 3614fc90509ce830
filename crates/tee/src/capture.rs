//! Raw capture: the exact bytes of one stream in a file of its own, written
//! on the capture thread.
//!
//! The capture does not ride on the parse side: parsing may fall behind
//! and stop (its queue overflows, see the crate docs), capturing must not.
//! Each capture has its own queue to the capture thread, bounded by
//! [`MAX_CAPTURE_QUEUED`] ([`Builder::max_capture_queued`](crate::Builder::max_capture_queued)).
//! Only when the capture itself cannot keep up (that queue is full: the
//! disk is slower than the network) or its disk fails is it cut: the file
//! is closed and renamed `<id>.cut.sse`, and a warning names it, once.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use crate::error::Error;
use crate::feed::{Msg, Shared, cost};
use crate::pool::Job;

/// Longest file stem a request id is cut to.
pub const MAX_CAPTURE_NAME: usize = 128;

/// Default bound on the bytes queued for one capture (32 MiB): past it the
/// capture is cut, never the stream. Writing to the page cache outruns a
/// network by far; the bound covers the capture thread's wake-up and a
/// disk that stalls for a moment.
pub const MAX_CAPTURE_QUEUED: usize = 32 * 1024 * 1024;

/// Size of a capture's write buffer.
const CAPTURE_BUFFER: usize = 64 * 1024;

/// Writes the bytes of one stream, exactly as forwarded, to
/// `<dir>/<request-id>.sse` (mode 0600 on unix), so it can be replayed or
/// analyzed later.
///
/// Give it to the tee ([`Builder::capture`](crate::Builder::capture)): it
/// is written on the capture thread, never on the forward path, and keeps
/// going when parsing stops. The file is created with the first byte, so a
/// stream without a body leaves no file. Characters of the request id other
/// than ASCII letters, digits, `-`, `_` and `.` become `_`; an existing
/// file is never overwritten (`<id>-1.sse`, ... instead). A capture that
/// has to be cut is renamed `<id>.cut.sse`.
#[derive(Debug)]
pub struct RawCapture {
    dir: PathBuf,
    stem: String,
    out: Option<BufWriter<File>>,
    path: Option<PathBuf>,
    bytes: u64,
}

impl RawCapture {
    /// Prepares the capture for `request_id` in `dir`, which must be an
    /// existing directory. The file is created on the first byte.
    pub fn create(dir: &Path, request_id: &str) -> Result<RawCapture, Error> {
        if !std::fs::metadata(dir).map_err(Error::Io)?.is_dir() {
            return Err(Error::Io(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            ))));
        }
        let stem = file_stem(request_id);
        Ok(RawCapture { dir: dir.to_owned(), stem, out: None, path: None, bytes: 0 })
    }

    /// The capture file, once its first byte was written.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends the next piece of the stream (buffered); the first creates
    /// the file.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.out.is_none() {
            self.out = Some(self.open()?);
        }
        if let Some(out) = &mut self.out {
            out.write_all(bytes)?;
        }
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Flushes the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), Write::flush)
    }

    /// Creates a file of our own, never overwriting one.
    fn open(&mut self) -> io::Result<BufWriter<File>> {
        let mut n = 0u32;
        loop {
            let stem = &self.stem;
            let name = if n == 0 { format!("{stem}.sse") } else { format!("{stem}-{n}.sse") };
            let path = self.dir.join(name);
            match thinktee_transcript::private_options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    self.path = Some(path);
                    return Ok(BufWriter::with_capacity(CAPTURE_BUFFER, file));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Flushes and closes the file and renames it `<name>.cut.sse` (never
    /// over an existing file); returns where it is now.
    fn cut(&mut self) -> io::Result<Option<PathBuf>> {
        let flushed = self.flush();
        self.out = None;
        let Some(path) = self.path.clone() else { return flushed.map(|()| None) };
        let base = path.to_string_lossy();
        let base = base.strip_suffix(".sse").unwrap_or(&base);
        for n in 0..10_000u32 {
            let to = PathBuf::from(if n == 0 {
                format!("{base}.cut.sse")
            } else {
                format!("{base}-{n}.cut.sse")
            });
            // A hard link fails if the name is taken: nothing is overwritten.
            match std::fs::hard_link(&path, &to) {
                Ok(()) => {
                    std::fs::remove_file(&path)?;
                    self.path = Some(to.clone());
                    return flushed.map(|()| Some(to));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free .cut.sse name"))
    }
}

/// What the capture thread did with one capture.
#[derive(Debug, Default)]
pub(crate) struct CaptureReport {
    pub(crate) bytes: u64,
    pub(crate) path: Option<PathBuf>,
    pub(crate) cut: bool,
    pub(crate) error: Option<io::Error>,
}

/// One capture as a job of the capture thread.
pub(crate) struct CaptureJob {
    capture: RawCapture,
    shared: Arc<Shared>,
    report: CaptureReport,
    done: Option<oneshot::Sender<CaptureReport>>,
}

impl CaptureJob {
    pub(crate) fn new(
        capture: RawCapture,
        shared: Arc<Shared>,
        done: oneshot::Sender<CaptureReport>,
    ) -> CaptureJob {
        CaptureJob { capture, shared, report: CaptureReport::default(), done: Some(done) }
    }

    /// Closes the capture short of the stream's end and says why, once.
    fn cut(&mut self, why: &str) {
        if self.report.cut {
            return;
        }
        self.report.cut = true;
        // Nothing more is queued (the forward side sees `stop`).
        self.shared.stop.store(true, Ordering::Relaxed);
        match self.capture.cut() {
            Ok(Some(path)) => {
                tracing::warn!(path = %path.display(), bytes = self.capture.bytes(), "raw capture cut: {why}")
            }
            Ok(None) => {
                tracing::warn!(dir = %self.capture.dir.display(), "raw capture cut before its first byte: {why}")
            }
            Err(e) => {
                tracing::warn!(error = %e, "raw capture cut ({why}); closing it failed");
                self.report.error.get_or_insert(e);
            }
        }
    }
}

impl Job for CaptureJob {
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Data(bytes, _) => {
                self.shared.queued.fetch_sub(cost(bytes.len()), Ordering::AcqRel);
                if self.report.cut {
                    return false;
                }
                if let Err(e) = self.capture.write(&bytes) {
                    self.report.error = Some(e);
                    self.cut("its disk failed");
                }
                false
            }
            Msg::Overflow(_) => {
                self.cut("it could not keep up with the stream (more than its bound queued)");
                false
            }
            // The capture keeps the bytes as they came.
            Msg::Encoding(_) | Msg::Error(..) => false,
            Msg::End(..) => {
                if !self.report.cut
                    && let Err(e) = self.capture.flush()
                {
                    self.report.error = Some(e);
                    self.cut("its disk failed");
                }
                self.report.bytes = self.capture.bytes();
                self.report.path = self.capture.path.clone();
                if let Some(done) = self.done.take() {
                    let _ = done.send(std::mem::take(&mut self.report));
                }
                true
            }
        }
    }
}

fn file_stem(request_id: &str) -> String {
    let stem: String = request_id
        .chars()
        .take(MAX_CAPTURE_NAME)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    // No hidden files, no `..`.
    match stem.trim_start_matches('.') {
        "" => "capture".to_owned(),
        s if s.len() == stem.len() => stem,
        s => format!("_{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_become_safe_file_names() {
        assert_eq!(file_stem("chatcmpl-AbC_1.2"), "chatcmpl-AbC_1.2");
        assert_eq!(file_stem("../etc/passwd"), "__etc_passwd");
        assert_eq!(file_stem("..."), "capture");
        assert_eq!(file_stem(""), "capture");
        assert_eq!(file_stem("a b/ü"), "a_b__");
        assert_eq!(file_stem(&"x".repeat(500)).len(), MAX_CAPTURE_NAME);
    }

    #[test]
    fn captures_never_overwrite_and_are_private() {
        let dir = std::env::temp_dir().join(format!("thinktee-capture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = RawCapture::create(&dir, "req").unwrap();
        let mut b = RawCapture::create(&dir, "req").unwrap();
        let mut empty = RawCapture::create(&dir, "empty").unwrap();
        a.write(b"data: 1\n\n").unwrap();
        b.write(b"data: 2\n\n").unwrap();
        empty.write(b"").unwrap();
        empty.flush().unwrap();
        assert_eq!(empty.path(), None, "no byte, no file");
        assert!(!dir.join("empty.sse").exists());
        a.flush().unwrap();
        b.flush().unwrap();
        assert_eq!(std::fs::read(dir.join("req.sse")).unwrap(), b"data: 1\n\n");
        assert_eq!(std::fs::read(dir.join("req-1.sse")).unwrap(), b"data: 2\n\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.path().unwrap()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A cut capture is renamed, never over an existing file.
        std::fs::write(dir.join("req.cut.sse"), b"earlier").unwrap();
        assert_eq!(a.cut().unwrap(), Some(dir.join("req-1.cut.sse")));
        assert_eq!(std::fs::read(dir.join("req-1.cut.sse")).unwrap(), b"data: 1\n\n");
        assert_eq!(std::fs::read(dir.join("req.cut.sse")).unwrap(), b"earlier");
        assert!(!dir.join("req.sse").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
