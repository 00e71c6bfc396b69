// SPDX-License-Identifier: GPL-2.0
/* eoi.c: the guest's EOIs: exits for the split irqchip's IOAPIC, acks for the kernel's (resample). */
#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/lapic.h"

/*
 * KVM's kvm_scan_ioapic_routes(), computed at the EOI instead of cached per
 * vCPU: a level-triggered MSI route of a userspace IOAPIC GSI, with this
 * vector, aimed at this vCPU. The per-table bitmap answers most EOIs (timer,
 * IPIs, edge MSIs) without walking the routes.
 */
static bool kagami_irq_split_eoi_exits(struct kagami_vcpu *vcpu, int vector)
{
	struct kagami_vm *vm = vcpu->vm;
	const struct kagami_irq_routes *t;
	const struct kagami_irq_route *r;
	struct kagami_apic_irq irq;
	bool exit = false;
	u32 nr_gsis;

	rcu_read_lock();
	t = rcu_dereference(vm->irq->routes);
	if (!test_bit(vector, t->ioapic_level_vectors))
		goto out;
	nr_gsis = min(t->nr_gsis, READ_ONCE(vm->nr_ioapic_pins));
	for (r = t->routes; r < t->routes + t->nr_routes && r->gsi < nr_gsis; r++) {
		if (r->type != KVM_IRQ_ROUTING_MSI)
			continue;
		kagami_apic_irq_from_msi(r->msi.address, r->msi.data, &irq);
		if (irq.trig_level && irq.vector == vector && kagami_lapic_matches(vcpu, &irq)) {
			exit = true;
			break;
		}
	}
out:
	rcu_read_unlock();
	return exit;
}

/*
 * KVM's kvm_ioapic_send_eoi(): in split mode the exit does not depend on the
 * TMR bit, only on the routes; the kernel IOAPIC only hears level EOIs (it
 * calls kagami_irq_ack_pin() for the resamplers).
 */
bool kagami_irq_eoi(struct kagami_vcpu *vcpu, int vector, bool level)
{
	struct kagami_vm *vm = vcpu->vm;

	if (vector < 0 || vector > 255)
		return false;
	switch (kagami_irq_chip_mode(vm)) {
	case KAGAMI_IRQCHIP_SPLIT:
		return kagami_irq_split_eoi_exits(vcpu, vector);
	case KAGAMI_IRQCHIP_KERNEL:
		/*
		 * KVM's kvm_ioapic_scan_entry() also sends edge EOIs to a pin
		 * with an ack notifier (a resampling irqfd), so a resampler of a
		 * pin the guest made edge-triggered is lowered and signalled. The
		 * list check keeps the timer's and IPIs' EOIs cheap otherwise.
		 */
		if (level)
			kagami_irqchip_eoi(vm, vector);
		else if (!list_empty(&vm->irq->resamplers))
			kagami_irqchip_edge_eoi(vm, vector);
		return false;
	default:
		return false;
	}
}

/* KVM's kvm_notify_acked_irq(): from the pin back to its GSI, then to that GSI's resamplers. */
void kagami_irq_ack_pin(struct kagami_vm *vm, u32 chip, u32 pin)
{
	const struct kagami_irq_routes *t;
	s32 gsi = -1;

	if (chip >= KAGAMI_NR_IRQCHIPS || pin >= KAGAMI_IRQCHIP_PINS)
		return;
	rcu_read_lock();
	t = rcu_dereference(vm->irq->routes);
	gsi = t->chip_gsi[chip][pin];
	rcu_read_unlock();
	if (gsi >= 0)
		kagami_irqfd_resample(vm->irq, gsi);
}
