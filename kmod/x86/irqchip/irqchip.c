// SPDX-License-Identifier: GPL-2.0
/* irqchip.c: KVM_CREATE_IRQCHIP's PIC pair and IOAPIC: lifetime, pins, guest accesses, GET/SET. */
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/irqchip/irqchip_internal.h"

#define PIC_PINS_PER_CHIP	8
#define IOAPIC_MMIO_LENGTH	0x100	/* KVM's IOAPIC_MEM_LENGTH; the rest goes to userspace */

/* Port ranges of two bytes each, as KVM registers them: master, slave, ELCR. */
static const u16 pic_port_bases[] = { 0x20, 0xa0, 0x4d0 };

int kagami_irqchip_create(struct kagami_vm *vm)
{
	struct kagami_irqchip *chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);

	if (!chip)
		return -ENOMEM;
	chip->vm = vm;
	kagami_pic_init(&chip->pic);
	kagami_ioapic_init(&chip->ioapic);
	vm->irqchip = chip;
	return 0;
}

void kagami_irqchip_destroy(struct kagami_vm *vm)
{
	kfree(vm->irqchip);
	vm->irqchip = NULL;
}

/* KVM's routing gives PIC pins 0-7 per chip and IOAPIC pins 0-23 (kvm_set_routing_entry). */
int kagami_irqchip_set_pin(struct kagami_vm *vm, u32 chip, u32 pin, int level)
{
	switch (chip) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (pin >= PIC_PINS_PER_CHIP)
			return -EINVAL;
		return kagami_pic_set_irq(vm->irqchip, chip * PIC_PINS_PER_CHIP + pin, !!level);
	case KVM_IRQCHIP_IOAPIC:
		if (pin >= KAGAMI_IOAPIC_PINS)
			return -EINVAL;
		return kagami_ioapic_set_irq(vm->irqchip, pin, !!level);
	default:
		return -EINVAL;
	}
}

void kagami_irqchip_eoi(struct kagami_vm *vm, int vector)
{
	kagami_ioapic_eoi(vm->irqchip, vector, true);
}

void kagami_irqchip_edge_eoi(struct kagami_vm *vm, int vector)
{
	kagami_ioapic_eoi(vm->irqchip, vector, false);
}

/*
 * As KVM's port bus: an access inside one of the ranges is the PIC's; KVM's
 * picdev_read/write drop wider accesses (reads return 0). An access that
 * crosses a range's end is not the PIC's (it goes to userspace).
 */
int kagami_irqchip_pio(struct kagami_vcpu *vcpu, u16 port, bool write, void *val,
		       unsigned int len)
{
	struct kagami_irqchip *chip = vcpu->vm->irqchip;
	unsigned int i;

	if (!chip || !len)
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(pic_port_bases); i++)
		if (port >= pic_port_bases[i] && port + len <= pic_port_bases[i] + 2u)
			break;
	if (i == ARRAY_SIZE(pic_port_bases))
		return -ENOENT;
	if (len != 1) {
		if (!write)
			memset(val, 0, len);
		return 0;
	}
	kagami_pic_port(chip, port, write, val);
	return 0;
}

/*
 * KVM decodes the first 256 bytes of the IOAPIC page, and only while
 * KVM_SET_IRQCHIP left base_address there (the device stays registered at
 * the default base). Widths of 1, 2, 4 and 8 bytes are taken as KVM does:
 * writes use the low 32 bits, reads are zero-extended; others are dropped.
 */
int kagami_irqchip_mmio(struct kagami_vcpu *vcpu, u64 gpa, bool write, void *val,
			unsigned int len)
{
	struct kagami_irqchip *chip = vcpu->vm->irqchip;
	u64 base;
	u32 data = 0;

	if (!chip || !len || gpa < KAGAMI_IOAPIC_BASE ||
	    gpa - KAGAMI_IOAPIC_BASE + len > IOAPIC_MMIO_LENGTH)
		return -ENOENT;
	base = READ_ONCE(chip->ioapic.state.base_address);
	if (gpa < base || gpa - base >= IOAPIC_MMIO_LENGTH)
		return -ENOENT;
	if (!write) {
		memset(val, 0, len);
		if (len == 1 || len == 2 || len == 4 || len == 8) {
			data = kagami_ioapic_read(&chip->ioapic, gpa & 0xff);
			memcpy(val, &data, min(len, 4u));
		}
	} else if (len == 1 || len == 2 || len == 4 || len == 8) {
		memcpy(&data, val, min(len, 4u));
		kagami_ioapic_write(chip, gpa & 0xff, data);
	}
	return 0;
}

static long irqchip_get_set(struct kagami_irqchip *chip, struct kvm_irqchip *state, bool set)
{
	switch (state->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (set)
			kagami_pic_set_state(chip, state->chip_id, &state->chip.pic);
		else
			kagami_pic_get_state(&chip->pic, state->chip_id, &state->chip.pic);
		return 0;
	case KVM_IRQCHIP_IOAPIC:
		if (set)
			kagami_ioapic_set_state(chip, &state->chip.ioapic);
		else
			kagami_ioapic_get_state(&chip->ioapic, &state->chip.ioapic);
		return 0;
	default:
		return -EINVAL;
	}
}

/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: chip_id 0 and 1 are the PICs, 2 the IOAPIC. */
long kagami_irqchip_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp)
{
	struct kagami_irqchip *chip = vm->irqchip;
	struct kvm_irqchip *state;
	long r;

	if (cmd != KVM_GET_IRQCHIP && cmd != KVM_SET_IRQCHIP)
		return -ENOTTY;
	if (!chip)
		return -ENXIO;
	state = memdup_user(argp, sizeof(*state));
	if (IS_ERR(state))
		return PTR_ERR(state);
	r = irqchip_get_set(chip, state, cmd == KVM_SET_IRQCHIP);
	if (!r && cmd == KVM_GET_IRQCHIP && copy_to_user(argp, state, sizeof(*state)))
		r = -EFAULT;
	kfree(state);
	return r;
}
