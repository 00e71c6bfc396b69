/* SPDX-License-Identifier: GPL-2.0 */
/* irq.h: GSI routing, MSIs, irqfd and ioeventfd: how interrupts and doorbells reach a VM. */
#ifndef KAGAMI_CORE_IRQ_H
#define KAGAMI_CORE_IRQ_H

#include <linux/kvm.h>
#include <linux/types.h>

#include "core/kagami.h"

struct kagami_vm;
struct kagami_vcpu;
struct kagami_irq_state;

#define KAGAMI_MAX_IRQ_ROUTES	4096	/* KVM_MAX_IRQ_ROUTES: entries, and GSIs 0..4095 */

/*
 * vm->irq (struct kagami_irq_state, private to core/irq/) holds the routing
 * table (RCU), the irqfds and the ioeventfds. Created by kagami_irq_vm_init()
 * with the VM, torn down by kagami_irq_vm_destroy() before its vCPUs are
 * freed: irqfds are detached from their eventfds and their work flushed, so
 * no injection runs after it returns.
 */
int kagami_irq_vm_init(struct kagami_vm *vm);
void kagami_irq_vm_destroy(struct kagami_vm *vm);

/*
 * The VM fd was closed (vCPU fds may still hold the VM): as KVM's
 * kvm_vm_release() -> kvm_irqfd_release(), every irqfd is detached from its
 * eventfd now, since no ioctl can reach them any more. Process context.
 */
void kagami_irq_vm_release(struct kagami_vm *vm);

/*
 * VM ioctls: KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_IOEVENTFD,
 * KVM_IRQ_LINE and KVM_IRQ_LINE_STATUS (kernel irqchip only). -ENOTTY for others.
 */
long kagami_irq_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp);

/*
 * The irqchip mode is being chosen (split or kernel; vm->lock held, the mode
 * not yet published): install KVM's default routing for it.
 */
int kagami_irq_default_routing(struct kagami_vm *vm, enum kagami_irqchip_mode mode);

/*
 * A GSI's level changed (kernel irqchip: through the routing table to PIC and
 * IOAPIC pins, or an MSI route). Any context. Returns as KVM_IRQ_LINE_STATUS.
 */
int kagami_irq_set_gsi(struct kagami_vm *vm, u32 gsi, int level);

/*
 * The guest's LAPIC EOI of vector (level: its TMR bit was set), vCPU thread.
 * Split irqchip: returns true when the vCPU must exit to userspace with
 * KVM_EXIT_IOAPIC_EOI (the vector belongs to a level-triggered MSI route of
 * one of the first nr_ioapic_pins GSIs aimed at this vCPU, KVM's
 * kvm_scan_ioapic_routes()); the caller fills run->eoi. Kernel irqchip: tells
 * the IOAPIC (kagami_irqchip_eoi) and signals the resample eventfds of the
 * GSIs behind it; returns false.
 */
bool kagami_irq_eoi(struct kagami_vcpu *vcpu, int vector, bool level);

/*
 * The in-kernel PIC or IOAPIC saw the guest acknowledge a level-triggered
 * interrupt on pin (chip as in kagami_irqchip_set_pin), KVM's
 * kvm_notify_acked_irq(): the GSI routed to the pin is de-asserted for its
 * resampling irqfds and their resample eventfds are signalled. The irqchip
 * calls it without its lock held and before it re-delivers a pin still
 * asserted (as KVM's kvm_ioapic_update_eoi_one()). Any context but an eventfd
 * wakeup.
 */
void kagami_irq_ack_pin(struct kagami_vm *vm, u32 chip, u32 pin);

/*
 * A guest write the vCPU is about to send to userspace (port I/O out, or an
 * MMIO write): if an ioeventfd matches (address, length, datamatch), signal
 * it and return true: the write is complete and the guest resumes. vCPU thread.
 */
bool kagami_ioeventfd_write(struct kagami_vm *vm, bool mmio, u64 addr, unsigned int len,
			    const void *val);

#endif
