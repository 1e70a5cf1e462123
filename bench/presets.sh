#!/usr/bin/env bash
# The content presets' table of docs/config.md: for four samples of this machine's text (short
# lines: installed packages and versions; code: src/config/config.cc; a table: the same packages
# tab-separated with their size; JSON: the first 150 of them as a pretty-printed array), the
# content preset `glyph text -v` suggests, its compression ratio (text tokens by Qwen3 / visual tokens, GLM-4.1V
# rules, 72 dpi) and its OCR character error rate (glyph verify, Tesseract), against the en preset.
# Usage: bench/presets.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
glyph=${1:-build}/glyph
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
dpkg-query -W -f='${Package} ${Version}\n' | LC_ALL=C sort | awk 'NR <= 400' >"$dir/lines.txt"
cp src/config/config.cc "$dir/code.txt"
dpkg-query -W -f='${Package}\t${Version}\t${Installed-Size}\n' | LC_ALL=C sort | awk 'NR <= 300' >"$dir/table.txt"
dpkg-query -W -f='${Package}\t${Version}\t${Installed-Size}\n' | LC_ALL=C sort | awk 'NR <= 150' |
  python3 -c 'import json, sys
rows = [l.rstrip("\n").split("\t") for l in sys.stdin]
print(json.dumps([{"package": p, "version": v, "installed_size_kb": int(s or 0)} for p, v, s in rows], indent=2))' \
    >"$dir/json.txt"
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
measure() {  # FILE CONFIG → "ratio (pages) | CER"
  local ratio cer
  ratio=$("$glyph" stats "$1" ${2:+-c "$2"} --json | field '"%.2fx (%d p)" % (d["ratio"], len(d["pages"]))')
  cer=$("$glyph" verify "$1" ${2:+-c "$2"} --json | field '"%.2f%%" % (100 * d["cer"])')
  echo "$ratio | $cer"
}
echo "| sample | lines | suggested | en: ratio | en: CER | suggested: ratio | suggested: CER |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
for sample in lines code table json; do
  f="$dir/$sample.txt"
  # The content preset `glyph text -v` suggests for the sample (without -c the preset is en).
  chosen=$("$glyph" text "$f" -v 2>&1 >/dev/null | sed -nE 's/.*looks like ([a-z]+):.*/\1/p')
  echo "| $sample | $(wc -l <"$f") | ${chosen:-?} | $(measure "$f" en) | $(measure "$f" "${chosen:-en}") |"
done
