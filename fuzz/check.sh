#!/usr/bin/env bash
# CI: the fuzz workspace and its five targets build with the stable
# toolchain alone (no cargo-fuzz, no sanitizer: this only type-checks and
# builds the libFuzzer runtime). Fuzzing itself is fuzz/run.sh.
set -euo pipefail
cd "$(dirname "$0")"
cargo check --locked --bins --lib
