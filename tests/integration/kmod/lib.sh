# Shared helpers of the kmod tests: arguments, the nested-run helpers, and in-guest checks.
# A test sources this with: PATH/TO/scripts/nested-run PATH/TO/kagami.ko PATH/TO/ioctl_test
# PATH/TO/run_test PATH/TO/abi_test
# shellcheck shell=bash disable=SC2034 # the variables are for the tests
# shellcheck source=../nested/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../nested/lib.sh"
kagami_ko=${2:?usage: $0 NESTED_RUN KAGAMI_KO IOCTL_TEST}
ioctl_test=${3:-}
run_test=${4:-}
abi_test=${5:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -f $kagami_ko ]] || fail "$kagami_ko is missing: build it first (scripts/build)"

# --share for each directory the guest must see that the checkout does not hold.
shares=()
for path in "$kagami_ko" $ioctl_test $run_test $abi_test; do
  dir=$(dirname "$(readlink -f "$path")")
  [[ $dir == "$checkout"/* ]] || shares+=(--share "$dir")
done

# Runs a guest-side script of this folder in the nested host with kagami.ko loaded.
run_guest_script() {
  local module=$1 script=$2
  shift 2
  run_nested --module "$module" --kmod "$kagami_ko" "${shares[@]}" --timeout 240 -- \
    bash "$here/guest/$script" "$kagami_ko" "$@"
}

expect_pass() {
  expect_status 0
  grep -v '^nested-run: ' "$work/stderr" >&2 || true
  cat "$work/stdout"
}
