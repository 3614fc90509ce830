#!/usr/bin/env bash
# Time, not instructions: the callgrind harness (benches/examples/callgrind.rs)
# built at REV and at the working tree, run alternately ROUNDS times, each run
# the fastest of REPEAT parses of 1 MiB of the R1 bench stream. Alternating the
# two builds, round after round, cancels the drift of a shared machine that a
# before-then-after criterion run takes for a difference (unchanged code has
# drifted 0.94-1.15x between two such runs here). Each run reports its
# fastest parse (interference only adds time; medians of 100 parses still
# ranged 0.55-1.85x between rounds here). Run by hand on a quiet machine;
# reports the median of the per-round ratios and their range.
#
#   scripts/ab-time.sh REV [ROUNDS] [REPEAT]
#
# Builds both with scripts/callgrind.sh's layout (target/callgrind-rev).
# Table on stdout and in target/callgrind/ab-time.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rev=${1:?usage: scripts/ab-time.sh REV [ROUNDS] [REPEAT]}
rounds=${2:-15}
repeat=${3:-30}
out="$root/target/callgrind"
mkdir -p "$out"
# shellcheck source=scripts/harness-builds.sh
. scripts/harness-builds.sh
harness_builds "$root" "$rev"

{
  echo "| what | dialect | pieces | $rev µs | working tree µs | ratio median (range), $rounds rounds |"
  echo "|---|---|---|---|---|---|"
  for case in "e2e inline 1460" "e2e inline event" "e2e reasoning_content 1460" \
    "e2e reasoning_content event" "sse inline 1460" "sse inline event"; do
    befores=() afters=()
    for _ in $(seq "$rounds"); do
      # shellcheck disable=SC2086 # $case is three words on purpose
      befores+=("$(THINKTEE_REPEAT=$repeat "$then" $case)")
      # shellcheck disable=SC2086
      afters+=("$(THINKTEE_REPEAT=$repeat "$now" $case)")
    done
    python3 - "$case" "${befores[*]}" "${afters[*]}" <<'PY'
import statistics, sys
case, b, a = sys.argv[1].split(), [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
ratios = sorted(y / x for x, y in zip(b, a))
print(f"| {' | '.join(case)} | {statistics.median(b) / 1000:.0f} | {statistics.median(a) / 1000:.0f} "
      f"| {statistics.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f}) |")
PY
  done
} | tee "$out/ab-time.md"
