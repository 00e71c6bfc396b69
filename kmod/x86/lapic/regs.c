// SPDX-License-Identifier: GPL-2.0
/* regs.c: LAPIC register reads and writes, through the xAPIC page and the x2APIC MSRs. */
#include <linux/bits.h>
#include <linux/string.h>

#include "core/irq.h"
#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

#define REG_BIT(reg)		BIT_ULL((reg) >> 4)
#define REG_BITS(first, n)	(REG_BIT(first) * (BIT_ULL(n) - 1))

/*
 * LVT bits that hold a value (KVM's LVT_MASK, LINT_MASK); the rest read as
 * zero. Unlike KVM, delivery status (bit 12) is read-only and idle, as on
 * hardware: delivery is immediate, and a guest that polls it must not wait.
 */
#define LVT_BITS	(APIC_LVT_MASKED | APIC_VECTOR_MASK)
#define LINT_BITS	(LVT_BITS | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
			 APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)

/* x2APIC ICR bits that must be zero (KVM: 31:20, 17:16 and 13). */
#define X2APIC_ICR_RESERVED	(GENMASK_ULL(31, 20) | GENMASK_ULL(17, 16) | BIT_ULL(13))

/* Readable registers, as KVM's kvm_lapic_readable_reg_mask(): EOI and SELF IPI are write-only. */
bool lapic_reg_readable(struct kagami_lapic *apic, unsigned int reg)
{
	u64 mask = REG_BIT(APIC_ID) | REG_BIT(APIC_LVR) | REG_BIT(APIC_TASKPRI) |
		   REG_BIT(APIC_PROCPRI) | REG_BIT(APIC_LDR) | REG_BIT(APIC_SPIV) |
		   REG_BITS(APIC_ISR, 8) | REG_BITS(APIC_TMR, 8) | REG_BITS(APIC_IRR, 8) |
		   REG_BIT(APIC_ESR) | REG_BIT(APIC_ICR) | REG_BITS(APIC_LVTT, 6) |
		   REG_BIT(APIC_TMICT) | REG_BIT(APIC_TMCCT) | REG_BIT(APIC_TDCR);

	/* ARBPRI, DFR and ICR2 do not exist in x2APIC mode. */
	if (!lapic_x2apic_mode(apic))
		mask |= REG_BIT(APIC_ARBPRI) | REG_BIT(APIC_DFR) | REG_BIT(APIC_ICR2);
	return reg <= LAPIC_REG_LAST && !(reg & 0xf) && (mask & REG_BIT(reg));
}

/* A readable register's value (lock held). APR reads 0, as KVM. */
u32 lapic_reg_read(struct kagami_lapic *apic, unsigned int reg)
{
	switch (reg) {
	case APIC_ARBPRI:
		return 0;
	case APIC_TMCCT:
		return lapic_timer_current_count(apic);
	default:
		return lapic_reg(apic, reg);
	}
}

/* SDM 10.8.5: EOI retires the highest in-service vector; the vCPU reports it once unlocked. */
static void lapic_eoi(struct kagami_lapic *apic, struct lapic_after *after)
{
	int vec = lapic_highest_vec(apic, APIC_ISR);

	if (vec < 0)
		return;
	lapic_clear_vec(apic, APIC_ISR, vec);
	after->eoi_level = lapic_test_vec(apic, APIC_TMR, vec);
	/* A level interrupt raised again meanwhile keeps its TMR bit for its own EOI. */
	if (!lapic_test_vec(apic, APIC_IRR, vec))
		lapic_clear_vec(apic, APIC_TMR, vec);
	after->eoi_vector = vec;
	lapic_update_ppr(apic);
}

/* ICR (two halves) to an interrupt: the destination is 8 bits in xAPIC, 32 in x2APIC. */
static void lapic_icr_to_irq(struct kagami_lapic *apic, u32 low, u32 high,
			     struct kagami_apic_irq *irq)
{
	irq->vector = low & APIC_VECTOR_MASK;
	irq->delivery_mode = (low & APIC_MODE_MASK) >> 8;
	irq->dest_logical = low & APIC_DEST_LOGICAL;
	irq->level_assert = low & APIC_INT_ASSERT;
	irq->trig_level = low & APIC_INT_LEVELTRIG;
	irq->shorthand = (low >> 18) & 3;
	irq->dest_id = lapic_x2apic_mode(apic) ? high : high >> 24;
}

/*
 * SDM 10.5.3: a fixed or lowest-priority IPI with a vector below 16 is not
 * sent, and sets "send illegal vector" on the sender. Delivery is immediate,
 * so the delivery status bit always reads idle.
 */
static void lapic_send(struct kagami_lapic *apic, const struct kagami_apic_irq *irq,
		       struct lapic_after *after)
{
	if (irq->vector < 16 && (irq->delivery_mode == KAGAMI_APIC_DM_FIXED ||
				 irq->delivery_mode == KAGAMI_APIC_DM_LOWEST)) {
		after->kick |= lapic_error(apic, APIC_ESR_SENDILL);
		return;
	}
	after->ipi = *irq;
	after->send_ipi = true;
}

/* SVR: clearing the software enable masks every LVT entry (SDM 10.4.7.2). */
static void lapic_write_svr(struct kagami_lapic *apic, u32 val, struct lapic_after *after)
{
	unsigned int reg;

	lapic_set_reg(apic, APIC_SPIV, val & 0x3ff);	/* no EOI-broadcast suppression */
	if (val & APIC_SPIV_APIC_ENABLED) {
		after->kick = true;	/* IRR bits held while disabled may go now */
		return;
	}
	for (reg = APIC_LVTT; reg <= APIC_LVTERR; reg += 0x10)
		lapic_set_reg(apic, reg, lapic_reg(apic, reg) | APIC_LVT_MASKED);
}

static void lapic_write_lvt(struct kagami_lapic *apic, unsigned int reg, u32 val,
			    struct lapic_after *after)
{
	u32 bits;

	if (!lapic_sw_enabled(apic))
		val |= APIC_LVT_MASKED;
	switch (reg) {
	case APIC_LVTT:
		lapic_set_reg(apic, reg, val & (LVT_BITS | lapic_timer_mode_mask(apic)));
		after->kick |= lapic_timer_lvtt_written(apic);
		return;
	case APIC_LVT0:
	case APIC_LVT1:
		bits = LINT_BITS;
		break;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		bits = LVT_BITS | APIC_MODE_MASK;
		break;
	default:
		bits = LVT_BITS;
		break;
	}
	lapic_set_reg(apic, reg, val & bits);
}

/* Registers only xAPIC mode writes: ID, LDR, DFR, ICR (low half) and ICR2. */
static int lapic_write_xapic_only(struct kagami_lapic *apic, unsigned int reg, u32 val,
				  struct lapic_after *after)
{
	struct kagami_apic_irq irq;

	if (lapic_x2apic_mode(apic))
		return -EINVAL;
	switch (reg) {
	case APIC_ID:
		lapic_set_reg(apic, reg, val & 0xff000000);
		break;
	case APIC_LDR:
		lapic_set_reg(apic, reg, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		lapic_set_reg(apic, reg, val | APIC_DFR_CLUSTER);
		break;
	case APIC_ICR2:
		lapic_set_reg(apic, reg, val & 0xff000000);
		break;
	default:	/* APIC_ICR */
		val &= ~APIC_ICR_BUSY;
		lapic_set_reg(apic, APIC_ICR, val);
		lapic_icr_to_irq(apic, val, lapic_reg(apic, APIC_ICR2), &irq);
		lapic_send(apic, &irq, after);
		break;
	}
	return 0;
}

/*
 * A 32-bit register write (lock held), as KVM's kvm_lapic_reg_write():
 * -EINVAL when x2APIC mode would #GP (read-only, reserved, or not in x2APIC);
 * the xAPIC page ignores such writes.
 */
int lapic_reg_write(struct kagami_lapic *apic, unsigned int reg, u32 val,
		    struct lapic_after *after)
{
	struct kagami_apic_irq self = { .shorthand = KAGAMI_APIC_SH_SELF, .level_assert = true };

	switch (reg) {
	case APIC_ID:
	case APIC_LDR:
	case APIC_DFR:
	case APIC_ICR:
	case APIC_ICR2:
		return lapic_write_xapic_only(apic, reg, val, after);
	case APIC_TASKPRI:
		lapic_set_reg(apic, reg, val & 0xff);
		after->kick |= lapic_update_ppr(apic);
		return 0;
	case APIC_EOI:
		lapic_eoi(apic, after);
		return 0;
	case APIC_SPIV:
		lapic_write_svr(apic, val, after);
		return 0;
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
		lapic_write_lvt(apic, reg, val, after);
		return 0;
	case APIC_TMICT:
		if (apic->timer.mode != APIC_LVT_TIMER_TSCDEADLINE) {
			lapic_set_reg(apic, reg, val);
			after->kick |= lapic_timer_tmict_written(apic);
		}
		return 0;
	case APIC_TDCR:
		lapic_set_reg(apic, reg, val & 0xb);
		lapic_timer_tdcr_written(apic);
		return 0;
	case APIC_ESR:	/* SDM 10.5.3: a write latches the errors seen since the last one */
		if (lapic_x2apic_mode(apic) && val)
			return -EINVAL;
		lapic_set_reg(apic, reg, apic->esr_pending & LAPIC_ESR_ALL);
		apic->esr_pending = 0;
		return 0;
	case APIC_SELF_IPI:	/* x2APIC only: bits 7:0 are the vector, the rest reserved */
		if (!lapic_x2apic_mode(apic) || (val & ~APIC_VECTOR_MASK))
			return -EINVAL;
		self.vector = val;
		lapic_send(apic, &self, after);
		return 0;
	default:
		return -EINVAL;
	}
}

/* After the lock: an EOI goes to the IOAPIC side, which may want userspace to see it. */
int lapic_eoi_exit(struct kagami_vcpu *vcpu, const struct lapic_after *after)
{
	if (after->eoi_vector < 0 || !kagami_irq_eoi(vcpu, after->eoi_vector, after->eoi_level))
		return 0;
	vcpu->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	vcpu->run->eoi.vector = after->eoi_vector;
	return 1;
}

bool kagami_lapic_mmio_in_range(struct kagami_vcpu *vcpu, u64 gpa)
{
	struct kagami_lapic *apic = vcpu->lapic;
	u64 base = READ_ONCE(apic->base_msr);

	if (!(base & LAPIC_BASE_EN) || (base & LAPIC_BASE_EXTD))
		return false;
	base &= LAPIC_BASE_ADDR;
	return gpa >= base && gpa - base < LAPIC_MMIO_SIZE;
}

/* SDM 10.4.1: 1, 2 or 4 bytes inside one register; anything else reads 0, as KVM ignores it. */
int kagami_lapic_mmio_read(struct kagami_vcpu *vcpu, u64 gpa, void *val, unsigned int len)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned int offset, align;
	unsigned long flags;
	u32 data;

	memset(val, 0, len);
	if (len != 1 && len != 2 && len != 4)
		return 0;
	raw_spin_lock_irqsave(&apic->lock, flags);
	offset = gpa - (apic->base_msr & LAPIC_BASE_ADDR);
	align = offset & 0xf;
	if (offset < LAPIC_MMIO_SIZE && align + len <= 4 &&
	    lapic_reg_readable(apic, offset - align)) {
		data = lapic_reg_read(apic, offset - align);
		memcpy(val, (u8 *)&data + align, len);
	}
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

/* SDM 10.4.1: writes are 4 bytes at a 16-byte boundary; others are ignored, as KVM. */
int kagami_lapic_mmio_write(struct kagami_vcpu *vcpu, u64 gpa, const void *val, unsigned int len)
{
	struct kagami_lapic *apic = vcpu->lapic;
	struct lapic_after after = { .eoi_vector = -1 };
	unsigned int offset;
	unsigned long flags;
	u32 data;

	if (len != 4)
		return 0;
	memcpy(&data, val, 4);
	raw_spin_lock_irqsave(&apic->lock, flags);
	offset = gpa - (apic->base_msr & LAPIC_BASE_ADDR);
	if (offset < LAPIC_MMIO_SIZE && !(offset & 0xf))
		lapic_reg_write(apic, offset, data, &after);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	lapic_finish(apic, &after);
	return lapic_eoi_exit(vcpu, &after);
}

/* x2APIC MSR 0x800 + reg / 16 (SDM 10.12.1.2); #GP unless in x2APIC mode. */
int lapic_x2apic_read(struct kagami_vcpu *vcpu, u32 msr, u64 *val)
{
	struct kagami_lapic *apic = vcpu->lapic;
	unsigned int reg = (msr - LAPIC_MSR_X2APIC_FIRST) << 4;
	unsigned long flags;
	int r = 0;

	raw_spin_lock_irqsave(&apic->lock, flags);
	if (!lapic_x2apic_mode(apic))
		r = -EINVAL;
	else if (reg == APIC_ICR)	/* one 64-bit register, kept as ICR and ICR2 */
		*val = lapic_reg(apic, APIC_ICR) | (u64)lapic_reg(apic, APIC_ICR2) << 32;
	else if (lapic_reg_readable(apic, reg))
		*val = lapic_reg_read(apic, reg);
	else
		r = -EINVAL;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

static int lapic_x2apic_write_icr(struct kagami_lapic *apic, u64 val, struct lapic_after *after)
{
	struct kagami_apic_irq irq;

	if (val & X2APIC_ICR_RESERVED)
		return -EINVAL;
	val &= ~(u64)APIC_ICR_BUSY;
	lapic_set_reg(apic, APIC_ICR, val);
	lapic_set_reg(apic, APIC_ICR2, val >> 32);
	lapic_icr_to_irq(apic, val, val >> 32, &irq);
	lapic_send(apic, &irq, after);
	return 0;
}

int lapic_x2apic_write(struct kagami_vcpu *vcpu, u32 msr, u64 val)
{
	struct kagami_lapic *apic = vcpu->lapic;
	struct lapic_after after = { .eoi_vector = -1 };
	unsigned int reg = (msr - LAPIC_MSR_X2APIC_FIRST) << 4;
	unsigned long flags;
	int r;

	raw_spin_lock_irqsave(&apic->lock, flags);
	if (!lapic_x2apic_mode(apic))
		r = -EINVAL;
	else if (reg == APIC_ICR)
		r = lapic_x2apic_write_icr(apic, val, &after);
	else if (val >> 32)	/* every other register is 32 bits */
		r = -EINVAL;
	else
		r = lapic_reg_write(apic, reg, val, &after);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	if (r)
		return r;
	lapic_finish(apic, &after);
	return lapic_eoi_exit(vcpu, &after);
}
