#!/usr/bin/env bash
# Rebuilds the image and runs its smoke test (scripts/image.sh) when the build is cached here:
# podman and buildah installed, the debootstrap base and an earlier image present. Otherwise
# says why and exits 77 (CTest: skipped), since a first build takes longer than the test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in podman buildah; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
for image in localhost/glyph-base:bookworm localhost/glyph:latest; do
  podman image exists "$image" ||
    { echo "skipped: no cached $image (build it once with scripts/image.sh)"; exit 77; }
done
exec bash scripts/image.sh
