#!/usr/bin/env bash
# Creates a Python virtual environment with the official `openai` client,
# for the end-to-end proxy test (crates/cli/tests/cli/proxy.rs). Idempotent:
# an existing venv that can `import openai` is reused. Prints the venv's
# python on the last line of stdout; pip's output goes to stderr.
#
#   THINKTEE_PY_VENV  where the venv goes (default: target/py-venv)
#   PYTHON            the interpreter that creates it (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${THINKTEE_PY_VENV:-target/py-venv}
python=${PYTHON:-python3}
mkdir -p "$(dirname "$venv")"

# One setup at a time (parallel test processes may call this together).
if command -v flock >/dev/null; then
  exec 9>"$venv.lock"
  flock 9
fi

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  echo "$PWD/$venv/bin/python"
  exit 0
fi

command -v "$python" >/dev/null || { echo "setup-python: $python not found" >&2; exit 1; }
"$python" -m venv "$venv" >&2
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 2 --timeout 30 \
    'openai>=1.40' >&2; then
  echo "setup-python: pip could not install openai (no network to PyPI?)" >&2
  exit 1
fi
"$venv/bin/python" -c 'import openai' >&2
echo "$PWD/$venv/bin/python"
