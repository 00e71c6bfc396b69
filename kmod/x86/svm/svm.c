// SPDX-License-Identifier: GPL-2.0
/* svm.c: the AMD-V hooks: detection, per-CPU enabling and ASIDs, per-vCPU allocation. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>

#include "core/kagami.h"

#include "x86/svm/svm.h"

/*
 * What kagami changed on a CPU, to put it back as found, and the CPU's ASIDs.
 * Only this CPU touches its entry, with preemption disabled.
 */
struct svm_cpu {
	struct page *hsave;	/* host save area; NULL while SVM is not ours here */
	struct page *host_vmcb;	/* VMSAVE/VMLOAD of the host's FS, GS, TR, syscall MSRs */
	u64 old_hsave_pa;	/* VM_HSAVE_PA as found */
	u64 asid_generation;	/* bumped, with a full flush, when the ASIDs run out */
	u32 next_asid;
	u32 max_asid;
	u64 host_tsc_aux;	/* TSC_AUX as Linux set it on this CPU (its CPU and node) */
	struct svm_vcpu *last_vcpu;	/* the vCPU that last ran here, for the IBPB */
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpus);
static bool svm_nrips;	/* the CPU saves next_rip on exits (not under QEMU TCG) */

u64 svm_host_save_pa(void)
{
	return page_to_phys(this_cpu_ptr(&svm_cpus)->host_vmcb);
}

bool svm_has_nrips(void)
{
	return svm_nrips;
}

/*
 * Called with preemption disabled before VMRUN. A vCPU that comes to this CPU
 * (or whose ASID generation is stale) takes a fresh ASID; the TLB is flushed
 * whole when the vCPU moved, so nothing cached for it elsewhere or earlier
 * survives, and when this CPU's ASIDs wrap.
 */
/* RDTSCP or RDPID read TSC_AUX in the guest: the guest's value is loaded around VMRUN. */
static bool svm_has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID);
}

/*
 * The host state VMRUN and VMLOAD leave alone and the guest can change,
 * switched to the guest's (preemption off, before VMRUN). TSC_AUX: guest
 * writes are intercepted, so the CPU holds the host's value until here.
 * SPEC_CTRL needs no switch: the guest cannot reach it (its MSRs exit and are
 * refused, CPUID hides IBRS and SSBD), so the host's setting stays in force
 * in the guest. The branch predictor is flushed (IBPB, where the kernel uses
 * it) when another vCPU ran on this CPU last, so one guest cannot steer
 * another's indirect branches, as KVM does when it switches VMCBs.
 */
void svm_load_guest_host_state(struct svm_vcpu *svm)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);

	if (sd->last_vcpu != svm) {
		sd->last_vcpu = svm;
		indirect_branch_prediction_barrier();
	}
	if (svm_has_tsc_aux() && svm->tsc_aux != sd->host_tsc_aux)
		wrmsrl(MSR_TSC_AUX, svm->tsc_aux);
}

/* After the exit: the host's TSC_AUX back, before anything in the host can read it. */
void svm_put_guest_host_state(struct svm_vcpu *svm)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);

	if (svm_has_tsc_aux() && svm->tsc_aux != sd->host_tsc_aux)
		wrmsrl(MSR_TSC_AUX, sd->host_tsc_aux);
}

void svm_assign_asid(struct svm_vcpu *svm, int cpu)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);

	if (svm->cpu == cpu && svm->asid_generation == sd->asid_generation)
		return;
	if (sd->next_asid > sd->max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
	}
	svm->vmcb->control.asid = sd->next_asid++;
	svm->vmcb->control.tlb_control = VMCB_TLB_FLUSH_ALL;
	svm->asid_generation = sd->asid_generation;
	svm->cpu = cpu;
}

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
	if (cpuid_ebx(AMD_CPUID_SVM_FEATURES) < 2) {
		*reason = "AMD-V without guest ASIDs: CPUID 0x8000000A EBX < 2";
		return -ENODEV;
	}
	svm_nrips = cpuid_edx(AMD_CPUID_SVM_FEATURES) & AMD_CPUID_EDX_NRIPS;
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
	cpu->host_vmcb = alloc_pages_node(cpu_to_node(id), GFP_KERNEL | __GFP_ZERO, 0);
	if (!cpu->host_vmcb) {
		__free_page(hsave);
		return -ENOMEM;
	}
	atomic_add(2, &kagami_stats.pages);
	if (svm_has_tsc_aux())
		rdmsrl(MSR_TSC_AUX, cpu->host_tsc_aux);
	cpu->last_vcpu = NULL;
	cpu->hsave = hsave;
	/* ASID 0 is the host's; the first VMRUN here starts a new generation. */
	cpu->max_asid = cpuid_ebx(AMD_CPUID_SVM_FEATURES) - 1;
	cpu->next_asid = cpu->max_asid + 1;
	cpu->asid_generation++;
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
	__free_page(cpu->host_vmcb);
	atomic_sub(2, &kagami_stats.pages);
	cpu->hsave = NULL;
	cpu->host_vmcb = NULL;
}

#define SVM_IOPM_ORDER	2	/* 12 KiB used */
#define SVM_MSRPM_ORDER	1	/* 8 KiB */

static void *svm_alloc_filled(unsigned int order)
{
	struct page *page = alloc_pages(GFP_KERNEL_ACCOUNT, order);

	if (!page)
		return NULL;
	atomic_add(1 << order, &kagami_stats.pages);
	memset(page_address(page), 0xff, PAGE_SIZE << order);
	return page_address(page);
}

static void svm_free_pages(void *addr, unsigned int order)
{
	if (!addr)
		return;
	free_pages((unsigned long)addr, order);
	atomic_sub(1 << order, &kagami_stats.pages);
}

static void svm_vcpu_free(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->vendor;
	int cpu;

	if (!svm)
		return;
	/* A later vCPU at the same address must still get its IBPB. */
	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu(svm_cpus, cpu).last_vcpu, svm, NULL);
	svm_free_pages(svm->vmcb, 0);
	svm_free_pages(svm->iopm, SVM_IOPM_ORDER);
	svm_free_pages(svm->msrpm, SVM_MSRPM_ORDER);
	kfree(svm);
	vcpu->vendor = NULL;
}

/* The VMCB and the I/O and MSR permission maps, all ones: every port and MSR exits. */
static int svm_vcpu_create(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	struct page *vmcb;

	if (!svm)
		return -ENOMEM;
	vcpu->vendor = svm;
	svm->cpu = -1;
	vmcb = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (vmcb) {
		atomic_inc(&kagami_stats.pages);
		svm->vmcb = page_address(vmcb);
		svm->vmcb_pa = page_to_phys(vmcb);
	}
	svm->iopm = svm_alloc_filled(SVM_IOPM_ORDER);
	svm->msrpm = svm_alloc_filled(SVM_MSRPM_ORDER);
	if (!svm->vmcb || !svm->iopm || !svm->msrpm) {
		svm_vcpu_free(vcpu);
		return -ENOMEM;
	}
	svm_vmcb_init(vcpu, svm);
	return 0;
}

const struct kagami_vendor_ops kagami_svm_ops = {
	.name = "AMD-V",
	.probe = svm_probe,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.memslots_changed = svm_memslots_changed,
	.dirty_log_start = svm_dirty_log_start,
	.dirty_log_stop = svm_dirty_log_stop,
	.write_protect = svm_write_protect,
	.vcpu_run = svm_vcpu_run,
	.get_regs = svm_get_regs,
	.set_regs = svm_set_regs,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.fpu_image = svm_fpu_image,
	.queue_interrupt = svm_queue_interrupt,
	.queue_nmi = svm_queue_nmi,
	.get_vcpu_events = svm_get_vcpu_events,
	.set_vcpu_events = svm_set_vcpu_events,
	.tsc_offset = svm_tsc_offset,
	.accept_events = svm_mp_apply_events,
	.get_debugregs = svm_get_debugregs,
	.set_debugregs = svm_set_debugregs,
};
