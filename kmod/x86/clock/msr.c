// SPDX-License-Identifier: GPL-2.0
/* msr.c: kvm-clock's MSRs and CPUID leaves, the per-vCPU state, the refresh before entry. */
#include <linux/bits.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>

#include "core/kagami.h"
#include "x86/clock/clock.h"
#include "x86/kvmclock.h"

/*
 * What 0x40000001 EAX announces: only what exists. NOP_IO_DELAY is a hint
 * that port 0x80 needs no delay, true of any virtual machine. No async page
 * faults, steal time, PV EOI, PV unhalt, PV TLB flush or PV IPIs.
 */
#define KVMCLOCK_FEATURES	(BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_NOP_IO_DELAY) | \
				 BIT(KVM_FEATURE_CLOCKSOURCE2) | \
				 BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

/* cpuid.rst: 0x40000000 names KVM and the last leaf, 0x40000001 the features. */
void kagami_kvmclock_cpuid(u32 function, u32 out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if (function == KVM_CPUID_SIGNATURE) {
		out[0] = KVM_CPUID_FEATURES;
		memcpy(&out[1], KVM_SIGNATURE, 3 * sizeof(u32));
	} else if (function == KVM_CPUID_FEATURES) {
		out[0] = KVMCLOCK_FEATURES;
	}
}

int kagami_kvmclock_vcpu_create(struct kagami_vcpu *vcpu)
{
	vcpu->kvmclock = kzalloc(sizeof(*vcpu->kvmclock), GFP_KERNEL_ACCOUNT);
	return vcpu->kvmclock ? 0 : -ENOMEM;
}

void kagami_kvmclock_vcpu_free(struct kagami_vcpu *vcpu)
{
	kfree(vcpu->kvmclock);
	vcpu->kvmclock = NULL;
}

int kagami_kvmclock_get_msr(struct kagami_vcpu *vcpu, u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		mutex_lock(&vcpu->vm->lock);
		*val = vcpu->vm->kvmclock_wall_gpa;
		mutex_unlock(&vcpu->vm->lock);
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*val = vcpu->kvmclock->system_time;
		return 0;
	default:
		return -ENOENT;
	}
}

/*
 * KVM's kvm_write_system_time(): any value is taken (no #GP) and read back
 * as written; bit 0 enables the page. A structure that would cross a page is
 * never written, as KVM's pfn cache refuses it. A switch between the old and
 * new MSR on the boot vCPU changes the stable decision for every vCPU.
 */
static void kvmclock_set_system_time(struct kagami_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	struct kagami_kvmclock *c = vcpu->kvmclock;
	bool old = msr == MSR_KVM_SYSTEM_TIME;
	u64 offset = val & ~PAGE_MASK & ~1ULL;

	c->system_time = val;
	c->page_valid = (val & 1) && offset + sizeof(struct pvclock_vcpu_time_info) <= PAGE_SIZE;
	if (vcpu->id == 0 && !host && READ_ONCE(c->old_msr) != old) {
		WRITE_ONCE(c->old_msr, old);
		kvmclock_request_all(vcpu->vm);
	}
	kagami_vcpu_request(vcpu, KAGAMI_REQ_CLOCK);
}

/*
 * The wall clock is the VM's (msr.rst: "the effect of this particular MSR is
 * global"); it is written once per MSR write, at the vCPU's next entry: only
 * the vCPU thread in KVM_RUN is sure to run in the VMM's mm.
 */
int kagami_kvmclock_set_msr(struct kagami_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	struct kagami_kvmclock *c = vcpu->kvmclock;

	switch (msr) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		mutex_lock(&vcpu->vm->lock);
		vcpu->vm->kvmclock_wall_gpa = val;
		mutex_unlock(&vcpu->vm->lock);
		c->wall_gpa = val;
		c->wall_due = true;
		kagami_vcpu_request(vcpu, KAGAMI_REQ_CLOCK);
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		kvmclock_set_system_time(vcpu, msr, val, host);
		return 0;
	default:
		return -ENOENT;
	}
}

void kagami_kvmclock_before_entry(struct kagami_vcpu *vcpu)
{
	struct kagami_kvmclock *c = vcpu->kvmclock;

	if (!c || current->mm != vcpu->vm->mm)
		return;
	if (c->wall_due) {
		c->wall_due = false;
		kvmclock_write_wall(vcpu->vm, c->wall_gpa);
	}
	if (c->page_valid)
		kvmclock_write_page(vcpu);
}
