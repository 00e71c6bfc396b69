/* SPDX-License-Identifier: GPL-2.0 */
/* Two build fixes for Debian's linux-source-6.1 KVM selftests (scripts/conformance includes it). */
#ifndef __ASSEMBLER__
/*
 * Stable backports made <asm/kvm.h> use __DECLARE_FLEX_ARRAY() without including
 * <linux/stddef.h>, which defines it; steal_time.c includes <asm/kvm.h> first and would not
 * compile.
 */
#include <linux/stddef.h>

/*
 * A stable backport to dirty_log_test.c uses TEST_ASSERT_EQ(), which 6.1's test_util.h does not
 * define (it came with 6.6), so the test would not link. This is its upstream meaning: assert that
 * two values are equal. Macros expand where used, so TEST_ASSERT need not exist yet here.
 */
#ifndef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b)                                                  \
	TEST_ASSERT((a) == (b), "%s == %s failed: %#lx != %#lx", #a, #b,     \
		    (unsigned long)(a), (unsigned long)(b))
#endif
#endif
