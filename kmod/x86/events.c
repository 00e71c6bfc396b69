// SPDX-License-Identifier: GPL-2.0
/* events.c: KVM_INTERRUPT, KVM_NMI, KVM_GET/SET_VCPU_EVENTS and KVM_GET/SET_MP_STATE (no irqchip). */
#include <linux/kernel.h>
#include <linux/uaccess.h>

#include "core/kagami.h"

#define KAGAMI_NR_INTERRUPTS	256	/* KVM_NR_INTERRUPTS */
#define NMI_VECTOR		2

/*
 * Flags KVM accepts without KVM_CAP_EXCEPTION_PAYLOAD or the triple-fault event
 * enabled; SMM must say "not in SMM" (kagami has none), the SIPI vector is
 * ignored without an in-kernel local APIC, as KVM.
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
	return kagami_vendor->queue_interrupt(vcpu, irq.irq);
}

static long kagami_vcpu_get_events(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_vcpu_events events = {};
	int r = kagami_vendor->get_vcpu_events(vcpu, &events);

	if (r)
		return r;
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

	if (copy_from_user(&events, argp, sizeof(events)))
		return -EFAULT;
	if (!kagami_events_valid(&events))
		return -EINVAL;
	events.exception.pending = 0;
	return kagami_vendor->set_vcpu_events(vcpu, &events);
}

/* Without an in-kernel irqchip a vCPU is always runnable (HLT goes to userspace), as KVM. */
static long kagami_vcpu_get_mp_state(void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
}

static long kagami_vcpu_set_mp_state(void __user *argp)
{
	struct kvm_mp_state mp;

	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	return mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
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
		return kagami_vcpu_get_mp_state(argp);
	case KVM_SET_MP_STATE:
		return kagami_vcpu_set_mp_state(argp);
	default:
		return -ENOTTY;
	}
}
