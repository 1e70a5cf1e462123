#!/usr/bin/env bash
# Tokenizer speed side by side with tiktoken, and the cost of loading the Qwen3 vocabulary
# (time and the peak memory of a process that loads it and tokenizes nothing).
# Usage: bench/tokenizer_vs_tiktoken.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
node bench/tokenizer_speed.js "$build"
empty=$(mktemp)
python3 - "$build/glyph" "$empty" <<'PY'
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run([sys.argv[1], "tokenize", sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"glyph tokenize on an empty file (process start + load): {elapsed*1000:.0f} ms, peak memory {peak_mb:.0f} MB")
PY
rm -f "$empty"
