#!/usr/bin/env bash
# Seeds fuzz/corpus/TARGET (git-ignored) from fixtures/: every
# fixtures/e2e/*.sse and fixtures/sse/*.sse (SSE, and the JSON bodies,
# JSON Lines and Gemini arrays recorded under that name), as is and behind a
# few control prefixes (the targets read their chunking and options from the
# first bytes); document_stream also gets fixtures/report/*.jsonl. chunk_json gets each `data:` payload of those files instead, and
# each file's payloads as one sequence (see check_chunk_json).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/seed.sh TARGET}
dir="corpus/$target"
mkdir -p "$dir" "../fixtures/fuzz/$target"

files=(../fixtures/e2e/*.sse ../fixtures/sse/*.sse)
# The document reader also reads JSON Lines that are no API's (a recording's
# transcripts).
[ "$target" = document_stream ] && files+=(../fixtures/report/*.jsonl)
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
    document_stream)
      # Whole; small limits; JSON Lines from the start; a forced kind; cut
      # short with the pipeline's small limits (see document_options).
      { printf '\000\000'; cat "$f"; } > "$dir/$name"
      { printf '\203\003'; cat "$f"; } > "$dir/${name}_p0"
      { printf '\011\044'; cat "$f"; } > "$dir/${name}_p1"
      { printf '\221\305'; cat "$f"; } > "$dir/${name}_p2"
      { printf '\037\020'; cat "$f"; } > "$dir/${name}_p3"
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
