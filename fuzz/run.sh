#!/usr/bin/env bash
# Runs one fuzz target for a while, seeded from the recorded fixtures.
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer args...]
#
# TARGET is sse_feed, think_split, chunk_json, pipeline_stream or
# document_stream. Needs only
# the stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly
# flags. FUZZ_SANITIZER=none turns AddressSanitizer off (faster, or where it
# does not build). A crash is left in fuzz/artifacts/TARGET/; copy it to
# fixtures/fuzz/TARGET/ and crates/pipeline/tests/fuzz_replay.rs replays it.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer args...]}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer args...]}
shift 2

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

./seed.sh "$target"

export RUSTC_BOOTSTRAP=1
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" "$target" \
  "corpus/$target" "../fixtures/fuzz/$target" -- \
  -max_total_time="$seconds" -print_final_stats=1 -timeout=10 "$@"
