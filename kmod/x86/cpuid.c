// SPDX-License-Identifier: GPL-2.0
/* cpuid.c: KVM_GET_SUPPORTED_CPUID, the per-vCPU table (SET/GET_CPUID2), the exit's lookup. */
#include <linux/bits.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>

#include "core/kagami.h"
#include "x86/kvmclock.h"

/*
 * Allow-lists, so a feature this module cannot virtualise never leaks to the
 * guest: no VMX/SVM, MONITOR, XSAVE and what depends on it (AVX, FMA, F16C:
 * the guest FPU state is switched with FXSAVE), PCID, MTRR (its MSRs are not
 * emulated), performance monitoring. MCE and MCA are offered as KVM offers
 * them: x86/msrs.c emulates KVM's default machine-check banks. RDTSCP and
 * RDPID stay where the CPU has them: the guest's TSC_AUX is loaded around
 * VMRUN. x2APIC is
 * set whatever the host has, as KVM: the local APIC is emulated (x86/lapic/).
 * TSC deadline is not listed, as KVM: VMMs learn it from
 * KVM_CAP_TSC_DEADLINE_TIMER.
 */
/* FPU..PAE, MCE, CX8, APIC, SEP, PGE, MCA, CMOV, PAT, PSE36, CLFSH, MMX, FXSR, SSE, SSE2 */
#define LEAF1_EDX	(0x078bab7fU | BIT(7) | BIT(14))
#define LEAF1_ECX	(BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | \
			 BIT(23) | BIT(25) | BIT(30))
#define LEAF1_ECX_HYPERVISOR	BIT(31)
#define LEAF1_ECX_X2APIC	BIT(21)
#define LEAF7_EBX	(BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(18) | BIT(19) | \
			 BIT(20) | BIT(23) | BIT(29))
#define EXT1_ECX	(BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8))
#define LEAF7_ECX	BIT(22)		/* RDPID */
#define EXT1_EDX	((LEAF1_EDX & 0x0183f3ffU) | BIT(11) | BIT(20) | BIT(22) | BIT(26) | BIT(27) | \
			 BIT(29) | BIT(30) | BIT(31))
#define MAX_BASIC_LEAF	0xd
#define MAX_EXT_LEAF	0x80000008

struct cpuid_list {
	struct kvm_cpuid_entry2 *entries;
	u32 nent, max;
};

static int cpuid_add(struct cpuid_list *l, u32 function, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *e;

	if (l->nent >= l->max)
		return -E2BIG;
	e = &l->entries[l->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = flags;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	switch (function) {
	case 1:
		e->ecx = (e->ecx & LEAF1_ECX) | LEAF1_ECX_X2APIC | LEAF1_ECX_HYPERVISOR;
		e->edx &= LEAF1_EDX;
		break;
	case 7:
		if (index == 0)
			e->eax = 0;	/* no subleaf 1 */
		e->ebx &= LEAF7_EBX;
		e->ecx &= LEAF7_ECX;
		e->edx = 0;
		break;
	case 5: case 6: case 0xa: case 0xd:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0:
		e->eax = min_t(u32, e->eax, MAX_BASIC_LEAF);
		break;
	case 0x80000000:
		e->eax = min_t(u32, e->eax, MAX_EXT_LEAF);
		break;
	case 0x80000001:
		e->ecx &= EXT1_ECX;
		e->edx &= EXT1_EDX;
		break;
	case 0x80000007:
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= BIT(8);	/* invariant TSC */
		break;
	case 0x80000008:
		e->ebx = e->ecx = e->edx = 0;
		break;
	}
	return 0;
}

/* Leaves whose subleaves differ: 4 and 0xb until an empty one, 7 per its EAX. */
static int cpuid_add_leaf(struct cpuid_list *l, u32 function)
{
	u32 eax, ebx, ecx, edx, i;
	int r;

	switch (function) {
	case 4:
	case 0xb:
		for (i = 0; i < 8; i++) {
			cpuid_count(function, i, &eax, &ebx, &ecx, &edx);
			if (function == 4 ? !(eax & 0x1f) : !((ecx >> 8) & 0xff))
				break;
			r = cpuid_add(l, function, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
			if (r)
				return r;
		}
		return 0;
	case 7:
		return cpuid_add(l, 7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	default:
		return cpuid_add(l, function, 0, 0);
	}
}

/* The hypervisor leaves (kvm-clock's): KVM lists them between the basic and extended ones. */
static int cpuid_add_kvm(struct cpuid_list *l, u32 function)
{
	struct kvm_cpuid_entry2 *e;
	u32 out[4];

	if (l->nent >= l->max)
		return -E2BIG;
	kagami_kvmclock_cpuid(function, out);
	e = &l->entries[l->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->eax = out[0];
	e->ebx = out[1];
	e->ecx = out[2];
	e->edx = out[3];
	return 0;
}

static int cpuid_fill(struct cpuid_list *l)
{
	u32 max = min_t(u32, cpuid_eax(0), MAX_BASIC_LEAF);
	u32 f;
	int r;

	for (f = 0; f <= max; f++) {
		r = cpuid_add_leaf(l, f);
		if (r)
			return r;
	}
	for (f = KVM_CPUID_SIGNATURE; f <= KVM_CPUID_FEATURES; f++) {
		r = cpuid_add_kvm(l, f);
		if (r)
			return r;
	}
	max = min_t(u32, cpuid_eax(0x80000000), MAX_EXT_LEAF);
	for (f = 0x80000000; f <= max; f++) {
		r = cpuid_add_leaf(l, f);
		if (r)
			return r;
	}
	return 0;
}

/* As KVM: nent says how many entries fit; too few is -E2BIG. */
long kagami_get_supported_cpuid(struct kvm_cpuid2 __user *argp)
{
	struct cpuid_list l = {};
	struct kvm_cpuid2 head;
	long r;

	if (copy_from_user(&head, argp, sizeof(head)))
		return -EFAULT;
	if (head.nent < 1)
		return -E2BIG;
	l.max = min_t(u32, head.nent, KAGAMI_MAX_CPUID_ENTRIES);
	l.entries = kvcalloc(l.max, sizeof(*l.entries), GFP_KERNEL_ACCOUNT);
	if (!l.entries)
		return -ENOMEM;
	r = cpuid_fill(&l);
	if (!r) {
		head.nent = l.nent;
		if (copy_to_user(argp, &head, sizeof(head)) ||
		    copy_to_user(argp->entries, l.entries, l.nent * sizeof(*l.entries)))
			r = -EFAULT;
	}
	kvfree(l.entries);
	return r;
}

long kagami_vcpu_set_cpuid2(struct kagami_vcpu *vcpu, struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 *entries = NULL;
	struct kvm_cpuid2 head;

	if (copy_from_user(&head, argp, sizeof(head)))
		return -EFAULT;
	if (head.nent > KAGAMI_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (head.nent) {
		entries = vmemdup_user(argp->entries, array_size(head.nent, sizeof(*entries)));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = entries;
	vcpu->cpuid_nent = head.nent;
	return 0;
}

long kagami_vcpu_get_cpuid2(struct kagami_vcpu *vcpu, struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 head;
	long r = 0;

	if (copy_from_user(&head, argp, sizeof(head)))
		return -EFAULT;
	if (head.nent < vcpu->cpuid_nent)
		r = -E2BIG;
	else if (copy_to_user(argp->entries, vcpu->cpuid,
			      array_size(vcpu->cpuid_nent, sizeof(*vcpu->cpuid))))
		return -EFAULT;
	head.nent = vcpu->cpuid_nent;
	if (copy_to_user(argp, &head, sizeof(head)))
		return -EFAULT;
	return r;
}

/* The table's entry for (function, index); zeros when there is none, as KVM on AMD. */
void kagami_cpuid_lookup(struct kagami_vcpu *vcpu, u32 function, u32 index, u32 out[4])
{
	u32 i;

	out[0] = out[1] = out[2] = out[3] = 0;
	for (i = 0; i < vcpu->cpuid_nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		out[0] = e->eax;
		out[1] = e->ebx;
		out[2] = e->ecx;
		out[3] = e->edx;
		return;
	}
}
