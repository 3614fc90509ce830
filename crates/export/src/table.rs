//! The `streams` table written as files in Hive layout.
//!
//! ```text
//! DIR/date=2026-05-01/part-<uuidv7>.parquet
//! DIR/date=__HIVE_DEFAULT_PARTITION__/part-<uuidv7>.parquet   (no request time)
//! ```
//!
//! Each partition the rows reach gets a file of its own. A file is written
//! aside (`.part-<uuidv7>.parquet.inprogress`, a name every engine skips)
//! and renamed when it is complete, so readers only ever see whole files,
//! and no file is ever written twice: a name that exists is an error.
//!
//! Memory is bounded by the limits, not the input ([`Limits`]): rows are
//! gathered into a batch of at most `batch_rows` rows and `batch_bytes`
//! bytes (a single larger row is a batch of its own), encoded into a row
//! group of at most `row_group_rows` rows and `row_group_bytes` encoded
//! bytes.
//!
//! Rows whose dates interleave keep one file per date open, whatever the
//! order: what bounds them is a budget of bytes held over every open file,
//! `buffer_bytes` (rows gathered and the encoded row group not yet
//! written, as [`Stats::max_buffered_bytes`] counts them). After each row,
//! while more than the budget is held, the partition holding the most
//! writes its row group to its file, which stays open: so between rows at
//! most the budget is held, and the budget and one row while a row is
//! taken (an encoding in progress aside, see [`Stats::max_buffered_bytes`]);
//! a row group the budget cuts holds at least `buffer_bytes /
//! open_partitions` of those bytes. Rows of N dates in
//! any order thus make N files, as long as N is at most `open_partitions`
//! (open file descriptors are finite). Past that, the file used least
//! recently is finished to make room, and a later row of its date starts
//! a new file. A file past `file_bytes` is finished too: besides bounding
//! files, that bounds its footer, the metadata of each of its row groups,
//! which is held until the file is finished.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::batch::Batch;
use crate::csv;
use crate::error::{Error, io_at};
use crate::row::{Row, RowOptions};
use crate::schema::{NO_DATE, PARTITION, SCHEMA_VERSION, TABLE, schema};
use crate::time::date;

/// The most text one row may hold: Parquet keeps a value's length in 32
/// bits, and Arrow a batch's text offsets.
pub const MAX_ROW_BYTES: usize = 1 << 30;

/// zstd level of every column but the long text: level 3 is zstd's
/// default, 4 to 10 times smaller than the text on the recorded fixtures at
/// a fraction of the time the higher levels take.
const ZSTD_LEVEL: i32 = 3;

/// zstd level of the long text columns ([`LONG_TEXT`]), which hold nearly
/// all the bytes. Measured on 1 GB of long R1 streams (benches/RESULTS.md,
/// 12 interleaved runs): level 1 takes 3.5 % less export CPU than level 3
/// (lower in 11 of 12 runs; export / split 1.49x against 1.56x, medians of
/// the runs' ratios) for files 5 % larger (19.0 MB against 18.1 MB).
const LONG_TEXT_ZSTD_LEVEL: i32 = 1;

/// Columns of long, rarely repeated text: no dictionary, no statistics
/// (useless for skipping, and each would cost the file footer 64 bytes per
/// page), zstd at [`LONG_TEXT_ZSTD_LEVEL`].
const LONG_TEXT: [&str; 3] = ["reasoning", "content", "extra"];

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Parquet, zstd-compressed.
    Parquet,
    /// CSV with a header line; lists and structs as JSON strings.
    Csv,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// What bounds the memory a [`TableWriter`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rows gathered before they are encoded.
    pub batch_rows: usize,
    /// Bytes of rows gathered before they are encoded.
    pub batch_bytes: usize,
    /// Rows of one Parquet row group.
    pub row_group_rows: usize,
    /// Encoded bytes of one Parquet row group.
    pub row_group_bytes: usize,
    /// Bytes of one file, past which it is finished.
    pub file_bytes: u64,
    /// Bytes held at once over every open file (rows gathered and row
    /// groups not yet written), past which the partition holding the most
    /// writes its row group.
    pub buffer_bytes: usize,
    /// Files open at once (one per partition being written); past that
    /// the one used least recently is finished.
    pub open_partitions: usize,
}

impl Default for Limits {
    /// 8192 rows or 16 MiB a batch, 128 Ki rows or 64 MiB a row group,
    /// 512 MiB a file; 256 MiB held over at most 128 open files.
    ///
    /// 256 MiB lets three partitions fill whole row groups and batches at
    /// once (a transcript crossing midnight uses two); 128 files leave room
    /// under the usual limit of 1,024 descriptors, and keep the row groups
    /// the budget cuts at 2 MiB or more.
    fn default() -> Limits {
        Limits {
            batch_rows: 8192,
            batch_bytes: 16 << 20,
            row_group_rows: 128 << 10,
            row_group_bytes: 64 << 20,
            file_bytes: 512 << 20,
            buffer_bytes: 256 << 20,
            open_partitions: 128,
        }
    }
}

/// How a [`TableWriter`] writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parquet or CSV.
    pub format: Format,
    /// Write the reasoning and answer text and the request body (`false`
    /// is `--no-text`: those are null, their sizes stay).
    pub text: bool,
    /// Memory bounds.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Options {
        Options { format: Format::Parquet, text: true, limits: Limits::default() }
    }
}

/// What a writer did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows written.
    pub rows: u64,
    /// Files finished.
    pub files: u64,
    /// Record batches encoded (Parquet).
    pub batches: u64,
    /// Row groups written (Parquet).
    pub row_groups: u64,
    /// Rows of the largest batch.
    pub max_batch_rows: usize,
    /// Bytes of the largest batch, as rows count them.
    pub max_batch_bytes: usize,
    /// The most bytes held at once between the steps of writing: rows
    /// gathered (as rows count them) and encoded row groups not yet
    /// written (as the Parquet writers count them), over every open file.
    /// Counted after each row is gathered and after each row's budget is
    /// kept. Not counted: the moment one batch is being encoded, when its
    /// rows and their encoding are both held (a new row group's column
    /// writers take about 1.8 MB, however few its rows).
    pub max_buffered_bytes: usize,
    /// Row groups written early because more than
    /// [`Limits::buffer_bytes`] was held.
    pub budget_flushes: u64,
    /// Files finished early to keep at most [`Limits::open_partitions`]
    /// open.
    pub evictions: u64,
}

/// A file being written.
#[derive(Debug)]
struct Part {
    date: String,
    aside: PathBuf,
    path: PathBuf,
    out: Out,
    /// The bytes it holds: its batch's and its writer's, as last counted.
    held: usize,
}

#[derive(Debug)]
enum Out {
    Parquet { writer: Box<ArrowWriter<File>>, batch: Batch },
    Csv { out: BufWriter<File>, bytes: u64 },
}

/// Writes rows into `DIR`, one file per partition; see the module docs.
#[derive(Debug)]
pub struct TableWriter {
    dir: PathBuf,
    options: Options,
    export_id: String,
    /// Open files, the one used least recently first.
    parts: Vec<Part>,
    /// The sum of the open files' `held`.
    held: usize,
    stats: Stats,
    written: Vec<PathBuf>,
}

impl TableWriter {
    /// A writer into `dir` (created when missing) for the run `export_id`
    /// (which names nothing: files get UUIDv7 names of their own).
    pub fn new(dir: &Path, export_id: &str, options: Options) -> Result<TableWriter, Error> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        Ok(TableWriter {
            dir: dir.to_owned(),
            options,
            export_id: export_id.to_owned(),
            parts: Vec::new(),
            held: 0,
            stats: Stats::default(),
            written: Vec::new(),
        })
    }

    /// What was done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Writes one row.
    pub fn push(&mut self, row: &Row<'_>) -> Result<(), Error> {
        let text = self.options.text;
        let bytes = row.size(text);
        if bytes > MAX_ROW_BYTES {
            return Err(Error::RowTooLarge {
                source_name: row.source.to_owned(),
                stream: row.record.split.stream,
                bytes,
            });
        }
        let day = row.started_us().map_or_else(|| NO_DATE.to_owned(), date);
        let at = self.part_for(&day)?;
        let limits = self.options.limits;
        // Encode what is gathered first if this row would pass the bytes bound.
        if matches!(&self.parts[at].out,
            Out::Parquet { batch, .. } if batch.rows() > 0 && batch.bytes() + bytes > limits.batch_bytes)
        {
            self.encode(at, false)?;
            self.keep_to_budget()?;
        }
        let extra = row.extra(text);
        let row_options = RowOptions { export_id: &self.export_id, text };
        let values = row.values(&row_options, extra.as_deref());
        let part = &mut self.parts[at];
        match &mut part.out {
            Out::Parquet { batch, .. } => {
                batch.push(&values, bytes);
                part.held += bytes;
                self.held += bytes;
                self.stats.max_buffered_bytes = self.stats.max_buffered_bytes.max(self.held);
            }
            Out::Csv { out, bytes: written } => {
                let mut counting = Counting { inner: out, bytes: 0 };
                csv::write_row(&mut counting, &values).map_err(io_at(&part.aside))?;
                *written += counting.bytes;
            }
        }
        self.stats.rows += 1;
        if matches!(&self.parts[at].out,
            Out::Parquet { batch, .. } if batch.rows() >= limits.batch_rows || batch.bytes() >= limits.batch_bytes)
        {
            self.encode(at, false)?;
        }
        self.keep_to_budget()?;
        self.stats.max_buffered_bytes = self.stats.max_buffered_bytes.max(self.held);
        let full = match &self.parts[at].out {
            Out::Parquet { writer, .. } => writer.bytes_written() as u64 >= limits.file_bytes,
            Out::Csv { bytes, .. } => *bytes >= limits.file_bytes,
        };
        if full {
            let part = self.parts.remove(at);
            self.finish_part(part)?;
        }
        Ok(())
    }

    /// Finishes every open file; returns what was done and the files
    /// written, in the order they were finished.
    pub fn finish(mut self) -> Result<(Stats, Vec<PathBuf>), Error> {
        while !self.parts.is_empty() {
            let part = self.parts.remove(0);
            self.finish_part(part)?;
        }
        Ok((self.stats.clone(), std::mem::take(&mut self.written)))
    }

    /// Encodes the rows the open file `at` gathered into its row group,
    /// and with `flush` writes that row group to the file; counts again
    /// what the file holds. The writers' memory is asked only here, once
    /// a batch (asked after every row, it took 5% of an export's time).
    fn encode(&mut self, at: usize, flush: bool) -> Result<(), Error> {
        let part = &mut self.parts[at];
        let Out::Parquet { writer, batch } = &mut part.out else {
            return Ok(());
        };
        encode(writer, batch, &mut self.stats, &part.aside)?;
        if flush {
            writer.flush().map_err(|source| Error::Parquet { path: part.aside.clone(), source })?;
        }
        let held = batch.bytes() + writer.memory_size();
        self.held = self.held - part.held + held;
        part.held = held;
        Ok(())
    }

    /// While more than the budget is held, the open file holding the most
    /// writes its row group (and stays open).
    fn keep_to_budget(&mut self) -> Result<(), Error> {
        while self.held > self.options.limits.buffer_bytes {
            let Some((at, _)) = self
                .parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.held > 0)
                .max_by_key(|(_, p)| p.held)
            else {
                break;
            };
            self.encode(at, true)?;
            self.stats.budget_flushes += 1;
        }
        Ok(())
    }

    /// The index of the open file of partition `day`, opened (and another
    /// finished to make room) if needed; it becomes the most recently used.
    fn part_for(&mut self, day: &str) -> Result<usize, Error> {
        if let Some(at) = self.parts.iter().position(|p| p.date == day) {
            let part = self.parts.remove(at);
            self.parts.push(part);
        } else {
            if self.parts.len() >= self.options.limits.open_partitions.max(1) {
                let oldest = self.parts.remove(0);
                self.finish_part(oldest)?;
                self.stats.evictions += 1;
            }
            let part = self.open(day)?;
            self.parts.push(part);
        }
        Ok(self.parts.len() - 1)
    }

    fn open(&self, day: &str) -> Result<Part, Error> {
        let dir = self.dir.join(format!("{PARTITION}={day}"));
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let name = format!("part-{}.{}", uuid::Uuid::now_v7(), self.options.format.extension());
        let (aside, path) = (dir.join(format!(".{name}.inprogress")), dir.join(name));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&aside)
            .map_err(io_at(&aside))?;
        let out = match self.options.format {
            Format::Parquet => {
                let writer = ArrowWriter::try_new(file, schema(), Some(self.properties()))
                    .map_err(|source| Error::Parquet { path: aside.clone(), source })?;
                Out::Parquet { writer: Box::new(writer), batch: Batch::new() }
            }
            Format::Csv => {
                let mut out = BufWriter::new(file);
                let mut counting = Counting { inner: &mut out, bytes: 0 };
                csv::write_header(&mut counting).map_err(io_at(&aside))?;
                let bytes = counting.bytes;
                Out::Csv { out, bytes }
            }
        };
        Ok(Part { date: day.to_owned(), aside, path, out, held: 0 })
    }

    fn properties(&self) -> WriterProperties {
        let limits = self.options.limits;
        let zstd = ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default();
        let text_zstd = ZstdLevel::try_new(LONG_TEXT_ZSTD_LEVEL).unwrap_or_default();
        let metadata = vec![
            KeyValue::new("thinktee.table".into(), TABLE.to_owned()),
            KeyValue::new("thinktee.schema_version".into(), SCHEMA_VERSION.to_string()),
            KeyValue::new("thinktee.export_id".into(), self.export_id.clone()),
        ];
        let mut builder = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_max_row_group_row_count(Some(limits.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(limits.row_group_bytes.max(1)))
            .set_key_value_metadata(Some(metadata))
            .set_created_by(format!("thinktee {}", env!("CARGO_PKG_VERSION")));
        for column in LONG_TEXT {
            let path = ColumnPath::from(column);
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_compression(path.clone(), Compression::ZSTD(text_zstd))
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
        builder.build()
    }

    /// Encodes what is gathered, closes the file and gives it its name;
    /// on failure the file is removed.
    fn finish_part(&mut self, part: Part) -> Result<(), Error> {
        let Part { aside, path, out, held, .. } = part;
        self.held -= held;
        let stats = &mut self.stats;
        let close = || -> Result<(), Error> {
            match out {
                Out::Parquet { mut writer, mut batch } => {
                    encode(&mut writer, &mut batch, stats, &aside)?;
                    let parquet = |source| Error::Parquet { path: aside.clone(), source };
                    writer.flush().map_err(parquet)?;
                    stats.row_groups += writer.flushed_row_groups().len() as u64;
                    // Writes the footer.
                    let file = writer.into_inner().map_err(parquet)?;
                    file.sync_all().map_err(io_at(&aside))
                }
                Out::Csv { out, .. } => out
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)
                    .and_then(|file| file.sync_all())
                    .map_err(io_at(&aside)),
            }
        };
        if let Err(e) = close() {
            let _ = fs::remove_file(&aside);
            return Err(e);
        }
        publish(&aside, &path)?;
        self.stats.files += 1;
        self.written.push(path);
        Ok(())
    }
}

impl Drop for TableWriter {
    /// Files not finished (the run failed) are removed: no part of a file
    /// is ever left under a name engines read.
    fn drop(&mut self) {
        for part in &self.parts {
            let _ = fs::remove_file(&part.aside);
        }
    }
}

/// Encodes the gathered rows into the file's row group.
fn encode(
    writer: &mut ArrowWriter<File>,
    batch: &mut Batch,
    stats: &mut Stats,
    path: &Path,
) -> Result<(), Error> {
    if batch.rows() == 0 {
        return Ok(());
    }
    stats.batches += 1;
    stats.max_batch_rows = stats.max_batch_rows.max(batch.rows());
    stats.max_batch_bytes = stats.max_batch_bytes.max(batch.bytes());
    let records = batch.finish()?;
    writer.write(&records).map_err(|source| Error::Parquet { path: path.to_owned(), source })
}

/// Gives the finished file `aside` its name `path`, which must not exist.
pub(crate) fn publish(aside: &Path, path: &Path) -> Result<(), Error> {
    // A hard link fails when `path` exists, where a rename would replace it.
    let linked = fs::hard_link(aside, path).or_else(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists || path.exists() {
            Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
        } else {
            // A file system without hard links: the name was free just now.
            fs::rename(aside, path)
        }
    });
    match linked {
        Ok(()) => {
            let _ = fs::remove_file(aside);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(aside);
            Err(Error::Exists(path.to_owned()))
        }
        Err(e) => {
            let _ = fs::remove_file(aside);
            Err(io_at(path)(e))
        }
    }
}

/// Counts the bytes written through it.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
