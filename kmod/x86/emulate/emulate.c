// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO instruction emulation: turn a decoded instruction whose memory
 * operand faulted into one MMIO access for userspace, then finish it with
 * the data userspace returns. Register side effects of a read happen only
 * in kagami_emulate_complete(), so an instruction refused with an error
 * leaves the guest untouched.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>
#endif
#include "emulate.h"

static u64 size_mask(unsigned int size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static u64 sign_extend(u64 value, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	return (u64)((s64)(value << shift) >> shift);
}

/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
static bool high_byte_reg(const struct kagami_insn *insn, unsigned int reg,
			  unsigned int size)
{
	return size == 1 && !insn->rex && reg >= 4 && reg < 8;
}

static u64 read_reg(const struct kagami_emul *e, unsigned int reg,
		    unsigned int size)
{
	const u64 *gpr = e->regs->gpr;

	if (high_byte_reg(&e->insn, reg, size))
		return (gpr[reg - 4] >> 8) & 0xff;
	return gpr[reg] & size_mask(size);
}

/*
 * 8- and 16-bit writes keep the rest of the register; 32-bit writes clear
 * the upper half, as in 64-bit mode (and as KVM does in every mode).
 */
static void write_reg(struct kagami_emul *e, unsigned int reg,
		      unsigned int size, u64 value)
{
	u64 *gpr = e->regs->gpr;

	if (high_byte_reg(&e->insn, reg, size)) {
		gpr[reg - 4] = (gpr[reg - 4] & ~0xff00ULL) |
			       ((value & 0xff) << 8);
		return;
	}
	if (size == 4)
		gpr[reg] = (u32)value;
	else
		gpr[reg] = (gpr[reg] & ~size_mask(size)) |
			   (value & size_mask(size));
}

/* rSI/rDI/rCX updates at the address size: 32-bit clears the upper half. */
static void write_addr_reg(struct kagami_emul *e, unsigned int reg, u64 value)
{
	write_reg(e, reg, e->insn.addr_size, value);
}

static u64 seg_base(const struct kagami_insn *insn,
		    const struct kagami_emul_regs *regs, unsigned int seg)
{
	if (insn->cpu_mode == 64 && seg != KAGAMI_SEG_FS &&
	    seg != KAGAMI_SEG_GS)
		return 0;
	return regs->seg_base[seg];
}

static u64 linear(const struct kagami_insn *insn,
		  const struct kagami_emul_regs *regs, unsigned int seg,
		  u64 ea)
{
	u64 addr = seg_base(insn, regs, seg) + ea;

	return insn->cpu_mode == 64 ? addr : (u32)addr;
}

static u64 modrm_ea(const struct kagami_insn *insn,
		    const struct kagami_emul_regs *regs)
{
	u64 ea = (u64)insn->disp;

	if (insn->base_reg >= 0)
		ea += regs->gpr[insn->base_reg];
	if (insn->index_reg >= 0)
		ea += regs->gpr[insn->index_reg] * insn->scale;
	if (insn->rip_relative)
		ea += regs->rip + insn->length;
	return ea & size_mask(insn->addr_size);
}

static bool is_string(const struct kagami_insn *insn)
{
	return insn->kind == KAGAMI_INSN_MOVS || insn->kind == KAGAMI_INSN_STOS;
}

static u64 string_src(const struct kagami_insn *insn,
		      const struct kagami_emul_regs *regs)
{
	u64 si = regs->gpr[KAGAMI_RSI] & size_mask(insn->addr_size);

	return linear(insn, regs, insn->mem_seg, si);
}

static u64 string_dst(const struct kagami_insn *insn,
		      const struct kagami_emul_regs *regs)
{
	u64 di = regs->gpr[KAGAMI_RDI] & size_mask(insn->addr_size);

	return linear(insn, regs, KAGAMI_SEG_ES, di);
}

int kagami_insn_linear_addr(const struct kagami_insn *insn,
			    const struct kagami_emul_regs *regs, u64 *addr)
{
	if (!insn->length)
		return -EINVAL;
	if (is_string(insn))
		*addr = string_dst(insn, regs);
	else
		*addr = linear(insn, regs, insn->mem_seg, modrm_ea(insn, regs));
	return 0;
}

static void advance_rip(struct kagami_emul *e)
{
	u64 rip = e->regs->rip + e->insn.length;

	if (e->insn.cpu_mode == 32)
		rip = (u32)rip;
	else if (e->insn.cpu_mode == 16)
		rip = (u16)rip;
	e->regs->rip = rip;
}

static u64 load_le(const u8 *data, unsigned int len)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v |= (u64)data[i] << (8 * i);
	return v;
}

static void store_le(u8 *data, u64 v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		data[i] = v >> (8 * i);
}

static int post_write(struct kagami_emul *e, u64 value, unsigned int len)
{
	e->mmio.len = len;
	e->mmio.is_write = true;
	store_le(e->mmio.data, value, len);
	e->state = KAGAMI_EMUL_WAIT_WRITE;
	return KAGAMI_EMUL_MMIO_EXIT;
}

static int start_read(struct kagami_emul *e, unsigned int len)
{
	e->mmio.len = len;
	e->mmio.is_write = false;
	e->state = KAGAMI_EMUL_WAIT_READ;
	return KAGAMI_EMUL_MMIO_EXIT;
}

static u64 rep_count(const struct kagami_emul *e)
{
	return e->regs->gpr[KAGAMI_RCX] & size_mask(e->insn.addr_size);
}

/*
 * One element of MOVS/STOS is done: step rSI (if used) and rDI by DF,
 * count rCX down under REP, and leave RIP on the instruction until the
 * count reaches zero so the guest re-executes it for the next element.
 */
static void string_step(struct kagami_emul *e, bool uses_si)
{
	const struct kagami_insn *insn = &e->insn;
	u64 *gpr = e->regs->gpr;
	u64 delta = insn->op_size;

	if (e->regs->rflags & KAGAMI_FLAG_DF)
		delta = -delta;
	if (uses_si)
		write_addr_reg(e, KAGAMI_RSI, gpr[KAGAMI_RSI] + delta);
	write_addr_reg(e, KAGAMI_RDI, gpr[KAGAMI_RDI] + delta);
	if (insn->rep) {
		write_addr_reg(e, KAGAMI_RCX, gpr[KAGAMI_RCX] - 1);
		if (rep_count(e))
			return;
	}
	advance_rip(e);
}

static int emulate_stos(struct kagami_emul *e)
{
	u64 value = read_reg(e, KAGAMI_RAX, e->insn.op_size);

	post_write(e, value, e->insn.op_size);
	string_step(e, false);
	return KAGAMI_EMUL_MMIO_EXIT;
}

/*
 * MOVS with one side in RAM: if the source reads as RAM the destination is
 * the MMIO side (a write exit), otherwise the source is (a read exit, the
 * RAM write follows in kagami_emulate_complete()).
 */
static int emulate_movs(struct kagami_emul *e)
{
	const struct kagami_insn *insn = &e->insn;
	u8 buf[8];
	int ret;

	if (!e->ops || !e->ops->read_mem || !e->ops->write_mem)
		return -EINVAL;
	ret = e->ops->read_mem(e->ctx, string_src(insn, e->regs), buf,
			       insn->op_size);
	if (ret == KAGAMI_MEM_NOT_RAM)
		return start_read(e, insn->op_size);
	if (ret)
		return ret < 0 ? ret : -EINVAL;
	post_write(e, load_le(buf, insn->op_size), insn->op_size);
	string_step(e, true);
	return KAGAMI_EMUL_MMIO_EXIT;
}

int kagami_emulate_mmio(struct kagami_emul *e, u64 fault_gpa)
{
	const struct kagami_insn *insn = &e->insn;

	if (!insn->length || e->state != KAGAMI_EMUL_IDLE)
		return -EINVAL;
	memset(&e->mmio, 0, sizeof(e->mmio));
	e->mmio.gpa = fault_gpa;
	if (is_string(insn) && insn->rep && !rep_count(e)) {
		advance_rip(e);
		return KAGAMI_EMUL_DONE;
	}

	switch (insn->kind) {
	case KAGAMI_INSN_MOVS:
		return emulate_movs(e);
	case KAGAMI_INSN_STOS:
		return emulate_stos(e);
	case KAGAMI_INSN_MOV_STORE:
		advance_rip(e);
		return post_write(e, read_reg(e, insn->reg, insn->op_size),
				  insn->op_size);
	case KAGAMI_INSN_MOV_STORE_IMM:
		advance_rip(e);
		return post_write(e, insn->imm, insn->op_size);
	case KAGAMI_INSN_MOV_STORE_MOFFS:
		advance_rip(e);
		return post_write(e, read_reg(e, KAGAMI_RAX, insn->op_size),
				  insn->op_size);
	case KAGAMI_INSN_MOVZX:
	case KAGAMI_INSN_MOVSX:
		return start_read(e, insn->src_size);
	default:
		return start_read(e, insn->op_size);
	}
}

/* Finish an ALU or TEST instruction whose memory operand read as mem. */
static int complete_alu(struct kagami_emul *e, u64 mem)
{
	const struct kagami_insn *insn = &e->insn;
	unsigned int size = insn->op_size;
	u64 *rflags = &e->regs->rflags;
	bool writes = insn->alu_op != KAGAMI_ALU_CMP &&
		      insn->alu_op != KAGAMI_ALU_TEST;
	u64 res;

	switch (insn->kind) {
	case KAGAMI_INSN_ALU_LOAD:
		res = kagami_alu(insn->alu_op, read_reg(e, insn->reg, size),
				 mem, size, rflags);
		if (writes)
			write_reg(e, insn->reg, size, res);
		advance_rip(e);
		return KAGAMI_EMUL_DONE;
	case KAGAMI_INSN_ALU_IMM:
	case KAGAMI_INSN_TEST_IMM:
		res = kagami_alu(insn->alu_op, mem, insn->imm, size, rflags);
		break;
	default:	/* ALU_STORE, TEST */
		res = kagami_alu(insn->alu_op, mem,
				 read_reg(e, insn->reg, size), size, rflags);
		break;
	}
	advance_rip(e);
	if (!writes)
		return KAGAMI_EMUL_DONE;
	return post_write(e, res, size);
}

static int complete_read(struct kagami_emul *e, u64 mem, const u8 *data)
{
	const struct kagami_insn *insn = &e->insn;
	u64 old;
	int ret;

	switch (insn->kind) {
	case KAGAMI_INSN_MOV_LOAD:
	case KAGAMI_INSN_MOVZX:
		write_reg(e, insn->reg, insn->op_size, mem);
		break;
	case KAGAMI_INSN_MOV_LOAD_MOFFS:
		write_reg(e, KAGAMI_RAX, insn->op_size, mem);
		break;
	case KAGAMI_INSN_MOVSX:
		write_reg(e, insn->reg, insn->op_size,
			  sign_extend(mem, insn->src_size));
		break;
	case KAGAMI_INSN_XCHG:
		old = read_reg(e, insn->reg, insn->op_size);
		write_reg(e, insn->reg, insn->op_size, mem);
		advance_rip(e);
		return post_write(e, old, insn->op_size);
	case KAGAMI_INSN_MOVS:
		ret = e->ops->write_mem(e->ctx, string_dst(insn, e->regs), data,
					insn->op_size);
		if (ret)	/* MMIO to MMIO is not supported */
			return ret < 0 ? ret : -EINVAL;
		string_step(e, true);
		return KAGAMI_EMUL_DONE;
	default:
		return complete_alu(e, mem);
	}
	advance_rip(e);
	return KAGAMI_EMUL_DONE;
}

int kagami_emulate_complete(struct kagami_emul *e, const u8 *data,
			    unsigned int len)
{
	u8 state = e->state;

	if (state == KAGAMI_EMUL_WAIT_WRITE) {
		e->state = KAGAMI_EMUL_IDLE;
		return KAGAMI_EMUL_DONE;
	}
	if (state != KAGAMI_EMUL_WAIT_READ || !data || len != e->mmio.len)
		return -EINVAL;
	e->state = KAGAMI_EMUL_IDLE;
	return complete_read(e, load_le(data, len), data);
}
