// SPDX-License-Identifier: GPL-2.0
/* ioapic.c: the IOAPIC (82093AA, version 0x11 as KVM's): register window, redirection, EOI. */
#include <linux/bitops.h>
#include <linux/nospec.h>
#include <linux/spinlock.h>

#include "core/irq.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/irqchip/irqchip_internal.h"
#include "x86/lapic.h"

/*
 * References: the Intel 82093AA datasheet (order 290566) and KVM's ioapic.c.
 * Version 0x11 has no EOI register (that came with 0x20): a guest ends a
 * level-triggered interrupt by the LAPIC's EOI broadcast, or by turning the
 * entry edge-triggered, which clears remote IRR.
 */

/* Datasheet 3.1: the direct registers, within the 256 bytes KVM decodes. */
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10

/* Datasheet 3.2: the indirect ones. */
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDIR	0x10	/* entry n: low half 0x10 + 2n, high half 0x11 + 2n */
#define IOAPIC_VERSION		0x11	/* KVM's IOAPIC_VERSION_ID */
#define IOAPIC_ID_SHIFT		24
#define IOAPIC_ID_MASK		0xf
#define IOAPIC_MAX_REDIR_SHIFT	16

/* Datasheet 3.2.4: redirection table entry. */
#define REDIR_VECTOR		GENMASK_ULL(7, 0)
#define REDIR_DELIVERY_SHIFT	8	/* bits 10:8 */
#define REDIR_DEST_LOGICAL	BIT_ULL(11)
#define REDIR_DELIVERY_STATUS	BIT_ULL(12)
#define REDIR_REMOTE_IRR	BIT_ULL(14)
#define REDIR_LEVEL		BIT_ULL(15)
#define REDIR_MASKED		BIT_ULL(16)
#define REDIR_DEST_SHIFT	56	/* bits 63:56 */
#define REDIR_READ_ONLY		(REDIR_DELIVERY_STATUS | REDIR_REMOTE_IRR)

static u64 *ioapic_entry(struct kagami_ioapic *ioapic, unsigned int pin)
{
	return &ioapic->state.redirtbl[array_index_nospec(pin, KAGAMI_IOAPIC_PINS)].bits;
}

/*
 * Sends a pin's interrupt to the LAPICs unless its entry is masked or, level-
 * triggered, still waits for its EOI (remote IRR). As KVM's ioapic_service:
 * returns -1 when nothing took it, else how many LAPICs did; a level entry
 * sets remote IRR either way. Delivery happens under the IOAPIC's lock: the
 * LAPIC code takes only its own.
 */
static int ioapic_service(struct kagami_irqchip *chip, unsigned int pin)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	u64 *entry = ioapic_entry(ioapic, pin);
	struct kagami_apic_irq irq = {
		.dest_id = *entry >> REDIR_DEST_SHIFT,
		.vector = *entry & REDIR_VECTOR,
		.delivery_mode = (*entry >> REDIR_DELIVERY_SHIFT) & 7,
		.shorthand = KAGAMI_APIC_SH_NONE,
		.dest_logical = *entry & REDIR_DEST_LOGICAL,
		.level_assert = true,
		.trig_level = *entry & REDIR_LEVEL,
	};
	int ret;

	if ((*entry & REDIR_MASKED) || (irq.trig_level && (*entry & REDIR_REMOTE_IRR)))
		return -1;
	if (!irq.trig_level)
		ioapic->irr_delivered |= BIT(pin);
	ret = kagami_apic_deliver(chip->vm, NULL, &irq);
	if (irq.trig_level)
		*entry |= REDIR_REMOTE_IRR;
	return ret > 0 ? ret : -1;
}

/*
 * A pin's new level (KVM's ioapic_set_irq): an edge entry delivers when the
 * pin rises (0, coalesced, when it was high already), a level entry whenever
 * it is asserted and not in service. Masked: -1, and an edge is lost, as on
 * the 82093AA.
 */
static int ioapic_set_irq(struct kagami_irqchip *chip, unsigned int pin, bool level)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	u32 mask = BIT(pin), old_irr = ioapic->state.irr;

	if (!level) {
		ioapic->state.irr &= ~mask;
		return 1;
	}
	ioapic->state.irr |= mask;
	if (!(*ioapic_entry(ioapic, pin) & REDIR_LEVEL)) {
		ioapic->irr_delivered &= ~mask;
		if (old_irr & mask)
			return 0;
	}
	return ioapic_service(chip, pin);
}

int kagami_ioapic_set_irq(struct kagami_irqchip *chip, unsigned int pin, int level)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&ioapic->lock, flags);
	ret = ioapic_set_irq(chip, pin, level);
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return ret;
}

/*
 * The EOI broadcast of a level-triggered vector (KVM's
 * kvm_ioapic_update_eoi_one()): first the resampling irqfds of each pin with
 * that vector hear of it, with the lock dropped since they may lower the
 * line; then the level entries leave service and deliver again if their pin
 * is still asserted; an edge EOI (TMR clear) only does the first, as KVM's
 * update_eoi_one() returns early. (KVM also slows down a guest that EOIs a stuck line
 * 10000 times in a row; not here.)
 */
void kagami_ioapic_eoi(struct kagami_irqchip *chip, int vector, bool level)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	unsigned long flags;
	unsigned int pin;
	u64 *entry;

	spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < KAGAMI_IOAPIC_PINS; pin++) {
		entry = ioapic_entry(ioapic, pin);
		if ((int)(*entry & REDIR_VECTOR) != vector)
			continue;
		spin_unlock_irqrestore(&ioapic->lock, flags);
		kagami_irq_ack_pin(chip->vm, KVM_IRQCHIP_IOAPIC, pin);
		spin_lock_irqsave(&ioapic->lock, flags);
		if (!level || (int)(*entry & REDIR_VECTOR) != vector || !(*entry & REDIR_LEVEL))
			continue;	/* an edge EOI, not level, or reprogrammed meanwhile */
		*entry &= ~REDIR_REMOTE_IRR;
		if (ioapic->state.irr & BIT(pin))
			ioapic_service(chip, pin);
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* IOWIN's read. As KVM, registers that do not exist read as all ones. */
static u32 ioapic_read_indirect(struct kagami_ioapic *ioapic)
{
	u32 sel = ioapic->state.ioregsel, index = (sel - IOAPIC_REG_REDIR) >> 1;
	u64 entry = ~0ULL;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return (KAGAMI_IOAPIC_PINS - 1) << IOAPIC_MAX_REDIR_SHIFT | IOAPIC_VERSION;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:	/* the arbitration ID is the ID, as KVM */
		return (ioapic->state.id & IOAPIC_ID_MASK) << IOAPIC_ID_SHIFT;
	}
	if (sel >= IOAPIC_REG_REDIR && index < KAGAMI_IOAPIC_PINS)
		entry = *ioapic_entry(ioapic, index);
	return (sel & 1) ? entry >> 32 : (u32)entry;
}

/*
 * Half a redirection entry: remote IRR and delivery status are read-only.
 * Linux and Xen EOI a version 0x11 IOAPIC by making the entry edge-triggered,
 * which clears remote IRR; a level entry just unmasked (or out of service)
 * delivers if its pin is asserted (KVM's ioapic_write_indirect).
 */
static void ioapic_write_entry(struct kagami_irqchip *chip, unsigned int pin, bool high, u32 val)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	u64 *entry = ioapic_entry(ioapic, pin);
	u64 bits;

	if (high)
		bits = (*entry & GENMASK_ULL(31, 0)) | (u64)val << 32;
	else
		bits = (*entry & GENMASK_ULL(63, 32)) | val;
	bits = (bits & ~REDIR_READ_ONLY) | (*entry & REDIR_READ_ONLY);
	if (!(bits & REDIR_LEVEL))
		bits &= ~REDIR_REMOTE_IRR;
	*entry = bits;
	if ((bits & REDIR_LEVEL) && (ioapic->state.irr & BIT(pin)))
		ioapic_service(chip, pin);
}

/* IOWIN's write: ID bits 27:24 and the entries; VER, ARB and absent registers ignore it. */
static void ioapic_write_indirect(struct kagami_irqchip *chip, u32 val)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	u32 sel = ioapic->state.ioregsel, index = (sel - IOAPIC_REG_REDIR) >> 1;

	if (sel == IOAPIC_REG_ID)
		ioapic->state.id = (val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
	else if (sel >= IOAPIC_REG_REDIR && index < KAGAMI_IOAPIC_PINS)
		ioapic_write_entry(chip, index, sel & 1, val);
}

/* A guest read at offset (0-0xff) of the register page: IOREGSEL, IOWIN, else 0. */
u32 kagami_ioapic_read(struct kagami_ioapic *ioapic, unsigned int offset)
{
	unsigned long flags;
	u32 val = 0;

	spin_lock_irqsave(&ioapic->lock, flags);
	if (offset == IOAPIC_IOREGSEL)
		val = ioapic->state.ioregsel;
	else if (offset == IOAPIC_IOWIN)
		val = ioapic_read_indirect(ioapic);
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return val;
}

/* A guest write at offset (0-0xff): IOREGSEL is 8 bits wide; others are ignored. */
void kagami_ioapic_write(struct kagami_irqchip *chip, unsigned int offset, u32 val)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	unsigned long flags;

	spin_lock_irqsave(&ioapic->lock, flags);
	if (offset == IOAPIC_IOREGSEL)
		ioapic->state.ioregsel = val & 0xff;
	else if (offset == IOAPIC_IOWIN)
		ioapic_write_indirect(chip, val);
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* As KVM, delivered edge requests are not reported, so SET_IRQCHIP does not send them twice. */
void kagami_ioapic_get_state(struct kagami_ioapic *ioapic, struct kvm_ioapic_state *s)
{
	unsigned long flags;

	spin_lock_irqsave(&ioapic->lock, flags);
	*s = ioapic->state;
	s->irr &= ~ioapic->irr_delivered;
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* As KVM: the state as given, then every pin in s->irr is raised again (edges deliver). */
void kagami_ioapic_set_state(struct kagami_irqchip *chip, const struct kvm_ioapic_state *s)
{
	struct kagami_ioapic *ioapic = &chip->ioapic;
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&ioapic->lock, flags);
	ioapic->state = *s;
	ioapic->state.irr = 0;
	ioapic->irr_delivered = 0;
	for (pin = 0; pin < KAGAMI_IOAPIC_PINS; pin++)
		if (s->irr & BIT(pin))
			ioapic_set_irq(chip, pin, true);
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* Reset: ID 0, every entry masked (the rest zero, as KVM), pins low. */
void kagami_ioapic_init(struct kagami_ioapic *ioapic)
{
	unsigned int pin;

	spin_lock_init(&ioapic->lock);
	ioapic->state.base_address = KAGAMI_IOAPIC_BASE;
	for (pin = 0; pin < KAGAMI_IOAPIC_PINS; pin++)
		ioapic->state.redirtbl[pin].bits = REDIR_MASKED;
}
