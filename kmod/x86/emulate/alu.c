// SPDX-License-Identifier: GPL-2.0
/*
 * The ALU operations of the MMIO emulator and the flags they leave, in
 * plain C so that the kernel and the userspace unit tests run the same code.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#endif
#include "emulate.h"

static u64 size_mask(unsigned int size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* PF is set when the low byte of the result has an even number of ones. */
static bool even_parity(u64 value)
{
	u8 b = value & 0xff;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/* ZF, SF and PF, which every operation derives from the result alone. */
static u64 result_flags(u64 res, unsigned int size)
{
	u64 flags = 0;

	if (!res)
		flags |= KAGAMI_FLAG_ZF;
	if (res >> (8 * size - 1))
		flags |= KAGAMI_FLAG_SF;
	if (even_parity(res))
		flags |= KAGAMI_FLAG_PF;
	return flags;
}

static u64 add_flags(u64 a, u64 b, u64 res, bool carry, unsigned int size)
{
	u64 flags = 0;

	if (carry ? res <= a : res < a)
		flags |= KAGAMI_FLAG_CF;
	if ((((a ^ res) & (b ^ res)) >> (8 * size - 1)) & 1)
		flags |= KAGAMI_FLAG_OF;
	if ((a ^ b ^ res) & 0x10)
		flags |= KAGAMI_FLAG_AF;
	return flags;
}

static u64 sub_flags(u64 a, u64 b, u64 res, bool borrow, unsigned int size)
{
	u64 flags = 0;

	if (borrow ? a <= b : a < b)
		flags |= KAGAMI_FLAG_CF;
	if ((((a ^ b) & (a ^ res)) >> (8 * size - 1)) & 1)
		flags |= KAGAMI_FLAG_OF;
	if ((a ^ b ^ res) & 0x10)
		flags |= KAGAMI_FLAG_AF;
	return flags;
}

u64 kagami_alu(unsigned int op, u64 a, u64 b, unsigned int size, u64 *rflags)
{
	u64 mask = size_mask(size);
	bool cf = *rflags & KAGAMI_FLAG_CF;
	u64 res, flags;

	a &= mask;
	b &= mask;
	switch (op) {
	case KAGAMI_ALU_ADD:
	case KAGAMI_ALU_ADC:
		cf = op == KAGAMI_ALU_ADC && cf;
		res = (a + b + cf) & mask;
		flags = add_flags(a, b, res, cf, size);
		break;
	case KAGAMI_ALU_SUB:
	case KAGAMI_ALU_SBB:
	case KAGAMI_ALU_CMP:
		cf = op == KAGAMI_ALU_SBB && cf;
		res = (a - b - cf) & mask;
		flags = sub_flags(a, b, res, cf, size);
		break;
	case KAGAMI_ALU_OR:
		res = a | b;
		flags = 0;
		break;
	case KAGAMI_ALU_XOR:
		res = a ^ b;
		flags = 0;
		break;
	default:	/* AND, TEST */
		res = a & b;
		flags = 0;
		break;
	}
	flags |= result_flags(res, size);
	*rflags = (*rflags & ~(u64)KAGAMI_FLAGS_ARITH) | flags;
	return res;
}
