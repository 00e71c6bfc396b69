/* SPDX-License-Identifier: GPL-2.0 */
/* msrs.h: the vendor-neutral MSRs (KVM's kvm_get/set_msr_common), for the vendors' MSR exits. */
#ifndef KAGAMI_X86_MSRS_H
#define KAGAMI_X86_MSRS_H

#include <linux/types.h>

struct kagami_vcpu;

/*
 * An MSR every x86 vCPU has whatever the vendor: the machine-check MSRs, HWCR,
 * UCODE_REV and the model-specific ones KVM reads as zero. host: from
 * KVM_GET/SET_MSRS.
 * -ENOENT when the index is not one of them, 0 done, -EINVAL for #GP.
 */
int kagami_msr_common_get(struct kagami_vcpu *vcpu, u32 index, u64 *value, bool host);
int kagami_msr_common_set(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host);

#endif
