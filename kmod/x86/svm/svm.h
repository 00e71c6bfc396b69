/* SPDX-License-Identifier: GPL-2.0 */
/* svm.h: the AMD-V (SVM) CPUID bits and MSRs kagami uses (AMD APM vol. 2, chapter 15). */
#ifndef KAGAMI_X86_SVM_H
#define KAGAMI_X86_SVM_H

#include <linux/bits.h>

#define AMD_CPUID_EXT_MAX	0x80000000	/* EAX: highest extended leaf */
#define AMD_CPUID_EXT_FEATURES	0x80000001
#define AMD_CPUID_ECX_SVM	BIT(2)		/* in leaf 0x80000001 ECX */
#define AMD_CPUID_SVM_FEATURES	0x8000000a
#define AMD_CPUID_EDX_NPT	BIT(0)		/* in leaf 0x8000000a EDX */
#define AMD_CPUID_EDX_NRIPS	BIT(3)		/* in leaf 0x8000000a EDX: VMCB next_rip */

#define AMD_MSR_EFER		0xc0000080
#define AMD_EFER_SVME		BIT_ULL(12)	/* SVM enable */
#define AMD_MSR_VM_CR		0xc0010114
#define AMD_VM_CR_SVMDIS	BIT_ULL(4)	/* firmware disabled SVM */
#define AMD_MSR_VM_HSAVE_PA	0xc0010117	/* host save area of VMRUN */

/* VMCB bits beyond vmcb.h's, for the virtual TPR (APM 15.21.4, 15.9). */
#define SVM_EXIT_WRITE_CR8	0x018
#define SVM_CR8_INTERCEPT	BIT(8)		/* in intercept_cr_write */
#define VMCB_V_TPR_MASK		0xfULL		/* int_ctl bits 3:0 */
#define SVM_CR_VALID		BIT_ULL(63)	/* EXITINFO1 of MOV CR with decode assists */


#include <linux/kvm.h>
#include <linux/types.h>

#include "core/kagami.h"
#include "x86/emulate/emulate.h"
#include "x86/svm/vmcb.h"

/* What the next KVM_RUN must finish before entering the guest. */
enum svm_pending {
	SVM_PENDING_NONE,
	SVM_PENDING_IO_IN,	/* copy run->io data into RAX */
	SVM_PENDING_INS,	/* copy run->io data to ES:rDI */
	SVM_PENDING_MMIO,	/* kagami_emulate_complete() with run->mmio */
};

/*
 * The AMD state of a vCPU (vcpu->vendor). Field tags: (c) set at creation;
 * (v) used only by the vCPU's own ioctls, which vcpu->mutex serialises.
 */
struct svm_vcpu {
	struct vmcb *vmcb;		/* (c) one page */
	u64 vmcb_pa;			/* (c) */
	void *iopm;			/* (c) 12 KiB, all ones: every port exits */
	void *msrpm;			/* (c) 8 KiB, all ones: every MSR exits */
	u64 gprs[KAGAMI_NR_GPRS];	/* (v) guest GPRs; RAX and RSP live in the VMCB */
	int cpu;			/* (v) physical CPU of the last VMRUN, -1 before */
	u64 asid_generation;		/* (v) of svm_cpu.asid_generation at assignment */
	u64 npt_generation;		/* (v) the VM's NPT generation last seen */
	bool tlb_flush;			/* (v) KAGAMI_REQ_TLB_FLUSH seen: flush at the next VMRUN */
	u64 tsc_aux;			/* (v) MSR TSC_AUX (not loaded into the CPU yet) */
	u64 misc_enable;		/* (v) MSR MISC_ENABLE */
	u64 apic_base;			/* (v) MSR APIC_BASE without a LAPIC, fixed */
	u64 cr8;			/* (v) KVM_SET_SREGS's without a LAPIC, stored only */
	u8 pending;			/* (v) enum svm_pending */
	u8 io_size;			/* (v) last port I/O: 1, 2 or 4 bytes */
	bool io_rep;			/* (v) last string I/O: REP */
	u32 io_count;			/* (v) last string I/O: elements in the data area */
	u64 io_addr_mask;		/* (v) last string I/O: address size mask */
	u64 io_next_rip;		/* (v) last string I/O: RIP after it */
	struct kagami_emul emul;	/* (v) MMIO emulation in flight */
	struct kagami_emul_regs emul_regs;	/* (v) its register view */
	bool irq_queued;		/* (v) KVM_INTERRUPT's vector (ExtINT) waits for IF=1 */
	u8 irq_vector;			/* (v) */
	u8 v_tpr;			/* (v) V_TPR as last given to the guest (with a LAPIC) */
	bool nmi_pending;		/* (v) KVM_NMI's, not yet injected */
	bool nmi_masked;		/* (v) an NMI was injected and its IRET has not run */
	bool iret_seen;			/* (v) IRET intercepted at iret_rip while NMI-masked */
	u64 iret_rip;			/* (v) */
	unsigned long dr[4];		/* (v) guest DR0-3 (DR6/DR7 live in the VMCB) */
	u8 fpu[512] __aligned(16);	/* (v) guest FXSAVE image */
};

/* The AMD state of a VM (vm->vendor): its nested page table, see npt.c. */
struct svm_vm {
	u64 *npt_root;			/* (c) PML4 page; lower levels guarded by vm->lock */
	u64 npt_root_pa;		/* (c) */
	struct page **huge_pages;	/* (c) scratch for npt_map_huge(), under vm->lock */
	u64 tsc_offset;			/* (m) the vCPUs' shared TSC offset: 0 at VM creation */
};

static inline struct svm_vcpu *to_svm(struct kagami_vcpu *vcpu)
{
	return vcpu->vendor;
}

/* KVM_CREATE_IRQCHIP's PIC and IOAPIC are in the kernel. */
static inline bool svm_kernel_irqchip(struct kagami_vm *vm)
{
	/* Pairs with the release that publishes the mode after vm->irqchip. */
	return smp_load_acquire(&vm->irqchip_mode) == KAGAMI_IRQCHIP_KERNEL;
}

/* vmrun.S: host state to host_save_pa, guest in, guest out, host state back. */
void kagami_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_save_pa);

/* svm.c */
u64 svm_host_save_pa(void);
bool svm_has_nrips(void);
void svm_assign_asid(struct svm_vcpu *svm, int cpu);
void svm_load_guest_host_state(struct svm_vcpu *svm);
void svm_put_guest_host_state(struct svm_vcpu *svm);

/* state.c: the VMCB at reset, and KVM_GET/SET_REGS, SREGS and DEBUGREGS. */
void svm_vmcb_init(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
/* Power-on (init false) or INIT (init true) state of registers and VMCB, pending events dropped. */
void svm_vcpu_reset(struct kagami_vcpu *vcpu, bool init);
int svm_get_regs(struct kagami_vcpu *vcpu, struct kvm_regs *regs);
int svm_set_regs(struct kagami_vcpu *vcpu, const struct kvm_regs *regs);
int svm_get_sregs(struct kagami_vcpu *vcpu, struct kvm_sregs *sregs);
int svm_set_sregs(struct kagami_vcpu *vcpu, const struct kvm_sregs *sregs);
int svm_get_debugregs(struct kagami_vcpu *vcpu, struct kvm_debugregs *dbg);
int svm_set_debugregs(struct kagami_vcpu *vcpu, const struct kvm_debugregs *dbg);
int svm_guest_cpu_mode(const struct vmcb *vmcb);
u64 svm_efer_allowed(void);

/* run.c */
int svm_vcpu_run(struct kagami_vcpu *vcpu);
void svm_inject_exception(struct svm_vcpu *svm, u8 vector, bool has_error, u32 error);
void svm_skip_insn(struct svm_vcpu *svm, unsigned int len);

/* exit.c: 1 to resume the guest, 0 to return to userspace, or -errno. */
int svm_handle_exit(struct kagami_vcpu *vcpu);
int svm_exit_cr8_write(struct kagami_vcpu *vcpu);

/* pio.c */
int svm_handle_io(struct kagami_vcpu *vcpu);
void svm_complete_in(struct kagami_vcpu *vcpu);
int svm_complete_ins(struct kagami_vcpu *vcpu);

/* msr.c */
int svm_handle_msr(struct kagami_vcpu *vcpu);
int svm_get_msr(struct kagami_vcpu *vcpu, u32 index, u64 *value);
int svm_set_msr(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host);
int svm_set_apic_base(struct svm_vcpu *svm, u64 value);
u64 svm_tsc_offset(struct kagami_vcpu *vcpu);

/* events.c: interrupts and NMIs from userspace, the interrupt window, KVM_GET/SET_VCPU_EVENTS. */
void svm_inject_events(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
void svm_sync_tpr_to_vmcb(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
void svm_sync_tpr_from_vmcb(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
void svm_clear_events(struct svm_vcpu *svm);
void svm_after_exit_events(struct svm_vcpu *svm);
void svm_fill_run_flags(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
bool svm_irq_window_open(struct kagami_vcpu *vcpu, struct svm_vcpu *svm);
int svm_exit_vintr(struct kagami_vcpu *vcpu);
int svm_exit_iret(struct kagami_vcpu *vcpu);
int svm_queue_interrupt(struct kagami_vcpu *vcpu, u8 vector);
int svm_queue_nmi(struct kagami_vcpu *vcpu);
int svm_get_vcpu_events(struct kagami_vcpu *vcpu, struct kvm_vcpu_events *events);
int svm_set_vcpu_events(struct kagami_vcpu *vcpu, const struct kvm_vcpu_events *events);
u8 *svm_fpu_image(struct kagami_vcpu *vcpu);
/*
 * For mp_state.c (vCPU thread): would an interrupt be injected now if
 * RFLAGS.IF allowed it (ExtINT accepted by LINT0, or a LAPIC vector above
 * PPR), and the guest's RFLAGS.IF.
 */
bool svm_interrupt_deliverable(struct kagami_vcpu *vcpu);
bool svm_guest_if(struct kagami_vcpu *vcpu);

/*
 * mp_state.c: INIT/SIPI, in-kernel HLT and KVM_GET/SET_MP_STATE with a LAPIC.
 * svm_mp_state_before_entry() runs at the top of each entry: 1 to enter the
 * guest, 0 or -errno to return to userspace (it sleeps while the vCPU is
 * halted or waits for SIPI). svm_exit_hlt_in_kernel() handles HLT's exit.
 */
int svm_mp_state_before_entry(struct kagami_vcpu *vcpu);
void svm_mp_apply_events(struct kagami_vcpu *vcpu);
int svm_exit_hlt_in_kernel(struct kagami_vcpu *vcpu);

/* npt.c */
int svm_vm_init(struct kagami_vm *vm);
void svm_vm_destroy(struct kagami_vm *vm);
void svm_memslots_changed(struct kagami_vm *vm);
void svm_dirty_log_start(struct kagami_vm *vm, const struct kagami_memslot *slot,
			 bool protect);
void svm_dirty_log_stop(struct kagami_vm *vm, const struct kagami_memslot *slot);
void svm_write_protect(struct kagami_vm *vm, const struct kagami_memslot *slot, u64 first,
		       unsigned long mask);
int svm_handle_npf(struct kagami_vcpu *vcpu);

/* mmio.c */
int svm_emulate_mmio(struct kagami_vcpu *vcpu, u64 gpa);
int svm_complete_mmio(struct kagami_vcpu *vcpu);
unsigned int svm_fetch_insn(struct kagami_vcpu *vcpu, struct svm_vcpu *svm, u8 *bytes);

#endif
