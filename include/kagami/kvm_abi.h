/* The KVM ABI (<linux/kvm.h>) with the C layout in C++ too. Include this, never <linux/kvm.h>. */
#pragma once

/*
 * Linux's uapi headers before 6.4 declare flexible arrays with __DECLARE_FLEX_ARRAY, which
 * wraps them in a struct holding an empty struct. An empty struct has size 0 in C but 1 in
 * C++, so in C++ `struct kvm_cpuid2` grows from 8 to 12 bytes, its entries move from offset 8
 * to 12, and every ioctl number that encodes such a size (KVM_GET_SUPPORTED_CPUID,
 * KVM_SET_CPUID2, KVM_GET_MSRS, KVM_SET_GSI_ROUTING, ...) differs from the kernel's. Define the
 * macro as Linux 6.4 does for C++ (a zero-length array) before <linux/kvm.h> sees it.
 */
#include <linux/stddef.h>
#ifdef __cplusplus
#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[0]
#endif
#include <linux/kvm.h>

#ifdef __cplusplus
#include <cstddef>
static_assert(sizeof(struct kvm_cpuid2) == 8 && offsetof(struct kvm_cpuid2, entries) == 8,
              "struct kvm_cpuid2 must have its C layout");
static_assert(sizeof(struct kvm_msrs) == 8 && offsetof(struct kvm_msrs, entries) == 8,
              "struct kvm_msrs must have its C layout");
static_assert(sizeof(struct kvm_msr_list) == 4, "struct kvm_msr_list must have its C layout");
static_assert(sizeof(struct kvm_irq_routing) == 8 && offsetof(struct kvm_irq_routing, entries) == 8,
              "struct kvm_irq_routing must have its C layout");
#endif
