#!/bin/busybox sh
# /init of the Linux migration test's guest (linux-two-hosts.sh): a workload that keeps writing
# and checking its memory while the VM moves. Each tick rewrites a 1 MiB file of fresh random
# bytes in tmpfs (guest RAM) after checking that the previous one still has the checksum it
# had when written; every 5th tick it checks a 16 MiB file written once at the start (pages
# sent only in the first pass). A line per tick:
#   KAGAMI-WORKLOAD tick=N uptime=SECONDS ok
# and "KAGAMI-WORKLOAD MISMATCH ..." if any check fails. It runs until the VMM is stopped.
/bin/busybox mkdir -p /proc /sys /dev /usr/bin /usr/sbin /sbin /work
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=64m tmpfs /work

checksum() { md5sum <"$1" | cut -d' ' -f1; }

dd if=/dev/urandom of=/work/static bs=64k count=256 2>/dev/null
static=$(checksum /work/static)
echo "KAGAMI-WORKLOAD start static=$static"
tick=0
previous=
while :; do
  tick=$((tick + 1))
  if [ -n "$previous" ] && [ "$(checksum /work/chunk)" != "$previous" ]; then
    echo "KAGAMI-WORKLOAD MISMATCH tick=$tick: the 1 MiB file changed under the guest"
  fi
  if [ $((tick % 5)) -eq 0 ] && [ "$(checksum /work/static)" != "$static" ]; then
    echo "KAGAMI-WORKLOAD MISMATCH tick=$tick: the 16 MiB file changed under the guest"
  fi
  dd if=/dev/urandom of=/work/chunk bs=64k count=16 2>/dev/null
  previous=$(checksum /work/chunk)
  echo "KAGAMI-WORKLOAD tick=$tick uptime=$(cut -d' ' -f1 /proc/uptime) ok"
  sleep 0.2
done
