// SPDX-License-Identifier: GPL-2.0
/* msr.c: RDMSR and WRMSR exits: the MSRs the module emulates; any other one is #GP(0). */
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "x86/kvmclock.h"
#include "x86/lapic.h"
#include "x86/msrs.h"
#include "x86/svm/svm.h"

#define GP_VECTOR	13
#define LEN_MSR		2

static bool is_canonical(u64 addr)
{
	return (u64)((s64)(addr << 16) >> 16) == addr;
}

/* A PAT entry is one of UC, WC, WT, WP, WB, UC- (0, 1, 4, 5, 6, 7). */
static bool pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

u64 svm_tsc_offset(struct kagami_vcpu *vcpu)
{
	return READ_ONCE(to_svm(vcpu)->vmcb->control.tsc_offset);
}

/*
 * KVM's kvm_synchronize_tsc(): userspace writing 0 (a vCPU's reset, as QEMU
 * and the kagami VMM do) or a value within a second of the VM's TSC means
 * "in step with the other vCPUs": the vCPU takes the VM's offset, so every
 * TSC agrees (and kvm-clock can promise a stable clock). Any other value
 * starts a new offset, which the next vCPUs written in step then share.
 */
static void svm_write_tsc_host(struct kagami_vcpu *vcpu, u64 value)
{
	struct svm_vm *svm_vm = vcpu->vm->vendor;
	u64 one_second = (u64)tsc_khz * 1000, vm_tsc, offset;

	mutex_lock(&vcpu->vm->lock);
	vm_tsc = rdtsc() + svm_vm->tsc_offset;
	if (value == 0 || (value < vm_tsc + one_second && value + one_second > vm_tsc))
		offset = svm_vm->tsc_offset;
	else
		offset = svm_vm->tsc_offset = value - rdtsc();
	mutex_unlock(&vcpu->vm->lock);
	WRITE_ONCE(to_svm(vcpu)->vmcb->control.tsc_offset, offset);
}

/* 0 with *value, or -1 for #GP. */
int svm_get_msr(struct kagami_vcpu *vcpu, u32 index, u64 *value)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	switch (index) {
	case MSR_EFER:
		*value = vmcb->save.efer & ~AMD_EFER_SVME;
		break;
	case MSR_IA32_CR_PAT:
		*value = vmcb->save.g_pat;
		break;
	case MSR_IA32_TSC:
		*value = rdtsc() + vmcb->control.tsc_offset;
		break;
	case MSR_IA32_SYSENTER_CS:
		*value = vmcb->save.sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_ESP:
		*value = vmcb->save.sysenter_esp;
		break;
	case MSR_IA32_SYSENTER_EIP:
		*value = vmcb->save.sysenter_eip;
		break;
	case MSR_STAR:
		*value = vmcb->save.star;
		break;
	case MSR_LSTAR:
		*value = vmcb->save.lstar;
		break;
	case MSR_CSTAR:
		*value = vmcb->save.cstar;
		break;
	case MSR_SYSCALL_MASK:
		*value = vmcb->save.sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		*value = vmcb->save.kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*value = vmcb->save.fs.base;
		break;
	case MSR_GS_BASE:
		*value = vmcb->save.gs.base;
		break;
	case MSR_TSC_AUX:
		*value = svm->tsc_aux;
		break;
	case MSR_IA32_MISC_ENABLE:
		*value = svm->misc_enable;
		break;
	case MSR_IA32_APICBASE:
		*value = svm->apic_base;
		break;
	default:
		return -1;
	}
	return 0;
}

/* As KVM, userspace restoring state may change LME while paging is on; the guest may not. */
static int svm_set_efer(struct vmcb *vmcb, u64 value, bool host)
{
	u64 lma = vmcb->save.efer & EFER_LMA;

	if (value & ~svm_efer_allowed())
		return -1;
	/* LME may not change while paging is on; LMA is the CPU's to set. */
	if (!host && (vmcb->save.cr0 & X86_CR0_PG) && ((value ^ vmcb->save.efer) & EFER_LME))
		return -1;
	vmcb->save.efer = (value & ~EFER_LMA) | lma | AMD_EFER_SVME;
	return 0;
}

/*
 * APIC_BASE from userspace, as KVM's kvm_set_apic_base() without a local APIC:
 * no reserved bit (0-7, 9, 10: x2APIC is not offered, beyond MAXPHYADDR), so
 * x2APIC mode and the invalid x2APIC-without-xAPIC state are refused too.
 */
int svm_set_apic_base(struct svm_vcpu *svm, u64 value)
{
	u64 reserved = GENMASK_ULL(63, boot_cpu_data.x86_phys_bits) | 0x6ff;

	if (value & reserved)
		return -1;
	svm->apic_base = value;
	return 0;
}

int svm_set_msr(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	switch (index) {
	case MSR_EFER:
		return svm_set_efer(vmcb, value, host);
	case MSR_IA32_CR_PAT:
		if (!pat_valid(value))
			return -1;
		vmcb->save.g_pat = value;
		break;
	case MSR_IA32_TSC:
		if (host)
			svm_write_tsc_host(vcpu, value);
		else
			WRITE_ONCE(vmcb->control.tsc_offset, value - rdtsc());
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcb->save.sysenter_cs = value;
		break;
	case MSR_IA32_SYSENTER_ESP:
		vmcb->save.sysenter_esp = value;
		break;
	case MSR_IA32_SYSENTER_EIP:
		vmcb->save.sysenter_eip = value;
		break;
	case MSR_STAR:
		vmcb->save.star = value;
		break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!is_canonical(value))
			return -1;
		if (index == MSR_LSTAR)
			vmcb->save.lstar = value;
		else if (index == MSR_CSTAR)
			vmcb->save.cstar = value;
		else if (index == MSR_KERNEL_GS_BASE)
			vmcb->save.kernel_gs_base = value;
		else if (index == MSR_FS_BASE)
			vmcb->save.fs.base = value;
		else
			vmcb->save.gs.base = value;
		break;
	case MSR_SYSCALL_MASK:
		vmcb->save.sfmask = value;
		break;
	case MSR_TSC_AUX:
		if (value >> 32)
			return -1;
		svm->tsc_aux = value;
		break;
	case MSR_IA32_MISC_ENABLE:
		svm->misc_enable = value;
		break;
	case MSR_IA32_APICBASE:
		/* Fixed for the guest until an in-kernel local APIC exists. */
		if (host)
			return svm_set_apic_base(svm, value);
		return value == svm->apic_base ? 0 : -1;
	default:
		return -1;
	}
	return 0;
}

/*
 * The MSRs of the in-kernel LAPIC, kvm-clock and the vendor-neutral ones
 * (machine check, x86/msrs.c) come before SVM's own table: -ENOENT when none
 * owns the index, 0 done, 1 done and exit to userspace (an EOI exit), -EINVAL
 * for #GP.
 */
static int svm_msr_device(struct kagami_vcpu *vcpu, u32 index, bool write, u64 *value)
{
	int r = -ENOENT;

	if (vcpu->lapic)
		r = write ? kagami_lapic_set_msr(vcpu, index, *value, false) :
			    kagami_lapic_get_msr(vcpu, index, value, false);
	if (r == -ENOENT)
		r = write ? kagami_kvmclock_set_msr(vcpu, index, *value, false) :
			    kagami_kvmclock_get_msr(vcpu, index, value);
	if (r == -ENOENT)
		r = write ? kagami_msr_common_set(vcpu, index, *value, false) :
			    kagami_msr_common_get(vcpu, index, value, false);
	return r;
}

/* EXITINFO1: 0 for RDMSR, 1 for WRMSR; ECX the index, EDX:EAX the value. */
int svm_handle_msr(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	u32 index = svm->gprs[KAGAMI_RCX];
	bool write = vmcb->control.exit_info_1;
	u64 value = 0;
	int r;

	if (write)
		value = (u32)vmcb->save.rax | svm->gprs[KAGAMI_RDX] << 32;
	r = svm_msr_device(vcpu, index, write, &value);
	if (r == -ENOENT)
		r = write ? svm_set_msr(vcpu, index, value, false) :
			    svm_get_msr(vcpu, index, &value);
	if (r < 0) {
		svm_inject_exception(svm, GP_VECTOR, true, 0);
		return 1;
	}
	if (!write) {
		vmcb->save.rax = (u32)value;
		svm->gprs[KAGAMI_RDX] = value >> 32;
	}
	svm_skip_insn(svm, LEN_MSR);
	return r == 1 ? 0 : 1;
}
