#!/usr/bin/env bash
# Load figures of the service: wrk against POST /v1/render of case1.txt, cached (the same text
# every time) and uncached (a different text every request), 2 client threads.
# Usage: scripts/serve_load.sh [seconds per run, default 10] [connections, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-4}
data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
build/glyph serve --port "$port" --data "$data" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
text=../shared/data/examples/case1.txt
curl -sf -o /dev/null -H 'Content-Type: application/json' \
  --data-binary "{\"text\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$text")}" \
  "http://127.0.0.1:$port/v1/render"  # warm the cache and the fonts
echo "cached:   $(GLYPH_TEXT_FILE=$text wrk -t2 -c"$connections" -d"${seconds}s" -s bench/serve_render.lua \
  "http://127.0.0.1:$port/v1/render" | tail -1)"
echo "uncached: $(GLYPH_TEXT_FILE=$text GLYPH_UNCACHED=1 wrk -t2 -c"$connections" -d"${seconds}s" -s bench/serve_render.lua \
  "http://127.0.0.1:$port/v1/render" | tail -1)"
