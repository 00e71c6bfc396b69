// SPDX-License-Identifier: GPL-2.0
/* pio.c: port I/O exits: the kernel PIC, ioeventfds, else KVM_EXIT_IO (string and REP too). */
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/processor-flags.h>

#include "core/irq.h"
#include "x86/irqchip.h"
#include "x86/svm/svm.h"

/* The data area is the vCPU mapping's second page, as KVM's KVM_PIO_PAGE_OFFSET. */
#define PIO_DATA_OFFSET		(KAGAMI_PIO_PAGE_OFFSET * PAGE_SIZE)
#define PIO_DATA_SIZE		PAGE_SIZE

#define IOIO_ADDR_SHIFT		7	/* bits 7-9: 16, 32 or 64-bit addresses, one-hot */

static u8 *pio_data(struct kagami_vcpu *vcpu)
{
	return vcpu->pio_data;
}

static int pio_exit(struct kagami_vcpu *vcpu, bool in, u8 size, u16 port, u32 count)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = PIO_DATA_OFFSET;
	return 0;
}

static int pio_failed(struct kagami_vcpu *vcpu, u64 info)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 2;
	run->internal.data[0] = SVM_EXIT_IOIO;
	run->internal.data[1] = info;
	return 0;
}

/*
 * The segment of OUTS: a prefix of the instruction, else DS. EXITINFO1 has it
 * only with decode assists, so the prefixes are read from the instruction.
 */
static u8 pio_outs_segment(struct kagami_vcpu *vcpu)
{
	static const u8 prefix_seg[][2] = {
		{ 0x26, KAGAMI_SEG_ES }, { 0x2e, KAGAMI_SEG_CS }, { 0x36, KAGAMI_SEG_SS },
		{ 0x3e, KAGAMI_SEG_DS }, { 0x64, KAGAMI_SEG_FS }, { 0x65, KAGAMI_SEG_GS },
	};
	u8 bytes[KAGAMI_INSN_MAX_LEN];
	unsigned int n = svm_fetch_insn(vcpu, to_svm(vcpu), bytes);
	u8 seg = KAGAMI_SEG_DS;
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < ARRAY_SIZE(prefix_seg) && prefix_seg[j][0] != bytes[i]; j++)
			;
		if (j < ARRAY_SIZE(prefix_seg))
			seg = prefix_seg[j][1];
		else if (bytes[i] != 0x66 && bytes[i] != 0x67 && bytes[i] != 0xf2 &&
			 bytes[i] != 0xf3 && bytes[i] != 0xf0 && (bytes[i] & 0xf0) != 0x40)
			break;
	}
	return seg;
}

/* One element's linear address: segment base + offset at the address size. */
static u64 pio_linear(const struct vmcb *vmcb, u8 seg, u64 offset, u64 mask)
{
	const struct vmcb_seg *segs[] = {
		[KAGAMI_SEG_ES] = &vmcb->save.es, [KAGAMI_SEG_CS] = &vmcb->save.cs,
		[KAGAMI_SEG_SS] = &vmcb->save.ss, [KAGAMI_SEG_DS] = &vmcb->save.ds,
		[KAGAMI_SEG_FS] = &vmcb->save.fs, [KAGAMI_SEG_GS] = &vmcb->save.gs,
	};
	u64 linear = offset & mask;

	if (svm_guest_cpu_mode(vmcb) != 64)
		return (u32)(segs[seg]->base + linear);
	if (seg == KAGAMI_SEG_FS || seg == KAGAMI_SEG_GS)
		linear += segs[seg]->base;
	return linear;
}

/*
 * Copies the elements between the data area and the guest at seg:*index,
 * then steps *index (and rCX under REP) by their number, as the CPU would
 * have. Under REP that is at most the rCX of now: userspace may lower it
 * while an INS waits for its data (KVM_SET_REGS), and KVM's emulator then
 * stores only that many and drops the rest of the batch (selftest
 * userspace_io_test), never running rCX below zero.
 */
static int pio_string_copy(struct kagami_vcpu *vcpu, bool to_guest, u8 seg, u64 *index)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct kagami_paging p = {
		.cr0 = vmcb->save.cr0, .cr3 = vmcb->save.cr3,
		.cr4 = vmcb->save.cr4, .efer = vmcb->save.efer,
	};
	s64 step = vmcb->save.rflags & X86_EFLAGS_DF ? -(s64)svm->io_size : svm->io_size;
	u64 mask = svm->io_addr_mask;
	u32 i, count = svm->io_count;
	int r;

	if (svm->io_rep)
		count = min_t(u64, count, svm->gprs[KAGAMI_RCX] & mask);
	for (i = 0; i < count; i++) {
		u64 linear = pio_linear(vmcb, seg, *index + i * step, mask);
		u8 *data = pio_data(vcpu) + i * svm->io_size;

		r = kagami_access_linear(vcpu->vm, &p, linear, data, svm->io_size, to_guest);
		if (r)
			return r;
	}
	*index = (*index & ~mask) | ((*index + count * step) & mask);
	if (svm->io_rep) {
		u64 *rcx = &svm->gprs[KAGAMI_RCX];

		*rcx = (*rcx & ~mask) | ((*rcx - count) & mask);
		if (*rcx & mask)
			return 0;	/* RIP stays: the guest runs the instruction again */
	}
	vmcb->save.rip = svm->io_next_rip;
	vmcb->control.int_state = 0;
	return 0;
}

static int pio_string(struct kagami_vcpu *vcpu, u64 info, u8 size, u16 port)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	bool in = info & SVM_IOIO_IN;
	u8 addr_bits = (info >> IOIO_ADDR_SHIFT) & 7;
	u64 count = 1;

	svm->io_addr_mask = addr_bits == 1 ? 0xffff : addr_bits == 2 ? 0xffffffff : ~0ULL;
	svm->io_rep = info & SVM_IOIO_REP;
	svm->io_size = size;
	svm->io_next_rip = svm->vmcb->control.exit_info_2;
	if (svm->io_rep) {
		count = svm->gprs[KAGAMI_RCX] & svm->io_addr_mask;
		if (!count) {
			svm->vmcb->save.rip = svm->io_next_rip;
			return 1;
		}
	}
	svm->io_count = min_t(u64, count, PIO_DATA_SIZE / size);
	if (in) {
		svm->pending = SVM_PENDING_INS;
		return pio_exit(vcpu, true, size, port, svm->io_count);
	}
	if (pio_string_copy(vcpu, false, pio_outs_segment(vcpu), &svm->gprs[KAGAMI_RSI]))
		return pio_failed(vcpu, info);
	return pio_exit(vcpu, false, size, port, svm->io_count);
}

/* KVM_RUN after the exit of an INS: the data goes to ES:rDI. */
int svm_complete_ins(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (pio_string_copy(vcpu, true, KAGAMI_SEG_ES, &svm->gprs[KAGAMI_RDI]))
		return pio_failed(vcpu, SVM_IOIO_IN | SVM_IOIO_STR);
	return 1;
}

/* KVM_RUN after the exit of an IN: the data goes to AL, AX or EAX. */
void svm_complete_in(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *rax = &svm->vmcb->save.rax;
	u32 value = 0;

	memcpy(&value, pio_data(vcpu), svm->io_size);
	if (svm->io_size == 4)
		*rax = value;	/* a 32-bit result clears the upper half */
	else if (svm->io_size == 2)
		*rax = (*rax & ~0xffffULL) | (u16)value;
	else
		*rax = (*rax & ~0xffULL) | (u8)value;
}

/*
 * A single IN or OUT the kernel completes (KVM's kernel_pio()): the kernel
 * PIC's ports (ELCR included) with KVM_CREATE_IRQCHIP, then for OUT an
 * ioeventfd. False when it goes to userspace.
 */
static bool pio_in_kernel(struct kagami_vcpu *vcpu, bool in, u8 size, u16 port)
{
	struct kagami_vm *vm = vcpu->vm;
	u64 *rax = &to_svm(vcpu)->vmcb->save.rax;
	u32 value = *rax;

	if (svm_kernel_irqchip(vm) && !kagami_irqchip_pio(vcpu, port, !in, &value, size)) {
		if (in) {
			memcpy(pio_data(vcpu), &value, size);
			svm_complete_in(vcpu);
		}
		return true;
	}
	return !in && kagami_ioeventfd_write(vm, false, port, size, &value);
}

/* EXITINFO1: port, size, direction, string, REP; EXITINFO2: the next RIP (even without NRIPS). */
int svm_handle_io(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;
	u64 info = c->exit_info_1;
	u8 size = (info >> SVM_IOIO_SIZE_SHIFT) & 7;
	u16 port = info >> SVM_IOIO_PORT_SHIFT;
	bool in = info & SVM_IOIO_IN;

	if (size != 1 && size != 2 && size != 4)
		return pio_failed(vcpu, info);
	if (info & SVM_IOIO_STR)
		return pio_string(vcpu, info, size, port);
	svm->io_size = size;
	svm->vmcb->save.rip = c->exit_info_2;
	c->int_state = 0;
	if (pio_in_kernel(vcpu, in, size, port))
		return 1;
	if (in)
		svm->pending = SVM_PENDING_IO_IN;
	else
		memcpy(pio_data(vcpu), &svm->vmcb->save.rax, size);
	return pio_exit(vcpu, in, size, port, 1);
}
