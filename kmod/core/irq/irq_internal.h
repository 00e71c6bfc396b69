/* SPDX-License-Identifier: GPL-2.0 */
/* irq_internal.h: the routing table, irqfds and ioeventfds of a VM, private to core/irq/. */
#ifndef KAGAMI_CORE_IRQ_INTERNAL_H
#define KAGAMI_CORE_IRQ_INTERNAL_H

#include <linux/bitmap.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "core/kagami.h"


#define KAGAMI_IRQCHIP_PINS	24	/* KVM_IRQCHIP_NUM_PINS: rows of chip_gsi[] */
#define KAGAMI_NR_IRQCHIPS	3	/* PIC master, PIC slave, IOAPIC */

/* One entry of KVM_SET_GSI_ROUTING, as the kernel keeps it. */
struct kagami_irq_route {
	u32 gsi;
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI */
	union {
		struct {
			u32 chip;	/* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
			u32 pin;	/* 0-7 on a PIC, 0-23 on the IOAPIC */
		} irqchip;
		struct {
			u64 address;
			u32 data;
		} msi;
	};
};

/*
 * A routing table: built whole, published with rcu_assign_pointer() and never
 * changed; readers (injection from any context) hold rcu_read_lock().
 */
struct kagami_irq_routes {
	u32 nr_routes;
	u32 nr_gsis;		/* highest GSI + 1, 0 when empty (KVM's nr_rt_entries) */
	/* KVM's rt->chip: the GSI routed to each irqchip pin, or -1 (for ack notification). */
	s32 chip_gsi[KAGAMI_NR_IRQCHIPS][KAGAMI_IRQCHIP_PINS];
	/* Split irqchip: vectors of level-triggered MSI routes of the userspace IOAPIC's GSIs. */
	DECLARE_BITMAP(ioapic_level_vectors, 256);
	struct kagami_irq_route routes[];	/* sorted by gsi */
};

/*
 * vm->irq. Tags: (c) set at creation; (r) routes_lock to write, RCU to read;
 * (f) irqfds_lock (spinlock, irqs off; EPOLLHUP wakeups take it too), and
 * assign/deassign also hold irqfd_mutex; (s) resample_lock to write, RCU to
 * read; (e) ioeventfd_lock to write, RCU to read.
 */
struct kagami_irq_state {
	struct kagami_vm *vm;				/* (c) */
	struct mutex routes_lock;			/* (c) */
	struct kagami_irq_routes __rcu *routes;		/* (r) never NULL */
	struct mutex irqfd_mutex;			/* (c) serialises assign/deassign */
	spinlock_t irqfds_lock;				/* (c) also taken by EPOLLHUP wakeups */
	struct list_head irqfds;			/* (f) active irqfds */
	struct mutex resample_lock;			/* (c) */
	struct list_head resamplers;			/* (s) irqfds with a resamplefd */
	struct workqueue_struct *cleanup_wq;		/* (c) irqfd shutdown work */
	struct mutex ioeventfd_lock;			/* (c) */
	struct list_head ioeventfds;			/* (e) */
	unsigned int nr_ioeventfds[3];			/* (e) per bus: MMIO, PIO, CCW notify */
};

/* vm->irqchip_mode, read without vm->lock. */
static inline u8 kagami_irq_chip_mode(struct kagami_vm *vm)
{
	/* Pairs with the smp_store_release() in vm.c: vm->irqchip is seen set up. */
	return smp_load_acquire(&vm->irqchip_mode);
}

/* routing.c */
struct kagami_irq_routes *kagami_irq_routes_alloc(u32 nr_routes);
int kagami_irq_set_routing(struct kagami_vm *vm, const struct kvm_irq_routing_entry *ue,
			   u32 nr);
long kagami_irq_set_gsi_routing(struct kagami_vm *vm, struct kvm_irq_routing __user *argp);

/* inject.c */
long kagami_irq_inject_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp);
const struct kagami_irq_route *kagami_irq_first_route(const struct kagami_irq_routes *t,
						       u32 gsi);
int kagami_irq_route_msi_deliver(struct kagami_vm *vm, u64 address, u32 data);

/* irqfd.c */
int kagami_irqfd_ioctl(struct kagami_vm *vm, void __user *argp);
int kagami_irqfd_init(struct kagami_irq_state *irq);
void kagami_irqfd_release(struct kagami_irq_state *irq);
void kagami_irqfd_exit(struct kagami_irq_state *irq);
void kagami_irqfd_resample(struct kagami_irq_state *irq, u32 gsi);

/* ioeventfd.c */
int kagami_ioeventfd_ioctl(struct kagami_vm *vm, void __user *argp);
void kagami_ioeventfd_release(struct kagami_irq_state *irq);

#endif
