#!/usr/bin/env bash
# Load test of `thinktee proxy` on loopback (not part of the test suite):
# 1, 100 and 1,000 concurrent streams, directly and through the proxy, with
# added latency per chunk and to first byte, and the proxy's peak memory.
# Prints a Markdown table; extra arguments go to the harness
# (e.g. --levels 1,100 --events 50 --delay-ms 20).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p thinktee -p thinktee-load
target=${CARGO_TARGET_DIR:-target}/release
exec "$target/thinktee-load" --thinktee "$target/thinktee" "$@"
