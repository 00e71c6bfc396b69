// SPDX-License-Identifier: GPL-2.0
/* state.c: KVM_GET_LAPIC and KVM_SET_LAPIC: the register page in and out, for migration. */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

/*
 * KVM's kvm_apic_state_fixup() without KVM_CAP_X2APIC_API: in x2APIC mode
 * userspace sees the ID shifted left by 24 as in xAPIC, and what it sets is
 * ignored for the ID and the LDR, both fixed by the vCPU id. ICR and ICR2
 * are kept as the two halves of the 64-bit x2APIC ICR, as userspace sees them.
 */
static void lapic_state_get(struct kagami_lapic *apic, struct kvm_lapic_state *s)
{
	memcpy(s->regs, apic->regs, sizeof(s->regs));
	*(u32 *)(s->regs + APIC_TMCCT) = lapic_timer_current_count(apic);
	if (lapic_x2apic_mode(apic))
		*(u32 *)(s->regs + APIC_ID) = apic->vcpu->id << 24;
}

/* SET: a copy, then what follows from the registers: version, PPR, the timer. */
static void lapic_state_set(struct kagami_lapic *apic, struct kvm_lapic_state *s)
{
	u32 current_count = *(u32 *)(s->regs + APIC_TMCCT);

	if (lapic_x2apic_mode(apic)) {
		*(u32 *)(s->regs + APIC_ID) = apic->vcpu->id;
		*(u32 *)(s->regs + APIC_LDR) = lapic_x2apic_ldr(apic->vcpu->id);
	}
	memcpy(apic->regs, s->regs, sizeof(apic->regs));
	lapic_set_reg(apic, APIC_LVR, LAPIC_VERSION);
	lapic_set_reg(apic, APIC_TMCCT, 0);	/* computed when read */
	lapic_set_reg(apic, APIC_ARBPRI, 0);
	apic->esr_pending = 0;
	lapic_update_ppr(apic);
	lapic_timer_restore(apic, current_count);
}

long kagami_vcpu_lapic_ioctl(struct kagami_vcpu *vcpu, unsigned int cmd, void __user *argp)
{
	struct kagami_lapic *apic = vcpu->lapic;
	struct kvm_lapic_state *s;
	unsigned long flags;
	long r = 0;

	if (cmd != KVM_GET_LAPIC && cmd != KVM_SET_LAPIC)
		return -ENOTTY;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	if (cmd == KVM_GET_LAPIC) {
		raw_spin_lock_irqsave(&apic->lock, flags);
		lapic_state_get(apic, s);
		raw_spin_unlock_irqrestore(&apic->lock, flags);
		if (copy_to_user(argp, s, sizeof(*s)))
			r = -EFAULT;
	} else if (copy_from_user(s, argp, sizeof(*s))) {
		r = -EFAULT;
	} else {
		lapic_timer_cancel_sync(apic);
		raw_spin_lock_irqsave(&apic->lock, flags);
		lapic_state_set(apic, s);
		raw_spin_unlock_irqrestore(&apic->lock, flags);
		/* Whatever the new registers make pending is looked at before the next entry. */
		kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
	}
	kfree(s);
	return r;
}
