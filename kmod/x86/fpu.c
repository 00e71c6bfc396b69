// SPDX-License-Identifier: GPL-2.0
/* fpu.c: KVM_GET/SET_FPU, KVM_GET/SET_XSAVE and KVM_GET/SET_XCRS over the guest's FXSAVE image. */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "core/kagami.h"

/* The 64-bit FXSAVE image (Intel SDM vol. 1, table 10-2). */
#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define FX_MXCSR	24
#define FX_MXCSR_MASK	28
#define FX_ST		32	/* 8 x 16 bytes */
#define FX_XMM		160	/* 16 x 16 bytes */
#define FX_SIZE		512
#define FX_FCW_RESET	0x37f

/* The XSAVE header follows the legacy region: XSTATE_BV, XCOMP_BV, 48 reserved bytes. */
#define XSAVE_HDR	FX_SIZE
#define XSAVE_HDR_SIZE	64
#define KAGAMI_XFEATURES	XFEATURE_MASK_FPSSE	/* XSAVE is hidden: x87 and SSE only */
#define KAGAMI_MAX_XCRS	16	/* KVM_MAX_XCRS */

/* FXRSTOR faults on MXCSR bits the CPU lacks: the mask FXSAVE reports (0 means 0xffbf). */
static u32 kagami_mxcsr_mask(void)
{
	static u32 mask;
	u8 image[FX_SIZE] __aligned(16);

	if (!mask) {
		kernel_fpu_begin();
		asm volatile("fxsaveq %0" : "=m"(image));
		kernel_fpu_end();
		mask = *(u32 *)&image[FX_MXCSR_MASK] ?: 0xffbf;
	}
	return mask;
}

long kagami_vcpu_get_fpu(struct kagami_vcpu *vcpu, struct kvm_fpu __user *argp)
{
	const u8 *fx = kagami_vendor->fpu_image(vcpu);
	struct kvm_fpu fpu = {};

	memcpy(fpu.fpr, fx + FX_ST, sizeof(fpu.fpr));
	fpu.fcw = *(const u16 *)(fx + FX_FCW);
	fpu.fsw = *(const u16 *)(fx + FX_FSW);
	fpu.ftwx = fx[FX_FTW];
	fpu.last_opcode = *(const u16 *)(fx + FX_FOP);
	fpu.last_ip = *(const u64 *)(fx + FX_FIP);
	fpu.last_dp = *(const u64 *)(fx + FX_FDP);
	memcpy(fpu.xmm, fx + FX_XMM, sizeof(fpu.xmm));
	fpu.mxcsr = *(const u32 *)(fx + FX_MXCSR);
	return copy_to_user(argp, &fpu, sizeof(fpu)) ? -EFAULT : 0;
}

long kagami_vcpu_set_fpu(struct kagami_vcpu *vcpu, const struct kvm_fpu __user *argp)
{
	u8 *fx = kagami_vendor->fpu_image(vcpu);
	struct kvm_fpu fpu;

	if (copy_from_user(&fpu, argp, sizeof(fpu)))
		return -EFAULT;
	if (fpu.mxcsr & ~kagami_mxcsr_mask())
		return -EINVAL;
	memcpy(fx + FX_ST, fpu.fpr, sizeof(fpu.fpr));
	*(u16 *)(fx + FX_FCW) = fpu.fcw;
	*(u16 *)(fx + FX_FSW) = fpu.fsw;
	fx[FX_FTW] = fpu.ftwx;
	*(u16 *)(fx + FX_FOP) = fpu.last_opcode;
	*(u64 *)(fx + FX_FIP) = fpu.last_ip;
	*(u64 *)(fx + FX_FDP) = fpu.last_dp;
	memcpy(fx + FX_XMM, fpu.xmm, sizeof(fpu.xmm));
	*(u32 *)(fx + FX_MXCSR) = fpu.mxcsr;
	return 0;
}

/* The standard (non-compacted) format, as KVM gives for a guest without XSAVE. */
long kagami_vcpu_get_xsave(struct kagami_vcpu *vcpu, struct kvm_xsave __user *argp)
{
	struct kvm_xsave *xsave = kzalloc(sizeof(*xsave), GFP_KERNEL_ACCOUNT);
	long r = 0;
	u8 *buf;

	if (!xsave)
		return -ENOMEM;
	buf = (u8 *)xsave->region;
	memcpy(buf, kagami_vendor->fpu_image(vcpu), FX_SIZE);
	*(u32 *)(buf + FX_MXCSR_MASK) = kagami_mxcsr_mask();
	*(u64 *)(buf + XSAVE_HDR) = KAGAMI_XFEATURES;
	if (copy_to_user(argp, xsave, sizeof(*xsave)))
		r = -EFAULT;
	kfree(xsave);
	return r;
}

static bool kagami_xsave_valid(const u8 *buf)
{
	u64 xstate_bv = *(const u64 *)(buf + XSAVE_HDR);
	u64 xcomp_bv = *(const u64 *)(buf + XSAVE_HDR + 8);

	/* As the kernel's validate_user_xstate_header(): no unknown feature, no compaction. */
	if (xstate_bv & ~KAGAMI_XFEATURES || xcomp_bv)
		return false;
	if (memchr_inv(buf + XSAVE_HDR + 16, 0, XSAVE_HDR_SIZE - 16))
		return false;
	return !(*(const u32 *)(buf + FX_MXCSR) & ~kagami_mxcsr_mask());
}

/* A feature whose XSTATE_BV bit is clear takes its initial state, as XRSTOR would. */
long kagami_vcpu_set_xsave(struct kagami_vcpu *vcpu, const struct kvm_xsave __user *argp)
{
	struct kvm_xsave *xsave = memdup_user(argp, sizeof(*xsave));
	u8 *fx = kagami_vendor->fpu_image(vcpu);
	const u8 *buf;
	u64 xstate_bv;
	long r = -EINVAL;

	if (IS_ERR(xsave))
		return PTR_ERR(xsave);
	buf = (const u8 *)xsave->region;
	if (!kagami_xsave_valid(buf))
		goto out;
	xstate_bv = *(const u64 *)(buf + XSAVE_HDR);
	if (xstate_bv & XFEATURE_MASK_FP) {
		memcpy(fx, buf, FX_MXCSR);
		memcpy(fx + FX_ST, buf + FX_ST, FX_XMM - FX_ST);
	} else {
		memset(fx, 0, FX_MXCSR);
		memset(fx + FX_ST, 0, FX_XMM - FX_ST);
		*(u16 *)(fx + FX_FCW) = FX_FCW_RESET;
	}
	if (xstate_bv & XFEATURE_MASK_SSE)
		memcpy(fx + FX_XMM, buf + FX_XMM, 16 * 16);
	else
		memset(fx + FX_XMM, 0, 16 * 16);
	*(u32 *)(fx + FX_MXCSR) = *(const u32 *)(buf + FX_MXCSR);
	r = 0;
out:
	kfree(xsave);
	return r;
}

/* As KVM: XCRs exist for userspace only on a host with XSAVE (KVM_CAP_XCRS). */
bool kagami_has_xcrs(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE);
}

long kagami_vcpu_get_xcrs(struct kagami_vcpu *vcpu, struct kvm_xcrs __user *argp)
{
	struct kvm_xcrs xcrs = {};

	if (kagami_has_xcrs()) {
		xcrs.nr_xcrs = 1;
		xcrs.xcrs[0].xcr = 0;	/* XCR_XFEATURE_ENABLED_MASK */
		xcrs.xcrs[0].value = vcpu->xcr0;
	}
	return copy_to_user(argp, &xcrs, sizeof(xcrs)) ? -EFAULT : 0;
}

/* XCR0 must have x87 and nothing beyond SSE (XSAVE is hidden); other XCRs are ignored, as KVM. */
long kagami_vcpu_set_xcrs(struct kagami_vcpu *vcpu, const struct kvm_xcrs __user *argp)
{
	struct kvm_xcrs xcrs;
	u32 i;

	if (copy_from_user(&xcrs, argp, sizeof(xcrs)))
		return -EFAULT;
	if (!kagami_has_xcrs() || xcrs.nr_xcrs > KAGAMI_MAX_XCRS || xcrs.flags)
		return -EINVAL;
	for (i = 0; i < xcrs.nr_xcrs; i++) {
		u64 value = xcrs.xcrs[i].value;

		if (xcrs.xcrs[i].xcr != 0)
			continue;
		if (!(value & XFEATURE_MASK_FP) || (value & ~KAGAMI_XFEATURES))
			return -EINVAL;
		vcpu->xcr0 = value;
		break;
	}
	return 0;
}
