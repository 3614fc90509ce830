//! Queries on embedded Apache DataFusion.

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures_util::StreamExt;
use thinktee_export::{COLUMNS, NO_DATE, PARTITION, TABLE, schema};

use crate::views::VIEWS;

/// Rows a table shows at most: a table is for reading; CSV and JSON Lines
/// stream every row.
const MAX_TABLE_ROWS: usize = 10_000;

/// The listing of the files under the `streams` view, which turns the
/// partition directory into a date.
const FILES: &str = "streams_files";

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An aligned table (at most 10,000 rows).
    Table,
    /// CSV with a header line (lists and structs cannot be written).
    Csv,
    /// One JSON object per row.
    Json,
}

/// Why a query failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// DataFusion refused or failed the query.
    Query(DataFusionError),
    /// The answer could not be formatted.
    Format(ArrowError),
    /// The answer could not be written.
    Io(io::Error),
    /// The runtime could not start.
    Runtime(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Query(_) => write!(f, "query failed"),
            Error::Format(_) => write!(f, "cannot format the answer"),
            Error::Io(_) => write!(f, "cannot write the answer"),
            Error::Runtime(_) => write!(f, "cannot start the query runtime"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Query(e) => Some(e),
            Error::Format(e) => Some(e),
            Error::Io(e) | Error::Runtime(e) => Some(e),
        }
    }
}

impl From<DataFusionError> for Error {
    fn from(e: DataFusionError) -> Error {
        Error::Query(e)
    }
}

impl From<ArrowError> for Error {
    fn from(e: ArrowError) -> Error {
        Error::Format(e)
    }
}

/// Runs `sql` over `streams` made of the exported directories `dirs`
/// (and the named [`VIEWS`]), writing the answer to `out`. Returns the
/// number of rows written.
pub fn run(sql: &str, dirs: &[PathBuf], output: Output, out: &mut dyn Write) -> Result<u64, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(query(sql, dirs, output, out))
}

async fn query(
    sql: &str,
    dirs: &[PathBuf],
    output: Output,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let ctx = SessionContext::new_with_config(config());
    register(&ctx, dirs).await?;
    let frame = ctx.sql(sql).await?;
    let mut stream = frame.execute_stream().await?;
    let mut rows = 0u64;
    match output {
        Output::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            let mut more = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let room = MAX_TABLE_ROWS - rows as usize;
                if batch.num_rows() > room {
                    more = true;
                    batches.push(batch.slice(0, room));
                    rows += room as u64;
                    break;
                }
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            let table = datafusion::arrow::util::pretty::pretty_format_batches(&batches)?;
            writeln!(out, "{table}").map_err(Error::Io)?;
            if more {
                writeln!(out, "(the first {MAX_TABLE_ROWS} rows; --format csv or json writes all)")
                    .map_err(Error::Io)?;
            }
        }
        Output::Csv => {
            let mut writer =
                datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
        }
        Output::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(rows)
}

/// DataFusion's defaults, but a view's rows come in the view's `ORDER BY`:
/// by default DataFusion drops the `ORDER BY` of a view or subquery that
/// has no `LIMIT` when it plans the query around it
/// (`enable_subquery_sort_elimination`), so `SELECT * FROM
/// outcomes_by_model` came in hash order. Queries that group, join or
/// sort a view's rows order them as they say.
fn config() -> SessionConfig {
    let mut config = SessionConfig::new();
    config.options_mut().sql_parser.enable_subquery_sort_elimination = false;
    config
}

/// Registers the files under `dirs` as `streams_files`, the `streams`
/// view over them (the partition as a `DATE`, null for rows without a
/// request time), and the named views.
async fn register(ctx: &SessionContext, dirs: &[PathBuf]) -> Result<(), Error> {
    let urls = dirs
        .iter()
        .map(|d| ListingTableUrl::parse(format!("{}/", d.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(PARTITION.to_owned(), DataType::Utf8)]);
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema());
    ctx.register_table(FILES, Arc::new(ListingTable::try_new(config)?))?;
    let columns: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let view = format!(
        "CREATE VIEW {TABLE} AS SELECT {}, CAST(NULLIF({PARTITION}, '{NO_DATE}') AS DATE) AS {PARTITION} FROM {FILES}",
        columns.join(", ")
    );
    ctx.sql(&view).await?;
    for v in VIEWS {
        ctx.sql(&format!("CREATE VIEW {} AS {}", v.name, v.sql)).await?;
    }
    Ok(())
}
