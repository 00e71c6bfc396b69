// SPDX-License-Identifier: GPL-2.0
/* state.c: vm->irq's creation and teardown, and the dispatch of the interrupt VM ioctls. */
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"

int kagami_irq_vm_init(struct kagami_vm *vm)
{
	struct kagami_irq_state *irq;

	irq = kzalloc(sizeof(*irq), GFP_KERNEL_ACCOUNT);
	if (!irq)
		return -ENOMEM;
	irq->vm = vm;
	mutex_init(&irq->routes_lock);
	mutex_init(&irq->irqfd_mutex);
	spin_lock_init(&irq->irqfds_lock);
	INIT_LIST_HEAD(&irq->irqfds);
	mutex_init(&irq->resample_lock);
	INIT_LIST_HEAD(&irq->resamplers);
	mutex_init(&irq->ioeventfd_lock);
	INIT_LIST_HEAD(&irq->ioeventfds);
	/* An empty table, so readers never see NULL (KVM sets one up at VM creation too). */
	RCU_INIT_POINTER(irq->routes, kagami_irq_routes_alloc(0));
	if (!rcu_access_pointer(irq->routes) || kagami_irqfd_init(irq)) {
		kvfree(rcu_access_pointer(irq->routes));
		kfree(irq);
		return -ENOMEM;
	}
	vm->irq = irq;
	return 0;
}

/*
 * The VM's last reference is gone, so no ioctl runs and no vCPU is in the
 * guest; only eventfd wakeups can still arrive. The irqfds go first: once
 * their shutdown work has unhooked them from the eventfds' wait queues, no
 * injection can start.
 */
void kagami_irq_vm_destroy(struct kagami_vm *vm)
{
	struct kagami_irq_state *irq = vm->irq;

	if (!irq)
		return;
	kagami_irqfd_exit(irq);
	kagami_ioeventfd_release(irq);
	kvfree(rcu_access_pointer(irq->routes));
	mutex_destroy(&irq->ioeventfd_lock);
	mutex_destroy(&irq->resample_lock);
	mutex_destroy(&irq->irqfd_mutex);
	mutex_destroy(&irq->routes_lock);
	kfree(irq);
	vm->irq = NULL;
}

void kagami_irq_vm_release(struct kagami_vm *vm)
{
	if (vm->irq)
		kagami_irqfd_release(vm->irq);
}

long kagami_irq_vm_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case KVM_SET_GSI_ROUTING:
		return kagami_irq_set_gsi_routing(vm, argp);
	case KVM_SIGNAL_MSI:
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		return kagami_irq_inject_ioctl(vm, cmd, argp);
	case KVM_IRQFD:
		return kagami_irqfd_ioctl(vm, argp);
	case KVM_IOEVENTFD:
		return kagami_ioeventfd_ioctl(vm, argp);
	default:
		return -ENOTTY;
	}
}
