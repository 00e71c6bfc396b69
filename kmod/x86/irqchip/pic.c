// SPDX-License-Identifier: GPL-2.0
/* pic.c: the cascaded 8259A pair with its ELCR: ICWs, OCWs, priorities, cascade and INTA. */
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/nospec.h>
#include <linux/spinlock.h>

#include "core/irq.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/irqchip/irqchip_internal.h"

/*
 * References: the Intel 8259A datasheet (order 231468) and KVM's i8259.c,
 * whose state layout (struct kvm_pic_state) this keeps. Where the two
 * disagree (poll read, ISR on ICW1, special mask mode) this follows the
 * datasheet, as QEMU's model does today.
 */

#define PIC_CASCADE_IRQ		2	/* the slave's INT drives the master's IR2 */
#define PIC_SPURIOUS_IRQ	7
#define PIC_NO_PRIORITY		8

/* The PIIX's ELCR cannot make IRQ 0, 1, 2, 8 or 13 level-triggered, as KVM's elcr_mask. */
#define PIC_MASTER_ELCR_MASK	0xf8
#define PIC_SLAVE_ELCR_MASK	0xde

#define ICW1			0x10	/* command port: bit 4 set starts initialisation */
#define ICW1_IC4		0x01	/* ICW4 follows */
#define ICW4_AEOI		0x02
#define ICW4_SFNM		0x10
#define OCW3			0x08	/* bit 3 set, bit 4 clear: OCW3 (both clear: OCW2) */
#define OCW3_RIS		0x01	/* read ISR rather than IRR ... */
#define OCW3_RR			0x02	/* ... if this is set */
#define OCW3_POLL		0x04
#define OCW3_SMM		0x20	/* special mask mode on or off ... */
#define OCW3_ESMM		0x40	/* ... if this is set */
#define POLL_INTERRUPT		0x80

enum pic_init_state { PIC_READY, PIC_WANT_ICW2, PIC_WANT_ICW3, PIC_WANT_ICW4 };

/* Priority 0 is the highest; priority_add is the IRQ that has it (rotation). */
static unsigned int pic_highest_priority(u8 mask, u8 priority_add)
{
	unsigned int priority = 0;

	if (!mask)
		return PIC_NO_PRIORITY;
	while (!(mask & BIT((priority + priority_add) & 7)))
		priority++;
	return priority;
}

/*
 * The IRQ the chip signals now, or -1: the highest-priority unmasked request
 * above every in-service priority. Special mask mode lets masked in-service
 * IRQs be ignored; special fully nested mode lets the slave interrupt its own
 * in-service cascade input on the master (datasheet, "Special Mask Mode",
 * "Special Fully Nested Mode").
 */
static int pic_pending_irq(const struct kvm_pic_state *s, bool master)
{
	unsigned int priority = pic_highest_priority(s->irr & ~s->imr, s->priority_add);
	u8 in_service = s->isr;

	if (priority == PIC_NO_PRIORITY)
		return -1;
	if (s->special_mask)
		in_service &= ~s->imr;
	if (master && s->special_fully_nested_mode)
		in_service &= ~BIT(PIC_CASCADE_IRQ);
	if (priority >= pic_highest_priority(in_service, s->priority_add))
		return -1;
	return (priority + s->priority_add) & 7;
}

/*
 * An input's new level: edge inputs latch a rising edge in IRR, level inputs
 * (ELCR) request while high. last_irr keeps the levels. Returns as KVM's
 * pic_set_irq1: -1 masked, 0 already requested (coalesced), else 1.
 */
static int pic_set_input(struct kvm_pic_state *s, unsigned int irq, bool level)
{
	u8 mask = BIT(irq);
	int ret = 1;

	if (level) {
		if ((s->elcr & mask) || !(s->last_irr & mask)) {
			ret = !(s->irr & mask);
			s->irr |= mask;
		}
		s->last_irr |= mask;
	} else {
		if (s->elcr & mask)
			s->irr &= ~mask;
		s->last_irr &= ~mask;
	}
	return (s->imr & mask) ? -1 : ret;
}

/*
 * An acknowledged IRQ goes from IRR to ISR; a level request stays in IRR
 * while high. Returns whether automatic EOI ended it at once.
 */
static bool pic_intack(struct kvm_pic_state *s, unsigned int irq)
{
	if (!(s->elcr & BIT(irq)))
		s->irr &= ~BIT(irq);
	if (!s->auto_eoi) {
		s->isr |= BIT(irq);
		return false;
	}
	if (s->rotate_on_auto_eoi)
		s->priority_add = (irq + 1) & 7;
	return true;
}

/*
 * Recomputes the master's INT after any change. A request the slave signals
 * pulses the master's IR2, an edge input latched until the master's INTA
 * (KVM's pic_update_irq). A rising INT is noted for pic_unlock's kick.
 */
static void pic_update(struct kagami_pic *pic)
{
	struct kvm_pic_state *master = &pic->chip[KAGAMI_PIC_MASTER];
	bool output;

	if (pic_pending_irq(&pic->chip[KAGAMI_PIC_SLAVE], false) >= 0) {
		pic_set_input(master, PIC_CASCADE_IRQ, true);
		pic_set_input(master, PIC_CASCADE_IRQ, false);
	}
	output = pic_pending_irq(master, true) >= 0;
	if (output && !pic->output)
		pic->rose = true;
	WRITE_ONCE(pic->output, output);
}

/* Unlocks; then, if INT rose, makes vCPU 0 (whose LINT0 it drives) look at its interrupts. */
static void pic_unlock(struct kagami_irqchip *chip, unsigned long flags)
	__releases(&chip->pic.lock)
{
	struct kagami_pic *pic = &chip->pic;
	struct kagami_vcpu *vcpu;
	bool kick = pic->rose;

	pic->rose = false;
	spin_unlock_irqrestore(&pic->lock, flags);
	if (!kick)
		return;
	vcpu = kagami_vm_vcpu(chip->vm, 0);
	if (vcpu)
		kagami_vcpu_request(vcpu, KAGAMI_REQ_EVENT);
}

/*
 * The guest ended the interrupts in acked (bit 8 * chip + irq): as KVM's
 * pic_clear_isr(), the resampling irqfds of their GSIs hear of it, with the
 * lock dropped since they may lower the line (kagami_irq_ack_pin).
 */
static void pic_notify_acked(struct kagami_irqchip *chip, u16 acked, unsigned long *flags)
	__releases(&chip->pic.lock) __acquires(&chip->pic.lock)
{
	unsigned int bit;

	if (!acked)
		return;
	spin_unlock_irqrestore(&chip->pic.lock, *flags);
	for (bit = 0; bit < 16; bit++)
		if (acked & BIT(bit))
			kagami_irq_ack_pin(chip->vm, bit / 8, bit % 8);
	spin_lock_irqsave(&chip->pic.lock, *flags);
}

/*
 * ICW1 (datasheet, "Initialization Command Words"): the edge-sense latches
 * reset (an edge input must rise again), IMR and ISR cleared, IR7 lowest
 * priority, special mask mode off, reads return IRR, ICW4's functions
 * cleared until ICW4 sets them. ELCR stays. Single mode and LTIM are not
 * supported, as in KVM: ICW3 is always expected and ELCR alone sets levels.
 */
static void pic_write_icw1(struct kvm_pic_state *s, u8 val)
{
	s->init4 = val & ICW1_IC4;
	s->irr &= s->elcr;
	s->imr = 0;
	s->isr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	s->poll = 0;
	s->rotate_on_auto_eoi = 0;
	s->special_fully_nested_mode = 0;
	s->auto_eoi = 0;
	s->init_state = PIC_WANT_ICW2;
}

/*
 * OCW2: end of interrupt (non-specific: the highest in service), rotations,
 * set priority. Returns the ended IRQ's bit (as KVM: any specific EOI), or 0.
 */
static u8 pic_write_ocw2(struct kvm_pic_state *s, u8 val)
{
	unsigned int cmd = val >> 5, irq = val & 7, priority;

	switch (cmd) {
	case 0:	/* clear rotate in automatic EOI mode */
	case 4:	/* set rotate in automatic EOI mode */
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:	/* non-specific EOI */
	case 5:	/* rotate on non-specific EOI */
		priority = pic_highest_priority(s->isr, s->priority_add);
		if (priority == PIC_NO_PRIORITY)
			return 0;
		irq = (priority + s->priority_add) & 7;
		s->isr &= ~BIT(irq);
		if (cmd == 5)
			s->priority_add = (irq + 1) & 7;
		return BIT(irq);
	case 3:	/* specific EOI */
		s->isr &= ~BIT(irq);
		return BIT(irq);
	case 6:	/* set priority: irq becomes the lowest */
		s->priority_add = (irq + 1) & 7;
		break;
	case 7:	/* rotate on specific EOI */
		s->isr &= ~BIT(irq);
		s->priority_add = (irq + 1) & 7;
		return BIT(irq);
	default: /* 2: no operation */
		break;
	}
	return 0;
}

/* Returns the bits of the IRQs an EOI ended, or 0. */
static u8 pic_write_command(struct kvm_pic_state *s, u8 val)
{
	if (val & ICW1) {
		pic_write_icw1(s, val);
	} else if (val & OCW3) {
		if (val & OCW3_POLL)
			s->poll = 1;
		if (val & OCW3_RR)
			s->read_reg_select = val & OCW3_RIS;
		if (val & OCW3_ESMM)
			s->special_mask = !!(val & OCW3_SMM);
	} else {
		return pic_write_ocw2(s, val);
	}
	return 0;
}

/* The data port: OCW1 (IMR) once initialised, else the next ICW (ICW3: a PC's wiring is fixed). */
static void pic_write_data(struct kvm_pic_state *s, u8 val)
{
	switch (s->init_state) {
	case PIC_READY:
		s->imr = val;
		break;
	case PIC_WANT_ICW2:
		s->irq_base = val & 0xf8;
		s->init_state = PIC_WANT_ICW3;
		break;
	case PIC_WANT_ICW3:
		s->init_state = s->init4 ? PIC_WANT_ICW4 : PIC_READY;
		break;
	case PIC_WANT_ICW4:
		s->special_fully_nested_mode = !!(val & ICW4_SFNM);
		s->auto_eoi = !!(val & ICW4_AEOI);
		s->init_state = PIC_READY;
		break;
	default: /* a value KVM_SET_IRQCHIP put there: ignored until ICW1, as KVM */
		break;
	}
}

/* ELCR (PIIX ports 4D0h, 4D1h): an input made level-triggered requests exactly while high. */
static void pic_write_elcr(struct kvm_pic_state *s, u8 val)
{
	s->elcr = val & s->elcr_mask;
	s->irr = (s->irr & ~s->elcr) | (s->last_irr & s->elcr);
}

/*
 * A read after OCW3's poll command is this chip's INTA (datasheet, "The Poll
 * Command"): bit 7 says whether there was a request, bits 2:0 which, and its
 * ISR bit is set. Polling the slave also consumes the request it passed to
 * the master's IR2. (KVM clears the ISR bit and omits bit 7.) *acked gets the
 * IRQ's bit if automatic EOI ended it.
 */
static u8 pic_poll(struct kagami_pic *pic, unsigned int id, u8 *acked)
{
	struct kvm_pic_state *s = &pic->chip[id];
	int irq = pic_pending_irq(s, id == KAGAMI_PIC_MASTER);

	s->poll = 0;
	if (irq < 0)
		return 0;
	if (pic_intack(s, irq))
		*acked = BIT(irq);
	if (id == KAGAMI_PIC_SLAVE)
		pic->chip[KAGAMI_PIC_MASTER].irr &= ~BIT(PIC_CASCADE_IRQ);
	return POLL_INTERRUPT | irq;
}

static u8 pic_read(struct kagami_pic *pic, unsigned int id, bool command, u8 *acked)
{
	struct kvm_pic_state *s = &pic->chip[id];

	if (s->poll)
		return pic_poll(pic, id, acked);
	if (!command)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

/* One byte at 0x20-0x21 (master), 0xa0-0xa1 (slave) or 0x4d0-0x4d1 (ELCR: master, slave). */
void kagami_pic_port(struct kagami_irqchip *chip, u16 port, bool write, u8 *val)
{
	struct kagami_pic *pic = &chip->pic;
	bool elcr = port >= 0x4d0, command = !(port & 1);
	unsigned int id = elcr ? (port & 1) : (port >= 0xa0);
	struct kvm_pic_state *s = &pic->chip[id];
	unsigned long flags;
	u8 acked = 0;

	spin_lock_irqsave(&pic->lock, flags);
	if (elcr && write)
		pic_write_elcr(s, *val);
	else if (elcr)
		*val = s->elcr;
	else if (write && command)
		acked = pic_write_command(s, *val);
	else if (write)
		pic_write_data(s, *val);
	else
		*val = pic_read(pic, id, command, &acked);
	pic_notify_acked(chip, (u16)acked << (8 * id), &flags);
	pic_update(pic);
	pic_unlock(chip, flags);
}

int kagami_pic_set_irq(struct kagami_irqchip *chip, unsigned int irq, int level)
{
	struct kagami_pic *pic = &chip->pic;
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&pic->lock, flags);
	ret = pic_set_input(&pic->chip[irq >> 3], irq & 7, level);
	pic_update(pic);
	pic_unlock(chip, flags);
	return ret;
}

bool kagami_pic_has_output(struct kagami_vm *vm)
{
	return READ_ONCE(vm->irqchip->pic.output);
}

/*
 * The INTA cycle (datasheet, "Interrupt Sequence"): the highest request goes
 * from IRR to ISR, through the cascade when it is the slave's. A request gone
 * meanwhile gives IRQ 7's vector (IRQ 15's if the master saw the slave's,
 * whose ISR bit then stays clear): the spurious interrupt, as on hardware.
 */
int kagami_pic_ack(struct kagami_vm *vm)
{
	struct kagami_irqchip *chip = vm->irqchip;
	struct kagami_pic *pic = &chip->pic;
	struct kvm_pic_state *master = &pic->chip[KAGAMI_PIC_MASTER];
	struct kvm_pic_state *slave = &pic->chip[KAGAMI_PIC_SLAVE];
	unsigned long flags;
	int irq, vector;
	u16 acked = 0;

	spin_lock_irqsave(&pic->lock, flags);
	WRITE_ONCE(pic->output, false);
	irq = pic_pending_irq(master, true);
	if (irq < 0) {
		vector = master->irq_base + PIC_SPURIOUS_IRQ;
	} else {
		if (pic_intack(master, irq))
			acked |= BIT(irq);
		vector = master->irq_base + irq;
	}
	if (irq == PIC_CASCADE_IRQ) {
		irq = pic_pending_irq(slave, false);
		if (irq >= 0 && pic_intack(slave, irq))
			acked |= BIT(8 + irq);
		if (irq < 0)
			irq = PIC_SPURIOUS_IRQ;
		vector = slave->irq_base + irq;
	}
	pic_notify_acked(chip, acked, &flags);
	pic_update(pic);
	pic_unlock(chip, flags);
	return vector & 0xff;
}

void kagami_pic_get_state(struct kagami_pic *pic, unsigned int id, struct kvm_pic_state *s)
{
	unsigned long flags;

	id = array_index_nospec(id, 2);
	spin_lock_irqsave(&pic->lock, flags);
	*s = pic->chip[id];
	spin_unlock_irqrestore(&pic->lock, flags);
}

/* As KVM, the state is taken as given (elcr_mask included); the code copes with any value. */
void kagami_pic_set_state(struct kagami_irqchip *chip, unsigned int id,
			  const struct kvm_pic_state *s)
{
	struct kagami_pic *pic = &chip->pic;
	unsigned long flags;

	id = array_index_nospec(id, 2);
	spin_lock_irqsave(&pic->lock, flags);
	pic->chip[id] = *s;
	pic_update(pic);
	pic_unlock(chip, flags);
}

void kagami_pic_init(struct kagami_pic *pic)
{
	spin_lock_init(&pic->lock);
	pic->chip[KAGAMI_PIC_MASTER].elcr_mask = PIC_MASTER_ELCR_MASK;
	pic->chip[KAGAMI_PIC_SLAVE].elcr_mask = PIC_SLAVE_ELCR_MASK;
}
