#!/usr/bin/env bash
# A short run of the ingest fuzz targets, as a test: builds them with clang (libFuzzer, ASan +
# UBSan) from the ingest and core sources only, then runs each for SECONDS on a copy of its seed
# corpus. Exits non-zero on any crash, leak, sanitizer report or input slower than 10 s; the
# input is kept in OUTDIR/crashers/<target>/. Longer runs: scripts/fuzz.sh.
# Usage: scripts/fuzz_smoke.sh OUTDIR [SECONDS=10]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
seconds="${2:-10}"
mkdir -p "$out/obj"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$root")}"
cxx="clang++"
command -v ccache >/dev/null && cxx="ccache clang++"
flags="-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -I$root/src
  $(pkg-config --cflags uchardet poppler-cpp libzip pugixml libcmark gumbo)"
libs="$(pkg-config --libs uchardet poppler-cpp libzip pugixml libcmark gumbo)"

objects=()
pids=()
# ingest uses only these parts of core.
for src in "$root"/src/core/error.cc "$root"/src/core/file.cc "$root"/src/core/utf8.cc \
    "$root"/src/ingest/*.cc; do
  obj="$out/obj/$(basename "$(dirname "$src")")_$(basename "$src" .cc).o"
  $cxx $flags -c "$src" -o "$obj" &
  pids+=($!)
  objects+=("$obj")
  if (( ${#pids[@]} == 2 )); then  # two compilers at a time
    for p in "${pids[@]}"; do wait "$p"; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

status=0
for target in pdf_fuzz docx_fuzz text_encoding_fuzz; do
  $cxx $flags -fsanitize=fuzzer "$root/fuzz/$target.cc" "${objects[@]}" $libs -o "$out/$target"
  rm -rf "$out/corpus/$target"
  mkdir -p "$out/corpus/$target" "$out/crashers/$target"
  cp "$root/fuzz/corpus/$target"/* "$out/corpus/$target/"
  echo "fuzz smoke: $target for ${seconds}s"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
      "$out/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$out/crashers/$target/" "$out/corpus/$target" >"$out/$target.log" 2>&1; then
    tail -40 "$out/$target.log"
    echo "fuzz smoke: $target FAILED; input kept in $out/crashers/$target/"
    status=1
  else
    grep -E "^Done [0-9]+ runs" "$out/$target.log" || true
  fi
done
exit $status
