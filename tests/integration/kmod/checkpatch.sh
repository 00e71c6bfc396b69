#!/bin/bash
# kmod.checkpatch: checkpatch.pl (Debian's linux-source-6.1) finds no ERROR in kmod/; warnings
# are shown. The script and its data files are unpacked once into the cache.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
tarball=/usr/src/linux-source-6.1.tar.xz
[[ -f $tarball ]] || fail "$tarball is missing: run scripts/bootstrap (it installs linux-source-6.1)"
cache=${KAGAMI_CACHE:-$HOME/.cache/kagami}/checkpatch-6.1
if [[ ! -f $cache/checkpatch.pl ]]; then
  mkdir -p "$(dirname "$cache")"
  exec {lock}>"$cache.lock"
  flock "$lock"
  if [[ ! -f $cache/checkpatch.pl ]]; then
    staging=$(mktemp -d "$cache.partial.XXXXXX")
    tar -xJf "$tarball" -C "$staging" --strip-components=2 \
      linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
      linux-source-6.1/scripts/const_structs.checkpatch
    rm -rf "$cache"
    mv "$staging" "$cache"
  fi
  exec {lock}>&-
fi
mapfile -t sources < <(cd "$checkout" && find kmod \( -name '*.c' -o -name '*.h' \) | sort)
(cd "$checkout" && perl "$cache/checkpatch.pl" --no-tree --terse --show-types -f "${sources[@]}") \
  >"$work/report" 2>&1 || true
cat "$work/report"
if grep -q ': ERROR:' "$work/report"; then
  fail "checkpatch.pl reports errors"
fi
echo "PASS: checkpatch.pl: no error in ${#sources[@]} files ($(grep -c ': WARNING:' "$work/report") warnings)"
