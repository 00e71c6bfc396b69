// SPDX-License-Identifier: GPL-2.0
/* vm.c: the VM fd: creation, its ioctls, and destruction on the last reference. */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/irq.h"
#include "core/kagami.h"
#include "x86/irqchip.h"
#include "x86/kvmclock.h"

static void kagami_vm_destroy(struct kref *ref)
{
	struct kagami_vm *vm = container_of(ref, struct kagami_vm, ref);
	unsigned int id;

	/* First the eventfds, so nothing injects into what is freed below. */
	kagami_irq_vm_destroy(vm);
	for (id = 0; id < KAGAMI_MAX_VCPUS; id++)
		if (vm->vcpus[id])
			kagami_vcpu_free(vm->vcpus[id]);
	if (vm->irqchip)
		kagami_irqchip_destroy(vm);
	kagami_vendor->vm_destroy(vm);
	for (id = 0; id < KAGAMI_MAX_MEMSLOTS; id++)
		kagami_dirty_bitmap_free(vm->slots[id].dirty_bitmap);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
	atomic_dec(&kagami_stats.vms);
	kagami_hardware_put();
}

void kagami_vm_put(struct kagami_vm *vm)
{
	kref_put(&vm->ref, kagami_vm_destroy);
}

static int kagami_vm_release(struct inode *inode, struct file *file)
{
	/* As KVM: irqfds stop with the VM fd, even while vCPU fds keep the VM. */
	kagami_irq_vm_release(file->private_data);
	kagami_vm_put(file->private_data);
	return 0;
}

static long kagami_vm_set_memory_region(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_userspace_memory_region mem;
	long r;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	r = kagami_memslot_set(vm, &mem);
	mutex_unlock(&vm->lock);
	return r;
}

/* As KVM: the TSS takes three pages below 4 GiB. */
static long kagami_vm_set_tss_addr(struct kagami_vm *vm, unsigned long addr)
{
	if (addr > (unsigned int)(-3 * PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->tss_addr = addr;
	mutex_unlock(&vm->lock);
	return 0;
}

/* As KVM: only before the first vCPU exists. */
static long kagami_vm_set_identity_map_addr(struct kagami_vm *vm, void __user *argp)
{
	u64 addr;
	long r = 0;

	if (copy_from_user(&addr, argp, sizeof(addr)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	if (vm->nr_vcpus)
		r = -EINVAL;
	else
		vm->identity_map_addr = addr;
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * Sets the irqchip mode, and for the split one the userspace IOAPIC's pins;
 * vm->lock held. As KVM: once, and before the first vCPU; a refused call
 * changes nothing.
 */
static int kagami_vm_set_irqchip_mode(struct kagami_vm *vm, enum kagami_irqchip_mode mode,
				      u32 ioapic_pins)
{
	int r;

	if (vm->irqchip_mode != KAGAMI_IRQCHIP_NONE)
		return -EEXIST;
	if (vm->nr_vcpus)
		return -EINVAL;
	vm->nr_ioapic_pins = ioapic_pins;
	if (mode == KAGAMI_IRQCHIP_KERNEL) {
		r = kagami_irqchip_create(vm);
		if (r)
			return r;
	}
	/*
	 * As KVM: the routing first, the mode last. Nothing looks at the irqchip
	 * before the mode says it exists, so a failure here (ENOMEM) frees it and
	 * leaves the VM as it was, and the call may be retried.
	 */
	r = kagami_irq_default_routing(vm, mode);
	if (r) {
		if (mode == KAGAMI_IRQCHIP_KERNEL)
			kagami_irqchip_destroy(vm);
		vm->nr_ioapic_pins = 0;
		return r;
	}
	/* Pairs with the readers' smp_load_acquire(): irqchip and routes are complete. */
	smp_store_release(&vm->irqchip_mode, mode);
	return 0;
}

/* The irqchip may be used: its mode is published after it is complete. */
static bool kagami_vm_has_kernel_irqchip(struct kagami_vm *vm)
{
	/* Pairs with the store-release in kagami_vm_set_irqchip_mode(). */
	return smp_load_acquire(&vm->irqchip_mode) == KAGAMI_IRQCHIP_KERNEL;
}

/* KVM_CREATE_IRQCHIP: LAPICs, PIC pair and IOAPIC in the kernel. */
static long kagami_vm_create_irqchip(struct kagami_vm *vm)
{
	long r;

	mutex_lock(&vm->lock);
	r = kagami_vm_set_irqchip_mode(vm, KAGAMI_IRQCHIP_KERNEL, 0);
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_CAP_SPLIT_IRQCHIP's limit on the userspace IOAPIC's pins (KVM's MAX_NR_RESERVED_IOAPIC_PINS). */
#define KAGAMI_MAX_IOAPIC_PINS	256

/*
 * KVM_CAP_MAX_VCPU_ID, as KVM 6.1's kvm_vm_ioctl_enable_cap(): a bound on the
 * vCPU ids below the module's, set once (setting the same value again is fine).
 */
static long kagami_vm_set_max_vcpu_ids(struct kagami_vm *vm, u64 ids)
{
	long r = -EINVAL;

	if (ids > KAGAMI_MAX_VCPUS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (!vm->max_vcpu_ids || vm->max_vcpu_ids == ids) {
		vm->max_vcpu_ids = ids;
		r = 0;
	}
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * KVM_ENABLE_CAP on the VM: KVM_CAP_MAX_VCPU_ID, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * (core/dirty.c), and KVM_CAP_SPLIT_IRQCHIP with args[0] = the userspace IOAPIC's pins.
 */
static long kagami_vm_enable_cap(struct kagami_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;
	long r;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	if (cap.cap == KVM_CAP_MAX_VCPU_ID)
		return kagami_vm_set_max_vcpu_ids(vm, cap.args[0]);
	if (cap.cap == KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)
		return kagami_dirty_log_enable_cap(vm, &cap);
	if (cap.cap != KVM_CAP_SPLIT_IRQCHIP)
		return -EINVAL;
	if (cap.args[0] > KAGAMI_MAX_IOAPIC_PINS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	r = kagami_vm_set_irqchip_mode(vm, KAGAMI_IRQCHIP_SPLIT, cap.args[0]);
	mutex_unlock(&vm->lock);
	return r;
}

static long kagami_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kagami_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KVM_SET_USER_MEMORY_REGION:
		return kagami_vm_set_memory_region(vm, argp);
	case KVM_SET_TSS_ADDR:
		return kagami_vm_set_tss_addr(vm, arg);
	case KVM_SET_NR_MMU_PAGES:
		/*
		 * As KVM 6.1: at least KVM_MIN_ALLOC_MMU_PAGES (64). The number bounds
		 * KVM's shadow pages; the nested page table has no such budget (nor
		 * has KVM's TDP MMU), so a valid one changes nothing.
		 */
		return arg < 64 ? -EINVAL : 0;
	case KVM_SET_IDENTITY_MAP_ADDR:
		return kagami_vm_set_identity_map_addr(vm, argp);
	case KVM_CHECK_EXTENSION:
		return kagami_check_extension(vm, arg);
	case KVM_CREATE_VCPU:
		return kagami_vcpu_create(vm, arg);
	case KVM_ENABLE_CAP:
		return kagami_vm_enable_cap(vm, argp);
	case KVM_CREATE_IRQCHIP:
		return kagami_vm_create_irqchip(vm);
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return kagami_vm_has_kernel_irqchip(vm) ? kagami_irqchip_vm_ioctl(vm, cmd, argp) :
							  -ENXIO;
	case KVM_GET_CLOCK:
	case KVM_SET_CLOCK:
		return kagami_kvmclock_vm_ioctl(vm, cmd, argp);
	case KVM_GET_DIRTY_LOG:
	case KVM_CLEAR_DIRTY_LOG:
		return kagami_dirty_log_ioctl(vm, cmd, argp);
	default:
		return kagami_irq_vm_ioctl(vm, cmd, argp);
	}
}

static const struct file_operations kagami_vm_fops = {
	.owner = THIS_MODULE,
	.release = kagami_vm_release,
	.unlocked_ioctl = kagami_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* KVM_CREATE_VM: only type 0 (the default machine) exists. */
int kagami_vm_create(unsigned long type)
{
	struct kagami_vm *vm;
	int r;

	if (type)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	r = kagami_hardware_get();
	if (r) {
		kfree(vm);
		return r;
	}
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	init_rwsem(&vm->run_sem);
	kagami_kvmclock_vm_init(vm);
	r = kagami_irq_vm_init(vm);
	if (r)
		goto fail;
	r = kagami_vendor->vm_init(vm);
	if (r) {
		kagami_irq_vm_destroy(vm);
		goto fail;
	}
	vm->mm = current->mm;
	mmgrab(vm->mm);
	atomic_inc(&kagami_stats.vms);
	r = anon_inode_getfd("kagami-vm", &kagami_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		kagami_vm_put(vm);
	return r;

fail:
	mutex_destroy(&vm->lock);
	kfree(vm);
	kagami_hardware_put();
	return r;
}
