//! Files and directories only their owner may read: transcripts and raw
//! captures hold prompts and answers.
//!
//! - New files are mode 0600 and new directories 0700 (on unix).
//! - An existing transcript file is opened without following a symbolic
//!   link (`O_NOFOLLOW`: the check and the open are one system call, so no
//!   link can be swapped in between), must be a regular file, and is
//!   tightened to 0600 if others may read it and it is ours (owned by the
//!   effective user); a loose file of another user is refused.
//! - An existing directory is tightened to 0700 the same way, and refused
//!   when it is another user's. A directory with the sticky bit (`/tmp`) is
//!   shared by design: it is refused, never tightened. A directory named
//!   through a symbolic link is followed (a transcripts directory on another
//!   disk is common practice); the directory it names is checked. The
//!   directory is checked by path, then changed by path: whoever can
//!   replace it in between can write its parent, which no check here can
//!   protect against.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::Error;

/// How far back, at most, one read looks for the end of the last line of
/// an existing file (the search goes on in steps of this size).
const TAIL_STEP: u64 = 64 * 1024;

/// [`OpenOptions`] that create files with mode 0600 on unix (readable by
/// their owner only: transcripts and captures hold prompts and answers).
/// Add `create`/`append`/`create_new` as needed.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` (and missing parents) with mode 0700 on unix; an existing
/// directory that others may enter is tightened to 0700 if it is ours, and
/// refused if it is another user's or shared (sticky bit). See the module
/// docs.
pub fn private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory(dir.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = meta.mode() & 0o7777;
        if mode & 0o1000 != 0 {
            return Err(Error::NotPrivate { path: dir.to_owned(), mode });
        }
        if let Some(tight) = tightened(mode, meta.uid(), 0o700, dir)? {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(tight))?;
            tracing::warn!(path = %dir.display(), from = format_args!("{mode:o}"), "directory was open to others: now mode 700");
        }
    }
    Ok(())
}

/// A file opened for appending, and what was found at its end.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) file: File,
    /// Its length when opened.
    pub(crate) len: u64,
    /// Bytes after its last newline: a line cut by a crash or a full disk.
    pub(crate) torn: u64,
}

/// Opens `path` for appending (creating it 0600 if missing), refusing a
/// symbolic link or anything but a regular file, tightening a loose mode
/// (see the module docs); measures a torn last line.
pub(crate) fn open_append(path: &Path) -> Result<Opened, Error> {
    let mut options = private_options();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NOFOLLOW.bits() as i32,
    );
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if is_symlink(path, &e) => return Err(Error::Symlink(path.to_owned())),
        Err(e) => return Err(Error::Io(e)),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::NotAFile(path.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = meta.mode() & 0o7777;
        if let Some(tight) = tightened(mode, meta.uid(), 0o600, path)? {
            file.set_permissions(std::fs::Permissions::from_mode(tight))?;
            tracing::warn!(path = %path.display(), from = format_args!("{mode:o}"), "transcript file was open to others: now mode 600");
        }
    }
    let len = meta.len();
    let torn = torn_tail(&mut file, len)?;
    Ok(Opened { file, len, torn })
}

/// Whether an open error means `path` is a symbolic link (`O_NOFOLLOW`
/// fails with `ELOOP` on one; so does a loop in the directories above it,
/// which `symlink_metadata` tells apart).
fn is_symlink(path: &Path, e: &io::Error) -> bool {
    #[cfg(unix)]
    if rustix::io::Errno::from_io_error(e) != Some(rustix::io::Errno::LOOP) {
        return false;
    }
    #[cfg(not(unix))]
    let _ = e;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The mode to set, if `mode` lets group or others in: `private` when the
/// file is ours, an error when it is another user's.
#[cfg(unix)]
fn tightened(mode: u32, owner: u32, private: u32, path: &Path) -> Result<Option<u32>, Error> {
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    if owner != rustix::process::geteuid().as_raw() {
        return Err(Error::NotPrivate { path: path.to_owned(), mode });
    }
    Ok(Some(mode & !0o777 | private))
}

/// Bytes after the last newline of a file of `len` bytes (0 when it is
/// empty or ends with a newline). Reads backwards in steps of
/// [`TAIL_STEP`]: memory stays bounded, time grows with the fragment.
fn torn_tail(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; TAIL_STEP.min(len) as usize];
    while end > 0 {
        let start = end.saturating_sub(TAIL_STEP);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = memrchr_newline(chunk) {
            return Ok(len - (start + i as u64 + 1));
        }
        end = start;
    }
    Ok(len)
}

fn memrchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_measured_past_one_step() {
        let path = std::env::temp_dir().join(format!("thinktee-tail-{}", std::process::id()));
        let fragment = 2 * TAIL_STEP as usize + 17;
        for (content, torn) in [
            (format!("{{}}\n{}", "x".repeat(fragment)), fragment as u64),
            ("x".repeat(fragment), fragment as u64),
            ("{}\n{}\n".to_owned(), 0),
            (String::new(), 0),
        ] {
            std::fs::write(&path, &content).unwrap();
            let opened = open_append(&path).unwrap();
            assert_eq!((opened.len, opened.torn), (content.len() as u64, torn));
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn another_users_loose_file_is_refused_ours_is_tightened() {
        let me = rustix::process::geteuid().as_raw();
        let path = Path::new("/x/transcripts.jsonl");
        assert_eq!(tightened(0o600, me + 1, 0o600, path).unwrap(), None);
        assert_eq!(tightened(0o644, me, 0o600, path).unwrap(), Some(0o600));
        assert_eq!(tightened(0o100755, me, 0o700, path).unwrap(), Some(0o100700));
        let refused = tightened(0o640, me + 1, 0o600, path).unwrap_err();
        assert!(matches!(refused, Error::NotPrivate { mode: 0o640, .. }), "{refused}");
    }
}
