// SPDX-License-Identifier: GPL-2.0
/* exit.c: the SVM exit table: resume the guest (1), go to userspace (0) or fail (-errno). */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/string.h>

#include "x86/lapic.h"
#include "x86/svm/svm.h"

#define UD_VECTOR	6
#define GP_VECTOR	13

/* Instruction lengths for CPUs without NRIP save (QEMU TCG). */
#define LEN_CPUID	2
#define LEN_HLT		1
#define LEN_XSETBV	3
#define LEN_INVD	2

typedef int (*svm_exit_handler)(struct kagami_vcpu *vcpu);

/* Handled by the host once GIF is set again (interrupts, NMIs, SMIs) or not at all (INIT). */
static int svm_exit_nop(struct kagami_vcpu *vcpu)
{
	return 1;
}

/* SVM instructions, MONITOR/MWAIT and RDPRU are not offered to the guest: #UD, as KVM. */
static int svm_exit_ud(struct kagami_vcpu *vcpu)
{
	svm_inject_exception(to_svm(vcpu), UD_VECTOR, false, 0);
	return 1;
}

static int svm_exit_cpuid(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *rax = &svm->vmcb->save.rax;
	u32 out[4];

	kagami_cpuid_lookup(vcpu, *rax, svm->gprs[KAGAMI_RCX], out);
	*rax = out[0];
	svm->gprs[KAGAMI_RBX] = out[1];
	svm->gprs[KAGAMI_RCX] = out[2];
	svm->gprs[KAGAMI_RDX] = out[3];
	svm_skip_insn(svm, LEN_CPUID);
	return 1;
}

/*
 * With an in-kernel LAPIC the vCPU halts in the kernel (mp_state.c); without
 * one, userspace decides what a halted vCPU waits for, as KVM.
 */
static int svm_exit_hlt(struct kagami_vcpu *vcpu)
{
	if (kagami_lapic_in_kernel(vcpu->vm))
		return svm_exit_hlt_in_kernel(vcpu);
	svm_skip_insn(to_svm(vcpu), LEN_HLT);
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/*
 * The GPR of MOV CR8, reg (0F 22 /r with REX.R, or LOCK 0F 22 /r, AMD's
 * AltMovCr8): from the decode assist, else from the instruction bytes.
 * Returns the GPR number and sets *len, or -1 if it is not such a MOV.
 */
static int svm_cr8_source(struct kagami_vcpu *vcpu, struct svm_vcpu *svm, unsigned int *len)
{
	u64 info = svm->vmcb->control.exit_info_1;
	bool long_mode = svm_guest_cpu_mode(svm->vmcb) == 64;
	u8 bytes[KAGAMI_INSN_MAX_LEN], rex = 0;
	unsigned int n, i = 0, cr = 0;

	*len = 0;
	/* The assist gives no length: it is enough when next_rip is saved too. */
	if ((info & SVM_CR_VALID) && svm_has_nrips())
		return info & 0xf;
	n = svm_fetch_insn(vcpu, svm, bytes);
	for (; i < n; i++) {
		u8 b = bytes[i];

		if (b == 0xf0)
			cr = 8;
		else if (b != 0x66 && b != 0x67 && b != 0xf2 && b != 0xf3 && b != 0x26 &&
			 b != 0x2e && b != 0x36 && b != 0x3e && b != 0x64 && b != 0x65)
			break;
	}
	if (long_mode && i < n && (bytes[i] & 0xf0) == 0x40)
		rex = bytes[i++];
	if (i + 3 > n || bytes[i] != 0x0f || bytes[i + 1] != 0x22)
		return -1;
	cr |= ((bytes[i + 2] >> 3) & 7) | (rex & 4 ? 8 : 0);
	if (cr != 8)
		return -1;
	*len = i + 3;
	return (bytes[i + 2] & 7) | (rex & 1 ? 8 : 0);
}

/* A CR8 write while TPR blocks an interrupt (events.c intercepts it): to the LAPIC's TPR. */
int svm_exit_cr8_write(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;
	unsigned int len;
	int gpr = svm_cr8_source(vcpu, svm, &len);
	u64 value;

	if (gpr < 0 || !vcpu->lapic) {
		svm_inject_exception(svm, UD_VECTOR, false, 0);
		return 1;
	}
	value = gpr == KAGAMI_RAX ? s->rax : gpr == KAGAMI_RSP ? s->rsp : svm->gprs[gpr];
	/* SDM, MOV CR8: reserved bits 63:4 set is #GP(0). */
	if (value & ~VMCB_V_TPR_MASK) {
		svm_inject_exception(svm, GP_VECTOR, true, 0);
		return 1;
	}
	kagami_lapic_set_cr8(vcpu, value);
	svm_skip_insn(svm, len);
	return 1;
}

/* INVD and WBINVD: the caches are coherent for the guest; skip, as KVM. */
static int svm_exit_skip2(struct kagami_vcpu *vcpu)
{
	svm_skip_insn(to_svm(vcpu), LEN_INVD);
	return 1;
}

/* XSAVE is not offered (CPUID hides it), so XSETBV is #GP... unless CR4.OSXSAVE is clear: #UD. */
static int svm_exit_xsetbv(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!(svm->vmcb->save.cr4 & X86_CR4_OSXSAVE))
		svm_inject_exception(svm, UD_VECTOR, false, 0);
	else
		svm_inject_exception(svm, GP_VECTOR, true, 0);
	return 1;
}

static int svm_exit_shutdown(struct kagami_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static const svm_exit_handler svm_exit_handlers[] = {
	[SVM_EXIT_WRITE_CR8] = svm_exit_cr8_write,
	[SVM_EXIT_INTR] = svm_exit_nop,
	[SVM_EXIT_NMI] = svm_exit_nop,
	[SVM_EXIT_SMI] = svm_exit_nop,
	[SVM_EXIT_INIT] = svm_exit_nop,
	[SVM_EXIT_VINTR] = svm_exit_vintr,
	[SVM_EXIT_IRET] = svm_exit_iret,
	[SVM_EXIT_CPUID] = svm_exit_cpuid,
	[SVM_EXIT_INVD] = svm_exit_skip2,
	[SVM_EXIT_HLT] = svm_exit_hlt,
	[SVM_EXIT_INVLPGA] = svm_exit_ud,
	[SVM_EXIT_IOIO] = svm_handle_io,
	[SVM_EXIT_MSR] = svm_handle_msr,
	[SVM_EXIT_SHUTDOWN] = svm_exit_shutdown,
	[SVM_EXIT_VMRUN] = svm_exit_ud,
	[SVM_EXIT_VMMCALL] = svm_exit_ud,
	[SVM_EXIT_VMLOAD] = svm_exit_ud,
	[SVM_EXIT_VMSAVE] = svm_exit_ud,
	[SVM_EXIT_STGI] = svm_exit_ud,
	[SVM_EXIT_CLGI] = svm_exit_ud,
	[SVM_EXIT_SKINIT] = svm_exit_ud,
	[SVM_EXIT_WBINVD] = svm_exit_skip2,
	[SVM_EXIT_MONITOR] = svm_exit_ud,
	[SVM_EXIT_MWAIT] = svm_exit_ud,
	[SVM_EXIT_MWAIT_COND] = svm_exit_ud,
	[SVM_EXIT_XSETBV] = svm_exit_xsetbv,
	[SVM_EXIT_RDPRU] = svm_exit_ud,
};

int svm_handle_exit(struct kagami_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u64 code = c->exit_code;

	if (code == SVM_EXIT_NPF)
		return svm_handle_npf(vcpu);
	if (code == SVM_EXIT_INVALID) {
		vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason = code;
		vcpu->run->fail_entry.cpu = to_svm(vcpu)->cpu;
		return 0;
	}
	if (code < ARRAY_SIZE(svm_exit_handlers) && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);
	pr_warn_ratelimited("vCPU %u: unexpected exit 0x%llx\n", vcpu->id, code);
	vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	vcpu->run->internal.ndata = 2;
	vcpu->run->internal.data[0] = code;
	vcpu->run->internal.data[1] = c->exit_info_1;
	return 0;
}
