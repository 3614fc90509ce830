//! Fixture access for the end-to-end tests.

use std::path::{Path, PathBuf};

/// `fixtures/` at the repository root.
pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// `(stem, bytes)` of every `fixtures/<dir>/*.sse`, sorted by stem.
pub(crate) fn sse_fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir().join(dir);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_name()?.to_str()?.strip_suffix(".sse")?.to_owned();
            Some((stem, std::fs::read(&path).ok()?))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}
