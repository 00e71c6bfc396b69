// SPDX-License-Identifier: GPL-2.0
/* kmod_test_lib: counted checks and kagami's debugfs for the module's test programs. */
#include "kmod_test_lib.h"

#include <stdio.h>
#include <string.h>

int checks_passed;
int checks_failed;

void check_errno(int ok, const char *what, long got, int err) {
  if (ok) {
    checks_passed++;
    return;
  }
  checks_failed++;
  printf("FAIL: %s (got %ld, errno %d: %s)\n", what, got, err, strerror(err));
}

long huge_leaves(void) {
  FILE *f = fopen("/sys/kernel/debug/kagami/live_objects", "r");
  char line[64];
  long n = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "huge %ld", &n) == 1) break;
  if (f) fclose(f);
  return n;
}
