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

#define AMD_MSR_EFER		0xc0000080
#define AMD_EFER_SVME		BIT_ULL(12)	/* SVM enable */
#define AMD_MSR_VM_CR		0xc0010114
#define AMD_VM_CR_SVMDIS	BIT_ULL(4)	/* firmware disabled SVM */
#define AMD_MSR_VM_HSAVE_PA	0xc0010117	/* host save area of VMRUN */

#endif
