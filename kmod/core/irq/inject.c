// SPDX-License-Identifier: GPL-2.0
/* inject.c: a GSI's level through the routing table (KVM's kvm_set_irq), KVM_IRQ_LINE, KVM_SIGNAL_MSI. */
#include <linux/uaccess.h>

#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/lapic.h"

/* The first of the GSI's routes (they are sorted by GSI), or NULL. RCU read side. */
const struct kagami_irq_route *kagami_irq_first_route(const struct kagami_irq_routes *t, u32 gsi)
{
	u32 lo = 0, hi = t->nr_routes;

	if (gsi >= t->nr_gsis)
		return NULL;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (t->routes[mid].gsi < gsi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nr_routes && t->routes[lo].gsi == gsi ? &t->routes[lo] : NULL;
}

/*
 * KVM's kvm_set_msi(): the number of LAPICs that took it. KVM answers -1 when
 * no LAPIC exists at all (its slow path found no target), 0 when the
 * destination matched nobody.
 */
int kagami_irq_route_msi_deliver(struct kagami_vm *vm, u64 address, u32 data)
{
	struct kagami_apic_irq irq;

	if (!READ_ONCE(vm->nr_vcpus))
		return -1;
	kagami_apic_irq_from_msi(address, data, &irq);
	return kagami_apic_deliver(vm, NULL, &irq);
}

static int kagami_irq_route_set(struct kagami_vm *vm, const struct kagami_irq_route *r, int level)
{
	if (r->type == KVM_IRQ_ROUTING_MSI)
		return level ? kagami_irq_route_msi_deliver(vm, r->msi.address, r->msi.data) : -1;
	/* IRQCHIP routes only exist with the kernel irqchip, which lives as long as the VM. */
	if (!READ_ONCE(vm->irqchip))
		return -1;
	return kagami_irqchip_set_pin(vm, r->irqchip.chip, r->irqchip.pin, level);
}

/*
 * KVM's kvm_set_irq(): every route of the GSI gets the level; the result sums
 * the routes that did not fail (1 delivered, 0 coalesced), -1 when all did.
 * Any context: nothing below sleeps.
 */
int kagami_irq_set_gsi(struct kagami_vm *vm, u32 gsi, int level)
{
	const struct kagami_irq_routes *t;
	const struct kagami_irq_route *r;
	int ret = -1, one;

	rcu_read_lock();
	t = rcu_dereference(vm->irq->routes);
	r = kagami_irq_first_route(t, gsi);
	for (; r && r < t->routes + t->nr_routes && r->gsi == gsi; r++) {
		one = kagami_irq_route_set(vm, r, level);
		if (one >= 0)
			ret = one + (ret < 0 ? 0 : ret);
	}
	rcu_read_unlock();
	return ret;
}

/* KVM_IRQ_LINE(_STATUS): with any in-kernel irqchip, split included (KVM's irqchip_in_kernel). */
static long kagami_irq_line(struct kagami_vm *vm, void __user *argp, bool status)
{
	struct kvm_irq_level line;

	if (copy_from_user(&line, argp, sizeof(line)))
		return -EFAULT;
	if (!kagami_lapic_in_kernel(vm))
		return -ENXIO;
	line.status = kagami_irq_set_gsi(vm, line.irq, line.level);
	if (status && copy_to_user(argp, &line, sizeof(line)))
		return -EFAULT;
	return 0;
}

/* KVM_SIGNAL_MSI: KVM returns kvm_set_msi()'s count as the ioctl's result (-1 reads as EPERM). */
static long kagami_irq_signal_msi(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_msi msi;

	if (copy_from_user(&msi, argp, sizeof(msi)))
		return -EFAULT;
	if (!kagami_lapic_in_kernel(vm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	return kagami_irq_route_msi_deliver(vm, (u64)msi.address_hi << 32 | msi.address_lo,
					    msi.data);
}

long kagami_irq_inject_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case KVM_SIGNAL_MSI:
		return kagami_irq_signal_msi(vm, argp);
	case KVM_IRQ_LINE:
		return kagami_irq_line(vm, argp, false);
	case KVM_IRQ_LINE_STATUS:
		return kagami_irq_line(vm, argp, true);
	default:
		return -ENOTTY;
	}
}
