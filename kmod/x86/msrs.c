// SPDX-License-Identifier: GPL-2.0
/* msrs.c: KVM_GET_MSR_INDEX_LIST and KVM_GET/SET_MSRS for the MSRs the module saves and restores. */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>

#include "core/kagami.h"

#define KAGAMI_MAX_IO_MSRS	256	/* KVM's MAX_IO_MSRS */

/* What a VMM must save and restore, as KVM's msrs_to_save (FS/GS_BASE travel in the sregs). */
static const u32 kagami_msrs_to_save[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT, MSR_IA32_TSC, MSR_TSC_AUX, MSR_IA32_MISC_ENABLE, MSR_IA32_APICBASE,
};

/* As KVM: nmsrs is always written back; too small is -E2BIG after that. */
long kagami_get_msr_index_list(struct kvm_msr_list __user *argp)
{
	u32 n, total = ARRAY_SIZE(kagami_msrs_to_save);

	if (get_user(n, &argp->nmsrs))
		return -EFAULT;
	if (put_user(total, &argp->nmsrs))
		return -EFAULT;
	if (n < total)
		return -E2BIG;
	if (copy_to_user(argp->indices, kagami_msrs_to_save, sizeof(kagami_msrs_to_save)))
		return -EFAULT;
	return 0;
}

/* Returns how many entries were processed: KVM stops at the first refused one. */
static int kagami_msrs_do(struct kagami_vcpu *vcpu, struct kvm_msr_entry *e, u32 n, bool set)
{
	u32 i;

	for (i = 0; i < n; i++) {
		int r = set ? kagami_vendor->set_msr(vcpu, e[i].index, e[i].data, true) :
			      kagami_vendor->get_msr(vcpu, e[i].index, &e[i].data);
		if (r)
			break;
	}
	return i;
}

long kagami_vcpu_msrs(struct kagami_vcpu *vcpu, struct kvm_msrs __user *argp, bool set)
{
	struct kvm_msr_entry *entries;
	struct kvm_msrs head;
	size_t size;
	long r;

	if (copy_from_user(&head, argp, sizeof(head)))
		return -EFAULT;
	if (head.nmsrs >= KAGAMI_MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(*entries) * head.nmsrs;
	entries = memdup_user(argp->entries, size);
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	r = kagami_msrs_do(vcpu, entries, head.nmsrs, set);
	if (!set && copy_to_user(argp->entries, entries, size))
		r = -EFAULT;
	kfree(entries);
	return r;
}
