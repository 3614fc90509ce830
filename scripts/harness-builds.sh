# Sourced by scripts/callgrind.sh and scripts/ab-time.sh: the callgrind
# harness (benches/examples/callgrind.rs) built from the working tree, and at
# a revision in a git worktree under target/ with today's harness copied in.
# Sets `now` (and, with a revision, `then`) to the binaries' paths.

harness_build() { # DIR TARGET_DIR -> path of the binary
  (cd "$1" && CARGO_TARGET_DIR="$2" cargo build -q --release -p thinktee-benches --example callgrind)
  echo "$2/release/examples/callgrind"
}

harness_builds() { # ROOT [REV]
  local root=$1 rev=${2:-} harness=benches/examples/callgrind.rs tree
  now=$(harness_build "$root" "$root/target")
  if [ -n "$rev" ]; then
    tree="$root/target/callgrind-rev"
    if [ ! -d "$tree" ]; then
      git worktree add -q --detach "$tree" "$rev"
    else
      git -C "$tree" checkout -q --detach --force "$rev"
    fi
    mkdir -p "$tree/benches/examples"
    cp "$root/$harness" "$tree/$harness"
    then=$(harness_build "$tree" "$root/target/callgrind-rev-target")
  fi
}
