/* SPDX-License-Identifier: GPL-2.0 */
/* vendor_ops.h: the hooks a CPU vendor (AMD SVM, later Intel VMX) implements, chosen once. */
#ifndef KAGAMI_X86_VENDOR_OPS_H
#define KAGAMI_X86_VENDOR_OPS_H

#include <linux/types.h>

struct kagami_vcpu;
struct kagami_vm;
struct kagami_memslot;
struct kvm_regs;
struct kvm_sregs;
struct kvm_vcpu_events;
struct kvm_debugregs;

/*
 * One member per entry of x86/vendor_ops_list.h, in the same order (checked
 * when vendor.c is built). A vendor fills every member (checked at load).
 */
struct kagami_vendor_ops {
	const char *name;	/* "AMD-V", shown in the log */

	/* Can this CPU and system run guests? 0, or -errno with *reason set to
	 * one line for the kernel log. Called once, at load.
	 */
	int (*probe)(const char **reason);
	/* Make this CPU able to run guests, or fail with -errno. Called on the
	 * CPU from its hotplug thread (it may sleep) while VMs exist.
	 */
	int (*hardware_enable)(void);
	/* Undo hardware_enable on this CPU, leaving it as found. */
	void (*hardware_disable)(void);
	/* Allocate and free the vendor state of a vCPU (vcpu->vendor). */
	int (*vcpu_create)(struct kagami_vcpu *vcpu);
	void (*vcpu_free)(struct kagami_vcpu *vcpu);
	/* Allocate and free the vendor state of a VM (vm->vendor): its nested page table. */
	int (*vm_init)(struct kagami_vm *vm);
	void (*vm_destroy)(struct kagami_vm *vm);
	/* A slot is about to be deleted or moved (vm->lock held): drop every mapping. */
	void (*memslots_changed)(struct kagami_vm *vm);
	/*
	 * Dirty logging (vm->lock held; the core flushes the TLBs): logging
	 * starts on a slot (no vCPU in the guest): drop its 2 MiB mappings, and
	 * with protect write-protect every page it maps; logging stopped (no
	 * vCPU in the guest): drop the 4 KiB mappings that could be 2 MiB ones
	 * again; write-protect the pages slot->base_gfn + first + each set bit
	 * of mask.
	 */
	void (*dirty_log_start)(struct kagami_vm *vm, const struct kagami_memslot *slot,
				bool protect);
	void (*dirty_log_stop)(struct kagami_vm *vm, const struct kagami_memslot *slot);
	void (*write_protect)(struct kagami_vm *vm, const struct kagami_memslot *slot, u64 first,
			      unsigned long mask);
	/* KVM_RUN: 0 with vcpu->run filled for userspace, or -errno (-EINTR: signal). */
	int (*vcpu_run)(struct kagami_vcpu *vcpu);
	/* KVM_GET/SET_REGS and KVM_GET/SET_SREGS (vcpu->mutex held). */
	int (*get_regs)(struct kagami_vcpu *vcpu, struct kvm_regs *regs);
	int (*set_regs)(struct kagami_vcpu *vcpu, const struct kvm_regs *regs);
	int (*get_sregs)(struct kagami_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct kagami_vcpu *vcpu, const struct kvm_sregs *sregs);
	/* An MSR the module owns: 0, or nonzero when the index or value is refused.
	 * host: KVM_SET_MSRS (userspace restores state), not the guest's WRMSR.
	 */
	int (*get_msr)(struct kagami_vcpu *vcpu, u32 index, u64 *value);
	int (*set_msr)(struct kagami_vcpu *vcpu, u32 index, u64 value, bool host);
	/* The guest's 512-byte FXSAVE image, read and written between runs. */
	u8 *(*fpu_image)(struct kagami_vcpu *vcpu);
	/* KVM_INTERRUPT without an in-kernel irqchip: queue a vector (it replaces a queued one). */
	int (*queue_interrupt)(struct kagami_vcpu *vcpu, u8 vector);
	/* KVM_NMI: make an NMI pending. */
	int (*queue_nmi)(struct kagami_vcpu *vcpu);
	/* KVM_GET/SET_VCPU_EVENTS; set receives flags already checked by the core. */
	int (*get_vcpu_events)(struct kagami_vcpu *vcpu, struct kvm_vcpu_events *events);
	int (*set_vcpu_events)(struct kagami_vcpu *vcpu, const struct kvm_vcpu_events *events);
	/* Guest TSC = host TSC + this (the LAPIC's TSC deadline, kvm-clock); any context. */
	u64 (*tsc_offset)(struct kagami_vcpu *vcpu);
	/* With a LAPIC: apply a latched INIT and SIPI now (KVM_GET_MP_STATE reports the result). */
	void (*accept_events)(struct kagami_vcpu *vcpu);
	/* KVM_GET/SET_DEBUGREGS: DR0-3, DR6, DR7 (vcpu->mutex held); set checks the values. */
	int (*get_debugregs)(struct kagami_vcpu *vcpu, struct kvm_debugregs *dbg);
	int (*set_debugregs)(struct kagami_vcpu *vcpu, const struct kvm_debugregs *dbg);
};

extern const struct kagami_vendor_ops kagami_svm_ops;

/* The vendor chosen once at load (x86/vendor.c); NULL before. */
extern const struct kagami_vendor_ops *kagami_vendor;

int kagami_vendor_select(const char **reason);

#endif
