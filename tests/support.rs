//! Fixture access for the end-to-end tests.

use std::path::{Path, PathBuf};

/// `fixtures/` at the repository root.
pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// `(stem, bytes)` of every `fixtures/<dir>/*.sse`, sorted by stem.
/// The splitter policy a fixture is split with: `preset_<name>_….sse`
/// names its preset (`-` written `_`); the others take the default.
pub(crate) fn splitter_of(stem: &str) -> thinktee_pipeline::SplitterConfig {
    let preset = thinktee_pipeline::Preset::ALL
        .into_iter()
        .find(|p| stem.starts_with(&format!("preset_{}_", p.as_str().replace('-', "_"))))
        .unwrap_or_default();
    thinktee_pipeline::SplitterConfig::preset(preset)
}

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
