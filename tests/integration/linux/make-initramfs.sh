#!/bin/bash
# Builds the boot test's initramfs: busybox-static and an init (init.sh unless given), as a
# gzip'ed newc cpio.
# Usage: make-initramfs.sh OUTPUT [INIT]
set -euo pipefail
out=${1:?usage: $0 OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
init=${2:-$here/init.sh}
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" | grep -q 'statically linked' ||
  { echo "make-initramfs: a static busybox is needed (apt-get install busybox-static)" >&2; exit 2; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$init" "$root/init"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out"
