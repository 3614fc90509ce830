//! Raw capture: the exact bytes of one stream in a file of its own.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Longest file stem a request id is cut to.
pub const MAX_CAPTURE_NAME: usize = 128;

/// Writes the bytes of one stream, exactly as forwarded, to
/// `<dir>/<request-id>.sse` (mode 0600 on unix), so it can be replayed or
/// analyzed later.
///
/// Give it to the tee ([`Builder::capture`](crate::Builder::capture)): it
/// is written on the parse side, never on the forward path. Characters of
/// the request id other than ASCII letters, digits, `-`, `_` and `.` become
/// `_`; an existing file is never overwritten (`<id>-1.sse`, ... instead).
#[derive(Debug)]
pub struct RawCapture {
    out: BufWriter<File>,
    path: PathBuf,
    bytes: u64,
}

impl RawCapture {
    /// Creates the capture file for `request_id` in `dir` (which must exist).
    pub fn create(dir: &Path, request_id: &str) -> Result<RawCapture, Error> {
        let stem = file_stem(request_id);
        let mut n = 0u32;
        loop {
            let name = if n == 0 { format!("{stem}.sse") } else { format!("{stem}-{n}.sse") };
            let path = dir.join(name);
            match thinktee_transcript::private_options().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(RawCapture { out: BufWriter::new(file), path, bytes: 0 }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// The capture file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends the next piece of the stream (buffered).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Flushes the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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
        a.write(b"data: 1\n\n").unwrap();
        b.write(b"data: 2\n\n").unwrap();
        a.flush().unwrap();
        b.flush().unwrap();
        assert_eq!(std::fs::read(dir.join("req.sse")).unwrap(), b"data: 1\n\n");
        assert_eq!(std::fs::read(dir.join("req-1.sse")).unwrap(), b"data: 2\n\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
