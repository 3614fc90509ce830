#!/usr/bin/env bash
# Load test of `thinktee proxy` beside nginx on loopback (not part of the
# test suite): every load is read directly, through a bare TCP relay, through
# nginx (Debian's package, installed by scripts/setup-nginx.sh, configured
# from benches/load/nginx.conf.template) and through `thinktee proxy`
# forwarding only and recording transcripts, paths interleaved over rounds.
# Prints Markdown tables (CPU per chunk with its ratio to nginx, added
# latencies, stalls); extra arguments go to the harness
# (e.g. --loads b,r1 --rounds 3; --help lists the loads).
# About 10 minutes with the defaults (three loads, five rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
nginx=$(scripts/setup-nginx.sh 2>/dev/null | tail -n 1)
cargo build --release --locked -p thinktee -p thinktee-load
target=${CARGO_TARGET_DIR:-target}/release
exec "$target/thinktee-load" --thinktee "$target/thinktee" --nginx "$nginx" "$@"
