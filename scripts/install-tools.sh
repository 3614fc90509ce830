#!/usr/bin/env bash
# Installs the cargo subcommands CI uses, at pinned versions, if missing:
#   cargo-machete  finds dependencies a manifest declares and no code uses.
# (cargo-fuzz is installed by fuzz/run.sh, which is the only thing needing it.)
set -euo pipefail

need() {
  local bin=$1 crate=$2 version=$3
  if ! command -v "$bin" >/dev/null || ! "$bin" --version 2>/dev/null | grep -q "$version"; then
    cargo install --locked "$crate@$version"
  fi
}

need cargo-machete cargo-machete 0.9.2
