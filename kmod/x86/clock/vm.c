// SPDX-License-Identifier: GPL-2.0
/* vm.c: the VM's guest clock: its reference point, the stable-TSC decision, KVM_GET/SET_CLOCK. */
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "core/kagami.h"
#include "x86/clock/clock.h"
#include "x86/kvmclock.h"

/* What KVM_SET_CLOCK accepts: KVM's KVM_CLOCK_VALID_FLAGS, so GET's result can be passed back. */
#define KVMCLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

/*
 * The TSC rate as kvm-clock's 32.32 multiplier and power-of-two shift:
 * ns = ((tsc << shift) * mul) >> 32 (a negative shift shifts right). The
 * rate is brought into (1 GHz, 2 GHz] first, so mul < 2^32 and keeps 31
 * significant bits (KVM's kvm_get_time_scale() does the same). False while
 * the host TSC rate is unknown.
 */
bool kvmclock_scale(s8 *shift, u32 *mul)
{
	u64 hz = (u64)tsc_khz * 1000;
	s8 s = 0;

	if (!hz)
		return false;
	while (hz > 2 * NSEC_PER_SEC) {
		hz >>= 1;
		s--;
	}
	while (hz <= NSEC_PER_SEC) {
		hz <<= 1;
		s++;
	}
	*shift = s;
	*mul = div64_u64((u64)NSEC_PER_SEC << 32, hz);
	return true;
}

/* The guest's own conversion (msr.rst): what a TSC delta is worth in ns. */
u64 kvmclock_tsc_to_ns(u64 delta, s8 shift, u32 mul)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return mul_u64_u32_shr(delta, mul, 32);
}

static void kvmclock_sample(u64 *host_tsc, s64 *host_ns)
{
	unsigned long flags;

	/* Back to back, so the pair names one instant. */
	local_irq_save(flags);
	*host_tsc = rdtsc();
	*host_ns = ktime_get_boottime_ns();
	local_irq_restore(flags);
}

/*
 * PVCLOCK_TSC_STABLE_BIT promises that time read on different vCPUs is
 * monotonic without the guest's own cross-CPU fix-up. KVM gives it with its
 * master clock; kagami when the same holds, as KVM decides it: the host's
 * clock is the TSC (the kernel found it constant and synchronised, host.c)
 * and not marked unstable since, every vCPU has the same TSC offset (so one
 * reference point serves them all), and the boot vCPU does not use the old
 * MSR (KVM's boot_vcpu_runs_old_kvmclock).
 */
static bool kvmclock_stable(struct kagami_vm *vm)
{
	struct kagami_vcpu *vcpu, *first = NULL;
	unsigned int i;

	if (!kvmclock_host_clock_is_tsc() || check_tsc_unstable() || !tsc_khz)
		return false;
	vcpu = kagami_vm_vcpu(vm, 0);
	if (vcpu && vcpu->kvmclock && READ_ONCE(vcpu->kvmclock->old_msr))
		return false;
	for (i = 0; i < KAGAMI_MAX_VCPUS; i++) {
		vcpu = kagami_vm_vcpu(vm, i);
		if (!vcpu)
			continue;
		if (!first)
			first = vcpu;
		else if (kagami_vendor->tsc_offset(vcpu) != kagami_vendor->tsc_offset(first))
			return false;
	}
	return true;
}

/*
 * Where the vCPUs' pages start from (vm->lock held). Stable: the VM's one
 * reference point, the same for every vCPU, so their clocks agree exactly.
 * Otherwise each page gets a fresh point, as KVM without its master clock,
 * and the guest keeps its clock monotonic itself.
 */
static void kvmclock_point_locked(struct kagami_vm *vm, struct kvmclock_point *p)
{
	s64 ns;

	p->stable = kvmclock_stable(vm);
	if (p->stable) {
		p->host_tsc = vm->kvmclock_ref_tsc;
		ns = vm->kvmclock_ref_ns;
	} else {
		kvmclock_sample(&p->host_tsc, &ns);
	}
	p->guest_ns = ns + vm->kvmclock_offset;
}

void kvmclock_page_point(struct kagami_vm *vm, struct kvmclock_point *p)
{
	mutex_lock(&vm->lock);
	kvmclock_point_locked(vm, p);
	mutex_unlock(&vm->lock);
}

/*
 * The guest clock now, as KVM's __get_kvmclock(): stable, it is the pages'
 * formula at the current host TSC, with the host's real time read alongside
 * (KVM reads both atomically from a TSC clocksource; kagami back to back with
 * interrupts off); otherwise host boot time plus the offset.
 */
void kvmclock_now(struct kagami_vm *vm, struct kvm_clock_data *data)
{
	struct kvmclock_point p;
	unsigned long flags;
	u32 mul;
	s8 shift;

	memset(data, 0, sizeof(*data));
	mutex_lock(&vm->lock);
	kvmclock_point_locked(vm, &p);
	if (p.stable && kvmclock_scale(&shift, &mul)) {
		local_irq_save(flags);
		data->host_tsc = rdtsc();
		data->realtime = ktime_get_real_ns();
		local_irq_restore(flags);
		data->clock = p.guest_ns + kvmclock_tsc_to_ns(data->host_tsc - p.host_tsc, shift, mul);
		data->flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	} else {
		data->clock = p.guest_ns;
	}
	mutex_unlock(&vm->lock);
}

void kvmclock_request_all(struct kagami_vm *vm)
{
	struct kagami_vcpu *vcpu;
	unsigned int i;

	for (i = 0; i < KAGAMI_MAX_VCPUS; i++) {
		vcpu = kagami_vm_vcpu(vm, i);
		if (vcpu)
			kagami_vcpu_request(vcpu, KAGAMI_REQ_CLOCK);
	}
}

void kagami_kvmclock_tsc_changed(struct kagami_vm *vm)
{
	kvmclock_request_all(vm);
}

/* As KVM: the guest clock starts at 0 when the VM is created. */
void kagami_kvmclock_vm_init(struct kagami_vm *vm)
{
	kvmclock_sample(&vm->kvmclock_ref_tsc, &vm->kvmclock_ref_ns);
	vm->kvmclock_offset = -vm->kvmclock_ref_ns;
}

static long kvmclock_get(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_clock_data data;

	kvmclock_now(vm, &data);
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

/*
 * KVM's kvm_vm_ioctl_set_clock(): flags beyond GET's are -EINVAL; with
 * KVM_CLOCK_REALTIME the clock moves on by the real time elapsed since
 * data.realtime (never back). A new reference point is taken, and every
 * vCPU's page is rewritten before it next runs.
 */
static long kvmclock_set(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_clock_data data;
	u64 now_real;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~KVMCLOCK_VALID_FLAGS)
		return -EINVAL;
	if (data.flags & KVM_CLOCK_REALTIME) {
		now_real = ktime_get_real_ns();
		if (now_real > data.realtime)
			data.clock += now_real - data.realtime;
	}
	mutex_lock(&vm->lock);
	kvmclock_sample(&vm->kvmclock_ref_tsc, &vm->kvmclock_ref_ns);
	vm->kvmclock_offset = data.clock - vm->kvmclock_ref_ns;
	mutex_unlock(&vm->lock);
	kvmclock_request_all(vm);
	return 0;
}

long kagami_kvmclock_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case KVM_GET_CLOCK:
		return kvmclock_get(vm, argp);
	case KVM_SET_CLOCK:
		return kvmclock_set(vm, argp);
	default:
		return -ENOTTY;
	}
}
