// SPDX-License-Identifier: GPL-2.0
/* svm.c: the AMD-V hooks: detection, per-CPU enabling, per-vCPU VMCB allocation. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "core/kagami.h"
#include "x86/svm/svm.h"

/* What kagami changed on a CPU, to put it back as found. */
struct svm_cpu {
	struct page *hsave;	/* host save area; NULL while SVM is not ours here */
	u64 old_hsave_pa;	/* VM_HSAVE_PA as found */
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpus);

static void svm_count_svme(void *count)
{
	u64 efer;

	rdmsrl(AMD_MSR_EFER, efer);
	if (efer & AMD_EFER_SVME)
		atomic_inc(count);
}

static int svm_probe(const char **reason)
{
	unsigned int max_leaf = cpuid_eax(AMD_CPUID_EXT_MAX);
	atomic_t svme_cpus = ATOMIC_INIT(0);
	u64 vm_cr;

	if (max_leaf < AMD_CPUID_EXT_FEATURES ||
	    !(cpuid_ecx(AMD_CPUID_EXT_FEATURES) & AMD_CPUID_ECX_SVM)) {
		*reason = "no AMD-V: CPUID 0x80000001 ECX.SVM is clear";
		return -ENODEV;
	}
	if (max_leaf < AMD_CPUID_SVM_FEATURES ||
	    !(cpuid_edx(AMD_CPUID_SVM_FEATURES) & AMD_CPUID_EDX_NPT)) {
		*reason = "AMD-V without nested paging: CPUID 0x8000000A EDX.NP is clear";
		return -ENODEV;
	}
	/* Some emulators do not implement VM_CR: then nothing disabled SVM. */
	if (!rdmsrl_safe(AMD_MSR_VM_CR, &vm_cr) && (vm_cr & AMD_VM_CR_SVMDIS)) {
		*reason = "AMD-V is disabled by the firmware (VM_CR.SVMDIS is set)";
		return -ENODEV;
	}
	if (kagami_module_loaded("kvm_amd")) {
		*reason = "kvm_amd is loaded and owns AMD-V: unload it first (rmmod kvm_amd)";
		return -EBUSY;
	}
	on_each_cpu(svm_count_svme, &svme_cpus, 1);
	if (atomic_read(&svme_cpus)) {
		*reason = "another hypervisor has AMD-V enabled (EFER.SVME is set)";
		return -EBUSY;
	}
	return 0;
}

static int svm_hardware_enable(void)
{
	struct svm_cpu *cpu = this_cpu_ptr(&svm_cpus);
	int id = smp_processor_id();
	struct page *hsave;
	u64 efer;

	rdmsrl(AMD_MSR_EFER, efer);
	if (efer & AMD_EFER_SVME) {
		/* Never fight over EFER.SVME: another hypervisor owns this CPU. */
		pr_err_ratelimited("cannot enable AMD-V on CPU %d: EFER.SVME is already set by another hypervisor\n",
				   id);
		return -EBUSY;
	}
	hsave = alloc_pages_node(cpu_to_node(id), GFP_KERNEL | __GFP_ZERO, 0);
	if (!hsave)
		return -ENOMEM;
	atomic_inc(&kagami_stats.pages);
	cpu->hsave = hsave;
	rdmsrl(AMD_MSR_VM_HSAVE_PA, cpu->old_hsave_pa);
	wrmsrl(AMD_MSR_EFER, efer | AMD_EFER_SVME);
	wrmsrl(AMD_MSR_VM_HSAVE_PA, page_to_phys(hsave));
	return 0;
}

static void svm_hardware_disable(void)
{
	struct svm_cpu *cpu = this_cpu_ptr(&svm_cpus);
	u64 efer;

	if (!cpu->hsave)
		return;
	wrmsrl(AMD_MSR_VM_HSAVE_PA, cpu->old_hsave_pa);
	rdmsrl(AMD_MSR_EFER, efer);
	wrmsrl(AMD_MSR_EFER, efer & ~AMD_EFER_SVME);
	__free_page(cpu->hsave);
	atomic_dec(&kagami_stats.pages);
	cpu->hsave = NULL;
}

/* The VMCB, used from the next slice on (VMRUN); allocated now to settle its lifetime. */
static int svm_vcpu_create(struct kagami_vcpu *vcpu)
{
	struct page *vmcb = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!vmcb)
		return -ENOMEM;
	atomic_inc(&kagami_stats.pages);
	vcpu->vendor = page_address(vmcb);
	return 0;
}

static void svm_vcpu_free(struct kagami_vcpu *vcpu)
{
	if (!vcpu->vendor)
		return;
	free_page((unsigned long)vcpu->vendor);
	atomic_dec(&kagami_stats.pages);
	vcpu->vendor = NULL;
}

const struct kagami_vendor_ops kagami_svm_ops = {
	.name = "AMD-V",
	.probe = svm_probe,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
};
