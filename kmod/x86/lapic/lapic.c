// SPDX-License-Identifier: GPL-2.0
/* lapic.c: the local APIC object, its reset, IA32_APIC_BASE, priorities and interrupt acceptance. */
#include <linux/bitops.h>
#include <linux/slab.h>

#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

#define CPUID_1_ECX_X2APIC		BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE	BIT(24)
#define LAPIC_MAX_NMI_PENDING		2	/* KVM's: one injected, one latched */

int kagami_lapic_create(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);

	if (!apic)
		return -ENOMEM;
	raw_spin_lock_init(&apic->lock);
	apic->vcpu = vcpu;
	apic->base_msr = KAGAMI_APIC_DEFAULT_BASE | LAPIC_BASE_EN;	/* reset sets the rest */
	lapic_timer_init(apic);
	vcpu->lapic = apic;
	return 0;
}

void kagami_lapic_free(struct kagami_vcpu *vcpu)
{
	struct kagami_lapic *apic = vcpu->lapic;

	lapic_timer_cancel_sync(apic);
	vcpu->lapic = NULL;
	kfree(apic);
}

/*
 * SDM vol. 3, 10.4.7.1 and 10.12.5.1: RESET puts IA32_APIC_BASE back to
 * 0xfee00000 with the enable (and on the BSP, BSP) bit and the ID to the
 * vCPU's; INIT keeps IA32_APIC_BASE, the ID and the x2APIC LDR. Both mask
 * every LVT entry, software-disable the APIC and clear the rest. As KVM
 * (KVM_X86_QUIRK_LINT0_REENABLED), the BSP's LINT0 comes back unmasked ExtINT.
 */
void kagami_lapic_reset(struct kagami_vcpu *vcpu, bool init)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	unsigned int reg;
	u32 id, ldr;

	lapic_timer_cancel_sync(apic);
	raw_spin_lock_irqsave(&apic->lock, flags);
	if (!init)
		apic->base_msr = KAGAMI_APIC_DEFAULT_BASE | LAPIC_BASE_EN |
				 (vcpu->id == 0 ? LAPIC_BASE_BSP : 0);
	id = lapic_x2apic_mode(apic) ? vcpu->id : vcpu->id << 24;
	if (init)
		id = lapic_reg(apic, APIC_ID);
	ldr = lapic_x2apic_mode(apic) ? lapic_x2apic_ldr(vcpu->id) : 0;
	memset(apic->regs, 0, sizeof(apic->regs));
	lapic_set_reg(apic, APIC_ID, id);
	lapic_set_reg(apic, APIC_LDR, ldr);
	lapic_set_reg(apic, APIC_LVR, LAPIC_VERSION);
	for (reg = APIC_LVTT; reg <= APIC_LVTERR; reg += 0x10)
		lapic_set_reg(apic, reg, APIC_LVT_MASKED);
	if (vcpu->id == 0)
		lapic_set_reg(apic, APIC_LVT0, APIC_DM_EXTINT);
	lapic_set_reg(apic, APIC_DFR, APIC_DFR_FLAT);
	lapic_set_reg(apic, APIC_SPIV, 0xff);
	apic->esr_pending = 0;
	apic->nmi_pending = 0;
	apic->timer.tsc_deadline = 0;
	lapic_timer_restore(apic, 0);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
}

/* The highest vector set in ISR, TMR or IRR (base), or -1. */
int lapic_highest_vec(struct kagami_lapic *apic, unsigned int base)
{
	int word;

	for (word = 7; word >= 0; word--) {
		u32 bits = lapic_reg(apic, base + word * 0x10);

		if (bits)
			return word * 32 + __fls(bits);
	}
	return -1;
}

/* The fixed interrupt the APIC would dispatch now (SDM 10.8.3.1: its class above PPR's), or -1. */
static int lapic_deliverable_vec(struct kagami_lapic *apic)
{
	int irr;

	if (!lapic_hw_enabled(apic) || !lapic_sw_enabled(apic))
		return -1;
	irr = lapic_highest_vec(apic, APIC_IRR);
	if (irr < 0 || (irr & 0xf0) <= lapic_reg(apic, APIC_PROCPRI))
		return -1;
	return irr;
}

/*
 * SDM 10.8.3.1: PPR is TPR when TPR's class is at least the highest
 * in-service class, else that class. Returns whether it dropped so far that
 * an interrupt became deliverable (the vCPU must look again).
 */
bool lapic_update_ppr(struct kagami_lapic *apic)
{
	u32 tpr = lapic_reg(apic, APIC_TASKPRI) & 0xff;
	u32 old = lapic_reg(apic, APIC_PROCPRI);
	int isr = lapic_highest_vec(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;
	u32 ppr = (tpr & 0xf0) >= isrv ? tpr : isrv;

	lapic_set_reg(apic, APIC_PROCPRI, ppr);
	return ppr < old && lapic_deliverable_vec(apic) >= 0;
}

/*
 * SDM 10.5.3: an error is latched until the next ESR write and, when LVT
 * Error is unmasked, interrupts through it. Returns whether it did.
 */
bool lapic_error(struct kagami_lapic *apic, u32 esr_bit)
{
	u32 lvt = lapic_reg(apic, APIC_LVTERR);
	u8 vec = lvt & APIC_VECTOR_MASK;

	apic->esr_pending |= esr_bit;
	if (!lapic_hw_enabled(apic) || !lapic_sw_enabled(apic) || (lvt & APIC_LVT_MASKED))
		return false;
	if (vec < 16) {		/* an illegal error vector: latched, no recursion */
		apic->esr_pending |= APIC_ESR_RECVILL;
		return false;
	}
	lapic_clear_vec(apic, APIC_TMR, vec);
	lapic_set_vec(apic, APIC_IRR, vec);
	return true;
}

/* A fixed or lowest-priority interrupt arrives (KVM's __apic_accept_irq()). */
static int lapic_accept_fixed(struct kagami_lapic *apic, const struct kagami_apic_irq *irq)
{
	if (irq->trig_level && !irq->level_assert)
		return 0;
	if (!lapic_hw_enabled(apic) || !lapic_sw_enabled(apic))
		return 0;
	if (irq->vector < 16) {
		lapic_error(apic, APIC_ESR_RECVILL);
		return 0;
	}
	if (irq->trig_level)
		lapic_set_vec(apic, APIC_TMR, irq->vector);
	else
		lapic_clear_vec(apic, APIC_TMR, irq->vector);
	lapic_set_vec(apic, APIC_IRR, irq->vector);
	return 1;
}

/*
 * The interrupt reaches this APIC (lock held): 1 accepted, 0 ignored. The
 * caller kicks the vCPU either way (an error may have become pending). INIT
 * level de-assert is ignored, as on processors since the Pentium 4; SMI,
 * remote read and ExtINT (the PIC goes through kagami_lapic_accepts_extint)
 * are not taken here.
 */
int lapic_accept(struct kagami_lapic *apic, const struct kagami_apic_irq *irq)
{
	switch (irq->delivery_mode) {
	case KAGAMI_APIC_DM_FIXED:
	case KAGAMI_APIC_DM_LOWEST:
		return lapic_accept_fixed(apic, irq);
	case KAGAMI_APIC_DM_NMI:
		if (apic->nmi_pending < LAPIC_MAX_NMI_PENDING)
			apic->nmi_pending++;
		return 1;
	case KAGAMI_APIC_DM_INIT:
		if (irq->trig_level && !irq->level_assert)
			return 0;
		apic->init_pending = true;
		apic->sipi_pending = false;
		return 1;
	case KAGAMI_APIC_DM_SIPI:
		apic->sipi_vector = irq->vector;
		apic->sipi_pending = true;
		return 1;
	default:
		return 0;
	}
}

/* An LVT entry's source fires (timer, LINT0/1, error...): deliver as the entry says. */
bool lapic_local_deliver(struct kagami_lapic *apic, unsigned int lvt_reg)
{
	u32 lvt = lapic_reg(apic, lvt_reg);
	struct kagami_apic_irq irq = {
		.vector = lvt & APIC_VECTOR_MASK,
		.delivery_mode = (lvt & APIC_MODE_MASK) >> 8,
		.level_assert = true,
		/* Only LINT0/1 have a trigger mode; the others are edge. */
		.trig_level = (lvt_reg == APIC_LVT0 || lvt_reg == APIC_LVT1) &&
			      (lvt & APIC_LVT_LEVEL_TRIGGER),
	};

	if (!lapic_hw_enabled(apic) || (lvt & APIC_LVT_MASKED))
		return false;
	return lapic_accept(apic, &irq);
}

/* The vCPU thread, lock dropped: send what a register write asked for, then look again. */
void lapic_finish(struct kagami_lapic *apic, const struct lapic_after *after)
{
	if (after->send_ipi)
		kagami_apic_deliver(apic->vcpu->vm, apic, &after->ipi);
	if (after->kick || after->eoi_vector >= 0)
		kagami_vcpu_request(apic->vcpu, KAGAMI_REQ_EVENT);
}

/* LVTT's mode field: TSC-deadline only when the guest's CPUID announces it (as KVM). */
u32 lapic_timer_mode_mask(struct kagami_lapic *apic)
{
	u32 cpuid[4];

	kagami_cpuid_lookup(apic->vcpu, 1, 0, cpuid);
	return cpuid[2] & CPUID_1_ECX_TSC_DEADLINE ? LAPIC_LVT_TIMER_MODE : APIC_LVT_TIMER_PERIODIC;
}

/* IA32_APIC_BASE bits a write must leave clear (KVM's kvm_set_apic_base()); vCPU thread. */
static u64 lapic_base_reserved(struct kagami_vcpu *vcpu)
{
	u32 cpuid[4];
	u32 phys_bits = 36;

	kagami_cpuid_lookup(vcpu, 0x80000000, 0, cpuid);
	if (cpuid[0] >= 0x80000008) {
		kagami_cpuid_lookup(vcpu, 0x80000008, 0, cpuid);
		phys_bits = clamp(cpuid[0] & 0xff, 32U, 52U);
	}
	kagami_cpuid_lookup(vcpu, 1, 0, cpuid);
	return GENMASK_ULL(63, phys_bits) | 0x2ff |
	       (cpuid[2] & CPUID_1_ECX_X2APIC ? 0 : LAPIC_BASE_EXTD);
}

/* A mode switch: the ID (and in x2APIC the LDR) follow, as KVM's kvm_lapic_set_base(). */
static void lapic_apply_base(struct kagami_lapic *apic, u64 value)
{
	u64 changed = apic->base_msr ^ value;
	u32 id = apic->vcpu->id;

	apic->base_msr = value;
	if ((changed & LAPIC_BASE_EN) && (value & LAPIC_BASE_EN))
		lapic_set_reg(apic, APIC_ID, id << 24);
	if (changed & LAPIC_BASE_EXTD) {
		if (value & LAPIC_BASE_EXTD) {
			lapic_set_reg(apic, APIC_ID, id);
			lapic_set_reg(apic, APIC_LDR, lapic_x2apic_ldr(id));
		} else if (value & LAPIC_BASE_EN) {
			lapic_set_reg(apic, APIC_ID, id << 24);
			lapic_set_reg(apic, APIC_ICR2, 0);
		}
	}
}

/*
 * SDM 10.12.5: EXTD without EN is invalid; the guest may not go from x2APIC
 * straight to xAPIC, nor from disabled to x2APIC (#GP). The host may.
 * reserved: from lapic_base_reserved(). Lock held.
 */
int lapic_set_base(struct kagami_lapic *apic, u64 value, bool host)
{
	bool old_x2 = lapic_x2apic_mode(apic), old_en = lapic_hw_enabled(apic);
	bool new_x2 = value & LAPIC_BASE_EXTD, new_en = value & LAPIC_BASE_EN;

	if (new_x2 && !new_en)
		return -EINVAL;
	if (!host && ((old_x2 && new_en && !new_x2) || (!old_en && new_x2)))
		return -EINVAL;
	lapic_apply_base(apic, value);
	return 0;
}

static int lapic_base_write(struct kagami_vcpu *vcpu, u64 value, bool host)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	int r = 0;

	if (value & lapic_base_reserved(vcpu))
		return -EINVAL;
	raw_spin_lock_irqsave(&apic->lock, flags);
	if (value != apic->base_msr)
		r = lapic_set_base(apic, value, host);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	if (!r)
		kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
	return r;
}

/* IA32_APIC_BASE and TSC_DEADLINE here; the x2APIC range in regs.c. */
int kagami_lapic_set_msr(struct kagami_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool kick;

	if (msr == LAPIC_MSR_BASE)
		return lapic_base_write(vcpu, val, host);
	if (msr == LAPIC_MSR_TSC_DEADLINE) {
		raw_spin_lock_irqsave(&apic->lock, flags);
		kick = lapic_timer_set_deadline(apic, val);
		raw_spin_unlock_irqrestore(&apic->lock, flags);
		if (kick)
			kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
		return 0;
	}
	if (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST)
		return lapic_x2apic_write(vcpu, msr, val);
	return -ENOENT;
}

int kagami_lapic_get_msr(struct kagami_vcpu *vcpu, u32 msr, u64 *val, bool host)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned long flags;

	if (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST)
		return lapic_x2apic_read(vcpu, msr, val);
	if (msr != LAPIC_MSR_BASE && msr != LAPIC_MSR_TSC_DEADLINE)
		return -ENOENT;
	raw_spin_lock_irqsave(&apic->lock, flags);
	if (msr == LAPIC_MSR_BASE)
		*val = apic->base_msr;
	else
		*val = apic->timer.mode == APIC_LVT_TIMER_TSCDEADLINE ? apic->timer.tsc_deadline : 0;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}
