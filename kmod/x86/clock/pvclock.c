// SPDX-License-Identifier: GPL-2.0
/* pvclock.c: writing kvm-clock's structures into guest memory with the version protocol. */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/pvclock-abi.h>

#include "core/kagami.h"
#include "x86/clock/clock.h"

/*
 * Guest RAM through the VMM's mapping, page by page (the slots need not be
 * contiguous in the VMM). The caller runs in the VM's mm (KVM_RUN checks).
 * Not RAM, or a read-only slot for a write: an error, and KVM writes nothing.
 */
static int kvmclock_access(struct kagami_vm *vm, u64 gpa, void *data, unsigned int len,
			   bool write)
{
	u8 *buf = data;
	unsigned long hva;
	unsigned int n;
	int r;

	while (len) {
		n = min_t(unsigned int, len, PAGE_SIZE - (gpa & ~PAGE_MASK));
		r = kagami_gpa_to_hva(vm, gpa, write, &hva);
		if (r)
			return r;
		if (write ? copy_to_user((void __user *)hva, buf, n) :
			    copy_from_user(buf, (const void __user *)hva, n))
			return -EFAULT;
		if (write)
			kagami_mark_page_dirty(vm, gpa);
		gpa += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Both structures start with a u32 version: odd while the hypervisor writes,
 * even when done (msr.rst). The new version follows the guest's current one,
 * so a guest that already read it sees it change. Returns the odd version.
 */
static int kvmclock_begin(struct kagami_vm *vm, u64 gpa, u32 *version)
{
	int r = kvmclock_access(vm, gpa, version, sizeof(*version), false);

	if (r)
		return r;
	*version = (*version + 1) | 1;
	r = kvmclock_access(vm, gpa, version, sizeof(*version), true);
	smp_wmb();	/* the odd version is visible before any field changes */
	return r;
}

static void kvmclock_end(struct kagami_vm *vm, u64 gpa, u32 version)
{
	smp_wmb();	/* every field is visible before the even version */
	version++;
	kvmclock_access(vm, gpa, &version, sizeof(version), true);
}

/*
 * MSR_KVM_WALL_CLOCK(_NEW), as KVM's kvm_write_wall_clock(): the host's real
 * time when the guest clock read 0, so the guest adds its kvm-clock to it.
 * GPA 0 means none. Seconds wrap in 2106, as in the structure.
 */
void kvmclock_write_wall(struct kagami_vm *vm, u64 gpa)
{
	struct pvclock_wall_clock wc = {};
	struct kvm_clock_data now;
	u32 version, rem;
	u64 boot_ns;

	if (!gpa || kvmclock_begin(vm, gpa, &version))
		return;
	kvmclock_now(vm, &now);
	if (!(now.flags & KVM_CLOCK_REALTIME))
		now.realtime = ktime_get_real_ns();
	boot_ns = now.realtime - now.clock;
	wc.version = version;
	wc.sec = (u32)div_u64_rem(boot_ns, NSEC_PER_SEC, &rem);
	wc.nsec = rem;
	/* As KVM, the version ends even whatever happened in between. */
	kvmclock_access(vm, gpa, &wc, sizeof(wc), true);
	kvmclock_end(vm, gpa, version);
}

/*
 * MSR_KVM_SYSTEM_TIME(_NEW)'s page, as KVM's kvm_guest_time_update() and
 * kvm_setup_guest_pvclock(): tsc_timestamp is the vCPU's TSC (host TSC plus
 * its offset) at the reference point, system_time the guest's ns then.
 * PVCLOCK_GUEST_STOPPED is the guest's to clear, so a set one is kept.
 */
void kvmclock_write_page(struct kagami_vcpu *vcpu)
{
	struct kagami_vm *vm = vcpu->vm;
	u64 gpa = vcpu->kvmclock->system_time & ~1ULL;
	struct pvclock_vcpu_time_info t = {};
	struct kvmclock_point p;
	u8 guest_flags = 0;
	u32 version, mul;
	s8 shift;

	if (!kvmclock_scale(&shift, &mul))
		return;
	kvmclock_page_point(vm, &p);
	if (kvmclock_begin(vm, gpa, &version))
		return;
	/* As KVM, the version ends even whatever happens in between. */
	kvmclock_access(vm, gpa + offsetof(struct pvclock_vcpu_time_info, flags),
			&guest_flags, sizeof(guest_flags), false);
	t.version = version;
	t.tsc_timestamp = p.host_tsc + kagami_vendor->tsc_offset(vcpu);
	t.system_time = p.guest_ns;
	t.tsc_to_system_mul = mul;
	t.tsc_shift = shift;
	t.flags = (p.stable ? PVCLOCK_TSC_STABLE_BIT : 0) | (guest_flags & PVCLOCK_GUEST_STOPPED);
	kvmclock_access(vm, gpa, &t, sizeof(t), true);
	kvmclock_end(vm, gpa, version);
}
