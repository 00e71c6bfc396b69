// SPDX-License-Identifier: GPL-2.0
/* routing.c: the GSI routing table (KVM_SET_GSI_ROUTING) and its defaults, as KVM's irqchip.c. */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/lapic.h"

struct kagami_irq_routes *kagami_irq_routes_alloc(u32 nr_routes)
{
	struct kagami_irq_routes *t;

	t = kvzalloc(struct_size(t, routes, nr_routes), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	t->nr_routes = nr_routes;
	memset(t->chip_gsi, 0xff, sizeof(t->chip_gsi));	/* -1: no GSI */
	return t;
}

/* KVM's kvm_set_routing_entry() for x86: an entry on its own, before duplicates are looked at. */
static int kagami_irq_route_parse(struct kagami_vm *vm, const struct kvm_irq_routing_entry *ue,
				  struct kagami_irq_route *r)
{
	r->gsi = ue->gsi;
	r->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (ue->flags || kagami_irq_chip_mode(vm) == KAGAMI_IRQCHIP_SPLIT)
			return -EINVAL;
		r->irqchip.chip = ue->u.irqchip.irqchip;
		r->irqchip.pin = ue->u.irqchip.pin;
		switch (r->irqchip.chip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			return r->irqchip.pin < 8 ? 0 : -EINVAL;
		case KVM_IRQCHIP_IOAPIC:
			return r->irqchip.pin < KAGAMI_IRQCHIP_PINS ? 0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		/* KVM accepts (and x86 ignores) a device id, as for KVM_SIGNAL_MSI. */
		if (ue->flags & ~KVM_MSI_VALID_DEVID)
			return -EINVAL;
		r->msi.address = (u64)ue->u.msi.address_hi << 32 | ue->u.msi.address_lo;
		r->msi.data = ue->u.msi.data;
		return 0;
	default:
		return -EINVAL;
	}
}

static int kagami_irq_route_cmp(const void *a, const void *b)
{
	const struct kagami_irq_route *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

/*
 * KVM's setup_routing_entry(): a GSI goes to each irqchip at most once, and an
 * MSI route is the GSI's only entry. The n routes share one GSI.
 */
static bool kagami_irq_gsi_routes_valid(const struct kagami_irq_route *routes, u32 n)
{
	u32 i, j;

	if (n == 1)
		return true;
	if (n > KAGAMI_NR_IRQCHIPS)
		return false;
	for (i = 0; i < n; i++) {
		if (routes[i].type != KVM_IRQ_ROUTING_IRQCHIP)
			return false;
		for (j = 0; j < i; j++)
			if (routes[j].irqchip.chip == routes[i].irqchip.chip)
				return false;
	}
	return true;
}

/* The split irqchip's EOI exits: which vectors can belong to the userspace IOAPIC's level GSIs. */
static void kagami_irq_note_route(struct kagami_vm *vm, struct kagami_irq_routes *t,
				  const struct kagami_irq_route *r)
{
	struct kagami_apic_irq irq;

	if (r->type == KVM_IRQ_ROUTING_IRQCHIP) {
		t->chip_gsi[r->irqchip.chip][r->irqchip.pin] = r->gsi;
		return;
	}
	if (r->gsi >= READ_ONCE(vm->nr_ioapic_pins))
		return;
	kagami_apic_irq_from_msi(r->msi.address, r->msi.data, &irq);
	if (irq.trig_level)
		__set_bit(irq.vector, t->ioapic_level_vectors);
}

static int kagami_irq_routes_build(struct kagami_vm *vm, struct kagami_irq_routes *t,
				   const struct kvm_irq_routing_entry *ue)
{
	u32 i, first;
	int r;

	for (i = 0; i < t->nr_routes; i++) {
		r = kagami_irq_route_parse(vm, &ue[i], &t->routes[i]);
		if (r)
			return r;
	}
	sort(t->routes, t->nr_routes, sizeof(t->routes[0]), kagami_irq_route_cmp, NULL);
	for (first = 0, i = 1; i <= t->nr_routes; i++) {
		if (i < t->nr_routes && t->routes[i].gsi == t->routes[first].gsi)
			continue;
		if (!kagami_irq_gsi_routes_valid(&t->routes[first], i - first))
			return -EINVAL;
		first = i;
	}
	for (i = 0; i < t->nr_routes; i++)
		kagami_irq_note_route(vm, t, &t->routes[i]);
	t->nr_gsis = t->nr_routes ? t->routes[t->nr_routes - 1].gsi + 1 : 0;
	return 0;
}

/*
 * Replaces the table: after synchronize_rcu no injection still reads the old
 * one (KVM waits for its irq_srcu likewise), so routes userspace removed are
 * dead when the ioctl returns.
 */
int kagami_irq_set_routing(struct kagami_vm *vm, const struct kvm_irq_routing_entry *ue, u32 nr)
{
	struct kagami_irq_state *irq = vm->irq;
	struct kagami_irq_routes *t, *old;
	u32 i;
	int r;

	for (i = 0; i < nr; i++)
		if (ue[i].gsi >= KAGAMI_MAX_IRQ_ROUTES)
			return -EINVAL;
	t = kagami_irq_routes_alloc(nr);
	if (!t)
		return -ENOMEM;
	r = kagami_irq_routes_build(vm, t, ue);
	if (r) {
		kvfree(t);
		return r;
	}
	mutex_lock(&irq->routes_lock);
	old = rcu_replace_pointer(irq->routes, t, lockdep_is_held(&irq->routes_lock));
	mutex_unlock(&irq->routes_lock);
	synchronize_rcu_expedited();
	kvfree(old);
	return 0;
}

/* KVM's default_routing[] (irq_comm.c): GSI 0-15 to the IOAPIC pin and PIC pin, 16-23 to the IOAPIC. */
static int kagami_irq_kernel_default_routing(struct kagami_vm *vm)
{
	struct kvm_irq_routing_entry *ue;
	u32 gsi, n = 0;
	int r;

	ue = kcalloc(KAGAMI_IOAPIC_PINS + 16, sizeof(*ue), GFP_KERNEL);
	if (!ue)
		return -ENOMEM;
	for (gsi = 0; gsi < KAGAMI_IOAPIC_PINS; gsi++) {
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		ue[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		ue[n++].u.irqchip.pin = gsi % 8;
	}
	r = kagami_irq_set_routing(vm, ue, n);
	kfree(ue);
	return r;
}

/* KVM_CREATE_IRQCHIP installs the default table; KVM_CAP_SPLIT_IRQCHIP an empty one. */
int kagami_irq_default_routing(struct kagami_vm *vm, enum kagami_irqchip_mode mode)
{
	if (mode == KAGAMI_IRQCHIP_KERNEL)
		return kagami_irq_kernel_default_routing(vm);
	return kagami_irq_set_routing(vm, NULL, 0);
}

/* KVM_SET_GSI_ROUTING: sizes and flags checked before anything is copied, as KVM. */
long kagami_irq_set_gsi_routing(struct kagami_vm *vm, struct kvm_irq_routing __user *argp)
{
	struct kvm_irq_routing_entry *ue = NULL;
	struct kvm_irq_routing routing;
	long r;

	if (copy_from_user(&routing, argp, sizeof(routing)))
		return -EFAULT;
	if (!kagami_lapic_in_kernel(vm))
		return -EINVAL;	/* kvm_arch_can_set_irq_routing(): split or kernel irqchip */
	if (routing.nr > KAGAMI_MAX_IRQ_ROUTES || routing.flags)
		return -EINVAL;
	if (routing.nr) {
		ue = vmemdup_user(argp->entries, array_size(sizeof(*ue), routing.nr));
		if (IS_ERR(ue))
			return PTR_ERR(ue);
	}
	r = kagami_irq_set_routing(vm, ue, routing.nr);
	kvfree(ue);
	return r;
}
