/* SPDX-License-Identifier: GPL-2.0 */
/* vmcb.h: the Virtual Machine Control Block, field by field (AMD APM vol. 2, appendix B). */
#ifndef KAGAMI_X86_SVM_VMCB_H
#define KAGAMI_X86_SVM_VMCB_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* A segment in the state save area; attrib packs descriptor bits 40-47 and 52-55. */
struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;		/* byte granular, already expanded */
	u64 base;
} __packed;

#define VMCB_ATTR_P		BIT(7)
#define VMCB_ATTR_L		BIT(9)
#define VMCB_ATTR_DB		BIT(10)

struct vmcb_control {
	u16 intercept_cr_read;		/* 0x000 */
	u16 intercept_cr_write;		/* 0x002 */
	u16 intercept_dr_read;		/* 0x004 */
	u16 intercept_dr_write;		/* 0x006 */
	u32 intercept_exceptions;	/* 0x008 */
	u32 intercept_misc1;		/* 0x00c: INTR ... SHUTDOWN */
	u32 intercept_misc2;		/* 0x010: VMRUN ... */
	u32 intercept_misc3;		/* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold;	/* 0x03c */
	u16 pause_filter_count;		/* 0x03e */
	u64 iopm_base_pa;		/* 0x040 */
	u64 msrpm_base_pa;		/* 0x048 */
	u64 tsc_offset;			/* 0x050 */
	u32 asid;			/* 0x058 */
	u8 tlb_control;			/* 0x05c */
	u8 reserved_05d[3];
	u64 int_ctl;			/* 0x060: V_TPR, V_IRQ, V_INTR_MASKING */
	u64 int_state;			/* 0x068: bit 0 interrupt shadow */
	u64 exit_code;			/* 0x070 */
	u64 exit_info_1;		/* 0x078 */
	u64 exit_info_2;		/* 0x080 */
	u64 exit_int_info;		/* 0x088 */
	u64 nested_ctl;			/* 0x090: bit 0 NP_ENABLE */
	u64 avic_vapic_bar;		/* 0x098 */
	u64 ghcb_gpa;			/* 0x0a0 */
	u64 event_inj;			/* 0x0a8 */
	u64 nested_cr3;			/* 0x0b0 */
	u64 virt_ext;			/* 0x0b8 */
	u32 clean;			/* 0x0c0 */
	u32 reserved_0c4;
	u64 next_rip;			/* 0x0c8: with NRIP save */
	u8 insn_len;			/* 0x0d0: with decode assists */
	u8 insn_bytes[15];		/* 0x0d1 */
	u8 reserved_0e0[0x400 - 0x0e0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es;		/* 0x400 */
	struct vmcb_seg cs;		/* 0x410 */
	struct vmcb_seg ss;		/* 0x420 */
	struct vmcb_seg ds;		/* 0x430 */
	struct vmcb_seg fs;		/* 0x440 */
	struct vmcb_seg gs;		/* 0x450 */
	struct vmcb_seg gdtr;		/* 0x460 */
	struct vmcb_seg ldtr;		/* 0x470 */
	struct vmcb_seg idtr;		/* 0x480 */
	struct vmcb_seg tr;		/* 0x490 */
	u8 reserved_4a0[0x4cb - 0x4a0];
	u8 cpl;				/* 0x4cb */
	u32 reserved_4cc;
	u64 efer;			/* 0x4d0 */
	u8 reserved_4d8[0x548 - 0x4d8];
	u64 cr4;			/* 0x548 */
	u64 cr3;			/* 0x550 */
	u64 cr0;			/* 0x558 */
	u64 dr7;			/* 0x560 */
	u64 dr6;			/* 0x568 */
	u64 rflags;			/* 0x570 */
	u64 rip;			/* 0x578 */
	u8 reserved_580[0x5d8 - 0x580];
	u64 rsp;			/* 0x5d8 */
	u8 reserved_5e0[0x5f8 - 0x5e0];
	u64 rax;			/* 0x5f8 */
	u64 star;			/* 0x600 */
	u64 lstar;			/* 0x608 */
	u64 cstar;			/* 0x610 */
	u64 sfmask;			/* 0x618 */
	u64 kernel_gs_base;		/* 0x620 */
	u64 sysenter_cs;		/* 0x628 */
	u64 sysenter_esp;		/* 0x630 */
	u64 sysenter_eip;		/* 0x638 */
	u64 cr2;			/* 0x640 */
	u8 reserved_648[0x668 - 0x648];
	u64 g_pat;			/* 0x668 */
	u64 dbgctl;			/* 0x670 */
	u64 br_from;			/* 0x678 */
	u64 br_to;			/* 0x680 */
	u64 last_excp_from;		/* 0x688 */
	u64 last_excp_to;		/* 0x690 */
} __packed;

/* One page; the rest of it after the save area is reserved. */
struct vmcb {
	struct vmcb_control control;	/* 0x000 */
	struct vmcb_save save;		/* 0x400 */
} __packed;

static_assert(offsetof(struct vmcb_control, exit_code) == 0x070);
static_assert(offsetof(struct vmcb_control, next_rip) == 0x0c8);
static_assert(sizeof(struct vmcb_control) == 0x400);
static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb);
static_assert(offsetof(struct vmcb, save.efer) == 0x4d0);
static_assert(offsetof(struct vmcb, save.cr4) == 0x548);
static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8);
static_assert(offsetof(struct vmcb, save.rax) == 0x5f8);
static_assert(offsetof(struct vmcb, save.cr2) == 0x640);
static_assert(offsetof(struct vmcb, save.g_pat) == 0x668);

/* intercept_misc1 */
#define INTERCEPT_INTR		BIT(0)
#define INTERCEPT_NMI		BIT(1)
#define INTERCEPT_SMI		BIT(2)
#define INTERCEPT_INIT		BIT(3)
#define INTERCEPT_VINTR		BIT(4)
#define INTERCEPT_CPUID		BIT(18)
#define INTERCEPT_IRET		BIT(20)
#define INTERCEPT_INVD		BIT(22)
#define INTERCEPT_HLT		BIT(24)
#define INTERCEPT_INVLPGA	BIT(26)
#define INTERCEPT_IOIO_PROT	BIT(27)
#define INTERCEPT_MSR_PROT	BIT(28)
#define INTERCEPT_SHUTDOWN	BIT(31)
/* intercept_misc2 */
#define INTERCEPT_VMRUN		BIT(0)
#define INTERCEPT_VMMCALL	BIT(1)
#define INTERCEPT_VMLOAD	BIT(2)
#define INTERCEPT_VMSAVE	BIT(3)
#define INTERCEPT_STGI		BIT(4)
#define INTERCEPT_CLGI		BIT(5)
#define INTERCEPT_SKINIT	BIT(6)
#define INTERCEPT_WBINVD	BIT(9)
#define INTERCEPT_MONITOR	BIT(10)
#define INTERCEPT_MWAIT		BIT(11)
#define INTERCEPT_XSETBV	BIT(13)
#define INTERCEPT_RDPRU		BIT(14)

#define VMCB_TLB_FLUSH_ALL	1	/* tlb_control: flush every ASID on this VMRUN */
#define VMCB_V_IRQ		BIT_ULL(8)	/* int_ctl: a virtual interrupt is pending */
#define VMCB_V_INTR_PRIO_SHIFT	16		/* int_ctl: its priority, bits 16-19 */
#define VMCB_V_INTR_PRIO_MASK	(0xfULL << VMCB_V_INTR_PRIO_SHIFT)
#define VMCB_V_IGN_TPR		BIT_ULL(20)	/* int_ctl: ignore V_TPR */
#define VMCB_V_INTR_MASKING	BIT_ULL(24)
#define VMCB_V_INTR_VECTOR_MASK	(0xffULL << 32)	/* int_ctl: its vector (bits 32-39) */
#define VMCB_INTERRUPT_SHADOW	BIT_ULL(0)	/* int_state: STI or MOV SS shadow */
#define VMCB_NP_ENABLE		BIT_ULL(0)

/* EVENTINJ and EXITINTINFO */
#define VMCB_EVT_VALID		BIT_ULL(31)
#define VMCB_EVT_ERR_VALID	BIT_ULL(11)
#define VMCB_EVT_TYPE_MASK	(7ULL << 8)
#define VMCB_EVT_TYPE_INTR	(0ULL << 8)
#define VMCB_EVT_TYPE_NMI	(2ULL << 8)
#define VMCB_EVT_TYPE_EXCEPTION	(3ULL << 8)
#define VMCB_EVT_TYPE_SOFT	(4ULL << 8)

/* Exit codes the module handles. */
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_SMI		0x062
#define SVM_EXIT_INIT		0x063
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_WBINVD		0x089
#define SVM_EXIT_MONITOR	0x08a
#define SVM_EXIT_MWAIT		0x08b
#define SVM_EXIT_MWAIT_COND	0x08c
#define SVM_EXIT_XSETBV		0x08d
#define SVM_EXIT_RDPRU		0x08e
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_INVALID	((u64)-1)

/* EXITINFO1 of IOIO */
#define SVM_IOIO_IN		BIT_ULL(0)
#define SVM_IOIO_STR		BIT_ULL(2)
#define SVM_IOIO_REP		BIT_ULL(3)
#define SVM_IOIO_SIZE_SHIFT	4	/* bits 4-6: 1, 2 or 4 bytes, one-hot */
#define SVM_IOIO_PORT_SHIFT	16

/* EXITINFO1 of NPF */
#define SVM_NPF_PRESENT		BIT_ULL(0)
#define SVM_NPF_WRITE		BIT_ULL(1)
#define SVM_NPF_FETCH		BIT_ULL(4)
#define SVM_NPF_GUEST_PAGE	BIT_ULL(33)	/* while walking the guest's tables */

#endif
