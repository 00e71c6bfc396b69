// SPDX-License-Identifier: GPL-2.0
/* inject.c: what the vCPU takes from its LAPIC: the interrupt to inject, NMI, INIT, SIPI; CR8. */
#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

/* SDM 10.8.3.1: the highest IRR vector whose class is above PPR's, APIC enabled. */
int kagami_lapic_pending_vector(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	int vec = -1;

	raw_spin_lock_irqsave(&apic->lock, flags);
	if (lapic_hw_enabled(apic) && lapic_sw_enabled(apic)) {
		vec = lapic_highest_vec(apic, APIC_IRR);
		if (vec >= 0 && (vec & 0xf0) <= lapic_reg(apic, APIC_PROCPRI))
			vec = -1;
	}
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return vec;
}

/* SDM 10.8.4: the processor took the vector: IRR to ISR, PPR rises. TMR stays for the EOI. */
void kagami_lapic_ack(struct kagami_vcpu *vcpu, int vector)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;

	if (vector < 0 || vector > 255)
		return;
	raw_spin_lock_irqsave(&apic->lock, flags);
	lapic_clear_vec(apic, APIC_IRR, vector);
	lapic_set_vec(apic, APIC_ISR, vector);
	lapic_update_ppr(apic);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
}

/* KVM's kvm_apic_accept_pic_intr(): a hardware-disabled APIC passes INTR straight through. */
bool kagami_lapic_accepts_extint(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool r;
	u32 lvt0;

	raw_spin_lock_irqsave(&apic->lock, flags);
	lvt0 = lapic_reg(apic, APIC_LVT0);
	r = !lapic_hw_enabled(apic) ||
	    (!(lvt0 & APIC_LVT_MASKED) && (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

/*
 * The take_*() functions run before every entry and almost always find
 * nothing: they look without the lock first. A sender sets the latch under
 * the lock and then requests KAGAMI_REQ_EVENT, which the vCPU clears before
 * it looks (svm/run.c): a latch set after this look is seen at the next
 * iteration, as the request calls the entry off.
 */
bool kagami_lapic_take_nmi(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool r;

	if (!READ_ONCE(apic->nmi_pending))
		return false;
	raw_spin_lock_irqsave(&apic->lock, flags);
	r = apic->nmi_pending;
	if (r)
		apic->nmi_pending--;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

bool kagami_lapic_take_init(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool r;

	if (!READ_ONCE(apic->init_pending))
		return false;
	raw_spin_lock_irqsave(&apic->lock, flags);
	r = apic->init_pending;
	apic->init_pending = false;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

bool kagami_lapic_take_sipi(struct kagami_vcpu *vcpu, u8 *vector)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool r;

	if (!READ_ONCE(apic->sipi_pending))
		return false;
	raw_spin_lock_irqsave(&apic->lock, flags);
	r = apic->sipi_pending;
	if (r)
		*vector = apic->sipi_vector;
	apic->sipi_pending = false;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

bool kagami_lapic_has_event(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool r;

	raw_spin_lock_irqsave(&apic->lock, flags);
	r = apic->nmi_pending || apic->init_pending || apic->sipi_pending;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r || kagami_lapic_pending_vector(vcpu) >= 0;
}

/* CR8 is TPR[7:4] (SDM 10.8.6.1); a lower TPR may let an interrupt through. */
u8 kagami_lapic_get_cr8(struct kagami_vcpu *vcpu)
{
	return (READ_ONCE(*(u32 *)(vcpu->lapic->regs + APIC_TASKPRI)) >> 4) & 0xf;
}

void kagami_lapic_set_cr8(struct kagami_vcpu *vcpu, u8 cr8)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool kick;

	raw_spin_lock_irqsave(&apic->lock, flags);
	lapic_set_reg(apic, APIC_TASKPRI, (cr8 & 0xf) << 4);
	kick = lapic_update_ppr(apic);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	if (kick)
		kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
}
