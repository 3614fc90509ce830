#!/usr/bin/env bash
# Syscalls and context switches per forwarded chunk (issue 18), for nginx,
# `thinktee proxy` forwarding only and recording transcripts, under the same
# bounded load through `thinktee-load once` (benches/load: the stamping
# upstream, STREAMS streams of a role chunk + DELTAS deltas PACE_MS apart).
# Counts, not timings: they hold on a busy machine.
#
# Per path, two runs: one under `strace -c -f` (attached to every process of
# the forwarder once it listens, detached when the load is read, so start-up
# and shutdown are not counted): syscalls per chunk, by name; one without it
# (ptrace stops would add their own switches): voluntary and involuntary
# context switches per chunk, every thread (/proc/PID/task/*/status).
#
#   scripts/load-count.sh [nginx|forwarding|recording]...   (default: all)
#
#   STREAMS=20 DELTAS=64 PACE_MS=20   the load
#   PROXY_ARGS='--worker-threads=1'   more arguments for `thinktee proxy`
#   OUT=DIR                           where the output goes
#   NO_BUILD=1                        use the release binaries as they are
#
# Output: target/load-count/ (strace.PATH.txt, summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -p thinktee -p thinktee-load >&2
target=${CARGO_TARGET_DIR:-target}/release
out=${OUT:-target/load-count}
mkdir -p "$out"
streams=${STREAMS:-20}
deltas=${DELTAS:-64}
pace=${PACE_MS:-20}
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(nginx forwarding recording)
summary="$out/summary.md"
echo "## syscalls and context switches per chunk ($streams streams x (1 + $deltas) chunks, $pace ms apart)" | tee -a "$summary"

once() { # PATH [--strace FILE] -> "chunks N ok N ... voluntary N involuntary N cpu_us N"
  local path=$1 args=()
  shift
  case $path in
  nginx) args=(--nginx "$(scripts/setup-nginx.sh | tail -n 1)") ;;
  recording)
    rm -rf "$out/transcripts"
    mkdir -p "$out/transcripts"
    args=(--transcripts "$out/transcripts")
    ;;
  esac
  for a in ${PROXY_ARGS:-}; do args+=(--proxy-arg "$a"); done
  "$target/thinktee-load" once --thinktee "$target/thinktee" "${args[@]}" "$@" \
    --streams "$streams" --deltas "$deltas" --pace-ms "$pace"
}

field() { echo "$1" | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }

for path in "${what[@]}"; do
  file="$out/strace.$path.txt"
  traced=$(once "$path" --strace "$file")
  line=$(once "$path")
  chunks=$(field "$line" chunks)
  tchunks=$(field "$traced" chunks)
  # strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall.
  calls=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" {n += $4} END {print n}' "$file")
  per() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
  echo "- $path: $(per "$calls" "$tchunks") syscalls per chunk ($calls over $tchunks chunks);" \
    "$(per "$(field "$line" voluntary)" "$chunks") voluntary and" \
    "$(per "$(field "$line" involuntary)" "$chunks") involuntary context switches per chunk;" \
    "$(per "$(field "$line" cpu_us)" "$chunks") µs CPU per chunk (10 ms ticks, noisy)" | tee -a "$summary"
  # The calls by name, per chunk.
  awk -v n="$tchunks" '$1 ~ /^[0-9.]+$/ && $NF != "total" {printf "    %-16s %6.2f\n", $NF, $4 / n}' "$file" |
    sort -k2 -nr | head -12 | tee -a "$summary"
done
