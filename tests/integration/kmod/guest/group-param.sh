#!/bin/bash
# Inside the nested host (no module loaded by nested-run): see ../group-param.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

insmod "$kagami_ko" group=4242 || fail "insmod group=4242 failed"
perms=$(stat -c '%a %u %g' /dev/kagami)
[[ $perms == "660 0 4242" ]] || fail "/dev/kagami is '$perms', expected '660 0 4242'"
[[ $(</sys/module/kagami/parameters/group) == 4242 ]] || fail "the group parameter is not 4242"
rmmod kagami
if insmod "$kagami_ko" group=-5 2>/dev/null; then
  fail "insmod group=-5 succeeded"
fi
dmesg | grep -q 'kagami: cannot load: group=-5 is not a gid' || fail "no clear line for group=-5"
expect_clean_kernel_log
echo "PASS: group=4242 gives /dev/kagami mode 0660 and group 4242; a bad group is refused"
