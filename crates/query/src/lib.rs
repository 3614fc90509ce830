//! SQL over the `streams` table that `thinktee export` writes.
//!
//! - [`VIEWS`]: named views answering the usual questions (reasoning share
//!   by model, time to first answer by model, streams cut inside
//!   reasoning, outcomes), in SQL that DataFusion and DuckDB both run.
//! - With the `engine` feature, `run`: a query over exported Parquet
//!   directories on embedded Apache DataFusion, its answer written as a
//!   table, CSV or JSON Lines. The feature is off by default: DataFusion
//!   is about 215 crates and needs Rust 1.94.
//!
//! The table's `date` is its Hive partition, a `DATE` (null for rows
//! without a request time).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

#[cfg(feature = "engine")]
mod engine;
mod views;

#[cfg(feature = "engine")]
pub use engine::{Error, Output, run};
pub use views::{VIEWS, View};

/// Whether this build has the engine (the CLI's `sql` feature).
pub const HAS_ENGINE: bool = cfg!(feature = "engine");
