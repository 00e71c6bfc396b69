/* PASS/FAIL lines and the SUMMARY line the runner (tests/guest/run-guest) decides on. */
#include "runtime.h"

static unsigned passed, failed;

void report(const char* name, bool ok) {
  printf("%s: %s\n", ok ? "PASS" : "FAIL", name);
  if (ok)
    passed++;
  else
    failed++;
}

void reportf(bool ok, const char* fmt, ...) {
  char name[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof(name), fmt, ap);
  va_end(ap);
  report(name, ok);
}

void report_summary_and_exit(void) {
  printf("SUMMARY: %u passed, %u failed\n", passed, failed);
  exit(failed == 0 && passed > 0 ? 0 : 1);
}
