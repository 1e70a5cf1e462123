#!/usr/bin/env bash
# Sets up and builds build/glyph (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Objects compiled in another clone of the tree are reused (paths made relative to the root).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGLYPH_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"${GLYPH_JOBS:-2}" --target glyph_cli
