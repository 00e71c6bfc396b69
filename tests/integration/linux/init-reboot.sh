#!/bin/busybox sh
# /init of the reboot test: say so, then reboot through ACPI's reset register.
/bin/busybox mkdir -p /proc /sys
/bin/busybox mount -t proc proc /proc
echo "KAGAMI-BOOTED $(/bin/busybox cat /proc/sys/kernel/random/boot_id)"
/bin/busybox reboot -f
