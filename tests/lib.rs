//! Support code for thinktee end-to-end tests.
