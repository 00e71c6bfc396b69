#!/bin/busybox sh
# /init of the Linux boot benchmark: the marker first, a pause to sample the VMM, then power off.
# shellcheck shell=dash
echo KAGAMI-BENCH-INIT
# The guest kernel's own count of its boot (from its timekeeping start), to tell kernel time
# from what came before it (VMM start-up, firmware, decompression).
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
echo "KAGAMI-BENCH-UPTIME $(/bin/busybox cut -d' ' -f1 /proc/uptime)"
# The harness reads the VMM's memory during this pause; its length comes from the command line
# (bench_pause=SECONDS, which the kernel hands to init as an environment variable).
/bin/busybox sleep "${bench_pause:-1}"
echo KAGAMI-BENCH-OFF
/bin/busybox poweroff -f
