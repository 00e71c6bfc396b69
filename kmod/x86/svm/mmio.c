// SPDX-License-Identifier: GPL-2.0
/* mmio.c: a nested page fault outside guest RAM: decode, then an in-kernel device or KVM_EXIT_MMIO. */
#include <linux/string.h>

#include "core/irq.h"
#include "x86/irqchip.h"
#include "x86/lapic.h"
#include "x86/svm/svm.h"

/* svm_mmio_serve(): the access is done and the vCPU exits with run filled (an EOI exit). */
#define SVM_MMIO_USER_DONE	2

static struct kagami_paging svm_paging(const struct vmcb *vmcb)
{
	return (struct kagami_paging){
		.cr0 = vmcb->save.cr0, .cr3 = vmcb->save.cr3,
		.cr4 = vmcb->save.cr4, .efer = vmcb->save.efer,
	};
}

static int svm_emul_access(void *ctx, u64 linear, void *buf, unsigned int len, bool write)
{
	struct kagami_vcpu *vcpu = ctx;
	struct kagami_paging p = svm_paging(to_svm(vcpu)->vmcb);
	int r = kagami_access_linear(vcpu->vm, &p, linear, buf, len, write);

	return r == -ENOENT || r == -EPERM ? KAGAMI_MEM_NOT_RAM : r;
}

static int svm_emul_read(void *ctx, u64 linear, void *buf, unsigned int len)
{
	return svm_emul_access(ctx, linear, buf, len, false);
}

static int svm_emul_write(void *ctx, u64 linear, const void *buf, unsigned int len)
{
	return svm_emul_access(ctx, linear, (void *)buf, len, true);
}

static const struct kagami_emul_ops svm_emul_ops = {
	.read_mem = svm_emul_read,
	.write_mem = svm_emul_write,
};

static void svm_regs_to_emul(struct svm_vcpu *svm)
{
	struct kagami_emul_regs *r = &svm->emul_regs;
	const struct vmcb_save *s = &svm->vmcb->save;

	memcpy(r->gpr, svm->gprs, sizeof(r->gpr));
	r->gpr[KAGAMI_RAX] = s->rax;
	r->gpr[KAGAMI_RSP] = s->rsp;
	r->rip = s->rip;
	r->rflags = s->rflags;
	r->seg_base[KAGAMI_SEG_ES] = s->es.base;
	r->seg_base[KAGAMI_SEG_CS] = s->cs.base;
	r->seg_base[KAGAMI_SEG_SS] = s->ss.base;
	r->seg_base[KAGAMI_SEG_DS] = s->ds.base;
	r->seg_base[KAGAMI_SEG_FS] = s->fs.base;
	r->seg_base[KAGAMI_SEG_GS] = s->gs.base;
}

static void svm_regs_from_emul(struct svm_vcpu *svm)
{
	const struct kagami_emul_regs *r = &svm->emul_regs;
	struct vmcb_save *s = &svm->vmcb->save;

	if (s->rip != r->rip)
		svm->vmcb->control.int_state = 0;
	memcpy(svm->gprs, r->gpr, sizeof(svm->gprs));
	s->rax = r->gpr[KAGAMI_RAX];
	s->rsp = r->gpr[KAGAMI_RSP];
	s->rip = r->rip;
	s->rflags = r->rflags;
}

/* KVM's emulation-failure report: suberror EMULATION with the instruction bytes. */
static int svm_emulation_failed(struct kagami_vcpu *vcpu, const struct kagami_insn *insn)
{
	struct kvm_run *run = vcpu->run;

	memset(&run->emulation_failure, 0, sizeof(run->emulation_failure));
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 3;
	run->emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size =
		kagami_insn_copy_bytes(insn, run->emulation_failure.insn_bytes,
				       sizeof(run->emulation_failure.insn_bytes));
	return 0;
}

static int svm_mmio_exit(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = svm->emul.mmio.gpa;
	run->mmio.len = svm->emul.mmio.len;
	run->mmio.is_write = svm->emul.mmio.is_write;
	memcpy(run->mmio.data, svm->emul.mmio.data, sizeof(run->mmio.data));
	svm->pending = SVM_PENDING_MMIO;
	return 0;
}

/* The bytes at CS:RIP: the decode assist's if the CPU has it, else read via the guest's tables. */
unsigned int svm_fetch_insn(struct kagami_vcpu *vcpu, struct svm_vcpu *svm, u8 *bytes)
{
	const struct vmcb *vmcb = svm->vmcb;
	struct kagami_paging p = svm_paging(vmcb);
	u64 linear = vmcb->save.cs.base + vmcb->save.rip;
	unsigned int len = KAGAMI_INSN_MAX_LEN;

	if (vmcb->control.insn_len) {
		len = min_t(unsigned int, vmcb->control.insn_len, KAGAMI_INSN_MAX_LEN);
		memcpy(bytes, vmcb->control.insn_bytes, len);
		return len;
	}
	if (svm_guest_cpu_mode(vmcb) != 64)
		linear = (u32)linear;
	if (!kagami_access_linear(vcpu->vm, &p, linear, bytes, len, false))
		return len;
	/* The next page may not be mapped: take what this one has. */
	len = PAGE_SIZE - (linear & ~PAGE_MASK);
	if (len < KAGAMI_INSN_MAX_LEN &&
	    !kagami_access_linear(vcpu->vm, &p, linear, bytes, len, false))
		return len;
	return 0;
}

static bool svm_in_ioapic(struct kagami_vm *vm, u64 gpa)
{
	return svm_kernel_irqchip(vm) && gpa >= KAGAMI_IOAPIC_BASE && gpa < KAGAMI_IOAPIC_BASE + PAGE_SIZE;
}

/*
 * One access for the kernel's devices, as KVM's vcpu_mmio_read/write(): the
 * LAPIC page, the kernel IOAPIC, then (writes only) an ioeventfd. -ENOENT
 * when none takes it, 0 done (a read fills data), 1 done and exit (EOI).
 */
static int svm_mmio_device(struct kagami_vcpu *vcpu, struct kagami_mmio *m, u8 *data)
{
	struct kagami_vm *vm = vcpu->vm;

	if (vcpu->lapic && kagami_lapic_mmio_in_range(vcpu, m->gpa))
		return m->is_write ? kagami_lapic_mmio_write(vcpu, m->gpa, m->data, m->len) :
				     kagami_lapic_mmio_read(vcpu, m->gpa, data, m->len);
	if (svm_in_ioapic(vm, m->gpa))
		return kagami_irqchip_mmio(vcpu, m->gpa, m->is_write,
					   m->is_write ? m->data : data, m->len);
	if (m->is_write && kagami_ioeventfd_write(vm, true, m->gpa, m->len, m->data))
		return 0;
	return -ENOENT;
}

/*
 * Runs the emulation's accesses through the kernel's devices while they take
 * them. Returns KAGAMI_EMUL_DONE, KAGAMI_EMUL_MMIO_EXIT (e->mmio is for
 * userspace), SVM_MMIO_USER_DONE or a negative errno.
 */
static int svm_mmio_serve(struct kagami_vcpu *vcpu, struct svm_vcpu *svm, int r)
{
	struct kagami_mmio *m = &svm->emul.mmio;
	bool user_exit = false;

	while (r == KAGAMI_EMUL_MMIO_EXIT && !user_exit) {
		u8 data[8] = {};
		int dev;

		if (m->len > sizeof(data))
			return r;
		dev = svm_mmio_device(vcpu, m, data);
		if (dev == -ENOENT)
			return r;
		if (dev < 0)
			return dev;
		user_exit = dev == 1;
		r = kagami_emulate_complete(&svm->emul, m->is_write ? m->data : data, m->len);
	}
	return r == KAGAMI_EMUL_DONE && user_exit ? SVM_MMIO_USER_DONE : r;
}

/* What the emulation's result means for the run loop (1 resume, 0 userspace). */
static int svm_mmio_finish(struct kagami_vcpu *vcpu, struct svm_vcpu *svm, int r)
{
	r = svm_mmio_serve(vcpu, svm, r);
	if (r < 0)
		return svm_emulation_failed(vcpu, &svm->emul.insn);
	svm_regs_from_emul(svm);
	if (r == KAGAMI_EMUL_DONE)
		return 1;
	if (r == SVM_MMIO_USER_DONE)
		return 0;
	return svm_mmio_exit(vcpu, svm);
}

int svm_emulate_mmio(struct kagami_vcpu *vcpu, u64 gpa)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kagami_emul *e = &svm->emul;
	u8 bytes[KAGAMI_INSN_MAX_LEN];
	unsigned int avail;
	int r;

	memset(e, 0, sizeof(*e));
	/* The guest's own page tables outside RAM: nothing to emulate. */
	if (svm->vmcb->control.exit_info_1 & SVM_NPF_GUEST_PAGE)
		return svm_emulation_failed(vcpu, &e->insn);
	avail = svm_fetch_insn(vcpu, svm, bytes);
	r = kagami_decode(&e->insn, bytes, avail, svm_guest_cpu_mode(svm->vmcb));
	if (r)
		return svm_emulation_failed(vcpu, &e->insn);
	svm_regs_to_emul(svm);
	e->regs = &svm->emul_regs;
	e->ops = &svm_emul_ops;
	e->ctx = vcpu;
	r = kagami_emulate_mmio(e, gpa);
	if (r < 0)
		return svm_emulation_failed(vcpu, &e->insn);
	return svm_mmio_finish(vcpu, svm, r);
}

/* KVM_RUN after KVM_EXIT_MMIO: finish the instruction with userspace's data. */
int svm_complete_mmio(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;
	int r;

	svm_regs_to_emul(svm);
	r = kagami_emulate_complete(&svm->emul, run->mmio.data, run->mmio.len);
	if (r < 0)
		return svm_emulation_failed(vcpu, &svm->emul.insn);
	return svm_mmio_finish(vcpu, svm, r);
}
