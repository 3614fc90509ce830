//! Reading inputs named on the command line (`-` is stdin) in pieces.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::Context;

use crate::Outcome;

/// Size of one read: the SSE decoder and pipeline take any size.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// An open input and the name to report it by.
pub(crate) struct Input {
    pub(crate) name: String,
    reader: Box<dyn Read>,
}

impl Input {
    pub(crate) fn open(path: &str) -> anyhow::Result<Input> {
        if path == "-" {
            return Ok(Input { name: "-".into(), reader: Box::new(io::stdin().lock()) });
        }
        let file = File::open(Path::new(path)).with_context(|| format!("cannot open {path}"))?;
        Ok(Input { name: path.to_owned(), reader: Box::new(file) })
    }

    /// Reads the next piece into `buf` (cleared first); false at the end.
    pub(crate) fn read_piece(&mut self, buf: &mut Vec<u8>) -> anyhow::Result<bool> {
        buf.clear();
        buf.resize(READ_SIZE, 0);
        loop {
            match self.reader.read(buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.name)),
            }
        }
    }

    /// Reads everything that is left after `first`.
    pub(crate) fn read_rest(&mut self, mut first: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        self.reader
            .read_to_end(&mut first)
            .with_context(|| format!("cannot read {}", self.name))?;
        Ok(first)
    }
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
                eprintln!("thinktee: {e:#}");
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
