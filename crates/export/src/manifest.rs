//! Which sources an output directory already holds, so that exporting the
//! same files again adds no rows.
//!
//! Each run that exports anything writes one manifest,
//! `DIR/_thinktee_manifest/<export_id>.jsonl`: one line per source it read
//! whole, naming it by canonical path, size and modification time. A later
//! run skips a source whose three facts a manifest already holds. A source
//! whose path is known but whose size or time changed (a transcript still
//! being appended to) is exported again, whole: its earlier rows stay
//! where they are, and readers deduplicate on `(source, stream, choice)`,
//! keeping the greatest `export_id`. Each line also says which of the
//! source's rows the run took ([`Taken`]: `--since`, `--until`, `--model`,
//! `--no-text`): a source exported here only with other filters is
//! exported again with these ([`Seen::OtherRows`]), so that no row is
//! silently missing (unless a run without filters took them all); rows
//! both runs took are then there twice, to deduplicate on the same key.
//! Each line also says the schema version its rows were written with
//! (lines without one are of version 1): a source exported with an older
//! version is still skipped (files are never rewritten), and
//! [`Manifest::older`] says so, so that the command can tell which sources
//! lack the newer columns. Engines skip the manifest directory (names
//! starting with `_` are hidden in Hive layout; it holds no `.parquet` or
//! `.csv` file).

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::{Error, io_at};
use crate::schema::SCHEMA_VERSION;
use crate::select::Select;

/// The manifests' directory under the output directory.
pub const MANIFEST_DIR: &str = "_thinktee_manifest";

/// A source file as a manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceId {
    /// Its canonical path.
    pub path: String,
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time, nanoseconds since the epoch, if known.
    pub modified_ns: Option<u64>,
}

impl SourceId {
    /// The facts of the file at `path` now.
    pub fn of(path: &Path) -> io::Result<SourceId> {
        let canonical = fs::canonicalize(path)?;
        let meta = fs::metadata(&canonical)?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok());
        let path = canonical.to_string_lossy().into_owned();
        Ok(SourceId { path, len: meta.len(), modified_ns })
    }
}

/// Which of a source's rows a run took. The default, every row with its
/// text, is what a line without `taken` says (the runs before it was
/// written down).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    /// `--since`, `--until`, `--model`.
    #[serde(flatten)]
    pub select: Select,
    /// `--no-text`: the reasoning, answer and request body left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_text: bool,
}

impl Taken {
    /// Every row, with its text.
    pub fn is_all(&self) -> bool {
        *self == Taken::default()
    }
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The source.
    #[serde(flatten)]
    pub source: SourceId,
    /// Rows written from it.
    pub rows: u64,
    /// The run that wrote them.
    pub export_id: String,
    /// The schema version of those rows (1 when the line has none).
    #[serde(default = "version_1")]
    pub schema_version: i64,
    /// Which of the source's rows the run took.
    #[serde(default, skip_serializing_if = "Taken::is_all")]
    pub taken: Taken,
}

fn version_1() -> i64 {
    1
}

/// What the manifests say of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never exported here.
    New,
    /// Exported here as it is now.
    Exported,
    /// Exported here as it is now, but only with other filters
    /// (`--since`, `--until`, `--model`, `--no-text`): the rows these take
    /// may not all be here.
    OtherRows,
    /// Exported here, but it has changed since.
    Changed,
}

/// Every source the manifests of an output directory name.
#[derive(Debug, Default)]
pub struct Manifest {
    by_path: HashMap<String, Vec<Known>>,
}

/// A source as one manifest line names it.
#[derive(Debug)]
struct Known {
    source: SourceId,
    schema_version: i64,
    taken: Taken,
}

impl Manifest {
    /// Reads the manifests under `dir` (none when it does not exist).
    pub fn load(dir: &Path) -> Result<Manifest, Error> {
        let mut manifest = Manifest::default();
        let at = dir.join(MANIFEST_DIR);
        let entries = match fs::read_dir(&at) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(manifest),
            Err(e) => return Err(io_at(at)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io_at(&at))?.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                manifest.read(&path)?;
            }
        }
        Ok(manifest)
    }

    fn read(&mut self, path: &Path) -> Result<(), Error> {
        let file = fs::File::open(path).map_err(io_at(path))?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_at(path))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(&line).map_err(|source| Error::Manifest {
                path: path.to_owned(),
                line: i as u64 + 1,
                source,
            })?;
            self.add(entry.source, entry.schema_version, entry.taken);
        }
        Ok(())
    }

    /// Counts the rows `taken` of `source` as exported with
    /// `schema_version` (as a run's own manifest will).
    pub fn add(&mut self, source: SourceId, schema_version: i64, taken: Taken) {
        let known = Known { source, schema_version, taken };
        self.by_path.entry(known.source.path.clone()).or_default().push(known);
    }

    /// What the manifests say of the rows `taken` of `source`.
    pub fn seen(&self, source: &SourceId, taken: &Taken) -> Seen {
        let Some(known) = self.by_path.get(&source.path) else { return Seen::New };
        let mut same = known.iter().filter(|k| k.source == *source).peekable();
        if same.peek().is_none() {
            Seen::Changed
        } else if same.any(|k| k.taken == *taken || k.taken.is_all()) {
            // A run that took every row with its text took these too.
            Seen::Exported
        } else {
            Seen::OtherRows
        }
    }

    /// The newest schema version `source`, as it is now, was exported
    /// with, if it is older than [`SCHEMA_VERSION`]: its rows lack the
    /// columns added since.
    pub fn older(&self, source: &SourceId) -> Option<i64> {
        let known = self.by_path.get(&source.path)?;
        let newest =
            known.iter().filter(|k| k.source == *source).map(|k| k.schema_version).max()?;
        (newest < SCHEMA_VERSION).then_some(newest)
    }
}

/// Writes a run's manifest: aside, then renamed to
/// `DIR/_thinktee_manifest/<export_id>.jsonl` (never replacing a file).
pub fn write_manifest(dir: &Path, export_id: &str, entries: &[Entry]) -> Result<PathBuf, Error> {
    let at = dir.join(MANIFEST_DIR);
    fs::create_dir_all(&at).map_err(io_at(&at))?;
    let path = at.join(format!("{export_id}.jsonl"));
    let aside = at.join(format!(".{export_id}.jsonl.inprogress"));
    let write = || -> io::Result<()> {
        let mut out =
            io::BufWriter::new(fs::OpenOptions::new().write(true).create_new(true).open(&aside)?);
        for e in entries {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&aside);
        return Err(io_at(&aside)(e));
    }
    crate::table::publish(&aside, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("thinktee-export-manifest-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_source_is_new_then_exported_then_changed() {
        let all = Taken::default();
        let dir = temp("seen");
        let source = dir.join("t.jsonl");
        fs::write(&source, "{}\n").unwrap();
        let out = dir.join("out");
        let id = SourceId::of(&source).unwrap();
        assert_eq!(Manifest::load(&out).unwrap().seen(&id, &all), Seen::New);
        let entry = Entry {
            source: id.clone(),
            rows: 1,
            export_id: "run-1".into(),
            schema_version: SCHEMA_VERSION,
            taken: Taken::default(),
        };
        let written = write_manifest(&out, "run-1", &[entry]).unwrap();
        assert_eq!(written, out.join(MANIFEST_DIR).join("run-1.jsonl"));
        assert_eq!(Manifest::load(&out).unwrap().seen(&id, &all), Seen::Exported);
        // The same file by another name is the same source.
        let other = SourceId::of(&dir.join(".").join("t.jsonl")).unwrap();
        assert_eq!(Manifest::load(&out).unwrap().seen(&other, &all), Seen::Exported);
        fs::write(&source, "{}\n{}\n").unwrap();
        let grown = SourceId::of(&source).unwrap();
        assert_eq!(Manifest::load(&out).unwrap().seen(&grown, &all), Seen::Changed);
        // A run's manifest is never replaced.
        assert!(matches!(write_manifest(&out, "run-1", &[]), Err(Error::Exists(_))));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_line_without_a_schema_version_is_of_version_1() {
        let all = Taken::default();
        let dir = temp("v1");
        let source = dir.join("t.jsonl");
        fs::write(&source, "{}\n").unwrap();
        let id = SourceId::of(&source).unwrap();
        // A line as the first export wrote it.
        let line = format!(
            r#"{{"path":{},"len":{},"modified_ns":{},"rows":1,"export_id":"run-0"}}"#,
            serde_json::to_string(&id.path).unwrap(),
            id.len,
            id.modified_ns.unwrap()
        );
        fs::create_dir_all(dir.join(MANIFEST_DIR)).unwrap();
        fs::write(dir.join(MANIFEST_DIR).join("run-0.jsonl"), line + "\n").unwrap();
        let manifest = Manifest::load(&dir).unwrap();
        assert_eq!((manifest.seen(&id, &all), manifest.older(&id)), (Seen::Exported, Some(1)));
        // Exported again with this version: not older any more.
        let entry = Entry {
            source: id.clone(),
            rows: 1,
            export_id: "run-1".into(),
            schema_version: 2,
            taken: Taken::default(),
        };
        write_manifest(&dir, "run-1", &[entry]).unwrap();
        assert_eq!(Manifest::load(&dir).unwrap().older(&id), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rows_taken_with_other_filters_are_not_the_ones_asked_for() {
        let dir = temp("taken");
        let source = dir.join("t.jsonl");
        fs::write(&source, "{}\n").unwrap();
        let id = SourceId::of(&source).unwrap();
        let model = |m: &str| Taken {
            select: Select { model: Some(m.into()), ..Select::default() },
            no_text: false,
        };
        let entry = |run: &str, taken: Taken| Entry {
            source: id.clone(),
            rows: 1,
            export_id: run.into(),
            schema_version: SCHEMA_VERSION,
            taken,
        };
        let path = write_manifest(&dir, "run-1", &[entry("run-1", model("a"))]).unwrap();
        // As the line says it: only what is not the default.
        let line = fs::read_to_string(path).unwrap();
        assert!(line.contains(r#""taken":{"model":"a"}"#), "{line}");
        let seen = |taken: &Taken| Manifest::load(&dir).unwrap().seen(&id, taken);
        assert_eq!(seen(&model("a")), Seen::Exported);
        assert_eq!(seen(&model("b")), Seen::OtherRows);
        assert_eq!(seen(&Taken::default()), Seen::OtherRows);
        let no_text = Taken { no_text: true, ..Taken::default() };
        assert_eq!(seen(&no_text), Seen::OtherRows);
        write_manifest(&dir, "run-2", &[entry("run-2", no_text.clone())]).unwrap();
        assert_eq!(seen(&no_text), Seen::Exported);
        assert_eq!(seen(&Taken::default()), Seen::OtherRows);
        // A line without `taken` (before it was written) took every row.
        let old = format!(
            r#"{{"path":{},"len":{},"modified_ns":{},"rows":1,"export_id":"run-0","schema_version":2}}"#,
            serde_json::to_string(&id.path).unwrap(),
            id.len,
            id.modified_ns.unwrap()
        );
        fs::write(dir.join(MANIFEST_DIR).join("run-0.jsonl"), old + "\n").unwrap();
        assert_eq!(seen(&Taken::default()), Seen::Exported);
        // Which holds every row, with its text, whatever the filters.
        assert_eq!(seen(&model("c")), Seen::Exported);
        assert_eq!(seen(&no_text), Seen::Exported);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_manifest_line_is_an_error_naming_it() {
        let dir = temp("bad");
        fs::create_dir_all(dir.join(MANIFEST_DIR)).unwrap();
        fs::write(dir.join(MANIFEST_DIR).join("x.jsonl"), "\n{\"path\":1}\n").unwrap();
        let err = Manifest::load(&dir).unwrap_err();
        assert!(matches!(err, Error::Manifest { line: 2, .. }), "{err:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
