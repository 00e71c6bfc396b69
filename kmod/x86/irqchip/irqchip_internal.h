/* SPDX-License-Identifier: GPL-2.0 */
/* irqchip_internal.h: the in-kernel PIC pair's and IOAPIC's state, shared within x86/irqchip/. */
#ifndef KAGAMI_X86_IRQCHIP_INTERNAL_H
#define KAGAMI_X86_IRQCHIP_INTERNAL_H

#include <linux/kvm.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct kagami_vm;

#define KAGAMI_PIC_MASTER	0
#define KAGAMI_PIC_SLAVE	1

/*
 * The cascaded 8259A pair. Each chip's state is KVM's struct kvm_pic_state,
 * so KVM_GET/SET_IRQCHIP copy it as is: last_irr holds the input levels
 * (edge detection), irr/isr/imr the registers, init_state the next ICW the
 * data port expects (0: initialised, 1: ICW2, 2: ICW3, 3: ICW4).
 * Field tags: (p) guarded by lock, taken with interrupts off.
 */
struct kagami_pic {
	spinlock_t lock;	/* guards (p) */
	struct kvm_pic_state chip[2];	/* (p) KAGAMI_PIC_MASTER, KAGAMI_PIC_SLAVE */
	bool output;		/* (p) master INT; has_output reads it locklessly */
	bool rose;		/* (p) INT went high: vCPU 0 is kicked once unlocked */
};

/*
 * The IOAPIC, version 0x11 as KVM's. state is KVM_GET_IRQCHIP's layout:
 * state.irr holds the pins' input levels (asserted = 1, polarity is not
 * applied, as KVM), state.redirtbl the 64-bit redirection entries.
 */
struct kagami_ioapic {
	spinlock_t lock;	/* guards (i) */
	struct kvm_ioapic_state state;	/* (i) taken with interrupts off */
	u32 irr_delivered;	/* (i) edge pins delivered since they rose (hidden from GET) */
};

/* vm->irqchip: allocated by KVM_CREATE_IRQCHIP, freed with the VM. */
struct kagami_irqchip {
	struct kagami_vm *vm;	/* (c) */
	struct kagami_pic pic;
	struct kagami_ioapic ioapic;
};

/* pic.c: irq 0-15 (8-15 on the slave); port is 0x20-0x21, 0xa0-0xa1 or 0x4d0-0x4d1. */
void kagami_pic_init(struct kagami_pic *pic);
int kagami_pic_set_irq(struct kagami_irqchip *chip, unsigned int irq, int level);
void kagami_pic_port(struct kagami_irqchip *chip, u16 port, bool write, u8 *val);
void kagami_pic_get_state(struct kagami_pic *pic, unsigned int id, struct kvm_pic_state *s);
void kagami_pic_set_state(struct kagami_irqchip *chip, unsigned int id,
			  const struct kvm_pic_state *s);

/* ioapic.c: pin 0-23; offset is the access's within the register page (0-0xff). */
void kagami_ioapic_init(struct kagami_ioapic *ioapic);
int kagami_ioapic_set_irq(struct kagami_irqchip *chip, unsigned int pin, int level);
void kagami_ioapic_eoi(struct kagami_irqchip *chip, int vector, bool level);
u32 kagami_ioapic_read(struct kagami_ioapic *ioapic, unsigned int offset);
void kagami_ioapic_write(struct kagami_irqchip *chip, unsigned int offset, u32 val);
void kagami_ioapic_get_state(struct kagami_ioapic *ioapic, struct kvm_ioapic_state *s);
void kagami_ioapic_set_state(struct kagami_irqchip *chip, const struct kvm_ioapic_state *s);

#endif
