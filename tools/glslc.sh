#!/usr/bin/env bash
# Compiles every shaders/*.comp to SPIR-V in shaders/spv/ (committed and embedded with go:embed,
# so users of vkseq need no shader compiler).
#   tools/glslc.sh          compile all shaders
#   tools/glslc.sh --check  exit 1 when a committed .spv is stale, missing or has no source
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: tools/glslc.sh [--check]" >&2; exit 2 ;;
esac
if ! command -v glslc >/dev/null; then
  echo "glslc not found: only changing a shader needs it (Debian/Ubuntu: apt-get install glslc)" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
# Compile every shader first, one glslc per core (about 100 s one at a time on a 2-core machine).
jobs=$(nproc 2>/dev/null || echo 2)
ls shaders/*.comp | xargs -P "$jobs" -I{} sh -c \
  'glslc --target-env=vulkan1.2 -O -Ishaders/include "$1" -o "$2/$(basename "$1" .comp).spv"' _ {} "$tmp"
for src in shaders/*.comp; do
  name=$(basename "$src" .comp)
  if [ ! -f "$tmp/$name.spv" ]; then
    echo "glslc failed on $src" >&2
    exit 1
  fi
  if [ $check = 1 ]; then
    if ! cmp -s "$tmp/$name.spv" "shaders/spv/$name.spv"; then
      echo "stale or missing: shaders/spv/$name.spv (run tools/glslc.sh and commit)"
      status=1
    fi
  else
    cp "$tmp/$name.spv" "shaders/spv/$name.spv"
  fi
done
for spv in shaders/spv/*.spv; do
  [ -e "$spv" ] || continue
  name=$(basename "$spv" .spv)
  if [ ! -f "shaders/$name.comp" ]; then
    if [ $check = 1 ]; then echo "no source for $spv"; status=1; else rm -f "$spv"; fi
  fi
done
[ $check = 1 ] && [ $status = 0 ] && echo "shaders/spv is up to date"
exit $status
