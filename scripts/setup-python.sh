#!/usr/bin/env bash
# Creates a Python virtual environment with the packages the tests drive
# from Python, and prints its python on the last line of stdout (pip's
# output goes to stderr). Idempotent: a venv that can import every module
# asked for is reused; missing ones are installed into it.
#
#   scripts/setup-python.sh                  the official `openai` client, for
#                                            the end-to-end proxy test
#                                            (crates/cli/tests/cli/proxy.rs)
#   scripts/setup-python.sh pyarrow duckdb   the readers of `thinktee export`'s
#                                            files (crates/cli/tests/cli/export.rs)
#   scripts/setup-python.sh chdb pyspark     ClickHouse (embedded) and Spark, for
#                                            scripts/check-engines.sh
#
# The engines are pinned (`==`): the README's queries and benches/RESULTS.md
# name these versions. A venv whose pinned packages have other versions is
# brought to the pinned ones.
#
#   THINKTEE_PY_VENV  where the venv goes (default: target/py-venv)
#   PYTHON            the interpreter that creates it (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${THINKTEE_PY_VENV:-target/py-venv}
python=${PYTHON:-python3}
mkdir -p "$(dirname "$venv")"

# Each module the caller needs, and the pip requirement that provides it.
declare -A spec=([openai]='openai>=1.40' [pyarrow]='pyarrow==26.0.1' [duckdb]='duckdb==2.0.0'
  [chdb]='chdb==4.4.0' [pyspark]='pyspark==4.3.0')
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(openai)
for m in "${modules[@]}"; do
  [ -n "${spec[$m]:-}" ] || { echo "setup-python: no requirement known for module $m" >&2; exit 2; }
done
imports=$(IFS=,; echo "${modules[*]}")

# One setup at a time (parallel test processes may call this together).
if command -v flock >/dev/null; then
  exec 9>"$venv.lock"
  flock 9
fi

# Every module imports, and every pinned one is at its version.
pins=()
for m in "${modules[@]}"; do
  case ${spec[$m]} in *==*) pins+=("${spec[$m]}") ;; esac
done
check="import $imports
from importlib.metadata import version
import sys
sys.exit(any(version(p.split('==')[0]) != p.split('==')[1] for p in sys.argv[1:]))"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" "${pins[@]}" 2>/dev/null; then
  echo "$PWD/$venv/bin/python"
  exit 0
fi

command -v "$python" >/dev/null || { echo "setup-python: $python not found" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
requirements=()
for m in "${modules[@]}"; do requirements+=("${spec[$m]}"); done
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 2 --timeout 30 \
    "${requirements[@]}" >&2; then
  echo "setup-python: pip could not install ${requirements[*]} (no network to PyPI?)" >&2
  exit 1
fi
"$venv/bin/python" -c "import $imports" >&2
echo "$PWD/$venv/bin/python"
