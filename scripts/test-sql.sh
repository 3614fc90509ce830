#!/usr/bin/env bash
# `thinktee query` on Apache DataFusion: the one build with the CLI's `sql`
# feature, linted and tested once. It is outside the default build (about
# 215 more crates: 10 minutes and a few GB of target/ on two cores) and
# needs Rust 1.94 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy -p thinktee -p thinktee-query --features thinktee/sql --all-targets --locked -- -D warnings
cargo test -p thinktee -p thinktee-query --features thinktee/sql --locked
