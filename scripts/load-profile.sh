#!/usr/bin/env bash
# Where a forwarded chunk's CPU goes in `thinktee proxy`, forwarding only and
# recording transcripts (issue 18). Two measures, both through
# `thinktee-load once` (benches/load: the stamping upstream, one load, then
# SIGINT to the proxy so its wrapper writes the profile):
#
# 1. callgrind instructions per chunk: the proxy under valgrind at two small
#    fixed loads (STREAMS_LO and STREAMS_HI streams of a role chunk + 64
#    deltas, 50 ms apart); (instructions at HI - at LO) / (chunks at HI - at
#    LO) leaves out start-up and shutdown. Repeatable on a busy machine
#    (a few % between runs): the before/after measure of a change.
# 2. perf record -e cpu-clock (no hardware counters here) at 100 streams x
#    414 deltas 10 ms apart (the R1-like load): the share of samples per
#    function, and per part (scripts/perf-parts.py: syscalls, wakeups,
#    hyper, tokio, allocation, the parse threads).
#
#   scripts/load-profile.sh [callgrind|perf]...   (default: both)
#
#   PROXY_ARGS='--worker-threads=1'   more arguments for `thinktee proxy`
#   OUT=DIR                           where the output goes
#   NO_BUILD=1                        use the release binaries as they are
#
# Output: target/load-profile/ (callgrind.*.out, perf.*.data, summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -p thinktee -p thinktee-load >&2
target=${CARGO_TARGET_DIR:-target}/release
out=${OUT:-target/load-profile}
mkdir -p "$out"
lo=${STREAMS_LO:-4}
hi=${STREAMS_HI:-12}
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(callgrind perf)
summary="$out/summary.md"
: >"$summary"

once() { # MODE WRAP STREAMS DELTAS PACE -> "chunks N ok N failed N stalled N"
  local args=()
  if [ "$1" = recording ]; then
    rm -rf "$out/transcripts"
    mkdir -p "$out/transcripts"
    args=(--transcripts "$out/transcripts")
  fi
  for a in ${PROXY_ARGS:-}; do args+=(--proxy-arg "$a"); done
  "$target/thinktee-load" once --thinktee "$target/thinktee" "${args[@]}" --wrap "$2" \
    --streams "$3" --deltas "$4" --pace-ms "$5"
}

for w in "${what[@]}"; do
  case $w in
  callgrind)
    echo "## callgrind: instructions per forwarded chunk" | tee -a "$summary"
    for mode in forwarding recording; do
      declare -A ir=() chunks=()
      for n in "$lo" "$hi"; do
        file="$out/callgrind.$mode.$n.out"
        line=$(once "$mode" "valgrind --tool=callgrind --callgrind-out-file=$file" "$n" 64 50)
        chunks[$n]=$(echo "$line" | awk '{print $2}')
        ir[$n]=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$file")
        echo "$mode $n streams: $line, ${ir[$n]} instructions" | tee -a "$summary" >&2
      done
      per=$(( (ir[$hi] - ir[$lo]) / (chunks[$hi] - chunks[$lo]) ))
      echo "- $mode: $per instructions per chunk (${lo} -> ${hi} streams: ${chunks[$lo]} -> ${chunks[$hi]} chunks)" | tee -a "$summary"
      callgrind_annotate --inclusive=no "$out/callgrind.$mode.$hi.out" 2>/dev/null |
        sed -n '/^Ir/,$p' | head -45 >"$out/callgrind.$mode.top.txt" || true
    done
    ;;
  perf)
    echo "## perf record -e cpu-clock: share of samples" | tee -a "$summary"
    for mode in forwarding recording; do
      data="$out/perf.$mode.data"
      once "$mode" "perf record -q -e cpu-clock -g -o $data --" 100 414 10 >&2
      perf report -i "$data" --no-children --sort dso,sym --percent-limit 0.7 --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | grep '%' | head -60 >"$out/perf.$mode.top.txt" || true
      samples=$(perf report -i "$data" --stdio -g none 2>/dev/null | sed -n 's/^# Samples: \([0-9.]*[KM]*\).*/\1/p' | head -n 1)
      echo "- $mode ($samples samples; functions: $out/perf.$mode.top.txt):" | tee -a "$summary"
      python3 scripts/perf-parts.py "$data" | tee -a "$summary"
    done
    ;;
  *) echo "load-profile: callgrind or perf, not $w" >&2; exit 2 ;;
  esac
done
