#!/usr/bin/env bash
# Instructions per read of 1 MiB of the generated Responses API, Anthropic
# Messages, Gemini (alt=sse) and Ollama (NDJSON) streams, counted by
# callgrind: thinktee end to end and what a user writes today
# (eventsource-stream + serde_json into SDK-shaped types; a line reader +
# serde_json for NDJSON), the two sides of benches/formats.rs, with the
# ratio. Only the read is counted. FORMATS="gemini ollama" picks some.
#
#   scripts/callgrind-formats.sh
#
# Needs valgrind. Table on stdout and in target/callgrind/formats.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/callgrind
mkdir -p "$out"
cargo build -q --release -p thinktee-benches --example callgrind_formats
bin=target/release/examples/callgrind_formats

count() { # WHO FORMAT CHUNKING -> instructions
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*counted*' \
    --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

{
  echo "| format | pieces | thinktee | user today | today / thinktee |"
  echo "|---|---|---|---|---|"
  for format in ${FORMATS:-responses messages gemini ollama}; do
    for chunking in event 1460; do
      ours=$(count thinktee "$format" "$chunking")
      theirs=$(count today "$format" "$chunking")
      ratio=$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')
      echo "| $format | $chunking | $ours | $theirs | ${ratio}x |"
    done
  done
} | tee "$out/formats.md"
