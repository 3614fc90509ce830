//! Reading inputs named on the command line (`-` is stdin) in pieces.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::Context;

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

/// The inputs, `-` when none were named.
pub(crate) fn paths(paths: &[String]) -> Vec<String> {
    if paths.is_empty() { vec!["-".to_owned()] } else { paths.to_vec() }
}
