#!/bin/bash
# kmod.group-param: with group=GID, /dev/kagami belongs to that group with mode 0660.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
run_guest_script none group-param.sh
expect_pass
