#!/usr/bin/env bash
# Installs everything Glyph-cpp needs on Debian 12: build tools, libraries, fonts, OCR data,
# the reference renderer's packages, the browser for the web-page tests, and the npm assets
# (the Qwen3 tokenizer.json, the reference tokenizer, Playwright).
# Idempotent: installs only what is missing. `--build-only`: just what compiling needs. This is the one place that names packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the build needs (`--build-only`: the build stage of the Containerfile installs just these).
build_packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache mold git
  # core libraries
  libfreetype-dev libharfbuzz-dev libfontconfig-dev libpng-dev zlib1g-dev libdeflate-dev libisal-dev libicu-dev
  nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev libwebp-dev
  # ingest
  libuchardet-dev libpoppler-cpp-dev libzip-dev libpugixml-dev libcmark-dev libgumbo-dev
  # readers
  libcurl4-openssl-dev libtesseract-dev libleptonica-dev
  # service
  libsqlite3-dev libbrotli-dev libssl-dev libhiredis-dev
)
# What running, testing and measuring need besides.
packages=(
  "${build_packages[@]}"
  clang clang-format libclang-rt-14-dev
  # OCR data, the Redis server, load generator
  tesseract-ocr-eng tesseract-ocr-chi-sim redis-server wrk
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev valgrind
  # fonts
  fonts-dejavu-core fonts-noto-cjk fonts-droid-fallback fonts-wqy-microhei
  # the reference renderer and document fixtures
  python3-reportlab python3-pil python3-numpy poppler-utils
  # the Python module (python/): bindings, training data, corpus rendering on Dask
  python3-dev python3-pybind11 pybind11-dev python3-numpy python3-torch python3-distributed python3-pytest
  python3-tqdm python3-setuptools python3-wheel python3-pip python3-venv
  # jieba's dictionary and HMM tables (LongBench's Chinese metrics; also its Python reference)
  python3-jieba
  # the web page's browser tests
  chromium nodejs npm
)
build_only=0
if [ "${1:-}" = "--build-only" ]; then build_only=1; packages=("${build_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (a newer Node.js); accept any working pair.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm assets: tokenizer.json files, the reference tokenizer, tiktoken, Playwright (no browser download).
if [ "$build_only" = 0 ] && [ -f js/package.json ]; then
  if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules ]; then
    echo "setup: installing npm packages in js/"
    (cd js && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
echo "setup: ok"
