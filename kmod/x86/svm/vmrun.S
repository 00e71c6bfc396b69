/* SPDX-License-Identifier: GPL-2.0 */
/* vmrun.S: the world switch: host state saved, guest GPRs in, VMRUN, guest GPRs out. */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

/* Offsets in the GPR array, enum kagami_gpr order (RAX and RSP live in the VMCB). */
#define G_RCX	(1 * 8)
#define G_RDX	(2 * 8)
#define G_RBX	(3 * 8)
#define G_RBP	(5 * 8)
#define G_RSI	(6 * 8)
#define G_RDI	(7 * 8)
#define G_R8	(8 * 8)
#define G_R9	(9 * 8)
#define G_R10	(10 * 8)
#define G_R11	(11 * 8)
#define G_R12	(12 * 8)
#define G_R13	(13 * 8)
#define G_R14	(14 * 8)
#define G_R15	(15 * 8)

	.section .noinstr.text, "ax"

/*
 * void kagami_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_save_pa)
 *
 * Called with GIF clear (CLGI), so no interrupt or NMI arrives while the
 * guest's FS, GS and syscall MSRs are loaded. VMRUN itself switches only
 * part of the state: VMSAVE of the host into host_save_pa first, VMLOAD of
 * the guest's FS/GS/TR/LDTR/KERNEL_GS_BASE/STAR/LSTAR/CSTAR/SFMASK/SYSENTER
 * before VMRUN and VMSAVE after it, then VMLOAD of the host's back.
 */
SYM_FUNC_START(kagami_svm_vmrun)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rsi		/* 16(%rsp): gprs */
	push %rdx		/*  8(%rsp): host_save_pa */
	push %rdi		/*  0(%rsp): vmcb_pa */

	mov  %rdx, %rax
	vmsave %rax
	mov  (%rsp), %rax
	vmload %rax

	mov  %rsi, %rdi
	mov  G_RCX(%rdi), %rcx
	mov  G_RDX(%rdi), %rdx
	mov  G_RBX(%rdi), %rbx
	mov  G_RBP(%rdi), %rbp
	mov  G_RSI(%rdi), %rsi
	mov  G_R8(%rdi), %r8
	mov  G_R9(%rdi), %r9
	mov  G_R10(%rdi), %r10
	mov  G_R11(%rdi), %r11
	mov  G_R12(%rdi), %r12
	mov  G_R13(%rdi), %r13
	mov  G_R14(%rdi), %r14
	mov  G_R15(%rdi), %r15
	mov  G_RDI(%rdi), %rdi

	vmrun %rax

	/* RAX and RSP are the host's again (VMRUN saved them); the rest is the guest's. */
	push %rdi
	mov  24(%rsp), %rdi
	mov  %rcx, G_RCX(%rdi)
	mov  %rdx, G_RDX(%rdi)
	mov  %rbx, G_RBX(%rdi)
	mov  %rbp, G_RBP(%rdi)
	mov  %rsi, G_RSI(%rdi)
	mov  %r8, G_R8(%rdi)
	mov  %r9, G_R9(%rdi)
	mov  %r10, G_R10(%rdi)
	mov  %r11, G_R11(%rdi)
	mov  %r12, G_R12(%rdi)
	mov  %r13, G_R13(%rdi)
	mov  %r14, G_R14(%rdi)
	mov  %r15, G_R15(%rdi)
	pop  %rcx
	mov  %rcx, G_RDI(%rdi)

	vmsave %rax
	mov  8(%rsp), %rax
	vmload %rax

	/*
	 * The guest may have filled the return stack buffer with its own
	 * targets: overwrite it before the first RET where the kernel asks for
	 * that on VM exits (its Spectre-v2 mitigations), as KVM does. Only now:
	 * the fill uses RAX as its counter, and RAX held the VMCB address for
	 * the VMSAVE above.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE

	/* No guest value stays in a register the C code might spill. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d

	add  $24, %rsp
	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET
SYM_FUNC_END(kagami_svm_vmrun)
