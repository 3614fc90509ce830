#!/usr/bin/env bash
# By hand: `thinktee export` against `split --format json` on the same
# generated recordings (issue 17: export under 1.5x split's CPU seconds),
# CPU seconds (user + sys) and peak memory (maximum RSS) from
# `/usr/bin/time -v`, the two commands interleaved, each once per round,
# each run a new process; medians, and the median of the rounds' ratios.
#
#   scripts/bench-export.sh CORPUS [ROUNDS]
#
#   CORPUS     a directory of recordings; when it does not exist it is
#              generated: about 1 GB of DeepSeek-R1 `reasoning_content`
#              streams as benches/lib.rs `r1_stream` makes them, cut into
#              20 files of about 50 MiB at stream ends. Put it under /tmp:
#              never commit it.
#   ROUNDS     default 3
#   THINKTEE   the binary (default: target/release/thinktee;
#              `cargo build --release -p thinktee`)
#
# The inputs are read once before, so both commands read from the page
# cache. Each export writes into a new directory (a second export into the
# same one would skip every source), removed after the run.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$1
rounds=${2:-3}
bin=$(realpath "${THINKTEE:-target/release/thinktee}")
work=$(mktemp -d "${TMPDIR:-/tmp}/thinktee-bench-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -d "$corpus" ]; then
  # A throwaway crate outside the workspace: benches/lib.rs alone, without
  # the benches' dev-dependencies (criterion and the baselines).
  mkdir -p "$work/gen/src"
  cat >"$work/gen/Cargo.toml" <<EOF
[package]
name = "thinktee-export-corpus"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
thinktee-benches = { path = "$PWD/benches" }

[workspace]
EOF
  cat >"$work/gen/src/main.rs" <<'RS'
use std::io::Write;

fn main() {
    let dir = std::env::args().nth(1).expect("DIR");
    std::fs::create_dir_all(&dir).unwrap();
    let s = thinktee_benches::r1_stream(thinktee_benches::Dialect::ReasoningContent, 1_000_000_000);
    let (bytes, end) = (&s.bytes, b"data: [DONE]\n\n");
    let (mut start, mut file) = (0, 0);
    while start < bytes.len() {
        // About 50 MiB, to the end of the stream there.
        let mut cut = (start + (50 << 20)).min(bytes.len());
        if cut < bytes.len() {
            cut += bytes[cut..].windows(end.len()).position(|w| w == end).unwrap() + end.len();
        }
        let mut f = std::fs::File::create(format!("{dir}/r1-{file:02}.sse")).unwrap();
        f.write_all(&bytes[start..cut]).unwrap();
        (start, file) = (cut, file + 1);
    }
    eprintln!("{} streams, {} bytes, {file} files", s.streams, bytes.len());
}
RS
  cargo run --quiet --release --manifest-path "$work/gen/Cargo.toml" \
    --target-dir "$work/gen/target" -- "$corpus"
fi
cat "$corpus"/* >/dev/null

# "user sys maxrss_kb cpu%" of a /usr/bin/time -v report.
measure() {
  awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {m = $2}
    /Percent of CPU/ {p = $2} END {print u, s, m, p}' "$1"
}

: >"$work/runs"
for r in $(seq 1 "$rounds"); do
  /usr/bin/time -v "$bin" split --format json "$corpus"/* >/dev/null 2>"$work/split.time" || true
  echo "split $(measure "$work/split.time")" >>"$work/runs"
  /usr/bin/time -v "$bin" export --out "$work/out" "$corpus"/* 2>"$work/export.time"
  echo "export $(measure "$work/export.time") $(du -sb "$work/out" | cut -f1)" >>"$work/runs"
  rm -rf "$work/out"
done
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1])]
cpu = lambda r: float(r[1]) + float(r[2])
split = [r for r in runs if r[0] == "split"]
export = [r for r in runs if r[0] == "export"]
med = statistics.median
print("| command | CPU s (user+sys), median | runs | peak RSS, median | CPU % (both cores: up to 200) | output |")
print("|---|---:|---|---:|---:|---:|")
for name, rs in (("split --format json", split), ("export", export)):
    out = f"{med(int(r[5]) for r in rs) / 1e6:.1f} MB" if name == "export" else ""
    print(f"| {name} | {med(cpu(r) for r in rs):.2f} | {', '.join(f'{cpu(r):.2f}' for r in rs)} "
          f"| {med(int(r[3]) for r in rs) / 1024:.1f} MB | {med(int(r[4].rstrip('%')) for r in rs)} | {out} |")
ratios = [cpu(e) / cpu(s) for s, e in zip(split, export)]
print(f"\nexport / split CPU: median of the rounds' ratios {med(ratios):.2f}x "
      f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); ratio of the medians "
      f"{med(cpu(r) for r in export) / med(cpu(r) for r in split):.2f}x")
PY
