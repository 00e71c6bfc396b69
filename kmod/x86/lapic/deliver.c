// SPDX-License-Identifier: GPL-2.0
/* deliver.c: interrupts to the VM's LAPICs: destination matching, lowest priority, MSIs. */
#include <linux/bitmap.h>

#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

#define XAPIC_BROADCAST		0xffU
#define X2APIC_BROADCAST	0xffffffffU

static bool lapic_is_broadcast(struct kagami_lapic *apic, u32 mda)
{
	return mda == (lapic_x2apic_mode(apic) ? X2APIC_BROADCAST : XAPIC_BROADCAST);
}

/*
 * SDM 10.6.2.1. As KVM: an ID above 0xff can only mean the x2APIC ID, which
 * is the vCPU id; the xAPIC ID is the (writable) ID register's bits 31:24.
 */
static bool lapic_match_physical(struct kagami_lapic *apic, u32 mda)
{
	if (lapic_is_broadcast(apic, mda))
		return true;
	if (lapic_x2apic_mode(apic) || mda > 0xff)
		return mda == apic->vcpu->id;
	return mda == lapic_reg(apic, APIC_ID) >> 24;
}

/* SDM 10.6.2.2 (flat and cluster models per DFR) and 10.12.10.2 (x2APIC clusters). */
static bool lapic_match_logical(struct kagami_lapic *apic, u32 mda)
{
	u32 ldr = lapic_reg(apic, APIC_LDR);

	if (lapic_is_broadcast(apic, mda))
		return true;
	if (lapic_x2apic_mode(apic))
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	ldr >>= 24;
	switch (lapic_reg(apic, APIC_DFR)) {
	case APIC_DFR_FLAT:
		return ldr & mda;
	case APIC_DFR_CLUSTER:
		return (ldr >> 4) == (mda >> 4) && (ldr & mda & 0xf);
	default:
		return false;
	}
}

/*
 * Is target a destination (its lock held)? As KVM without KVM_CAP_X2APIC_API,
 * an xAPIC broadcast from a device (no source) reaches x2APIC targets too.
 */
bool lapic_match_dest(struct kagami_lapic *target, struct kagami_lapic *source,
		      const struct kagami_apic_irq *irq)
{
	u32 mda = irq->dest_id;

	switch (irq->shorthand) {
	case KAGAMI_APIC_SH_SELF:
		return target == source;
	case KAGAMI_APIC_SH_ALL:
		return true;
	case KAGAMI_APIC_SH_OTHERS:
		return target != source;
	default:
		if (!source && mda == XAPIC_BROADCAST && lapic_x2apic_mode(target))
			mda = X2APIC_BROADCAST;
		if (irq->dest_logical)
			return lapic_match_logical(target, mda);
		return lapic_match_physical(target, mda);
	}
}

/* The LAPIC of vCPU id, or NULL (absent, or the VM has no irqchip). */
static struct kagami_lapic *lapic_of(struct kagami_vm *vm, unsigned int id)
{
	struct kagami_vcpu *vcpu = kagami_vm_vcpu(vm, id);

	return vcpu ? vcpu->lapic : NULL;
}

/* Accepts irq on apic, then kicks its vCPU. */
static int lapic_deliver_one(struct kagami_lapic *apic, const struct kagami_apic_irq *irq)
{
	unsigned long flags;
	int r;

	raw_spin_lock_irqsave(&apic->lock, flags);
	r = lapic_accept(apic, irq);
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	kagami_vcpu_request(apic->vcpu, KAGAMI_REQ_EVENT);
	return r;
}

/*
 * Lowest priority (SDM 10.6.2.4) among the software-enabled destinations:
 * KVM's vector hashing, so the same vector always lands on the same vCPU
 * while the set does not change.
 */
static int lapic_deliver_lowest(struct kagami_vm *vm, const unsigned long *targets,
				unsigned int count, const struct kagami_apic_irq *irq)
{
	unsigned int id, n = irq->vector % count;

	for_each_set_bit(id, targets, KAGAMI_MAX_VCPUS)
		if (!n--)
			return lapic_deliver_one(lapic_of(vm, id), irq);
	return 0;
}

/* Is apic a destination, and for lowest priority a candidate? (Takes its lock.) */
static bool lapic_wants(struct kagami_lapic *apic, struct kagami_lapic *source,
			const struct kagami_apic_irq *irq, bool lowest)
{
	unsigned long flags;
	bool r;

	raw_spin_lock_irqsave(&apic->lock, flags);
	/* A hardware-disabled APIC takes nothing, as KVM's kvm_apic_present(). */
	r = lapic_hw_enabled(apic) && lapic_match_dest(apic, source, irq) &&
	    (!lowest || lapic_sw_enabled(apic));
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

/*
 * Each LAPIC is locked on its own, never two at once, so this runs from any
 * context and never sleeps. IDs no LAPIC has are dropped silently, as on
 * hardware.
 */
int kagami_apic_deliver(struct kagami_vm *vm, struct kagami_lapic *source,
			const struct kagami_apic_irq *irq)
{
	DECLARE_BITMAP(targets, KAGAMI_MAX_VCPUS);
	struct kagami_apic_irq one = *irq;
	unsigned int id, count = 0;
	struct kagami_lapic *apic;
	bool lowest;
	int r = 0;

	/* As KVM: lowest priority to the physical broadcast is fixed to all. */
	if (one.delivery_mode == KAGAMI_APIC_DM_LOWEST && !one.dest_logical &&
	    one.dest_id == XAPIC_BROADCAST)
		one.delivery_mode = KAGAMI_APIC_DM_FIXED;
	lowest = one.delivery_mode == KAGAMI_APIC_DM_LOWEST;
	bitmap_zero(targets, KAGAMI_MAX_VCPUS);
	for (id = 0; id < KAGAMI_MAX_VCPUS; id++) {
		apic = lapic_of(vm, id);
		if (!apic || !lapic_wants(apic, source, &one, lowest))
			continue;
		if (lowest) {
			__set_bit(id, targets);
			count++;
		} else {
			r += lapic_deliver_one(apic, &one);
		}
	}
	if (lowest && count)
		r = lapic_deliver_lowest(vm, targets, count, &one);
	return r;
}

/*
 * SDM 10.11.1 and 10.11.2: address bits 19:12 the destination, bit 2 logical;
 * data bits 7:0 the vector, 10:8 the delivery mode, 15 level-triggered. Bit 14
 * (assert) is taken as set, as KVM does: QEMU's IOAPIC leaves it clear.
 */
void kagami_apic_irq_from_msi(u64 address, u32 data, struct kagami_apic_irq *irq)
{
	*irq = (struct kagami_apic_irq) {
		.dest_id = (address >> 12) & 0xff,
		.dest_logical = address & BIT(2),
		.vector = data & 0xff,
		.delivery_mode = (data >> 8) & 7,
		.trig_level = data & BIT(15),
		.level_assert = true,
		.shorthand = KAGAMI_APIC_SH_NONE,
	};
}

bool kagami_lapic_matches(struct kagami_vcpu *vcpu, const struct kagami_apic_irq *irq)
{
	return lapic_wants(vcpu->lapic, NULL, irq, false);
}
