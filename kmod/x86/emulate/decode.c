// SPDX-License-Identifier: GPL-2.0
/*
 * x86 instruction decoder for MMIO emulation: prefixes, REX, opcode, ModRM,
 * SIB, displacement and immediate of the instructions emulate.c supports.
 * Anything else is refused, so an unknown instruction is reported, never
 * guessed at.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>
#endif
#include "emulate.h"

#define REX_B	0x01
#define REX_X	0x02
#define REX_R	0x04
#define REX_W	0x08

/* How an opcode's immediate is sized. */
enum imm_kind {
	IMM_NONE,
	IMM_8,		/* one byte, sign-extended */
	IMM_Z,		/* 2 bytes at operand size 16, else 4 sign-extended */
};

/* The bytes being decoded; pos never passes avail or 15. */
struct decode_cursor {
	const u8 *bytes;
	unsigned int avail;
	unsigned int pos;
};

/* Take n bytes little-endian, sign-extended from n bytes when n < 8. */
static int fetch(struct decode_cursor *c, unsigned int n, s64 *val)
{
	u64 v = 0;
	unsigned int i;

	if (c->pos + n > KAGAMI_INSN_MAX_LEN)
		return -EINVAL;
	if (c->pos + n > c->avail)
		return -ENODATA;
	for (i = 0; i < n; i++)
		v |= (u64)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	if (n > 0 && n < 8 && (v & (1ULL << (8 * n - 1))))
		v |= ~0ULL << (8 * n);
	*val = (s64)v;
	return 0;
}

static int fetch_u8(struct decode_cursor *c, u8 *byte)
{
	s64 v = 0;
	int ret = fetch(c, 1, &v);

	*byte = (u8)v;
	return ret;
}

static int prefix_segment(u8 byte)
{
	switch (byte) {
	case 0x26: return KAGAMI_SEG_ES;
	case 0x2e: return KAGAMI_SEG_CS;
	case 0x36: return KAGAMI_SEG_SS;
	case 0x3e: return KAGAMI_SEG_DS;
	case 0x64: return KAGAMI_SEG_FS;
	case 0x65: return KAGAMI_SEG_GS;
	default: return -1;
	}
}

/* Legacy prefixes in any order, then REX (64-bit mode); returns the opcode. */
static int decode_prefixes(struct kagami_insn *insn, struct decode_cursor *c,
			   u8 *opcode)
{
	u8 b;
	int ret, seg;

	for (;;) {
		ret = fetch_u8(c, &b);
		if (ret)
			return ret;
		seg = prefix_segment(b);
		if (seg >= 0) {
			insn->seg_override = seg;
		} else if (b == 0x66) {
			insn->opsize_prefix = true;
		} else if (b == 0x67) {
			insn->addrsize_prefix = true;
		} else if (b == 0xf0) {
			insn->lock = true;
		} else if (b == 0xf2 || b == 0xf3) {
			insn->rep = b;
		} else if (insn->cpu_mode == 64 && (b & 0xf0) == 0x40) {
			insn->rex = b;
			continue;
		} else {
			*opcode = b;
			return 0;
		}
		/* A REX prefix followed by a legacy prefix is ignored. */
		insn->rex = 0;
	}
}

static void set_sizes(struct kagami_insn *insn)
{
	bool o = insn->opsize_prefix, a = insn->addrsize_prefix;

	switch (insn->cpu_mode) {
	case 16:
		insn->op_size = o ? 4 : 2;
		insn->addr_size = a ? 4 : 2;
		break;
	case 32:
		insn->op_size = o ? 2 : 4;
		insn->addr_size = a ? 2 : 4;
		break;
	default:
		insn->op_size = (insn->rex & REX_W) ? 8 : o ? 2 : 4;
		insn->addr_size = a ? 4 : 8;
		break;
	}
}

static void set_kind(struct kagami_insn *insn, u8 kind, bool byte_op)
{
	insn->kind = kind;
	if (byte_op)
		insn->op_size = 1;
}

static int classify_two_byte(struct kagami_insn *insn)
{
	switch (insn->opcode) {
	case 0xb6:
	case 0xb7:
		insn->kind = KAGAMI_INSN_MOVZX;
		break;
	case 0xbe:
	case 0xbf:
		insn->kind = KAGAMI_INSN_MOVSX;
		break;
	default:
		return -EINVAL;
	}
	insn->src_size = (insn->opcode & 1) ? 2 : 1;
	insn->has_modrm = true;
	return 0;
}

/* Classify a one-byte opcode: kind, operand size, ModRM, immediate. */
static int classify_one_byte(struct kagami_insn *insn, u8 *imm)
{
	u8 op = insn->opcode;
	bool byte_op = !(op & 1);

	insn->has_modrm = true;
	if (op < 0x40 && (op & 7) < 4) {
		insn->alu_op = op >> 3;
		set_kind(insn, (op & 2) ? KAGAMI_INSN_ALU_LOAD :
			 KAGAMI_INSN_ALU_STORE, byte_op);
		return 0;
	}
	switch (op) {
	case 0x63:
		if (insn->cpu_mode != 64 ||
		    (insn->opsize_prefix && !(insn->rex & REX_W)))
			return -EINVAL;
		insn->kind = KAGAMI_INSN_MOVSX;
		insn->src_size = 4;
		return 0;
	case 0x80:
	case 0x81:
	case 0x83:
		*imm = (op == 0x81) ? IMM_Z : IMM_8;
		set_kind(insn, KAGAMI_INSN_ALU_IMM, op == 0x80);
		return 0;
	case 0x84:
	case 0x85:
		insn->alu_op = KAGAMI_ALU_TEST;
		set_kind(insn, KAGAMI_INSN_TEST, byte_op);
		return 0;
	case 0x86:
	case 0x87:
		set_kind(insn, KAGAMI_INSN_XCHG, byte_op);
		return 0;
	case 0x88:
	case 0x89:
		set_kind(insn, KAGAMI_INSN_MOV_STORE, byte_op);
		return 0;
	case 0x8a:
	case 0x8b:
		set_kind(insn, KAGAMI_INSN_MOV_LOAD, byte_op);
		return 0;
	case 0xc6:
	case 0xc7:
		*imm = byte_op ? IMM_8 : IMM_Z;
		set_kind(insn, KAGAMI_INSN_MOV_STORE_IMM, byte_op);
		return 0;
	case 0xf6:
	case 0xf7:
		*imm = byte_op ? IMM_8 : IMM_Z;
		insn->alu_op = KAGAMI_ALU_TEST;
		set_kind(insn, KAGAMI_INSN_TEST_IMM, byte_op);
		return 0;
	}
	insn->has_modrm = false;
	switch (op) {
	case 0xa0:
	case 0xa1:
		set_kind(insn, KAGAMI_INSN_MOV_LOAD_MOFFS, byte_op);
		return 0;
	case 0xa2:
	case 0xa3:
		set_kind(insn, KAGAMI_INSN_MOV_STORE_MOFFS, byte_op);
		return 0;
	case 0xa4:
	case 0xa5:
		set_kind(insn, KAGAMI_INSN_MOVS, byte_op);
		return 0;
	case 0xaa:
	case 0xab:
		set_kind(insn, KAGAMI_INSN_STOS, byte_op);
		return 0;
	}
	return -EINVAL;
}

/* 16-bit addressing: the fixed base/index pairs of ModRM.rm. */
static int decode_modrm16(struct kagami_insn *insn, struct decode_cursor *c)
{
	static const s8 base16[8] = {
		KAGAMI_RBX, KAGAMI_RBX, KAGAMI_RBP, KAGAMI_RBP,
		KAGAMI_RSI, KAGAMI_RDI, KAGAMI_RBP, KAGAMI_RBX
	};
	static const s8 index16[8] = {
		KAGAMI_RSI, KAGAMI_RDI, KAGAMI_RSI, KAGAMI_RDI, -1, -1, -1, -1
	};
	u8 rm = insn->modrm & 7;

	insn->base_reg = base16[rm];
	insn->index_reg = index16[rm];
	if (insn->mod == 0 && rm == 6) {
		insn->base_reg = -1;
		insn->disp_size = 2;
	} else if (insn->mod == 1) {
		insn->disp_size = 1;
	} else if (insn->mod == 2) {
		insn->disp_size = 2;
	}
	return fetch(c, insn->disp_size, &insn->disp);
}

/* 32/64-bit addressing: SIB, disp32 without base, RIP-relative. */
static int decode_modrm32(struct kagami_insn *insn, struct decode_cursor *c)
{
	u8 rm = insn->modrm & 7;
	int ret;

	insn->base_reg = rm | ((insn->rex & REX_B) ? 8 : 0);
	if (rm == 4) {
		insn->has_sib = true;
		ret = fetch_u8(c, &insn->sib);
		if (ret)
			return ret;
		insn->scale = 1 << (insn->sib >> 6);
		insn->index_reg = ((insn->sib >> 3) & 7) |
				  ((insn->rex & REX_X) ? 8 : 0);
		if (insn->index_reg == KAGAMI_RSP)
			insn->index_reg = -1;
		insn->base_reg = (insn->sib & 7) | ((insn->rex & REX_B) ? 8 : 0);
		if ((insn->sib & 7) == 5 && insn->mod == 0) {
			insn->base_reg = -1;
			insn->disp_size = 4;
		}
	} else if (rm == 5 && insn->mod == 0) {
		insn->base_reg = -1;
		insn->rip_relative = insn->cpu_mode == 64;
		insn->disp_size = 4;
	}
	if (insn->mod == 1)
		insn->disp_size = 1;
	else if (insn->mod == 2)
		insn->disp_size = 4;
	return fetch(c, insn->disp_size, &insn->disp);
}

static int decode_modrm(struct kagami_insn *insn, struct decode_cursor *c)
{
	int ret = fetch_u8(c, &insn->modrm);

	if (ret)
		return ret;
	insn->mod = insn->modrm >> 6;
	insn->reg = ((insn->modrm >> 3) & 7) | ((insn->rex & REX_R) ? 8 : 0);
	insn->rm = (insn->modrm & 7) | ((insn->rex & REX_B) ? 8 : 0);
	/* Only memory operands reach MMIO: a register form cannot fault. */
	if (insn->mod == 3)
		return -EINVAL;
	if (insn->addr_size == 2)
		ret = decode_modrm16(insn, c);
	else
		ret = decode_modrm32(insn, c);
	if (ret)
		return ret;
	if (insn->base_reg == KAGAMI_RSP || insn->base_reg == KAGAMI_RBP)
		insn->mem_seg = KAGAMI_SEG_SS;
	return 0;
}

static int fetch_imm(struct kagami_insn *insn, struct decode_cursor *c,
		     u8 imm)
{
	if (imm == IMM_NONE)
		return 0;
	if (imm == IMM_8)
		insn->imm_size = 1;
	else
		insn->imm_size = insn->op_size == 2 ? 2 : 4;
	return fetch(c, insn->imm_size, &insn->imm);
}

/* Prefixes and ModRM.reg values that change or invalidate the opcode. */
static int check_combination(const struct kagami_insn *insn)
{
	bool string = insn->kind == KAGAMI_INSN_MOVS ||
		      insn->kind == KAGAMI_INSN_STOS;

	if (insn->rep && (!string || insn->rep != 0xf3))
		return -EINVAL;
	if (insn->lock) {
		bool rmw = insn->kind == KAGAMI_INSN_XCHG ||
			   ((insn->kind == KAGAMI_INSN_ALU_STORE ||
			     insn->kind == KAGAMI_INSN_ALU_IMM) &&
			    insn->alu_op != KAGAMI_ALU_CMP);
		if (!rmw)
			return -EINVAL;
	}
	if ((insn->kind == KAGAMI_INSN_MOV_STORE_IMM ||
	     insn->kind == KAGAMI_INSN_TEST_IMM) && (insn->modrm & 0x38))
		return -EINVAL;
	return 0;
}

static int decode_body(struct kagami_insn *insn, struct decode_cursor *c)
{
	u8 imm = IMM_NONE;
	int ret;

	ret = decode_prefixes(insn, c, &insn->opcode);
	if (ret)
		return ret;
	set_sizes(insn);
	if (insn->opcode == 0x0f) {
		insn->two_byte = true;
		ret = fetch_u8(c, &insn->opcode);
		if (ret)
			return ret;
		ret = classify_two_byte(insn);
	} else {
		ret = classify_one_byte(insn, &imm);
	}
	if (ret)
		return ret;
	if (insn->has_modrm) {
		ret = decode_modrm(insn, c);
		if (!ret && insn->kind == KAGAMI_INSN_ALU_IMM)
			insn->alu_op = (insn->modrm >> 3) & 7;
	} else if (insn->kind == KAGAMI_INSN_MOV_LOAD_MOFFS ||
		   insn->kind == KAGAMI_INSN_MOV_STORE_MOFFS) {
		insn->disp_size = insn->addr_size;
		ret = fetch(c, insn->disp_size, &insn->disp);
	}
	if (ret)
		return ret;
	/* Refuse before the immediate, whose size an invalid form would change. */
	ret = check_combination(insn);
	if (ret)
		return ret;
	return fetch_imm(insn, c, imm);
}

int kagami_decode(struct kagami_insn *insn, const u8 *bytes,
		  unsigned int avail, int cpu_mode)
{
	struct decode_cursor c = { .bytes = bytes, .pos = 0 };
	int ret;

	memset(insn, 0, sizeof(*insn));
	if (avail > KAGAMI_INSN_MAX_LEN)
		avail = KAGAMI_INSN_MAX_LEN;
	c.avail = avail;
	if (avail)
		memcpy(insn->bytes, bytes, avail);
	insn->avail = avail;
	if (cpu_mode != 16 && cpu_mode != 32 && cpu_mode != 64)
		return -EINVAL;
	insn->cpu_mode = cpu_mode;
	insn->seg_override = -1;
	insn->base_reg = -1;
	insn->index_reg = -1;
	insn->scale = 1;
	insn->mem_seg = KAGAMI_SEG_DS;

	ret = decode_body(insn, &c);
	if (ret)
		return ret;
	if (insn->seg_override >= 0)
		insn->mem_seg = insn->seg_override;
	insn->length = c.pos;
	return 0;
}

unsigned int kagami_insn_copy_bytes(const struct kagami_insn *insn, u8 *buf,
				    unsigned int size)
{
	unsigned int n = insn->length ? insn->length : insn->avail;

	if (n > size)
		n = size;
	if (n)
		memcpy(buf, insn->bytes, n);
	return n;
}
