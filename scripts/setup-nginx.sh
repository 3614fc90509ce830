#!/usr/bin/env bash
# Installs Debian's nginx for the load harness (benches/load, scripts/load.sh)
# and prints its path on the last line of stdout. Idempotent: an nginx on
# PATH (or in /usr/sbin) is reused. Only the package is installed: the
# harness runs its own instance as the current user from
# benches/load/nginx.conf.template (`nginx -p PREFIX -c CONF`), so the
# package's service is neither needed nor started (policy-rc.d forbids it).
set -euo pipefail
find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }
if ! bin=$(find_nginx); then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  # Keep the package's init script from starting a system nginx on port 80.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod +x "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >&2
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends nginx >&2
  [ -z "$made_policy" ] || "${as_root[@]}" rm -f "$policy"
  bin=$(find_nginx) || { echo "setup-nginx: nginx not found after installing it" >&2; exit 1; }
fi
"$bin" -v >&2
echo "$bin"
