// SPDX-License-Identifier: GPL-2.0
/* irqfd.c: KVM_IRQFD, an eventfd whose signal raises a GSI, with resampling (KVM's eventfd.c). */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "core/irq.h"
#include "core/irq/irq_internal.h"
#include "core/kagami.h"

/*
 * Lifetime: assign puts the irqfd on irq->irqfds and on the eventfd's wait
 * queue. Deassign, the eventfd's close (EPOLLHUP) or the VM's destruction
 * deactivate it (off the list, under irqfds_lock) and queue its shutdown,
 * which unhooks it from the wait queue and frees it; so a wakeup never runs
 * on a freed irqfd, and one that races with deactivation injects into a VM
 * that is still whole (destruction waits for the shutdowns).
 */
struct kagami_irqfd {
	struct kagami_irq_state *irq;
	u32 gsi;
	struct eventfd_ctx *eventfd;	/* a reference of our own */
	struct eventfd_ctx *resamplefd;	/* KVM_IRQFD_FLAG_RESAMPLE, else NULL */
	wait_queue_entry_t wait;	/* on the eventfd's wait queue */
	poll_table pt;
	struct list_head list;		/* irq->irqfds; empty once deactivated */
	struct list_head resample_link;	/* irq->resamplers (RCU) */
	struct work_struct shutdown;
};

/*
 * KVM's irqfd_inject(): an edge (raise and lower) for a plain irqfd; a
 * resampling irqfd holds the line until the guest acknowledges it.
 */
static void kagami_irqfd_inject(struct kagami_irqfd *irqfd)
{
	struct kagami_vm *vm = irqfd->irq->vm;

	kagami_irq_set_gsi(vm, irqfd->gsi, 1);
	if (!irqfd->resamplefd)
		kagami_irq_set_gsi(vm, irqfd->gsi, 0);
}

/* irqfds_lock held. */
static void kagami_irqfd_deactivate(struct kagami_irqfd *irqfd)
{
	list_del_init(&irqfd->list);
	queue_work(irqfd->irq->cleanup_wq, &irqfd->shutdown);
}

/*
 * The eventfd's wait queue callback: its lock is held with interrupts off.
 * Injection does not sleep, so it happens here for every route type (KVM
 * defers non-MSI routes to a work item because its irqchips take mutexes).
 */
static int kagami_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct kagami_irqfd *irqfd = container_of(wait, struct kagami_irqfd, wait);
	struct kagami_irq_state *irq = irqfd->irq;
	__poll_t flags = key_to_poll(key);
	unsigned long iflags;
	int ret = 0;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		kagami_irqfd_inject(irqfd);
		ret = 1;	/* consumed: other waiters are not woken (a priority waiter) */
	}
	if (flags & EPOLLHUP) {
		/* Closed: unless deassign or destruction got there first, we detach. */
		spin_lock_irqsave(&irq->irqfds_lock, iflags);
		if (!list_empty(&irqfd->list))
			kagami_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&irq->irqfds_lock, iflags);
	}
	return ret;
}

static void kagami_irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct kagami_irqfd *irqfd = container_of(pt, struct kagami_irqfd, pt);

	add_wait_queue_priority(wqh, &irqfd->wait);
}

/* As KVM's irqfd_resampler_shutdown(): the last resampler of a GSI lowers the line it held. */
static void kagami_irqfd_resample_detach(struct kagami_irqfd *irqfd)
{
	struct kagami_irq_state *irq = irqfd->irq;
	struct kagami_irqfd *other;
	bool last = true;

	mutex_lock(&irq->resample_lock);
	list_del_rcu(&irqfd->resample_link);
	synchronize_rcu();
	list_for_each_entry(other, &irq->resamplers, resample_link)
		if (other->gsi == irqfd->gsi)
			last = false;
	if (last)
		kagami_irq_set_gsi(irq->vm, irqfd->gsi, 0);
	mutex_unlock(&irq->resample_lock);
}

static void kagami_irqfd_shutdown(struct work_struct *work)
{
	struct kagami_irqfd *irqfd = container_of(work, struct kagami_irqfd, shutdown);
	u64 cnt;

	/* Under the wait queue's lock: once off it, no wakeup runs on irqfd. */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	if (irqfd->resamplefd) {
		kagami_irqfd_resample_detach(irqfd);
		eventfd_ctx_put(irqfd->resamplefd);
	}
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* The GSI of a resampling irqfd was acknowledged: lower it and tell userspace (any context). */
void kagami_irqfd_resample(struct kagami_irq_state *irq, u32 gsi)
{
	struct kagami_irqfd *irqfd;
	bool lowered = false;

	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &irq->resamplers, resample_link) {
		if (irqfd->gsi != gsi)
			continue;
		if (!lowered)
			kagami_irq_set_gsi(irq->vm, gsi, 0);
		lowered = true;
		eventfd_signal(irqfd->resamplefd, 1);
	}
	rcu_read_unlock();
}

/* irqfd_mutex held: KVM's rule is one irqfd per eventfd and VM. */
static int kagami_irqfd_publish(struct kagami_irq_state *irq, struct kagami_irqfd *irqfd)
{
	struct kagami_irqfd *tmp;

	spin_lock_irq(&irq->irqfds_lock);
	list_for_each_entry(tmp, &irq->irqfds, list) {
		if (tmp->eventfd == irqfd->eventfd) {
			spin_unlock_irq(&irq->irqfds_lock);
			return -EBUSY;
		}
	}
	list_add_tail(&irqfd->list, &irq->irqfds);
	spin_unlock_irq(&irq->irqfds_lock);
	if (irqfd->resamplefd) {
		mutex_lock(&irq->resample_lock);
		list_add_rcu(&irqfd->resample_link, &irq->resamplers);
		mutex_unlock(&irq->resample_lock);
	}
	return 0;
}

static struct kagami_irqfd *kagami_irqfd_alloc(struct kagami_irq_state *irq, u32 gsi)
{
	struct kagami_irqfd *irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);

	if (!irqfd)
		return NULL;
	irqfd->irq = irq;
	irqfd->gsi = gsi;
	INIT_LIST_HEAD(&irqfd->list);
	INIT_LIST_HEAD(&irqfd->resample_link);
	INIT_WORK(&irqfd->shutdown, kagami_irqfd_shutdown);
	init_waitqueue_func_entry(&irqfd->wait, kagami_irqfd_wakeup);
	INIT_LIST_HEAD(&irqfd->wait.entry);	/* removable even if never queued */
	init_poll_funcptr(&irqfd->pt, kagami_irqfd_queue_proc);
	return irqfd;
}

static int kagami_irqfd_get_eventfds(struct kagami_irqfd *irqfd, struct file *file,
				     const struct kvm_irqfd *args)
{
	struct eventfd_ctx *ctx;

	ctx = eventfd_ctx_fileget(file);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	irqfd->eventfd = ctx;
	if (!(args->flags & KVM_IRQFD_FLAG_RESAMPLE))
		return 0;
	ctx = eventfd_ctx_fdget(args->resamplefd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	irqfd->resamplefd = ctx;
	return 0;
}

/*
 * KVM's kvm_irqfd_assign(). Holding the file rules out EPOLLHUP, and
 * irqfd_mutex a deassign, until the irqfd is on the wait queue; an event
 * already pending then is injected as if it came now.
 */
static int kagami_irqfd_assign(struct kagami_vm *vm, const struct kvm_irqfd *args)
{
	struct kagami_irq_state *irq = vm->irq;
	struct kagami_irqfd *irqfd;
	__poll_t events;
	struct fd f;
	int r;

	irqfd = kagami_irqfd_alloc(irq, args->gsi);
	if (!irqfd)
		return -ENOMEM;
	f = fdget(args->fd);
	if (!f.file) {
		r = -EBADF;
		goto out_free;
	}
	r = kagami_irqfd_get_eventfds(irqfd, f.file, args);
	if (r)
		goto out_put;
	mutex_lock(&irq->irqfd_mutex);
	r = kagami_irqfd_publish(irq, irqfd);
	if (!r) {
		events = vfs_poll(f.file, &irqfd->pt);
		if (events & EPOLLIN)
			kagami_irqfd_inject(irqfd);
	}
	mutex_unlock(&irq->irqfd_mutex);
	if (!r) {
		fdput(f);
		return 0;
	}
out_put:
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	if (irqfd->eventfd)
		eventfd_ctx_put(irqfd->eventfd);
	fdput(f);
out_free:
	kfree(irqfd);
	return r;
}

/* KVM's kvm_irqfd_deassign(): 0 even when nothing matched; returns once the irqfd is gone. */
static int kagami_irqfd_deassign(struct kagami_vm *vm, const struct kvm_irqfd *args)
{
	struct kagami_irq_state *irq = vm->irq;
	struct kagami_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	mutex_lock(&irq->irqfd_mutex);
	spin_lock_irq(&irq->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &irq->irqfds, list)
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			kagami_irqfd_deactivate(irqfd);
	spin_unlock_irq(&irq->irqfds_lock);
	mutex_unlock(&irq->irqfd_mutex);
	eventfd_ctx_put(eventfd);
	flush_workqueue(irq->cleanup_wq);
	return 0;
}

/* KVM_IRQFD. Assigning needs KVM's kvm_arch_irqfd_allowed(): LAPICs, and the kernel irqchip to resample. */
int kagami_irqfd_ioctl(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_irqfd args;
	bool allowed;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args.flags & KVM_IRQFD_FLAG_DEASSIGN)
		return kagami_irqfd_deassign(vm, &args);
	if (args.flags & KVM_IRQFD_FLAG_RESAMPLE)
		allowed = kagami_irq_chip_mode(vm) == KAGAMI_IRQCHIP_KERNEL;
	else
		allowed = kagami_lapic_in_kernel(vm);
	return allowed ? kagami_irqfd_assign(vm, &args) : -EINVAL;
}

int kagami_irqfd_init(struct kagami_irq_state *irq)
{
	irq->cleanup_wq = alloc_workqueue("kagami-irqfd", 0, 0);
	return irq->cleanup_wq ? 0 : -ENOMEM;
}

/* The VM fd is closed or the VM is going: every irqfd is shut down before this returns. */
void kagami_irqfd_release(struct kagami_irq_state *irq)
{
	struct kagami_irqfd *irqfd, *tmp;

	spin_lock_irq(&irq->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &irq->irqfds, list)
		kagami_irqfd_deactivate(irqfd);
	spin_unlock_irq(&irq->irqfds_lock);
	flush_workqueue(irq->cleanup_wq);
}

void kagami_irqfd_exit(struct kagami_irq_state *irq)
{
	kagami_irqfd_release(irq);
	destroy_workqueue(irq->cleanup_wq);
}
