#!/usr/bin/env bash
# Installs Debian's `chromium` (for the test that opens `thinktee report`'s
# HTML in a headless browser: crates/cli/tests/cli/report.rs) and prints its
# path on the last line of stdout (apt's output goes to stderr).
# Idempotent: an installed /usr/bin/chromium is used as it is.
#
#   THINKTEE_CHROMIUM  a browser to use instead (nothing is installed)
set -euo pipefail
if [ -n "${THINKTEE_CHROMIUM:-}" ]; then
  [ -x "$THINKTEE_CHROMIUM" ] || { echo "setup-chromium: $THINKTEE_CHROMIUM is not executable" >&2; exit 1; }
  echo "$THINKTEE_CHROMIUM"
  exit 0
fi
chromium=/usr/bin/chromium

# One install at a time (parallel test processes may call this together).
if command -v flock >/dev/null; then
  exec 9>"${TMPDIR:-/tmp}/thinktee-setup-chromium.lock"
  flock 9
fi

if [ ! -x "$chromium" ]; then
  command -v apt-get >/dev/null || { echo "setup-chromium: no apt-get: install chromium yourself" >&2; exit 1; }
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2; then
    # A fresh machine may have no package lists yet.
    "${sudo[@]}" apt-get update >&2
    "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2 \
      || { echo "setup-chromium: apt-get could not install chromium (no network to Debian's mirror?)" >&2; exit 1; }
  fi
fi
"$chromium" --version >&2
echo "$chromium"
