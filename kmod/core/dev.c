// SPDX-License-Identifier: GPL-2.0
/* dev.c: the system fd (/dev/kagami): API version, capabilities, CPUID, VM creation. */
#include <linux/fs.h>
#include <linux/module.h>

#include "core/irq.h"
#include "core/kagami.h"

/*
 * The capabilities really implemented (vm is NULL on the system fd).
 * KVM_CAP_SYNC_MMU stays 0: guest pages are pinned, not followed (docs/kmod.md).
 */
long kagami_check_extension(struct kagami_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_XSAVE:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_TSC_DEADLINE_TIMER:
		return 1;
	case KVM_CAP_IRQ_ROUTING:
		return KAGAMI_MAX_IRQ_ROUTES;	/* as KVM: the most entries a table may have */
	case KVM_CAP_ADJUST_CLOCK:
		/* As KVM 6.1: the flags KVM_GET_CLOCK may return and KVM_SET_CLOCK takes. */
		return KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	case KVM_CAP_XCRS:
		return kagami_has_xcrs();
	case KVM_CAP_DEBUGREGS:
		return 1;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_MAX_VCPU_ID:
		return KAGAMI_MAX_VCPUS;
	case KVM_CAP_NR_MEMSLOTS:
		return KAGAMI_MAX_MEMSLOTS;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		/* As KVM: the flags KVM_ENABLE_CAP takes (core/dirty.c). */
		return KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
	default:
		return 0;
	}
}

static long kagami_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KAGAMI_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return kagami_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : KAGAMI_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_CREATE_VM:
		return kagami_vm_create(arg);
	case KVM_GET_SUPPORTED_CPUID:
		return kagami_get_supported_cpuid((struct kvm_cpuid2 __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
		return kagami_get_msr_index_list((struct kvm_msr_list __user *)arg);
	default:
		return -ENOTTY;
	}
}

/* .owner pins the module while /dev/kagami is open. */
const struct file_operations kagami_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kagami_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
