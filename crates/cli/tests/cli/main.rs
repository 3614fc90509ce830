//! The `thinktee` binary as a user runs it: contracts of `split` and `events`.

mod events;
mod split;
mod support;
