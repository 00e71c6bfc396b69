// SPDX-License-Identifier: GPL-2.0
/* state.c: the VMCB at reset, its intercepts, and KVM_GET/SET_REGS, SREGS and DEBUGREGS. */
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "x86/lapic.h"
#include "x86/svm/svm.h"

#define DEFAULT_PAT	0x0007040600070406ULL
#define APIC_BASE_RESET	0xfee00800ULL	/* enabled, at 0xfee00000 */
#define APIC_BASE_BSP	BIT_ULL(8)

/* KVM's list: everything SVM itself offers, and what needs the kernel's care. */
#define MISC1_INTERCEPTS (INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_SMI | INTERCEPT_INIT | \
			  INTERCEPT_CPUID | INTERCEPT_INVD | INTERCEPT_HLT | INTERCEPT_INVLPGA | \
			  INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN)
#define MISC2_INTERCEPTS (INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | \
			  INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI | \
			  INTERCEPT_SKINIT | INTERCEPT_WBINVD | INTERCEPT_MONITOR | \
			  INTERCEPT_MWAIT | INTERCEPT_XSETBV | INTERCEPT_RDPRU)

static void seg_init(struct vmcb_seg *seg, u16 attrib)
{
	*seg = (struct vmcb_seg){ .attrib = attrib, .limit = 0xffff };
}

/* The x86 reset state, as KVM's kvm_vcpu_reset() and init_vmcb() leave it. */
void svm_vmcb_init(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	struct vmcb_save *s = &svm->vmcb->save;
	struct kagami_vm *vm = vcpu->vm;
	struct svm_vm *svm_vm = vm->vendor;

	c->intercept_misc1 = MISC1_INTERCEPTS;
	c->intercept_misc2 = MISC2_INTERCEPTS;
	c->iopm_base_pa = __pa(svm->iopm);
	c->msrpm_base_pa = __pa(svm->msrpm);
	c->int_ctl = VMCB_V_INTR_MASKING;
	c->nested_ctl = VMCB_NP_ENABLE;
	c->nested_cr3 = svm_vm->npt_root_pa;
	c->tsc_offset = svm_vm->tsc_offset;

	seg_init(&s->cs, 0x9b);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	seg_init(&s->ds, 0x93);
	seg_init(&s->es, 0x93);
	seg_init(&s->fs, 0x93);
	seg_init(&s->gs, 0x93);
	seg_init(&s->ss, 0x93);
	seg_init(&s->ldtr, 0x82);
	seg_init(&s->tr, 0x8b);
	seg_init(&s->gdtr, 0);
	seg_init(&s->idtr, 0);
	s->efer = AMD_EFER_SVME;
	s->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->rflags = X86_EFLAGS_FIXED;
	s->rip = 0xfff0;
	s->g_pat = DEFAULT_PAT;
	svm->gprs[KAGAMI_RDX] = 0x600;	/* family 6, as KVM */
	svm->apic_base = APIC_BASE_RESET | (vcpu->id ? 0 : APIC_BASE_BSP);
	/* FXSAVE image at reset: FCW 0x37f, MXCSR 0x1f80. */
	*(u16 *)&svm->fpu[0] = 0x37f;
	*(u32 *)&svm->fpu[24] = 0x1f80;
}

/* KVM puts CPUID(1).EAX (family, model, stepping) in EDX at reset, else 0x600. */
static u64 svm_reset_rdx(struct kagami_vcpu *vcpu)
{
	u32 i;

	for (i = 0; i < vcpu->cpuid_nent; i++)
		if (vcpu->cpuid[i].function == 1)
			return vcpu->cpuid[i].eax;
	return 0x600;
}

/*
 * KVM's kvm_vcpu_reset() and init_vmcb() for SVM (SDM table 9-1): INIT and
 * power-on both give the reset registers, segments, CR0/3/4, EFER, CR2, DR0-7
 * and drop every pending event; INIT keeps CR0.CD/NW, the x87/SSE state, PAT,
 * the TSC, APIC_BASE and the other MSRs, which power-on resets.
 */
void svm_vcpu_reset(struct kagami_vcpu *vcpu, bool init)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;
	u64 tsc_offset = svm->vmcb->control.tsc_offset;
	u64 cr0 = s->cr0, pat = s->g_pat, apic_base = svm->apic_base;
	u16 fcw = *(u16 *)&svm->fpu[0];
	u32 mxcsr = *(u32 *)&svm->fpu[24];

	svm_clear_events(svm);
	svm->pending = SVM_PENDING_NONE;
	memset(&svm->emul, 0, sizeof(svm->emul));
	memset(svm->gprs, 0, sizeof(svm->gprs));
	memset(svm->dr, 0, sizeof(svm->dr));
	s->rax = 0;
	s->rsp = 0;
	s->cr2 = 0;
	s->cr3 = 0;
	s->cr4 = 0;
	s->cpl = 0;
	svm->cr8 = 0;
	svm->v_tpr = 0;
	svm->vmcb->control.intercept_cr_write = 0;
	if (!init) {
		memset(svm->fpu, 0, sizeof(svm->fpu));
		s->star = 0;
		s->lstar = 0;
		s->cstar = 0;
		s->sfmask = 0;
		s->kernel_gs_base = 0;
		s->sysenter_cs = 0;
		s->sysenter_esp = 0;
		s->sysenter_eip = 0;
		svm->tsc_aux = 0;
		svm->misc_enable = 0;
		vcpu->xcr0 = XFEATURE_MASK_FP;
	}
	svm_vmcb_init(vcpu, svm);
	svm->vmcb->control.tsc_offset = tsc_offset;
	svm->gprs[KAGAMI_RDX] = svm_reset_rdx(vcpu);
	if (init) {
		s->cr0 = X86_CR0_ET | (cr0 & (X86_CR0_CD | X86_CR0_NW));
		s->g_pat = pat;
		svm->apic_base = apic_base;
		*(u16 *)&svm->fpu[0] = fcw;
		*(u32 *)&svm->fpu[24] = mxcsr;
	}
	/* Paging is off now: nothing the guest cached still applies. */
	svm->vmcb->control.tlb_control = VMCB_TLB_FLUSH_ALL;
}

int svm_get_regs(struct kagami_vcpu *vcpu, struct kvm_regs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const u64 *g = svm->gprs;

	*r = (struct kvm_regs){
		.rax = svm->vmcb->save.rax, .rbx = g[KAGAMI_RBX], .rcx = g[KAGAMI_RCX],
		.rdx = g[KAGAMI_RDX], .rsi = g[KAGAMI_RSI], .rdi = g[KAGAMI_RDI],
		.rsp = svm->vmcb->save.rsp, .rbp = g[KAGAMI_RBP],
		.r8 = g[KAGAMI_R8], .r9 = g[KAGAMI_R9], .r10 = g[KAGAMI_R10],
		.r11 = g[KAGAMI_R11], .r12 = g[KAGAMI_R12], .r13 = g[KAGAMI_R13],
		.r14 = g[KAGAMI_R14], .r15 = g[KAGAMI_R15],
		.rip = svm->vmcb->save.rip, .rflags = svm->vmcb->save.rflags,
	};
	return 0;
}

int svm_set_regs(struct kagami_vcpu *vcpu, const struct kvm_regs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *g = svm->gprs;

	svm->vmcb->save.rax = r->rax;
	g[KAGAMI_RBX] = r->rbx;
	g[KAGAMI_RCX] = r->rcx;
	g[KAGAMI_RDX] = r->rdx;
	g[KAGAMI_RSI] = r->rsi;
	g[KAGAMI_RDI] = r->rdi;
	svm->vmcb->save.rsp = r->rsp;
	g[KAGAMI_RBP] = r->rbp;
	g[KAGAMI_R8] = r->r8;
	g[KAGAMI_R9] = r->r9;
	g[KAGAMI_R10] = r->r10;
	g[KAGAMI_R11] = r->r11;
	g[KAGAMI_R12] = r->r12;
	g[KAGAMI_R13] = r->r13;
	g[KAGAMI_R14] = r->r14;
	g[KAGAMI_R15] = r->r15;
	svm->vmcb->save.rip = r->rip;
	/* As KVM: bit 1 always reads as one. */
	svm->vmcb->save.rflags = r->rflags | X86_EFLAGS_FIXED;
	return 0;
}

static void seg_to_kvm(const struct vmcb_seg *s, struct kvm_segment *k)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->attrib & 0xf, .s = (s->attrib >> 4) & 1,
		.dpl = (s->attrib >> 5) & 3, .present = (s->attrib >> 7) & 1,
		.avl = (s->attrib >> 8) & 1, .l = (s->attrib >> 9) & 1,
		.db = (s->attrib >> 10) & 1, .g = (s->attrib >> 11) & 1,
		.unusable = !((s->attrib >> 7) & 1),
	};
}

static void seg_from_kvm(struct vmcb_seg *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->attrib = 0;
	if (k->unusable)
		return;
	s->attrib = (k->type & 0xf) | (k->s & 1) << 4 | (k->dpl & 3) << 5 |
		    (k->present & 1) << 7 | (k->avl & 1) << 8 | (k->l & 1) << 9 |
		    (k->db & 1) << 10 | (k->g & 1) << 11;
}

int svm_get_sregs(struct kagami_vcpu *vcpu, struct kvm_sregs *k)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save *s = &svm->vmcb->save;

	memset(k, 0, sizeof(*k));
	seg_to_kvm(&s->cs, &k->cs);
	seg_to_kvm(&s->ds, &k->ds);
	seg_to_kvm(&s->es, &k->es);
	seg_to_kvm(&s->fs, &k->fs);
	seg_to_kvm(&s->gs, &k->gs);
	seg_to_kvm(&s->ss, &k->ss);
	seg_to_kvm(&s->tr, &k->tr);
	seg_to_kvm(&s->ldtr, &k->ldt);
	k->gdt.base = s->gdtr.base;
	k->gdt.limit = s->gdtr.limit;
	k->idt.base = s->idtr.base;
	k->idt.limit = s->idtr.limit;
	k->cr0 = s->cr0;
	k->cr2 = s->cr2;
	k->cr3 = s->cr3;
	k->cr4 = s->cr4;
	k->cr8 = svm->cr8;
	k->efer = s->efer & ~AMD_EFER_SVME;	/* the guest never sees SVM */
	k->apic_base = svm->apic_base;
	/* As KVM: with a LAPIC, CR8 is its TPR and the base its APIC_BASE MSR. */
	if (vcpu->lapic) {
		k->cr8 = kagami_lapic_get_cr8(vcpu);
		if (kagami_lapic_get_msr(vcpu, MSR_IA32_APICBASE, &k->apic_base, true))
			k->apic_base = 0;
	}
	return 0;
}

/* The CR4 bits a guest may have: those this CPU has, minus what kagami hides. */
static u64 svm_cr4_allowed(void)
{
	u64 allowed = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		      X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE |
		      X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		allowed |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		allowed |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		allowed |= X86_CR4_SMAP;
	return allowed;
}

u64 svm_efer_allowed(void)
{
	u64 allowed = EFER_SCE | EFER_LME | EFER_LMA;

	if (boot_cpu_has(X86_FEATURE_NX))
		allowed |= EFER_NX;
	return allowed;
}

/* What VMRUN would refuse (APM 15.5.1), refused here with -EINVAL instead. */
static bool svm_sregs_valid(const struct kvm_sregs *k)
{
	bool paging = k->cr0 & X86_CR0_PG;

	if ((k->cr0 >> 32) || (paging && !(k->cr0 & X86_CR0_PE)) ||
	    ((k->cr0 & X86_CR0_NW) && !(k->cr0 & X86_CR0_CD)))
		return false;
	if (k->cr4 & ~svm_cr4_allowed())
		return false;
	if (k->efer & ~svm_efer_allowed())
		return false;
	if ((k->efer & EFER_LME) && paging && !(k->cr4 & X86_CR4_PAE))
		return false;
	if ((k->efer & EFER_LME) && paging && k->cs.l && k->cs.db)
		return false;
	if (k->cr3 >> boot_cpu_data.x86_phys_bits)
		return false;
	return true;
}

int svm_set_sregs(struct kagami_vcpu *vcpu, const struct kvm_sregs *k)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;
	u64 efer = k->efer;

	if (!svm_sregs_valid(k))
		return -EINVAL;
	/* As KVM's __set_sregs_common(): an APIC base it refuses fails the whole call. */
	if (vcpu->lapic ? kagami_lapic_set_msr(vcpu, MSR_IA32_APICBASE, k->apic_base, true) :
			  svm_set_apic_base(svm, k->apic_base))
		return -EINVAL;
	/* As KVM: LMA follows LME and CR0.PG, whatever userspace says. */
	efer &= ~EFER_LMA;
	if ((efer & EFER_LME) && (k->cr0 & X86_CR0_PG))
		efer |= EFER_LMA;
	seg_from_kvm(&s->cs, &k->cs);
	seg_from_kvm(&s->ds, &k->ds);
	seg_from_kvm(&s->es, &k->es);
	seg_from_kvm(&s->fs, &k->fs);
	seg_from_kvm(&s->gs, &k->gs);
	seg_from_kvm(&s->ss, &k->ss);
	seg_from_kvm(&s->tr, &k->tr);
	seg_from_kvm(&s->ldtr, &k->ldt);
	s->cpl = k->cr0 & X86_CR0_PE ? k->ss.dpl & 3 : 0;
	s->gdtr.base = k->gdt.base;
	s->gdtr.limit = k->gdt.limit;
	s->idtr.base = k->idt.base;
	s->idtr.limit = k->idt.limit;
	s->cr0 = k->cr0;
	s->cr2 = k->cr2;
	s->cr3 = k->cr3;
	s->cr4 = k->cr4;
	s->efer = efer | AMD_EFER_SVME;	/* VMRUN requires it */
	svm->cr8 = k->cr8;
	if (vcpu->lapic)
		kagami_lapic_set_cr8(vcpu, k->cr8 & VMCB_V_TPR_MASK);
	/* The guest's paging mode changed: drop its cached translations. */
	svm->vmcb->control.tlb_control = VMCB_TLB_FLUSH_ALL;
	return 0;
}

/* KVM_GET_DEBUGREGS, as KVM's kvm_vcpu_ioctl_x86_get_debugregs(): DR0-3, DR6, DR7. */
int svm_get_debugregs(struct kagami_vcpu *vcpu, struct kvm_debugregs *dbg)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	memset(dbg, 0, sizeof(*dbg));
	memcpy(dbg->db, svm->dr, sizeof(dbg->db));
	dbg->dr6 = svm->vmcb->save.dr6;
	dbg->dr7 = svm->vmcb->save.dr7;
	return 0;
}

/*
 * KVM_SET_DEBUGREGS, as KVM's: no flags, and DR6/DR7 with bits 63:32 clear
 * (kvm_dr6_valid/kvm_dr7_valid; VMRUN refuses anything else, APM 15.5.1).
 */
int svm_set_debugregs(struct kagami_vcpu *vcpu, const struct kvm_debugregs *dbg)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (dbg->flags || dbg->dr6 >> 32 || dbg->dr7 >> 32)
		return -EINVAL;
	memcpy(svm->dr, dbg->db, sizeof(svm->dr));
	svm->vmcb->save.dr6 = dbg->dr6;
	svm->vmcb->save.dr7 = dbg->dr7;
	return 0;
}

/* 16, 32 or 64, for the instruction decoder. */
int svm_guest_cpu_mode(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;

	if ((s->efer & EFER_LMA) && (s->cs.attrib & VMCB_ATTR_L))
		return 64;
	if (!(s->cr0 & X86_CR0_PE) || (s->rflags & X86_EFLAGS_VM))
		return 16;
	return s->cs.attrib & VMCB_ATTR_DB ? 32 : 16;
}
