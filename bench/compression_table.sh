#!/usr/bin/env bash
# The compression-ratio table of docs/tokens.md: text tokens (Qwen3 tokenizer) ÷ visual tokens of
# the pages, for the four examples in ../shared/data/examples, at 72 and 96 dpi, read by Glyph
# (GLM-4.1V rules) and by Qwen2.5-VL, with the built-in en preset (the Glyph release's English
# config with DejaVu Sans) and --reflow off (the text as the release renders it; docs/reflow.md).
# Usage: bench/compression_table.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
glyph=${1:-build}/glyph
examples=../shared/data/examples
ratio() { "$glyph" stats "$1" -c en --reflow off --dpi "$2" --model "$3" --json | sed -E 's/.*"ratio": ([0-9.]+), "pages": \[(.*)\]\}/\1 \2/' |
  awk '{ n = gsub(/"page":/, "&"); printf "%.2fx (%d p)", $1, n }'; }
echo "| example | chars | text tokens | glyph 72 dpi | glyph 96 dpi | qwen2.5-vl 72 dpi | qwen2.5-vl 96 dpi |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for f in "$examples"/case*.txt; do
  stats=$("$glyph" stats "$f" -c en --reflow off --json)
  chars=$(echo "$stats" | sed -E 's/^\{[^{]*"chars": ([0-9]+).*/\1/')
  text=$(echo "$stats" | sed -E 's/^\{[^{]*"text_tokens": ([0-9]+).*/\1/')
  echo "| $(basename "$f") | $chars | $text | $(ratio "$f" 72 glyph) | $(ratio "$f" 96 glyph) | $(ratio "$f" 72 qwen2.5-vl) | $(ratio "$f" 96 qwen2.5-vl) |"
done
echo "| Glyph paper | | | 3-4x | ~2-3x | | |"
