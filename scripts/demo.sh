#!/usr/bin/env bash
# The main job on a fresh machine, without a GPU: set up, build, and ask the needle question of
# ../shared/data/examples/case3.txt (25 pages) with the embedded OCR reader. Prints 8971465.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="$(cd .. && pwd)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${GLYPH_JOBS:-2}" --target glyph_cli
build/glyph ask ../shared/data/examples/case3.txt \
  -q "What is the special magic number for fretful-place mentioned in the provided text?"
