#!/usr/bin/env bash
# Seeds fuzz/corpus/TARGET (git-ignored) from fixtures/: every
# fixtures/e2e/*.sse and fixtures/sse/*.sse, as is and behind a few control
# prefixes (the targets read their chunking and options from the first
# bytes). chunk_json gets each `data:` payload of those files instead.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/seed.sh TARGET}
dir="corpus/$target"
mkdir -p "$dir" "../fixtures/fuzz/$target"

files=(../fixtures/e2e/*.sse ../fixtures/sse/*.sse)
for f in "${files[@]}"; do
  name=$(basename "$(dirname "$f")")_$(basename "$f" .sse)
  case "$target" in
    chunk_json)
      n=0
      { grep -a "^data:" "$f" || true; } | sed 's/^data: \{0,1\}//' | while IFS= read -r line; do
        n=$((n + 1))
        printf '\000%s' "$line" > "$dir/${name}_$n"
      done
      ;;
    think_split)
      cp "$f" "$dir/$name"
      { printf '\003\000\000'; cat "$f"; } > "$dir/${name}_p0"
      { printf '\201\004\000'; cat "$f"; } > "$dir/${name}_p1"
      ;;
    *)
      cp "$f" "$dir/$name"
      { printf '\001\000'; cat "$f"; } > "$dir/${name}_p0"
      { printf '\221\205'; cat "$f"; } > "$dir/${name}_p1"
      ;;
  esac
done
echo "corpus/$target: $(ls "$dir" | wc -l) files"
