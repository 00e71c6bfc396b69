/* SPDX-License-Identifier: GPL-2.0 */
/* clock.h: kvm-clock's internals, shared by the files of x86/clock/. */
#ifndef KAGAMI_X86_CLOCK_CLOCK_H
#define KAGAMI_X86_CLOCK_CLOCK_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kagami_vm;
struct kagami_vcpu;

/* Per vCPU; the vCPU thread (vcpu->mutex) owns every field unless said. */
struct kagami_kvmclock {
	u64 system_time;	/* MSR_KVM_SYSTEM_TIME(_NEW) as written: GPA | enable bit */
	bool page_valid;	/* enabled, and the structure fits in one page (as KVM's cache) */
	bool old_msr;		/* (READ_ONCE by other vCPUs) the guest used 0x12, not _NEW */
	bool wall_due;		/* write the wall clock at wall_gpa before the next entry */
	u64 wall_gpa;
};

/*
 * A point on the guest clock: the host TSC and the guest's nanoseconds at
 * that moment, and whether all vCPUs share it (PVCLOCK_TSC_STABLE_BIT).
 */
struct kvmclock_point {
	u64 host_tsc;
	u64 guest_ns;
	bool stable;
};

/* vm.c */
void kvmclock_now(struct kagami_vm *vm, struct kvm_clock_data *data);
void kvmclock_page_point(struct kagami_vm *vm, struct kvmclock_point *p);
void kvmclock_request_all(struct kagami_vm *vm);
bool kvmclock_scale(s8 *shift, u32 *mul);
bool kvmclock_host_clock_is_tsc(void);
u64 kvmclock_tsc_to_ns(u64 delta, s8 shift, u32 mul);

/* pvclock.c */
void kvmclock_write_wall(struct kagami_vm *vm, u64 gpa);
void kvmclock_write_page(struct kagami_vcpu *vcpu);

#endif
