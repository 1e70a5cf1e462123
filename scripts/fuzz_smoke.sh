#!/usr/bin/env bash
# A short run of the fuzz targets, as a test: builds each with clang (libFuzzer, ASan + UBSan) from
# the sources it needs only, then runs it for SECONDS on a copy of its seed corpus. Exits non-zero
# on any crash, leak, sanitizer report or input slower than 10 s; the input is kept in
# OUTDIR/crashers/<target>/. Longer runs: scripts/fuzz.sh.
# Usage: scripts/fuzz_smoke.sh OUTDIR [SECONDS=10]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
seconds="${2:-10}"
mkdir -p "$out/obj"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$root")}"
cxx="clang++"
command -v ccache >/dev/null && cxx="ccache clang++"
ingest_pkgs="uchardet poppler-cpp libzip pugixml libcmark gumbo"
layout_pkgs="freetype2 harfbuzz icu-uc libutf8proc nlohmann_json"
flags="-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -I$root/src
  $(pkg-config --cflags $ingest_pkgs $layout_pkgs)"

# The presets config.cc compiles in (as the CMake build generates them).
cmake -DCONFIG_DIR="$root/configs" -DOUTPUT="$out/presets.cc" -P "$root/cmake/embed_presets.cmake"

core=("$root"/src/core/error.cc "$root"/src/core/file.cc "$root"/src/core/utf8.cc)
ingest_sources=("${core[@]}" "$root"/src/ingest/*.cc)
layout_sources=("${core[@]}" "$root"/src/config/*.cc "$root"/src/text/*.cc "$root"/src/font/*.cc
                "$root"/src/layout/*.cc "$out/presets.cc")
sse_sources=("$root"/src/core/error.cc "$root"/src/read/sse_parser.cc)

object_of() { echo "$out/obj/$(basename "$(dirname "$1")")_$(basename "$1" .cc).o"; }

# Every source once, two compilers at a time.
pids=()
for src in $(printf '%s\n' "${ingest_sources[@]}" "${layout_sources[@]}" "${sse_sources[@]}" | sort -u); do
  $cxx $flags -c "$src" -o "$(object_of "$src")" &
  pids+=($!)
  if (( ${#pids[@]} == 2 )); then
    for p in "${pids[@]}"; do wait "$p"; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

objects_of() { for src in "$@"; do object_of "$src"; done; }

status=0
run_target() {  # target, seed corpus (fuzz/corpus/NAME), pkg-config modules, sources...
  local target="$1" seeds="$2" pkgs="$3"
  shift 3
  local libs=""
  [[ -n "$pkgs" ]] && libs="$(pkg-config --libs $pkgs)"
  # shellcheck disable=SC2046
  $cxx $flags -fsanitize=fuzzer "$root/fuzz/$target.cc" $(objects_of "$@") $libs -o "$out/$target"
  rm -rf "$out/corpus/$target"
  mkdir -p "$out/corpus/$target" "$out/crashers/$target"
  cp "$root/fuzz/corpus/$seeds"/* "$out/corpus/$target/"
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
}
for target in pdf_fuzz docx_fuzz text_encoding_fuzz; do
  run_target "$target" "$target" "$ingest_pkgs" "${ingest_sources[@]}"
done
run_target layout_fuzz layout "$layout_pkgs" "${layout_sources[@]}"
run_target sse_stream_fuzz sse_stream "" "${sse_sources[@]}"
exit $status
