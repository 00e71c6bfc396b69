/* SPDX-License-Identifier: GPL-2.0 */
/* irqchip.h: KVM_CREATE_IRQCHIP's in-kernel PIC pair (8259A) and IOAPIC (82093AA). */
#ifndef KAGAMI_X86_IRQCHIP_H
#define KAGAMI_X86_IRQCHIP_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kagami_vm;
struct kagami_vcpu;

#define KAGAMI_IOAPIC_BASE	0xfec00000ULL
#define KAGAMI_IOAPIC_PINS	24	/* KVM_IOAPIC_NUM_PINS */

/*
 * vm->irqchip (private to x86/irqchip/) exists only after KVM_CREATE_IRQCHIP;
 * kagami_irqchip_destroy() frees it with the VM. All functions taking a VM
 * require vm->irqchip; they lock internally (spinlock, irqs off), never sleep,
 * and may be called from any context unless they say otherwise.
 */
int kagami_irqchip_create(struct kagami_vm *vm);	/* KVM_CREATE_IRQCHIP, vm->lock held */
void kagami_irqchip_destroy(struct kagami_vm *vm);

/* A pin's input level: chip is KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE or _IOAPIC. Returns as KVM's kvm_set_irq (1 delivered, 0 coalesced, -1 masked). */
int kagami_irqchip_set_pin(struct kagami_vm *vm, u32 chip, u32 pin, int level);

/* The guest's EOI of a level-triggered vector reached the IOAPIC (re-delivers if still asserted). */
void kagami_irqchip_eoi(struct kagami_vm *vm, int vector);
/* An edge EOI (TMR clear): only the ack notification of the pins with that vector (resampling). */
void kagami_irqchip_edge_eoi(struct kagami_vm *vm, int vector);

/* The PIC pair's INTR output towards vCPU 0's LINT0, and its acknowledge cycle (vector). */
bool kagami_pic_has_output(struct kagami_vm *vm);
int kagami_pic_ack(struct kagami_vm *vm);

/* Guest accesses, vCPU thread: 0 handled, -ENOENT not ours. Ports 0x20-21, 0xa0-a1, 0x4d0-4d1. */
int kagami_irqchip_pio(struct kagami_vcpu *vcpu, u16 port, bool write, void *val,
		       unsigned int len);
/* MMIO at KAGAMI_IOAPIC_BASE (4 KiB). */
int kagami_irqchip_mmio(struct kagami_vcpu *vcpu, u64 gpa, bool write, void *val,
			unsigned int len);

/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP (VM ioctls). */
long kagami_irqchip_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp);

#endif
