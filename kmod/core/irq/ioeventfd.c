// SPDX-License-Identifier: GPL-2.0
/* ioeventfd.c: KVM_IOEVENTFD, a guest write to a port or MMIO address that signals an eventfd. */
#include <linux/eventfd.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"

/* KVM's buses; a CCW notifier is accepted, as KVM does on x86, and never written to. */
enum kagami_io_bus {
	KAGAMI_BUS_MMIO,
	KAGAMI_BUS_PIO,
	KAGAMI_BUS_CCW,
};

/* KVM's NR_IOBUS_DEVS, here a bound on the ioeventfds of one bus. */
#define KAGAMI_MAX_IOEVENTFDS	1000
/* KVM's KVM_IOEVENTFD_VALID_FLAG_MASK: DATAMATCH, PIO, DEASSIGN, VIRTIO_CCW_NOTIFY, FAST_MMIO. */
#define KAGAMI_IOEVENTFD_VALID_FLAGS	0x1fU

struct kagami_ioeventfd {
	struct list_head list;		/* irq->ioeventfds (RCU) */
	u64 addr;
	u32 len;			/* 1, 2, 4 or 8; 0 matches writes of any length */
	u32 bus;			/* enum kagami_io_bus */
	bool wildcard;			/* no KVM_IOEVENTFD_FLAG_DATAMATCH */
	u64 datamatch;
	struct eventfd_ctx *eventfd;
};

static u32 kagami_ioeventfd_bus(u32 flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return KAGAMI_BUS_PIO;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return KAGAMI_BUS_CCW;
	return KAGAMI_BUS_MMIO;
}

/* KVM's ioeventfd_in_range(): the exact address, then the length, then the data. */
static bool kagami_ioeventfd_matches(const struct kagami_ioeventfd *p, u64 addr,
				     unsigned int len, const void *val)
{
	u64 data = 0;

	if (p->addr != addr)
		return false;
	if (!p->len)
		return true;
	if (p->len != len)
		return false;
	if (p->wildcard)
		return true;
	memcpy(&data, val, len);	/* x86 is little-endian: the low len bytes */
	return data == p->datamatch;
}

bool kagami_ioeventfd_write(struct kagami_vm *vm, bool mmio, u64 addr, unsigned int len,
			    const void *val)
{
	u32 bus = mmio ? KAGAMI_BUS_MMIO : KAGAMI_BUS_PIO;
	struct kagami_ioeventfd *p;
	bool hit = false;

	/*
	 * Every port write and MMIO write on its way to userspace comes here: a
	 * bus without ioeventfds (the usual case for port I/O) costs one load.
	 * A count read just before an assignment completes is as if the write
	 * came first.
	 */
	if (len > 8 || !READ_ONCE(vm->irq->nr_ioeventfds[bus]))
		return false;
	rcu_read_lock();
	list_for_each_entry_rcu(p, &vm->irq->ioeventfds, list) {
		if (p->bus == bus && kagami_ioeventfd_matches(p, addr, len, val)) {
			eventfd_signal(p->eventfd, 1);
			hit = true;
			break;
		}
	}
	rcu_read_unlock();
	return hit;
}

/* KVM's ioeventfd_check_collision(); ioeventfd_lock held. */
static bool kagami_ioeventfd_collides(struct kagami_irq_state *irq,
				      const struct kagami_ioeventfd *p)
{
	struct kagami_ioeventfd *q;

	list_for_each_entry(q, &irq->ioeventfds, list)
		if (q->bus == p->bus && q->addr == p->addr &&
		    (!q->len || !p->len ||
		     (q->len == p->len &&
		      (q->wildcard || p->wildcard || q->datamatch == p->datamatch))))
			return true;
	return false;
}

/* KVM's kvm_assign_ioeventfd(): checks in its order, so the errors agree. */
static int kagami_ioeventfd_assign(struct kagami_irq_state *irq, const struct kvm_ioeventfd *args)
{
	struct kagami_ioeventfd *p;
	int r = 0;

	if (args->len != 0 && args->len != 1 && args->len != 2 && args->len != 4 &&
	    args->len != 8)
		return -EINVAL;
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~KAGAMI_IOEVENTFD_VALID_FLAGS)
		return -EINVAL;
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(p->eventfd)) {
		r = PTR_ERR(p->eventfd);
		kfree(p);
		return r;
	}
	p->addr = args->addr;
	p->len = args->len;
	p->bus = kagami_ioeventfd_bus(args->flags);
	p->wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	p->datamatch = p->wildcard ? 0 : args->datamatch;

	mutex_lock(&irq->ioeventfd_lock);
	if (kagami_ioeventfd_collides(irq, p))
		r = -EEXIST;
	else if (irq->nr_ioeventfds[p->bus] >= KAGAMI_MAX_IOEVENTFDS)
		r = -ENOSPC;
	if (!r) {
		irq->nr_ioeventfds[p->bus]++;
		list_add_tail_rcu(&p->list, &irq->ioeventfds);
	}
	mutex_unlock(&irq->ioeventfd_lock);
	if (r) {
		eventfd_ctx_put(p->eventfd);
		kfree(p);
	}
	return r;
}

/* KVM's kvm_deassign_ioeventfd_idx(): the same eventfd, bus, address, length and match. */
static int kagami_ioeventfd_deassign(struct kagami_irq_state *irq,
				     const struct kvm_ioeventfd *args)
{
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	u32 bus = kagami_ioeventfd_bus(args->flags);
	struct kagami_ioeventfd *p, *found = NULL;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	mutex_lock(&irq->ioeventfd_lock);
	list_for_each_entry(p, &irq->ioeventfds, list) {
		if (p->bus != bus || p->eventfd != eventfd || p->addr != args->addr ||
		    p->len != args->len || p->wildcard != wildcard ||
		    (!wildcard && p->datamatch != args->datamatch))
			continue;
		list_del_rcu(&p->list);
		irq->nr_ioeventfds[bus]--;
		found = p;
		break;
	}
	mutex_unlock(&irq->ioeventfd_lock);
	eventfd_ctx_put(eventfd);
	if (!found)
		return -ENOENT;
	synchronize_rcu();	/* no vCPU still signals it */
	eventfd_ctx_put(found->eventfd);
	kfree(found);
	return 0;
}

int kagami_ioeventfd_ioctl(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_ioeventfd args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return kagami_ioeventfd_deassign(vm->irq, &args);
	return kagami_ioeventfd_assign(vm->irq, &args);
}

/* The VM is going and no vCPU runs: nothing reads the list any more. */
void kagami_ioeventfd_release(struct kagami_irq_state *irq)
{
	struct kagami_ioeventfd *p, *tmp;

	list_for_each_entry_safe(p, tmp, &irq->ioeventfds, list) {
		list_del(&p->list);
		eventfd_ctx_put(p->eventfd);
		kfree(p);
	}
}
