#!/usr/bin/env bash
# By hand: `thinktee query` (embedded DataFusion) against DuckDB's Python
# package over the same exported Parquet directory, side by side: a count,
# the named views and two plain aggregates (one over the partition column
# and token counts, one that reads the reasoning and answer text), each
# run RUNS times interleaved, each run a new
# process (CPU seconds user+sys and wall, `/usr/bin/time`), medians; and a
# check that both answer the same.
#
#   scripts/bench-query.sh DIR [RUNS]     DIR: an `thinktee export --out` directory
#
#   THINKTEE   a binary built with `--features sql`
#              (default: target/release/thinktee; `cargo build --release -p thinktee --features sql`)
#
# DuckDB gets the same `streams` view (the partition as a DATE, null for
# __HIVE_DEFAULT_PARTITION__) and the named views with their SQL as
# crates/query/src/views.rs has it. Its process also imports Python and
# DuckDB: the table shows that process's time and, beside it, the time
# DuckDB itself spent inside it (from views to the fetched answer).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath "$1")
runs=${2:-3}
bin=${THINKTEE:-target/release/thinktee}
"$bin" query --format json "SELECT 1 AS one" "$dir" >/dev/null 2>&1 || {
  echo "bench-query: $bin has no \`query\` (build it with --features sql)" >&2
  exit 1
}
python=$(scripts/setup-python.sh duckdb | tail -n 1)
work=$(mktemp -d "${TMPDIR:-/tmp}/thinktee-bench-query.XXXXXX")
trap 'rm -rf "$work"' EXIT

# DuckDB's side: views made from views.rs; runs one query, prints its rows
# as JSON Lines and its own CPU and wall seconds on stderr.
cat >"$work/duck.py" <<'PY'
import decimal, json, re, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import duckdb
dir, views_rs, sql = sys.argv[1], sys.argv[2], sys.argv[3]
t1, c1 = time.perf_counter(), time.process_time()
con = duckdb.connect()
con.sql(f"""CREATE VIEW streams AS SELECT * REPLACE
    (CAST(NULLIF(CAST(date AS VARCHAR), '__HIVE_DEFAULT_PARTITION__') AS DATE) AS date)
    FROM read_parquet('{dir}/**/*.parquet', hive_partitioning = true)""")
src = open(views_rs).read()
for name, body in re.findall(r'name: "(\w+)",\s*doc: "[^"]*",\s*sql: "((?:[^"\\]|\\.)*)"', src):
    con.sql(f"CREATE VIEW {name} AS {body}")
rel = con.sql(sql)
cols = rel.columns
rows = rel.fetchall()
t2, c2 = time.perf_counter(), time.process_time()
# As thinktee writes JSON: nulls left out, decimals as numbers.
num = lambda v: float(v) if isinstance(v, decimal.Decimal) else str(v)
for r in rows:
    print(json.dumps({k: v for k, v in zip(cols, r) if v is not None}, default=num))
print(json.dumps({"import_wall": t1 - t0, "duckdb_wall": t2 - t1, "duckdb_cpu": c2 - c1}), file=sys.stderr)
PY

names=(count reasoning_share_by_model time_to_first_answer_by_model cut_inside_reasoning
  outcomes_by_model tokens_by_date text_length_by_model)
sql_of() {
  case $1 in
    count) echo "SELECT count(*) AS rows FROM streams" ;;
    tokens_by_date) echo "SELECT date, count(*) AS rows, sum(output_tokens) AS output_tokens,
      sum(reasoning_tokens) AS reasoning_tokens FROM streams GROUP BY date ORDER BY date" ;;
    text_length_by_model) echo "SELECT model, count(*) AS rows, sum(length(reasoning)) AS reasoning_chars,
      sum(length(content)) AS content_chars FROM streams GROUP BY model ORDER BY model" ;;
    *) echo "SELECT * FROM $1" ;;
  esac
}
# seconds(USER SYS WALL) from /usr/bin/time -f
timed() { # OUT ERR CMD... -> "cpu wall" on stdout
  local out=$1 err=$2
  shift 2
  /usr/bin/time -f '%U %S %e' -o "$work/time" "$@" >"$out" 2>"$err"
  awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$work/time"
}

: >"$work/runs"
for i in $(seq 1 "$runs"); do
  for name in "${names[@]}"; do
    sql=$(sql_of "$name")
    read -r cpu wall < <(timed "$work/thinktee.$name" /dev/null "$bin" query --format json "$sql" "$dir")
    echo "$name thinktee $cpu $wall" >>"$work/runs"
    read -r cpu wall < <(timed "$work/duckdb.$name" "$work/duck.err" \
      "$python" "$work/duck.py" "$dir" crates/query/src/views.rs "$sql")
    inner=$("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f %.3f" % (d["duckdb_cpu"], d["duckdb_wall"]))' "$work/duck.err")
    echo "$name duckdb $cpu $wall $inner" >>"$work/runs"
  done
done

# Medians, and whether the answers are the same (numbers compared to 1e-9
# relative, rows in order).
"$python" - "$work" "${names[@]}" <<'PY'
import json, statistics, sys
work, names = sys.argv[1], sys.argv[2:]
runs = [l.split() for l in open(f"{work}/runs")]
def rows(path):
    return [json.loads(l) for l in open(path) if l.strip()]
def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 * max(1, abs(a), abs(b))
    return a == b
print("| query | rows | thinktee CPU s | thinktee wall s | DuckDB process CPU s | DuckDB process wall s | DuckDB in-process CPU / wall s | same answer |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for name in names:
    t = [r for r in runs if r[0] == name and r[1] == "thinktee"]
    d = [r for r in runs if r[0] == name and r[1] == "duckdb"]
    med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
    a, b = rows(f"{work}/thinktee.{name}"), rows(f"{work}/duckdb.{name}")
    ok = len(a) == len(b) and all(
        x.keys() == y.keys() and all(same(x[k], y[k]) for k in x) for x, y in zip(a, b))
    print(f"| {name} | {len(a)} | {med(t, 2):.2f} | {med(t, 3):.2f} | {med(d, 2):.2f} | {med(d, 3):.2f} "
          f"| {med(d, 4):.2f} / {med(d, 5):.2f} | {'yes' if ok else 'NO'} |")
    if not ok:
        print(f"  thinktee: {a[:3]}\n  duckdb:   {b[:3]}", file=sys.stderr)
print(f"({len(runs) // (2 * len(names))} runs each, interleaved; medians)")
PY
