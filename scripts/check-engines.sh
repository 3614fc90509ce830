#!/usr/bin/env bash
# By hand (not part of the test suite: it installs about 700 MB of Python
# packages and starts a JVM): the README's query over `thinktee export`'s
# files, run for real on DuckDB, ClickHouse (embedded, chDB) and Spark
# (local, pyspark), against the counts `thinktee split --format json` gives
# on the same inputs (the bundled fixtures: fixtures/e2e recordings, which
# have no request time, and fixtures/report, whose transcripts do).
#
#   scripts/check-engines.sh [ENGINE...]     duckdb clickhouse spark (default: all)
#
#   THINKTEE     the binary (default: target/release/thinktee, built if missing)
#   JAVA_HOME    Spark needs Java 17 or newer (`java` on PATH will do)
#
# Packages: pinned in scripts/setup-python.sh (the venv is target/py-venv).
# Prints each engine's answers and `ok` or the differences; exits 1 on any
# difference.
set -euo pipefail
cd "$(dirname "$0")/.."
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(duckdb clickhouse spark)

bin=${THINKTEE:-target/release/thinktee}
if [ ! -x "$bin" ]; then
  cargo build --release -q -p thinktee
fi
python=$(scripts/setup-python.sh pyarrow duckdb chdb pyspark | tail -n 1)
# Spark's driver on loopback only, whatever the host name resolves to.
export SPARK_LOCAL_IP=127.0.0.1

work=$(mktemp -d "${TMPDIR:-/tmp}/thinktee-engines.XXXXXX")
trap 'rm -rf "$work"' EXIT
recordings=(fixtures/e2e/*.sse fixtures/report/recording.sse)
transcripts=(fixtures/report/transcripts.jsonl)
inputs=("${recordings[@]}" "${transcripts[@]}")
"$bin" export --out "$work/streams" "${inputs[@]}" 2>"$work/export.log" ||
  [ $? -eq 1 ] # 1: some inputs hold malformed events, as some fixtures do on purpose
# split reads recordings; a transcript's lines are its records already.
"$bin" split --format json "${recordings[@]}" >"$work/split.jsonl" 2>/dev/null || [ $? -eq 1 ]

"$python" - "$work/streams" "$work/split.jsonl" "${transcripts[@]}" -- "${engines[@]}" <<'PY'
import json, sys
from collections import defaultdict

at = sys.argv.index("--")
streams_dir, split_path, transcripts, engines = sys.argv[1], sys.argv[2], sys.argv[3:at], sys.argv[at + 1:]

# What the answers must be. From split's lines: one line per choice, the
# first line of a stream is its first_of_stream row, its tokens are
# reported when it has usage (a count the usage lacks is null). From a
# transcript's lines: the same, with the tokens in metrics.tokens.
lines, first = [], []
seen = set()
def add(key, model, tokens):
    lines.append(key)
    if key not in seen:
        seen.add(key)
        first.append((model, tokens))
for l in map(json.loads, filter(str.strip, open(split_path))):
    u = l.get("usage")
    tokens = u and (u.get("reasoning_tokens"), u.get("completion_tokens"))
    add((l["source"], l["stream"]), l["model"], tokens)
for path in transcripts:
    # A line adds a choice to the stream before it when it has the same
    # request id, start, stream and id and a greater choice; else it
    # starts a stream (as `thinktee` reads transcripts).
    open_key, last, n = None, None, 0
    for l in map(json.loads, filter(str.strip, open(path))):
        q = l.get("request") or {}
        k = (q.get("request_id"), q.get("started_unix_ms"), l["stream"], l.get("id"))
        choice = l.get("choice") if l.get("choice") is not None else -1
        if k != open_key or choice <= last:
            n += 1
        open_key, last = k, choice
        t = l["metrics"]["tokens"]
        tokens = None if t["estimated"] else (t.get("reasoning"), t.get("completion"))
        add((path, n), l["model"], tokens)
by_model = defaultdict(lambda: [0, None, None])
for model, tokens in first:
    if tokens is None:
        continue
    m = by_model[model]
    m[0] += 1
    for i, v in enumerate(tokens, 1):  # SQL's sum: null if every value is
        if v is not None:
            m[i] = (m[i] or 0) + v
expected = {
    "rows": [(len(lines),)],
    "streams": [(len(first),)],
    "readme": sorted(
        (model, n, round(100.0 * r / c, 1) if r is not None and c else None)
        for model, (n, r, c) in by_model.items()
    ),
}

# The README's query, word for word but for the FROM clause each engine needs.
README = """SELECT model, count(*) AS streams,
       round(100.0 * sum(reasoning_tokens) / sum(output_tokens), 1) AS reasoning_pct
FROM {table}
WHERE first_of_stream AND NOT tokens_estimated
GROUP BY model ORDER BY streams DESC"""
QUERIES = {
    "rows": "SELECT count(*) FROM {table}",
    "streams": "SELECT count(*) FROM {table} WHERE first_of_stream",
    "readme": README,
}


def duckdb_answers():
    import duckdb
    table = f"read_parquet('{streams_dir}/**/*.parquet', hive_partitioning = true)"
    return {k: duckdb.sql(q.format(table=table)).fetchall() for k, q in QUERIES.items()}


def clickhouse_answers():
    import chdb
    table = f"file('{streams_dir}/**/*.parquet', Parquet)"
    out = {}
    for k, q in QUERIES.items():
        text = chdb.query(q.format(table=table), "JSONCompact").data()
        out[k] = [tuple(r) for r in json.loads(text)["data"]]
    return out


def spark_answers():
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName("thinktee-check-engines")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.read.parquet(streams_dir).createOrReplaceTempView("streams")
    out = {k: [tuple(r) for r in spark.sql(q.format(table="streams")).collect()]
           for k, q in QUERIES.items()}
    spark.stop()
    return out


def normal(rows):
    # Counts come back as int or str (ClickHouse's JSON quotes 64-bit
    # integers); percentages as float or Decimal.
    def value(v):
        if v is None or isinstance(v, str) and not v.lstrip("-").replace(".", "").isdigit():
            return v
        f = float(v)
        return int(f) if f == int(f) and not isinstance(v, float) else round(f, 1)
    return sorted(tuple(value(v) for v in r) for r in rows)


run = {"duckdb": duckdb_answers, "clickhouse": clickhouse_answers, "spark": spark_answers}
failed = False
print(f"expected (split --format json, transcripts): {len(lines)} rows, {len(first)} streams, "
      f"README query {len(expected['readme'])} models")
for engine in engines:
    got = run[engine]()
    diffs = [k for k in QUERIES if normal(got[k]) != normal(expected[k])]
    print(f"{engine}: {got['rows'][0][0]} rows, {got['streams'][0][0]} streams, "
          f"README query {len(got['readme'])} models: " + ("ok" if not diffs else "DIFFERS in " + ", ".join(diffs)))
    for k in diffs:
        print(f"  {k}: {engine} {normal(got[k])}\n  {k}: expected {normal(expected[k])}")
    failed |= bool(diffs)
sys.exit(1 if failed else 0)
PY
