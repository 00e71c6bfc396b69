/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 instruction decoder and emulator for MMIO exits, vendor-neutral.
 *
 * Used when a guest access to a guest-physical address outside every memory
 * slot faults and the CPU gives no decode assist: the caller fetches the
 * instruction bytes through the guest page tables, kagami_decode() decodes
 * them, kagami_emulate_mmio() turns the access into one pending MMIO
 * descriptor for userspace (KVM_EXIT_MMIO) and kagami_emulate_complete()
 * finishes the instruction when userspace resumes the vCPU.
 *
 * No global state and no allocation: everything lives in the caller's
 * struct kagami_emul, so the same code is unit-tested in userspace.
 */
#ifndef KAGAMI_X86_EMULATE_H
#define KAGAMI_X86_EMULATE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "kernel_compat.h"
#endif

#define KAGAMI_INSN_MAX_LEN	15

/* General-purpose register numbers, as encoded in ModRM/SIB/REX. */
enum kagami_gpr {
	KAGAMI_RAX, KAGAMI_RCX, KAGAMI_RDX, KAGAMI_RBX,
	KAGAMI_RSP, KAGAMI_RBP, KAGAMI_RSI, KAGAMI_RDI,
	KAGAMI_R8, KAGAMI_R9, KAGAMI_R10, KAGAMI_R11,
	KAGAMI_R12, KAGAMI_R13, KAGAMI_R14, KAGAMI_R15,
	KAGAMI_NR_GPRS
};

/* Segment registers, in the order of the SReg encoding. */
enum kagami_seg {
	KAGAMI_SEG_ES, KAGAMI_SEG_CS, KAGAMI_SEG_SS,
	KAGAMI_SEG_DS, KAGAMI_SEG_FS, KAGAMI_SEG_GS,
	KAGAMI_NR_SEGS
};

/* RFLAGS bits the ALU instructions define. */
#define KAGAMI_FLAG_CF		0x0001
#define KAGAMI_FLAG_PF		0x0004
#define KAGAMI_FLAG_AF		0x0010
#define KAGAMI_FLAG_ZF		0x0040
#define KAGAMI_FLAG_SF		0x0080
#define KAGAMI_FLAG_DF		0x0400
#define KAGAMI_FLAG_OF		0x0800
#define KAGAMI_FLAGS_ARITH	(KAGAMI_FLAG_CF | KAGAMI_FLAG_PF | \
				 KAGAMI_FLAG_AF | KAGAMI_FLAG_ZF | \
				 KAGAMI_FLAG_SF | KAGAMI_FLAG_OF)

/* What a decoded instruction does; selects the emulation path. */
enum kagami_insn_kind {
	KAGAMI_INSN_MOV_STORE,		/* 88, 89: r/m <- reg */
	KAGAMI_INSN_MOV_LOAD,		/* 8A, 8B: reg <- r/m */
	KAGAMI_INSN_MOV_STORE_IMM,	/* C6 /0, C7 /0: r/m <- imm */
	KAGAMI_INSN_MOV_LOAD_MOFFS,	/* A0, A1: AL/rAX <- moffs */
	KAGAMI_INSN_MOV_STORE_MOFFS,	/* A2, A3: moffs <- AL/rAX */
	KAGAMI_INSN_MOVZX,		/* 0F B6, 0F B7 */
	KAGAMI_INSN_MOVSX,		/* 0F BE, 0F BF, 63 (MOVSXD) */
	KAGAMI_INSN_MOVS,		/* A4, A5 */
	KAGAMI_INSN_STOS,		/* AA, AB */
	KAGAMI_INSN_ALU_STORE,		/* 00-39 r/m, reg forms: r/m op= reg */
	KAGAMI_INSN_ALU_LOAD,		/* 02-3B reg, r/m forms: reg op= r/m */
	KAGAMI_INSN_ALU_IMM,		/* 80, 81, 83: r/m op= imm */
	KAGAMI_INSN_TEST,		/* 84, 85 */
	KAGAMI_INSN_TEST_IMM,		/* F6 /0, F7 /0 */
	KAGAMI_INSN_XCHG,		/* 86, 87 */
};

/* ALU operation numbers, as in opcode bits 5:3 and group 1's ModRM.reg. */
enum kagami_alu_op {
	KAGAMI_ALU_ADD, KAGAMI_ALU_OR, KAGAMI_ALU_ADC, KAGAMI_ALU_SBB,
	KAGAMI_ALU_AND, KAGAMI_ALU_SUB, KAGAMI_ALU_XOR, KAGAMI_ALU_CMP,
	KAGAMI_ALU_TEST		/* AND that only sets flags */
};

/*
 * A decoded instruction. Filled by kagami_decode() only; everything is
 * derived from the bytes and the CPU mode, nothing from registers.
 */
struct kagami_insn {
	u8 bytes[KAGAMI_INSN_MAX_LEN];	/* the bytes given, up to 15 */
	u8 avail;			/* how many of bytes[] are valid */
	u8 length;			/* instruction length, 0 if not decoded */
	u8 cpu_mode;			/* 16, 32 or 64 */

	/* prefixes */
	bool opsize_prefix;		/* 66 */
	bool addrsize_prefix;		/* 67 */
	bool lock;			/* F0 */
	u8 rep;				/* 0, 0xF3 or 0xF2 (the last one seen) */
	s8 seg_override;		/* enum kagami_seg, or -1 */
	u8 rex;				/* 0 if none */

	/* opcode */
	bool two_byte;			/* 0F escape */
	u8 opcode;			/* the byte after the prefixes (and 0F) */
	u8 kind;			/* enum kagami_insn_kind */
	u8 alu_op;			/* enum kagami_alu_op for ALU and TEST */
	u8 op_size;			/* operand size in bytes: 1, 2, 4, 8 */
	u8 src_size;			/* memory size for MOVZX/MOVSX: 1, 2, 4 */
	u8 addr_size;			/* address size in bytes: 2, 4, 8 */

	/* ModRM and the effective-address inputs */
	bool has_modrm;
	u8 modrm;
	u8 mod;				/* ModRM.mod */
	u8 reg;				/* ModRM.reg with REX.R: register operand */
	u8 rm;				/* ModRM.rm with REX.B (if mod == 3) */
	bool has_sib;
	u8 sib;
	s8 base_reg;			/* enum kagami_gpr, or -1 */
	s8 index_reg;			/* enum kagami_gpr, or -1 */
	u8 scale;			/* 1, 2, 4, 8 */
	bool rip_relative;		/* 64-bit mode disp32(%rip) */
	u8 mem_seg;			/* enum kagami_seg used for the operand */
	s64 disp;			/* displacement; moffs for A0-A3 */
	u8 disp_size;
	s64 imm;			/* immediate, sign-extended to 64 bits */
	u8 imm_size;
};

/* The guest registers the emulator reads and writes. */
struct kagami_emul_regs {
	u64 gpr[KAGAMI_NR_GPRS];	/* enum kagami_gpr order */
	u64 rip;
	u64 rflags;
	u64 seg_base[KAGAMI_NR_SEGS];	/* only FS and GS are used in 64-bit mode */
};

/* A callback's answer when a linear address is not backed by guest RAM. */
#define KAGAMI_MEM_NOT_RAM	1

/*
 * Guest RAM access by linear address, for the operand of MOVS that is not
 * the MMIO side. Each returns 0, KAGAMI_MEM_NOT_RAM, or a negative errno
 * (for example when the page walk faults).
 */
struct kagami_emul_ops {
	int (*read_mem)(void *ctx, u64 linear, void *buf, unsigned int len);
	int (*write_mem)(void *ctx, u64 linear, const void *buf,
			 unsigned int len);
};

/* One MMIO access for userspace, the fields of KVM_EXIT_MMIO. */
struct kagami_mmio {
	u64 gpa;
	u8 data[8];		/* little-endian; set for writes */
	u32 len;
	bool is_write;
};

/* Return values of kagami_emulate_mmio() and kagami_emulate_complete(). */
#define KAGAMI_EMUL_DONE	0	/* instruction finished, no exit */
#define KAGAMI_EMUL_MMIO_EXIT	1	/* e->mmio holds an access for userspace */

enum kagami_emul_state {
	KAGAMI_EMUL_IDLE,
	KAGAMI_EMUL_WAIT_READ,		/* read data needed to finish */
	KAGAMI_EMUL_WAIT_WRITE,		/* write posted, instruction finished */
};

/*
 * One emulation in flight. The caller fills insn (kagami_decode), regs, ops
 * and ctx; the emulator owns mmio and state. Not shared between vCPUs.
 */
struct kagami_emul {
	struct kagami_insn insn;
	struct kagami_emul_regs *regs;
	const struct kagami_emul_ops *ops;
	void *ctx;
	struct kagami_mmio mmio;
	u8 state;			/* enum kagami_emul_state */
};

/*
 * Decode one instruction. cpu_mode is 16, 32 or 64 (from CS.L, CS.D,
 * CR0.PE and EFER.LMA). Never reads beyond avail (at most 15 is used).
 * Returns 0, -ENODATA when the bytes end before the instruction does (and
 * fewer than 15 were given), or -EINVAL for anything not supported.
 * insn->bytes and insn->avail are filled even on failure.
 */
int kagami_decode(struct kagami_insn *insn, const u8 *bytes,
		  unsigned int avail, int cpu_mode);

/*
 * Copy the raw bytes of the instruction (its length once decoded, else all
 * the bytes given) for an INTERNAL_ERROR report; returns how many.
 */
unsigned int kagami_insn_copy_bytes(const struct kagami_insn *insn, u8 *buf,
				    unsigned int size);

/*
 * The linear address of the ModRM/moffs memory operand (segment base plus
 * effective address, truncated to the address size), or for MOVS and STOS
 * of the destination ES:rDI. RIP-relative operands use regs->rip, so call it
 * before kagami_emulate_mmio() moves RIP. Returns -EINVAL if not decoded.
 */
int kagami_insn_linear_addr(const struct kagami_insn *insn,
			    const struct kagami_emul_regs *regs, u64 *linear);

/*
 * Emulate e->insn, whose memory access faulted at fault_gpa. Returns
 * KAGAMI_EMUL_MMIO_EXIT with e->mmio filled, KAGAMI_EMUL_DONE when nothing
 * is left to do (REP with a zero count), or a negative errno with no change
 * to the registers. A write is committed before the exit (RIP already
 * advanced); a read finishes in kagami_emulate_complete().
 */
int kagami_emulate_mmio(struct kagami_emul *e, u64 fault_gpa);

/*
 * Resume after userspace handled e->mmio: data/len are the bytes read (len
 * must equal e->mmio.len; ignored after a write). Returns KAGAMI_EMUL_DONE,
 * KAGAMI_EMUL_MMIO_EXIT for the write-back of a read-modify-write
 * instruction, or a negative errno.
 */
int kagami_emulate_complete(struct kagami_emul *e, const u8 *data,
			    unsigned int len);

/*
 * One ALU operation at size bytes (1, 2, 4, 8) as the CPU does it: returns
 * the result and updates CF, PF, AF, ZF, SF, OF in *rflags (ADC/SBB read
 * CF). AF, undefined after the logical operations, is cleared then.
 */
u64 kagami_alu(unsigned int op, u64 a, u64 b, unsigned int size, u64 *rflags);

#endif /* KAGAMI_X86_EMULATE_H */
