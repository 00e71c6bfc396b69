// SPDX-License-Identifier: GPL-2.0
/* vcpu.c: the vCPU fd: creation, the shared kvm_run page (mmap), and its ioctls. */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/uaccess.h>
#include <asm/fpu/types.h>

#include "core/kagami.h"
#include "x86/kvmclock.h"
#include "x86/lapic.h"

/* Frees a vCPU; only the VM's destruction calls this, so no fd can reach it. */
void kagami_vcpu_free(struct kagami_vcpu *vcpu)
{
	if (vcpu->lapic)
		kagami_lapic_free(vcpu);
	kagami_kvmclock_vcpu_free(vcpu);
	kagami_vendor->vcpu_free(vcpu);
	kvfree(vcpu->cpuid);
	mutex_destroy(&vcpu->mutex);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	atomic_sub(KAGAMI_VCPU_MMAP_PAGES, &kagami_stats.pages);
	kfree(vcpu);
	atomic_dec(&kagami_stats.vcpus);
}

static int kagami_vcpu_release(struct inode *inode, struct file *file)
{
	struct kagami_vcpu *vcpu = file->private_data;

	kagami_vm_put(vcpu->vm);
	return 0;
}

/* The mapping holds the file, so the pages outlive every access through it. */
static vm_fault_t kagami_vcpu_fault(struct vm_fault *vmf)
{
	struct kagami_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KAGAMI_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kagami_vcpu_vm_ops = {
	.fault = kagami_vcpu_fault,
};

static int kagami_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff >= KAGAMI_VCPU_MMAP_PAGES ||
	    vma_pages(vma) > KAGAMI_VCPU_MMAP_PAGES - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_ops = &kagami_vcpu_vm_ops;
	return 0;
}

static long kagami_vcpu_get_regs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_regs regs;
	int r = kagami_vendor->get_regs(vcpu, &regs);

	if (!r && copy_to_user(argp, &regs, sizeof(regs)))
		r = -EFAULT;
	return r;
}

static long kagami_vcpu_set_regs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_regs regs;

	if (copy_from_user(&regs, argp, sizeof(regs)))
		return -EFAULT;
	return kagami_vendor->set_regs(vcpu, &regs);
}

static long kagami_vcpu_get_sregs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs sregs;
	int r = kagami_vendor->get_sregs(vcpu, &sregs);

	if (!r && copy_to_user(argp, &sregs, sizeof(sregs)))
		r = -EFAULT;
	return r;
}

static long kagami_vcpu_set_sregs(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs sregs;

	if (copy_from_user(&sregs, argp, sizeof(sregs)))
		return -EFAULT;
	return kagami_vendor->set_sregs(vcpu, &sregs);
}

/* As KVM: a NULL argument clears the mask; the size must be the kernel's sigset_t. */
static long kagami_vcpu_set_signal_mask(struct kagami_vcpu *vcpu, void __user *argp)
{
	struct kvm_signal_mask __user *user_mask = argp;
	struct kvm_signal_mask head;
	sigset_t set;

	if (!argp) {
		vcpu->sigmask_active = false;
		return 0;
	}
	if (copy_from_user(&head, user_mask, sizeof(head)))
		return -EFAULT;
	if (head.len != sizeof(sigset_t))
		return -EINVAL;
	if (copy_from_user(&set, user_mask->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigmask = set;
	vcpu->sigmask_active = true;
	return 0;
}

static bool kagami_cpuid_entry_equal(const struct kvm_cpuid_entry2 *a,
				     const struct kvm_cpuid_entry2 *b)
{
	return a->function == b->function && a->index == b->index && a->flags == b->flags &&
	       a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx && a->edx == b->edx;
}

/*
 * KVM_SET_CPUID2 once the vCPU has run (guest_cpu set by its first entry), as
 * KVM 6.1's kvm_set_cpuid() and kvm_cpuid_check_equal(): only the very table
 * in force is accepted (the guest may have acted on what it read), else
 * -EINVAL (selftest cpuid_test).
 */
static long kagami_vcpu_set_cpuid2_after_run(struct kagami_vcpu *vcpu,
					     struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 *entries;
	struct kvm_cpuid2 head;
	long r = 0;
	u32 i;

	if (copy_from_user(&head, argp, sizeof(head)))
		return -EFAULT;
	if (head.nent > KAGAMI_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (head.nent != vcpu->cpuid_nent)
		return -EINVAL;
	if (!head.nent)
		return 0;
	entries = vmemdup_user(argp->entries, array_size(head.nent, sizeof(*entries)));
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	for (i = 0; i < head.nent && !r; i++)
		if (!kagami_cpuid_entry_equal(&entries[i], &vcpu->cpuid[i]))
			r = -EINVAL;
	kvfree(entries);
	return r;
}

/* KVM_RUN with KVM_SET_SIGNAL_MASK's mask in force, the thread's own kept in real_blocked. */
static long kagami_vcpu_run(struct kagami_vcpu *vcpu)
{
	long r;

	if (vcpu->sigmask_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigmask, &current->real_blocked);
	r = kagami_vendor->vcpu_run(vcpu);
	if (vcpu->sigmask_active) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

static long kagami_vcpu_ioctl_locked(struct kagami_vcpu *vcpu, unsigned int cmd,
				     unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KVM_RUN:
		return arg ? -EINVAL : kagami_vcpu_run(vcpu);
	case KVM_GET_REGS:
		return kagami_vcpu_get_regs(vcpu, argp);
	case KVM_SET_REGS:
		return kagami_vcpu_set_regs(vcpu, argp);
	case KVM_GET_SREGS:
		return kagami_vcpu_get_sregs(vcpu, argp);
	case KVM_SET_SREGS:
		return kagami_vcpu_set_sregs(vcpu, argp);
	case KVM_SET_CPUID2:
		if (READ_ONCE(vcpu->guest_cpu) >= 0)
			return kagami_vcpu_set_cpuid2_after_run(vcpu, argp);
		return kagami_vcpu_set_cpuid2(vcpu, argp);
	case KVM_GET_CPUID2:
		return kagami_vcpu_get_cpuid2(vcpu, argp);
	case KVM_GET_MSRS:
		return kagami_vcpu_msrs(vcpu, argp, false);
	case KVM_SET_MSRS:
		return kagami_vcpu_msrs(vcpu, argp, true);
	case KVM_GET_FPU:
		return kagami_vcpu_get_fpu(vcpu, argp);
	case KVM_SET_FPU:
		return kagami_vcpu_set_fpu(vcpu, argp);
	case KVM_GET_XSAVE:
		return kagami_vcpu_get_xsave(vcpu, argp);
	case KVM_SET_XSAVE:
		return kagami_vcpu_set_xsave(vcpu, argp);
	case KVM_GET_XCRS:
		return kagami_vcpu_get_xcrs(vcpu, argp);
	case KVM_SET_XCRS:
		return kagami_vcpu_set_xcrs(vcpu, argp);
	case KVM_SET_SIGNAL_MASK:
		return kagami_vcpu_set_signal_mask(vcpu, argp);
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		return vcpu->lapic ? kagami_vcpu_lapic_ioctl(vcpu, cmd, argp) : -EINVAL;
	default:
		return kagami_vcpu_events_ioctl(vcpu, cmd, argp);
	}
}

/* One ioctl at a time per vCPU, as KVM (vcpu->mutex); KVM_RUN sleeps interruptibly. */
static long kagami_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kagami_vcpu *vcpu = file->private_data;
	long r;

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = kagami_vcpu_ioctl_locked(vcpu, cmd, arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations kagami_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = kagami_vcpu_release,
	.unlocked_ioctl = kagami_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kagami_vcpu_mmap,
	.llseek = noop_llseek,
};

static struct kagami_vcpu *kagami_vcpu_alloc(struct kagami_vm *vm, unsigned int id)
{
	struct kagami_vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	vcpu->run = (struct kvm_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data) {
		free_page((unsigned long)vcpu->pio_data);
		free_page((unsigned long)vcpu->run);
		kfree(vcpu);
		return NULL;
	}
	atomic_add(KAGAMI_VCPU_MMAP_PAGES, &kagami_stats.pages);
	atomic_inc(&kagami_stats.vcpus);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->xcr0 = XFEATURE_MASK_FP;	/* x87 only at reset, as KVM */
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->guest_cpu = -1;
	mutex_init(&vcpu->mutex);
	init_waitqueue_head(&vcpu->wait);
	return vcpu;
}

/* The kvm-clock state, and the local APIC when the VM has an irqchip (vm->lock held). */
static int kagami_vcpu_create_extras(struct kagami_vcpu *vcpu)
{
	int r = kagami_kvmclock_vcpu_create(vcpu);

	if (r || vcpu->vm->irqchip_mode == KAGAMI_IRQCHIP_NONE)
		return r;
	r = kagami_lapic_create(vcpu);
	if (r)
		return r;
	kagami_lapic_reset(vcpu, false);
	/* As KVM with an in-kernel LAPIC: only the BSP runs; the others wait for INIT and SIPI. */
	vcpu->mp_state = vcpu->id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	return 0;
}

/*
 * KVM_CREATE_VCPU: ids 0..KAGAMI_MAX_VCPUS-1 (below KVM_CAP_MAX_VCPU_ID when
 * enabled, as KVM), each once; returns the vCPU fd.
 */
int kagami_vcpu_create(struct kagami_vm *vm, unsigned long id)
{
	struct kagami_vcpu *vcpu;
	int r;

	if (id >= KAGAMI_MAX_VCPUS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (vm->max_vcpu_ids && id >= vm->max_vcpu_ids) {
		r = -EINVAL;
		goto out;
	}
	if (vm->vcpus[id]) {
		r = -EEXIST;
		goto out;
	}
	vcpu = kagami_vcpu_alloc(vm, id);
	if (!vcpu) {
		r = -ENOMEM;
		goto out;
	}
	r = kagami_vendor->vcpu_create(vcpu);
	if (!r)
		r = kagami_vcpu_create_extras(vcpu);
	if (r) {
		kagami_vcpu_free(vcpu);
		goto out;
	}
	/* The caller's VM fd holds a reference, so this one never is the last. */
	kref_get(&vm->ref);
	r = anon_inode_getfd("kagami-vcpu", &kagami_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (r < 0) {
		kagami_vm_put(vm);
		kagami_vcpu_free(vcpu);
		goto out;
	}
	/* Complete before it is seen: interrupt delivery reads vcpus[] without the lock. */
	smp_store_release(&vm->vcpus[id], vcpu);
	vm->nr_vcpus++;
out:
	mutex_unlock(&vm->lock);
	return r;
}
