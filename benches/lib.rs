//! Deterministic stream generators shared by the benches.
