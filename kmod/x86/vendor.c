// SPDX-License-Identifier: GPL-2.0
/* vendor.c: chooses the vendor hooks once at load, from the CPU vendor. */
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/stddef.h>
#include <asm/processor.h>

#include "x86/vendor_ops.h"

const struct kagami_vendor_ops *kagami_vendor;

static const size_t kagami_vendor_hooks[] = {
#define KAGAMI_VENDOR_OP(name) offsetof(struct kagami_vendor_ops, name),
#include "x86/vendor_ops_list.h"
};

/* The list names every hook of the struct: the name, then one pointer per hook. */
static_assert(sizeof(struct kagami_vendor_ops) ==
	      sizeof(void *) * (1 + ARRAY_SIZE(kagami_vendor_hooks)));

static bool kagami_vendor_complete(const struct kagami_vendor_ops *ops)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kagami_vendor_hooks); i++)
		if (!*(void * const *)((const char *)ops + kagami_vendor_hooks[i]))
			return false;
	return true;
}

static const struct kagami_vendor_ops *kagami_vendor_for_cpu(const char **reason)
{
	switch (boot_cpu_data.x86_vendor) {
	case X86_VENDOR_AMD:
	case X86_VENDOR_HYGON:
		return &kagami_svm_ops;
	case X86_VENDOR_INTEL:
		*reason = "this is an Intel CPU: VT-x is not supported yet";
		return NULL;
	default:
		*reason = "this CPU is neither AMD nor Intel";
		return NULL;
	}
}

int kagami_vendor_select(const char **reason)
{
	const struct kagami_vendor_ops *ops = kagami_vendor_for_cpu(reason);
	int r;

	if (!ops)
		return -ENODEV;
	if (!kagami_vendor_complete(ops)) {
		*reason = "internal error: the vendor code lacks a hook";
		return -EINVAL;
	}
	r = ops->probe(reason);
	if (!r)
		kagami_vendor = ops;
	return r;
}
