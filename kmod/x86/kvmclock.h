/* SPDX-License-Identifier: GPL-2.0 */
/* kvmclock.h: the paravirtual clock (kvm-clock MSRs, CPUID 0x40000000+) and KVM_GET/SET_CLOCK. */
#ifndef KAGAMI_X86_KVMCLOCK_H
#define KAGAMI_X86_KVMCLOCK_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kagami_vm;
struct kagami_vcpu;

/* Module load and unload: follow whether the host's clock is the TSC (the stable-bit test). */
int kagami_kvmclock_init(void);
void kagami_kvmclock_exit(void);

/* VM creation: the clock starts at 0 ns. */
void kagami_kvmclock_vm_init(struct kagami_vm *vm);
/* KVM_GET_CLOCK / KVM_SET_CLOCK; -ENOTTY for others. */
long kagami_kvmclock_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp);

/*
 * MSR_KVM_SYSTEM_TIME(_NEW), MSR_KVM_WALL_CLOCK(_NEW): -ENOENT when not
 * kvm-clock's, 0 done, -EINVAL for #GP. vCPU thread.
 */
int kagami_kvmclock_get_msr(struct kagami_vcpu *vcpu, u32 msr, u64 *val);
int kagami_kvmclock_set_msr(struct kagami_vcpu *vcpu, u32 msr, u64 val, bool host);

/*
 * A vCPU's TSC offset changed (KVM_SET_MSRS or WRMSR of the TSC): every vCPU's
 * page is refreshed, since the stable bit needs all vCPUs in step. Any context.
 */
void kagami_kvmclock_tsc_changed(struct kagami_vm *vm);
/* Before each guest entry, vCPU thread, may sleep: refresh the vCPU's pvclock page when due. */
void kagami_kvmclock_before_entry(struct kagami_vcpu *vcpu);
/* The per-vCPU state: created and freed with the vCPU. */
int kagami_kvmclock_vcpu_create(struct kagami_vcpu *vcpu);
void kagami_kvmclock_vcpu_free(struct kagami_vcpu *vcpu);

/* The CPUID leaves 0x40000000 (signature "KVMKVMKVM\0\0\0") and 0x40000001 (features). */
void kagami_kvmclock_cpuid(u32 function, u32 out[4]);

#endif
