#!/usr/bin/env bash
# Instructions per parse, counted by callgrind (deterministic, unlike wall
# clock on a shared machine): thinktee end to end (`Pipeline::feed` per
# piece), its SSE decoder alone, and sse-stream as a baseline, on 1 MiB of
# the R1 bench stream per (dialect, chunking). Only the parse is counted
# (`--collect-atstart=no --toggle-collect`), not making the input.
#
#   scripts/callgrind.sh [REV]
#
# With REV, the same harness (benches/examples/callgrind.rs, copied over) is
# also built at REV in a git worktree under target/ and measured beside the
# working tree, with the ratio. Needs valgrind. Takes a few minutes plus the
# release builds. Table on stdout and in target/callgrind/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rev=${1:-}
out="$root/target/callgrind"
mkdir -p "$out"
# shellcheck source=scripts/harness-builds.sh
. scripts/harness-builds.sh

count() { # BINARY WHAT DIALECT CHUNKING -> instructions
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*counted*' \
    --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

harness_builds "$root" "$rev"

{
  if [ -n "$rev" ]; then
    echo "| what | dialect | pieces | $rev | working tree | tree / $rev |"
    echo "|---|---|---|---|---|---|"
  else
    echo "| what | dialect | pieces | working tree |"
    echo "|---|---|---|---|"
  fi
  for what in e2e sse sse-stream; do
    for dialect in inline reasoning_content; do
      # The SSE rows measure the inline stream only, as the sse bench does.
      if [ "$what" != e2e ] && [ "$dialect" != inline ]; then continue; fi
      for chunking in 10 1460 event; do
        after=$(count "$now" "$what" "$dialect" "$chunking")
        if [ -n "$rev" ]; then
          before=$(count "$then" "$what" "$dialect" "$chunking")
          ratio=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a / b }')
          echo "| $what | $dialect | $chunking | $before | $after | $ratio |"
        else
          echo "| $what | $dialect | $chunking | $after |"
        fi
      done
    done
  done
} | tee "$out/table.md"
