//! The `streams` table: one row per choice of each stream, written where
//! analytics engines read it.
//!
//! - [`COLUMNS`], [`schema`]: the columns, typed as every engine reads
//!   them alike ([`SCHEMA_VERSION`]); names shared with `thinktee split
//!   --format json` mean the same.
//! - [`Row`]: a [`TranscriptRecord`](thinktee_transcript::TranscriptRecord)
//!   and the file it came from. Recordings become records through an
//!   [`Assembler`](thinktee_transcript::Assembler); transcripts are records.
//! - [`TableWriter`]: Hive-partitioned files, `date=YYYY-MM-DD/part-<uuidv7>.parquet`
//!   (or `.csv`), batches and row groups bounded in rows and bytes
//!   ([`Limits`]), each file written aside and renamed, never rewritten.
//! - [`Manifest`]: which sources an output directory holds already, so a
//!   second export of the same files adds nothing.
//! - [`Select`]: `--since`, `--until`, `--model`; [`parse_time`].
//!
//! This is the only crate of the workspace that depends on `arrow` and
//! `parquet`, at the major version DataFusion builds on.
//!
//! # Example
//! ```
//! use thinktee_export::{Options, Row, TableWriter};
//! use thinktee_pipeline::Pipeline;
//! use thinktee_transcript::Assembler;
//!
//! let recording = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>hm</think>Hi\"}}]}\n\ndata: [DONE]\n\n";
//! let mut assembler = Assembler::new();
//! let Ok(_) = Pipeline::default().run_document(recording.as_bytes(), &mut assembler);
//! let dir = std::env::temp_dir().join(format!("thinktee-export-doc-{}", std::process::id()));
//! let mut table = TableWriter::new(&dir, "run-1", Options::default())?;
//! for (i, record) in assembler.drain().enumerate() {
//!     table.push(&Row { source: "a.sse", record: &record, first_of_stream: i == 0 })?;
//! }
//! let (stats, files) = table.finish()?;
//! assert_eq!((stats.rows, files.len()), (1, 1));
//! assert!(files[0].starts_with(dir.join("date=__HIVE_DEFAULT_PARTITION__")));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod batch;
mod csv;
mod error;
mod manifest;
mod row;
mod schema;
mod select;
mod table;
mod time;

pub use error::Error;
pub use manifest::{Entry, MANIFEST_DIR, Manifest, Seen, SourceId, Taken, write_manifest};
pub use row::Row;
pub use schema::{
    COLUMNS, Column, ERROR_FIELDS, FILTER_FIELDS, Kind, NO_DATE, PARTITION, SCHEMA_VERSION, TABLE,
    TOOL_CALL_FIELDS, schema,
};
pub use select::Select;
pub use table::{Format, Limits, MAX_ROW_BYTES, Options, Stats, TableWriter};
pub use time::{TimeError, date, parse_time, rfc3339, unix_ms_to_us};

/// A new export run's id (`export_id`): a UUIDv7, so ids sort by time.
pub fn new_export_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
