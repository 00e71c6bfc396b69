// SPDX-License-Identifier: GPL-2.0
/* msrs.c: KVM_GET_MSR_INDEX_LIST, KVM_GET/SET_MSRS and the vendor-neutral MSRs (machine check). */
#include <linux/kernel.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>

#include "core/kagami.h"
#include "x86/kvmclock.h"
#include "x86/lapic.h"
#include "x86/msrs.h"

#define KAGAMI_MAX_IO_MSRS	256	/* KVM's MAX_IO_MSRS */

/*
 * What a VMM must save and restore, as KVM's msrs_to_save (FS/GS_BASE travel
 * in the sregs) and the emulated MSRs it lists after them: kvm-clock's, the
 * LAPIC's TSC deadline, MCG_STATUS/MCG_CTL (kvm-amd lists both; VMMs save the
 * banks themselves, from MCG_CAP's count), HWCR and UCODE_REV.
 */
static const u32 kagami_msrs_to_save[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT, MSR_IA32_TSC, MSR_TSC_AUX, MSR_IA32_MISC_ENABLE, MSR_IA32_APICBASE,
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
	MSR_IA32_TSC_DEADLINE, MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL, MSR_K7_HWCR, MSR_IA32_UCODE_REV,
};

#define HWCR_MC_STATUS_WR_EN	BIT_ULL(18)
/* kvm-amd's microcode revision at a vCPU's creation (svm.c's init_vmcb()). */
#define KAGAMI_UCODE_REV	0x01000065ULL

/*
 * Model-specific MSRs Linux reads at boot on AMD models (K8's erratum 400
 * check reads INT_PENDING_MSG unguarded): KVM's kvm_get_msr_common() reads
 * them as 0, and kvm_set_msr_common() ignores writes to some (the rest #GP).
 * The legacy performance counters are among them, as KVM without a vPMU:
 * perf's probe then finds counters that do not count and uses software events.
 */
static bool msr_reads_zero(u32 index)
{
	switch (index) {
	case MSR_IA32_PLATFORM_ID: case MSR_IA32_EBL_CR_POWERON:
	case MSR_IA32_LASTBRANCHFROMIP: case MSR_IA32_LASTBRANCHTOIP:
	case MSR_IA32_LASTINTFROMIP: case MSR_IA32_LASTINTTOIP:
	case MSR_AMD64_SYSCFG: case MSR_K8_TSEG_ADDR: case MSR_K8_TSEG_MASK:
	case MSR_K8_INT_PENDING_MSG: case MSR_AMD64_NB_CFG: case MSR_FAM10H_MMIO_CONF_BASE:
	case MSR_AMD64_BU_CFG2: case MSR_IA32_PERF_CTL: case MSR_AMD64_DC_CFG:
	case MSR_AMD64_TW_CFG: case MSR_F15H_EX_CFG: case MSR_RAPL_POWER_UNIT:
	case MSR_IA32_P5_MC_ADDR: case MSR_IA32_P5_MC_TYPE:
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3: case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
	case MSR_P6_EVNTSEL0 ... MSR_P6_EVNTSEL1: case MSR_P6_PERFCTR0 ... MSR_P6_PERFCTR1:
		return true;
	}
	return false;
}

static bool msr_ignores_writes(u32 index)
{
	switch (index) {
	case MSR_AMD64_NB_CFG: case MSR_IA32_UCODE_WRITE: case MSR_AMD64_PATCH_LOADER:
	case MSR_AMD64_BU_CFG2: case MSR_AMD64_DC_CFG: case MSR_AMD64_TW_CFG:
	case MSR_F15H_EX_CFG:
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3: case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
	case MSR_P6_EVNTSEL0 ... MSR_P6_EVNTSEL1: case MSR_P6_PERFCTR0 ... MSR_P6_PERFCTR1:
		return true;
	}
	return false;
}

/*
 * The machine-check banks, as KVM without KVM_X86_SETUP_MCE (which the module
 * does not offer yet): MCG_CAP reports 32 banks, no MCG_CTL_P, no CMCI. So
 * MCG_CTL and MCi_CTL2 exist for userspace only, always 0 (SDM 15.3.1,
 * 15.5.1). Returns the bank MSR's slot in vcpu->mce_banks, or -1.
 */
static int mce_bank_slot(u32 index)
{
	u32 n = KAGAMI_MCE_BANKS * 4;

	if (index < MSR_IA32_MC0_CTL || index >= MSR_IA32_MC0_CTL + n)
		return -1;
	return array_index_nospec(index - MSR_IA32_MC0_CTL, n);
}

static int mce_get(struct kagami_vcpu *vcpu, u32 index, u64 *value, bool host)
{
	int slot = mce_bank_slot(index);

	if (slot >= 0) {
		*value = vcpu->mce_banks[slot];
		return 0;
	}
	switch (index) {
	case MSR_IA32_MCG_CAP:
		*value = KAGAMI_MCE_BANKS;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*value = vcpu->mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
	case MSR_IA32_MC0_CTL2 ... MSR_IA32_MC0_CTL2 + KAGAMI_MCE_BANKS - 1:
		*value = 0;
		return host ? 0 : -EINVAL;
	}
	return -ENOENT;
}

/*
 * MCi_CTL takes 0 or all ones, less bit 10 (Linux's K8 GART erratum work-
 * around on bank 4) or bit 0 (UnixWare), as KVM allows. MCi_STATUS takes only
 * 0 from the guest unless HWCR.McStatusWrEn is set (APM 9.3.2).
 */
static int mce_set(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host)
{
	int slot = mce_bank_slot(index);

	if (slot >= 0) {
		if (slot % 4 == 0 && value && (value | BIT_ULL(10) | 1) != ~0ULL)
			return -EINVAL;
		if (slot % 4 == 1 && value && !host && !(vcpu->hwcr & HWCR_MC_STATUS_WR_EN))
			return -EINVAL;
		vcpu->mce_banks[slot] = value;
		return 0;
	}
	switch (index) {
	case MSR_IA32_MCG_STATUS:
		vcpu->mcg_status = value;
		return 0;
	case MSR_IA32_MCG_CAP:
		return -EINVAL;
	case MSR_IA32_MCG_CTL:
	case MSR_IA32_MC0_CTL2 ... MSR_IA32_MC0_CTL2 + KAGAMI_MCE_BANKS - 1:
		return host && !value ? 0 : -EINVAL;
	}
	return -ENOENT;
}

int kagami_msr_common_get(struct kagami_vcpu *vcpu, u32 index, u64 *value, bool host)
{
	if (msr_reads_zero(index)) {
		*value = 0;
		return 0;
	}
	switch (index) {
	case MSR_K7_HWCR:
		*value = vcpu->hwcr;
		return 0;
	case MSR_IA32_UCODE_REV:
		*value = vcpu->ucode_rev_set ? vcpu->ucode_rev : KAGAMI_UCODE_REV;
		return 0;
	}
	return mce_get(vcpu, index, value, host);
}

/*
 * HWCR, as KVM: the bits Linux sets on old models (FFDIS, IGNNE emulation,
 * TLB cache disable) are ignored; McStatusWrEn is kept; any other bit #GPs.
 */
static int hwcr_set(struct kagami_vcpu *vcpu, u64 value)
{
	value &= ~(BIT_ULL(6) | BIT_ULL(8) | BIT_ULL(3));
	if (value & ~HWCR_MC_STATUS_WR_EN)
		return -EINVAL;
	vcpu->hwcr = value;
	return 0;
}

int kagami_msr_common_set(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host)
{
	if (msr_ignores_writes(index))
		return 0;
	switch (index) {
	case MSR_IA32_P5_MC_ADDR:
	case MSR_IA32_P5_MC_TYPE:
		return -EINVAL;
	case MSR_K7_HWCR:
		return hwcr_set(vcpu, value);
	case MSR_IA32_UCODE_REV:
		/* The guest's writes (a microcode loader's) are ignored. */
		if (host) {
			vcpu->ucode_rev = value;
			vcpu->ucode_rev_set = true;
		}
		return 0;
	}
	return mce_set(vcpu, index, value, host);
}

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

/*
 * One MSR from userspace: the in-kernel LAPIC's, kvm-clock's and the common
 * ones first (each -ENOENT when the index is not its own), then the vendor's.
 * Without a LAPIC, TSC_DEADLINE reads 0 and ignores writes, as KVM. 0 or an
 * error.
 */
static int kagami_msr_one(struct kagami_vcpu *vcpu, struct kvm_msr_entry *e, bool set)
{
	int r = -ENOENT;

	if (!vcpu->lapic && e->index == MSR_IA32_TSC_DEADLINE) {
		if (!set)
			e->data = 0;
		return 0;
	}
	if (vcpu->lapic)
		r = set ? kagami_lapic_set_msr(vcpu, e->index, e->data, true) :
			  kagami_lapic_get_msr(vcpu, e->index, &e->data, true);
	if (r == -ENOENT)
		r = set ? kagami_kvmclock_set_msr(vcpu, e->index, e->data, true) :
			  kagami_kvmclock_get_msr(vcpu, e->index, &e->data);
	if (r == -ENOENT)
		r = set ? kagami_msr_common_set(vcpu, e->index, e->data, true) :
			  kagami_msr_common_get(vcpu, e->index, &e->data, true);
	if (r == -ENOENT)
		r = set ? kagami_vendor->set_msr(vcpu, e->index, e->data, true) :
			  kagami_vendor->get_msr(vcpu, e->index, &e->data);
	return r < 0 ? r : 0;
}

/* Returns how many entries were processed: KVM stops at the first refused one. */
static int kagami_msrs_do(struct kagami_vcpu *vcpu, struct kvm_msr_entry *e, u32 n, bool set)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (kagami_msr_one(vcpu, &e[i], set))
			break;
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
