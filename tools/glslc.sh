#!/usr/bin/env bash
# Compiles every shaders/*.comp to SPIR-V in shaders/spv/ (committed and embedded with go:embed,
# so users of vkseq need no shader compiler), and records in shaders/spv.sha256 what each .spv was
# compiled from.
#   tools/glslc.sh               compile all shaders
#   tools/glslc.sh --check       exit 1 when a committed .spv is stale, missing or has no source
#   tools/glslc.sh --check-full  the same, compiling every shader (ignores shaders/spv.sha256)
# shaders/spv.sha256 has one line per shader: a SHA-256 of its source and of every file in
# shaders/include, the SHA-256 of its .spv, and its name. --check compiles only the shaders
# whose source or .spv no longer match that line (none in a clean checkout: about a second, where
# compiling all 90 takes a minute on a 2-core machine) and compares their output byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0 full=0
case "${1:-}" in
  --check) check=1 ;;
  --check-full) check=1 full=1 ;;
  "") ;;
  *) echo "usage: tools/glslc.sh [--check | --check-full]" >&2; exit 2 ;;
esac
manifest=shaders/spv.sha256
filehash() { sha256sum "$1" | cut -d' ' -f1; }
# inhash prints the SHA-256 of a shader's source's hash followed by that of every include (sorted
# by name).
incs=$(cat shaders/include/* | sha256sum | cut -d' ' -f1)
inhash() { echo "$(filehash "$1") $incs" | sha256sum | cut -d' ' -f1; }

# The shaders to compile: all of them, or (--check) those the manifest does not vouch for.
todo=()
for src in shaders/*.comp; do
  name=$(basename "$src" .comp)
  if [ $check = 1 ] && [ $full = 0 ] && [ -f "$manifest" ] && [ -f "shaders/spv/$name.spv" ] &&
    grep -qx "$(inhash "$src") $(filehash "shaders/spv/$name.spv") $name" "$manifest"; then
    continue
  fi
  todo+=("$src")
done

status=0
if [ ${#todo[@]} -gt 0 ]; then
  if ! command -v glslc >/dev/null; then
    echo "glslc not found: only changing a shader needs it (Debian/Ubuntu: apt-get install glslc)" >&2
    exit 2
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # One glslc per core (about 100 s one at a time on a 2-core machine for all of them).
  jobs=$(nproc 2>/dev/null || echo 2)
  printf '%s\n' "${todo[@]}" | xargs -P "$jobs" -I{} sh -c \
    'glslc --target-env=vulkan1.2 -O -Ishaders/include "$1" -o "$2/$(basename "$1" .comp).spv"' _ {} "$tmp"
  for src in "${todo[@]}"; do
    name=$(basename "$src" .comp)
    if [ ! -f "$tmp/$name.spv" ]; then
      echo "glslc failed on $src" >&2
      exit 1
    fi
    if [ $check = 1 ]; then
      if ! cmp -s "$tmp/$name.spv" "shaders/spv/$name.spv"; then
        echo "stale or missing: shaders/spv/$name.spv (run tools/glslc.sh and commit)"
        status=1
      elif [ $full = 0 ]; then
        echo "up to date but not in $manifest: $name (run tools/glslc.sh and commit)"
        status=1
      fi
    else
      cp "$tmp/$name.spv" "shaders/spv/$name.spv"
    fi
  done
fi
for spv in shaders/spv/*.spv; do
  [ -e "$spv" ] || continue
  name=$(basename "$spv" .spv)
  if [ ! -f "shaders/$name.comp" ]; then
    if [ $check = 1 ]; then echo "no source for $spv"; status=1; else rm -f "$spv"; fi
  fi
done
if [ $check = 0 ]; then
  for src in shaders/*.comp; do
    name=$(basename "$src" .comp)
    echo "$(inhash "$src") $(filehash "shaders/spv/$name.spv") $name"
  done > "$manifest"
fi
[ $check = 1 ] && [ $status = 0 ] && echo "shaders/spv is up to date"
exit $status
