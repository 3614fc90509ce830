//! The `thinktee` binary as a user runs it: contracts of `split` and `events`.

mod analyze;
mod demo;
mod events;
mod export;
mod hostile;
mod hostile_choices;
mod operate;
mod ops;
mod proxy;
mod query;
mod replay;
mod report;
mod routes;
mod split;
mod support;
