#!/usr/bin/env bash
# Runs the criterion benches of thinktee-benches (sse, think, chunk, e2e:
# thinktee and the baselines side by side) with settings short enough for
# about 10 minutes on 2 cores, then prints the median throughput of each.
#
#   scripts/bench.sh [criterion filter]     e.g. scripts/bench.sh e2e/
#
# Results: $CARGO_TARGET_DIR/criterion (default target/criterion); the
# summary table is also written to $CARGO_TARGET_DIR/criterion/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}

cargo bench -p thinktee-benches --benches -- \
  --warm-up-time 1 --measurement-time 3 --sample-size 10 --noplot "$@"

if command -v python3 >/dev/null; then
  python3 - "$target_dir/criterion" <<'PY' | tee "$target_dir/criterion/summary.md"
import json, pathlib, sys

root = pathlib.Path(sys.argv[1])
rows = []
for bench in sorted(root.glob("**/new/benchmark.json")):
    meta = json.loads(bench.read_text())
    median = json.loads((bench.parent / "estimates.json").read_text())["median"]["point_estimate"]
    size = (meta.get("throughput") or {}).get("Bytes")
    rate = f"{size / median:.3f} GB/s" if size and size / median >= 1 else (
        f"{size / median * 1000:.1f} MB/s" if size else "")
    rows.append((meta["group_id"], meta.get("value_str") or "", meta["function_id"] or "", median, rate))
print("| group | input | implementation | median time | median throughput |")
print("|---|---|---|---|---|")
for group, value, function, median, rate in rows:
    print(f"| {group} | {value} | {function} | {median / 1e6:.3f} ms | {rate} |")
PY
fi
echo "criterion results: $target_dir/criterion (HTML reports off: --noplot)"
