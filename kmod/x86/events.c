// SPDX-License-Identifier: GPL-2.0
/* events.c: KVM_INTERRUPT, KVM_NMI, KVM_GET/SET_VCPU_EVENTS, _MP_STATE and _DEBUGREGS. */
#include <linux/kernel.h>
#include <linux/uaccess.h>

#include "core/kagami.h"

#define KAGAMI_NR_INTERRUPTS	256	/* KVM_NR_INTERRUPTS */
#define NMI_VECTOR		2

/*
 * Flags KVM accepts without KVM_CAP_EXCEPTION_PAYLOAD or the triple-fault event
 * enabled; SMM must say "not in SMM" (kagami has none), the SIPI vector is
 * ignored without an in-kernel local APIC, as KVM, and kept with one.
 */
#define KAGAMI_EVENTS_FLAGS	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
				 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM)

static long kagami_vcpu_interrupt(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= KAGAMI_NR_INTERRUPTS)
		return -EINVAL;
	/* As KVM: with an in-kernel PIC, the ioctl (for ExtINT only) has nothing to inject. */
	if (smp_load_acquire(&vcpu->vm->irqchip_mode) == KAGAMI_IRQCHIP_KERNEL)
		return -ENXIO;
	return kagami_vendor->queue_interrupt(vcpu, irq.irq);
}

static long kagami_vcpu_get_events(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_vcpu_events events = {};
	int r = kagami_vendor->get_vcpu_events(vcpu, &events);

	if (r)
		return r;
	/* As KVM: the SIPI vector is "never valid when reporting to user space". */
	events.sipi_vector = 0;
	events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		       KVM_VCPUEVENT_VALID_SMM;
	return copy_to_user(argp, &events, sizeof(events)) ? -EFAULT : 0;
}

static bool kagami_events_valid(const struct kvm_vcpu_events *e)
{
	if (e->flags & ~KAGAMI_EVENTS_FLAGS)
		return false;
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi || e->smi.latched_init))
		return false;
	/* Without the payload capability, "pending" is not part of the ABI: KVM ignores it. */
	if (e->exception.injected && (e->exception.nr > 31 || e->exception.nr == NMI_VECTOR))
		return false;
	/* A soft interrupt needs its instruction's length: not offered. */
	return !(e->interrupt.injected && e->interrupt.soft);
}

static long kagami_vcpu_set_events(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_vcpu_events events;
	int r;

	if (copy_from_user(&events, argp, sizeof(events)))
		return -EFAULT;
	if (!kagami_events_valid(&events))
		return -EINVAL;
	events.exception.pending = 0;
	r = kagami_vendor->set_vcpu_events(vcpu, &events);
	/* The vector a later KVM_SET_MP_STATE(SIPI_RECEIVED) starts the vCPU at. */
	if (!r && vcpu->lapic && (events.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR))
		vcpu->sipi_vector = events.sipi_vector;
	return r;
}

/*
 * Without an in-kernel LAPIC a vCPU is always runnable (HLT goes to
 * userspace), as KVM; with one, the state x86/svm/mp_state.c keeps, after
 * applying a latched INIT or SIPI as KVM does, so that a state saved while
 * the vCPU is stopped loses neither.
 */
static long kagami_vcpu_get_mp_state(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (vcpu->lapic) {
		kagami_vendor->accept_events(vcpu);
		mp.mp_state = vcpu->mp_state;
	}
	return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
}

/* The states KVM's kvm_arch_vcpu_ioctl_set_mpstate() takes, all but RUNNABLE with a LAPIC only. */
static bool kagami_mp_state_valid(struct kagami_vcpu *vcpu, u32 state)
{
	switch (state) {
	case KVM_MP_STATE_RUNNABLE:
		return true;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_SIPI_RECEIVED:
	case KVM_MP_STATE_AP_RESET_HOLD:
		return vcpu->lapic;
	default:
		return false;
	}
}

/*
 * As KVM: SIPI_RECEIVED is INIT_RECEIVED with a SIPI pending, which starts
 * the vCPU at the SIPI vector (the last SIPI's, or KVM_SET_VCPU_EVENTS's) on
 * its next KVM_RUN. vcpu->mutex is held, so the vCPU does not run meanwhile.
 */
static long kagami_vcpu_set_mp_state(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_mp_state mp;

	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	if (!kagami_mp_state_valid(vcpu, mp.mp_state))
		return -EINVAL;
	if (!vcpu->lapic)
		return 0;
	vcpu->sipi_pending = mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED;
	vcpu->mp_state = vcpu->sipi_pending ? KVM_MP_STATE_INIT_RECEIVED : mp.mp_state;
	kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
	return 0;
}

static long kagami_vcpu_get_debugregs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs dbg;
	int r = kagami_vendor->get_debugregs(vcpu, &dbg);

	if (!r && copy_to_user(argp, &dbg, sizeof(dbg)))
		r = -EFAULT;
	return r;
}

static long kagami_vcpu_set_debugregs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs dbg;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	return kagami_vendor->set_debugregs(vcpu, &dbg);
}

long kagami_vcpu_events_ioctl(struct kagami_vcpu *vcpu, unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case KVM_INTERRUPT:
		return kagami_vcpu_interrupt(vcpu, argp);
	case KVM_NMI:
		return kagami_vendor->queue_nmi(vcpu);
	case KVM_GET_VCPU_EVENTS:
		return kagami_vcpu_get_events(vcpu, argp);
	case KVM_SET_VCPU_EVENTS:
		return kagami_vcpu_set_events(vcpu, argp);
	case KVM_GET_MP_STATE:
		return kagami_vcpu_get_mp_state(vcpu, argp);
	case KVM_SET_MP_STATE:
		return kagami_vcpu_set_mp_state(vcpu, argp);
	case KVM_GET_DEBUGREGS:
		return kagami_vcpu_get_debugregs(vcpu, argp);
	case KVM_SET_DEBUGREGS:
		return kagami_vcpu_set_debugregs(vcpu, argp);
	default:
		return -ENOTTY;
	}
}
