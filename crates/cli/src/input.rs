//! Reading inputs named on the command line (`-` is stdin) in pieces,
//! compressed or not.
//!
//! Exit codes follow from where a failure is: an input that cannot be
//! opened or read (a missing file, a directory, a corrupt gzip stream) is
//! reported on stderr and the other inputs still run (exit 1); failing to
//! write the output is fatal (exit 2), except a closed pipe (exit 0).

use std::fs::File;
use std::io::{self, Cursor, Read, Write};
use std::path::Path;

use crate::Outcome;
use crate::term::escape;

/// Size of one read: the SSE decoder and pipeline take any size.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// gzip's magic bytes (RFC 1952).
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";
/// A zstd frame's magic number, little-endian (RFC 8878).
const ZSTD_MAGIC: &[u8] = b"\x28\xb5\x2f\xfd";

/// An open input and the name to report it by.
pub(crate) struct Input {
    /// The name as given, escaped for the terminal.
    pub(crate) name: String,
    reader: Box<dyn Read>,
}

impl Input {
    /// Opens `path` (`-` is stdin). A directory is an error; a FIFO or a
    /// device named here is read like a file. gzip and zstd are decoded.
    pub(crate) fn open(path: &str) -> io::Result<Input> {
        let name = escape(path).into_owned();
        if path == "-" {
            return Ok(Input { name, reader: decompressed(Box::new(io::stdin().lock()))? });
        }
        Input::open_path(Path::new(path), name)
    }

    /// Opens a file by path, reported as `name`.
    pub(crate) fn open_path(path: &Path, name: String) -> io::Result<Input> {
        let file = File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
        }
        Ok(Input { name, reader: decompressed(Box::new(file))? })
    }

    /// Reads the next piece into `buf` (cleared first); false at the end.
    pub(crate) fn read_piece(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        buf.resize(READ_SIZE, 0);
        loop {
            match self.reader.read(buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// `reader`, decoded if it starts with gzip's or zstd's magic bytes (by
/// content, whatever the name). Reads only as far as needed to tell: a
/// first byte that starts neither magic decides at once.
fn decompressed(mut reader: Box<dyn Read>) -> io::Result<Box<dyn Read>> {
    let mut head = [0u8; ZSTD_MAGIC.len()];
    let mut got = 0;
    while got < head.len() && could_be_magic(&head[..got]) {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..got];
    let whole = Cursor::new(head.to_vec()).chain(reader);
    Ok(if head.starts_with(GZIP_MAGIC) {
        // Multi-member: `cat a.gz b.gz` is one valid stream.
        Box::new(flate2::read::MultiGzDecoder::new(whole))
    } else if head.starts_with(ZSTD_MAGIC) {
        Box::new(zstd::stream::read::Decoder::new(whole)?)
    } else {
        Box::new(whole)
    })
}

fn could_be_magic(head: &[u8]) -> bool {
    (head.len() < GZIP_MAGIC.len() && GZIP_MAGIC.starts_with(head)) || ZSTD_MAGIC.starts_with(head)
}

/// Runs `each` over every named input (stdin when none), in order, writing
/// to `out`. An input that cannot be opened is reported on stderr and makes
/// the result [`Outcome::HadErrors`]; the others still run.
pub(crate) fn for_each_input<W: Write>(
    paths: &[String],
    out: &mut W,
    mut each: impl FnMut(Input, &mut W) -> anyhow::Result<Outcome>,
) -> anyhow::Result<Outcome> {
    let stdin = ["-".to_owned()];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    let mut outcome = Outcome::Clean;
    for path in paths {
        let this = match Input::open(path) {
            Ok(input) => each(input, out)?,
            Err(e) => {
                out.flush()?;
                eprintln!("thinktee: {}: cannot read: {e}", escape(path));
                Outcome::HadErrors
            }
        };
        if this == Outcome::HadErrors {
            outcome = Outcome::HadErrors;
        }
    }
    out.flush()?;
    Ok(outcome)
}

/// Feeds every piece of `input` to `each`. A read error ends the input: it
/// is reported on stderr (after `out` is flushed, so messages follow the
/// output they concern) and makes the result [`Outcome::HadErrors`]; what
/// was read before it has been fed.
pub(crate) fn pump<W: Write>(
    input: &mut Input,
    out: &mut W,
    mut each: impl FnMut(&[u8], &mut W) -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    let mut buf = Vec::new();
    loop {
        match input.read_piece(&mut buf) {
            Ok(true) => each(&buf, out)?,
            Ok(false) => return Ok(Outcome::Clean),
            Err(e) => {
                out.flush()?;
                eprintln!("thinktee: {}: cannot read: {e}", input.name);
                return Ok(Outcome::HadErrors);
            }
        }
    }
}
