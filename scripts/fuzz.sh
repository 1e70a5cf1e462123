#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a short while.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]   (targets: pdf_fuzz docx_fuzz text_encoding_fuzz)
# Corpora grow in build-fuzz/corpus/<target> (seeded from fuzz/corpus/<target>); a crashing or
# slow input is written to fuzz/crashers/<target>/: commit it, and tests/ingest_fuzz_replay_test.cc
# replays it in every test run from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pdf_fuzz docx_fuzz text_encoding_fuzz)
jobs=${GLYPH_JOBS:-2}

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGLYPH_BUILD_FUZZ=ON -DGLYPH_BUILD_TESTS=OFF -DGLYPH_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"

for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "fuzz/crashers/$t"
  echo "fuzz: $t for ${seconds}s"
  # -timeout: seconds per input (a hang is a bug); -rss_limit_mb: memory per process.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "build-fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -artifact_prefix="fuzz/crashers/$t/" -print_final_stats=1 \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>&1 | grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|ERROR|SUMMARY|artifact" || true
  rmdir "fuzz/crashers/$t" 2>/dev/null || true
done
