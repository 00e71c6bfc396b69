/* SPDX-License-Identifier: GPL-2.0 */
/* kmod_test_lib: what the module's test programs share: counted checks, kagami's debugfs. */
#ifndef KMOD_TEST_LIB_H
#define KMOD_TEST_LIB_H

#include <errno.h>

/* What check_errno() counted. */
extern int checks_passed;
extern int checks_failed;

/* Counts a check; a failed one is printed with what it got and the errno it saw. */
void check_errno(int ok, const char *what, long got, int err);

/* expr must return a non-negative value. */
#define EXPECT_OK(expr)                     \
  ({                                        \
    errno = 0;                              \
    long _r = (long)(expr);                 \
    check_errno(_r >= 0, #expr, _r, errno); \
    _r;                                     \
  })

/* expr must fail with errno e. */
#define EXPECT_ERR(expr, e)                                                    \
  do {                                                                         \
    errno = 0;                                                                 \
    long _r = (long)(expr);                                                    \
    check_errno(_r == -1 && errno == (e), #expr " fails with " #e, _r, errno); \
  } while (0)

#define EXPECT_EQ(expr, v)                                    \
  do {                                                        \
    errno = 0;                                                \
    long _r = (long)(expr);                                   \
    check_errno(_r == (long)(v), #expr " == " #v, _r, errno); \
  } while (0)

/* The "huge N" line of kagami's debugfs live_objects: its 2 MiB nested-page-table leaves (-1
 * without it, as on kvm-amd). */
long huge_leaves(void);

#endif
