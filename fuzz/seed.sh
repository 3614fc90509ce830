#!/usr/bin/env bash
# Seeds fuzz/corpus/TARGET (git-ignored) from fixtures/: every
# fixtures/e2e/*.sse and fixtures/sse/*.sse, as is and behind a few control
# prefixes (the targets read their chunking and options from the first
# bytes). chunk_json gets each `data:` payload of those files instead, and
# each file's payloads as one sequence (see check_chunk_json).
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
      # Sequence mode: every payload of the file, NUL-separated; template
      # mode: one text-bearing payload with its text as the hole, and bodies.
      { printf '\002'; { grep -a "^data:" "$f" || true; } | sed 's/^data: \{0,1\}//' | tr '\n' '\000'; } \
        > "$dir/${name}_seq"
      line=$({ grep -a -m1 '"content":"[^"]' "$f" || true; } | sed 's/^data: \{0,1\}//')
      if [ -n "$line" ]; then
        hole=$(printf '%s' "$line" | sed 's/"content":"\([^"\\]\|\\.\)*"/"content":"\x01"/')
        printf '\006%s\000a\000 b\\n\000\\u00e9\\"\000' "$hole" > "$dir/${name}_tpl"
      fi
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
