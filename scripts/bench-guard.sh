#!/usr/bin/env bash
# The performance guard: thinktee's own benches at a pinned "before" commit
# and at the working tree, measured in one sitting with criterion baselines,
# then a table of before/after medians and their ratio.
#
#   scripts/bench-guard.sh [BEFORE] [FILTER]
#
# BEFORE defaults to e32fe59 (the tree before the readability rework, issue
# 14). FILTER is a criterion regex, by default thinktee's own rows of the
# sse, chunk, think and e2e groups. Both trees' bench sources must agree on
# the benchmark ids (benches/ has not changed since e32fe59). Criterion
# settings are those of scripts/bench.sh. Table: target/criterion/guard.md.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-e32fe59}
filter=${2:-'^(sse|e2e)/thinktee/|^chunk/thinktee|^think/'}
root=$(pwd)
export CRITERION_HOME="$root/target/criterion-guard"
settings=(--warm-up-time 1 --measurement-time 3 --sample-size 10 --noplot)

tree="$root/target/guard-before"
if [ ! -d "$tree" ]; then
  git worktree add --detach "$tree" "$before" >/dev/null
else
  git -C "$tree" checkout -q --detach "$before"
fi
# Separate target directories (different sources), one criterion home.
(cd "$tree" && CARGO_TARGET_DIR="$root/target/guard-before-target" \
  cargo bench -p thinktee-benches --benches -- "${settings[@]}" --save-baseline before "$filter")
cargo bench -p thinktee-benches --benches -- "${settings[@]}" --save-baseline after "$filter"

python3 - "$CRITERION_HOME" "$before" "$(git rev-parse --short HEAD)" <<'PY' | tee "$CRITERION_HOME/guard.md"
import json, pathlib, sys
root, before, after = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"| bench | before ({before}) | after ({after}) | after / before time |")
print("|---|---|---|---|")
for b in sorted(root.glob("**/before/estimates.json")):
    a = b.parent.parent / "after" / "estimates.json"
    if not a.exists():
        continue
    meta = json.loads((b.parent / "benchmark.json").read_text())
    tb = json.loads(b.read_text())["median"]["point_estimate"]
    ta = json.loads(a.read_text())["median"]["point_estimate"]
    size = (meta.get("throughput") or {}).get("Bytes")
    rate = lambda t: f"{size / t:.3f} GB/s" if size else f"{t / 1e6:.3f} ms"
    print(f"| {meta['full_id']} | {rate(tb)} | {rate(ta)} | {ta / tb:.3f} |")
PY
