#!/usr/bin/env bash
# The whole test suite: every crate's unit, property, fixture and
# end-to-end tests, doc tests, and the benches compiled and run once as tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
