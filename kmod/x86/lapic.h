/* SPDX-License-Identifier: GPL-2.0 */
/* lapic.h: the in-kernel local APIC of each vCPU (xAPIC and x2APIC), as the rest of the module sees it. */
#ifndef KAGAMI_X86_LAPIC_H
#define KAGAMI_X86_LAPIC_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kagami_vcpu;
struct kagami_vm;
struct kagami_lapic;

#define KAGAMI_APIC_DEFAULT_BASE	0xfee00000ULL

/* Delivery modes (ICR, IOAPIC redirection entry and MSI data bits 10:8). */
#define KAGAMI_APIC_DM_FIXED		0
#define KAGAMI_APIC_DM_LOWEST		1
#define KAGAMI_APIC_DM_SMI		2
#define KAGAMI_APIC_DM_NMI		4
#define KAGAMI_APIC_DM_INIT		5
#define KAGAMI_APIC_DM_SIPI		6
#define KAGAMI_APIC_DM_EXTINT		7

/* Destination shorthands (ICR bits 19:18). */
#define KAGAMI_APIC_SH_NONE		0
#define KAGAMI_APIC_SH_SELF		1
#define KAGAMI_APIC_SH_ALL		2
#define KAGAMI_APIC_SH_OTHERS		3

/* An interrupt on its way to local APICs: from an ICR write, an IOAPIC entry or an MSI. */
struct kagami_apic_irq {
	u32 dest_id;		/* xAPIC: 8 bits; x2APIC: 32 (0xffffffff broadcast) */
	u8 vector;
	u8 delivery_mode;	/* KAGAMI_APIC_DM_* */
	u8 shorthand;		/* KAGAMI_APIC_SH_* */
	bool dest_logical;
	bool level_assert;	/* ICR level bit: INIT de-assert has it clear */
	bool trig_level;	/* level-triggered: sets TMR, EOI is broadcast */
};

/*
 * Lifetime: created with the vCPU when the VM has an irqchip (split or
 * kernel), freed with it (the timer is cancelled first). vcpu->lapic is NULL
 * otherwise; every function below requires a non-NULL one.
 *
 * Locking: each LAPIC has its own spinlock taken with interrupts off, so every
 * function here may be called from any context (vCPU thread, another vCPU,
 * hrtimer callback, eventfd wakeup) unless it says otherwise. Nothing here
 * sleeps. A function that makes an interrupt pending on a vCPU kicks it
 * (kagami_vcpu_kick), so a halted or running vCPU notices.
 */
int kagami_lapic_create(struct kagami_vcpu *vcpu);
void kagami_lapic_free(struct kagami_vcpu *vcpu);
/* Power-on (init false) or INIT (init true) reset, as the SDM's table 10-? says. vCPU thread only. */
void kagami_lapic_reset(struct kagami_vcpu *vcpu, bool init);

/* The guest's accesses. vCPU thread only. */
bool kagami_lapic_mmio_in_range(struct kagami_vcpu *vcpu, u64 gpa);	/* xAPIC page, enabled */
/* 0 done; 1 done, and the vCPU must exit to userspace with run->exit_reason set (EOI exit). */
int kagami_lapic_mmio_read(struct kagami_vcpu *vcpu, u64 gpa, void *val, unsigned int len);
int kagami_lapic_mmio_write(struct kagami_vcpu *vcpu, u64 gpa, const void *val, unsigned int len);
/*
 * MSRs the LAPIC owns: APIC_BASE (0x1b), TSC_DEADLINE (0x6e0), x2APIC 0x800-0x8ff.
 * Returns -ENOENT when the MSR is not the LAPIC's, 0 done, 1 done and exit to
 * userspace (EOI exit, run->exit_reason set), -EINVAL for #GP. host: KVM_GET/SET_MSRS.
 */
int kagami_lapic_get_msr(struct kagami_vcpu *vcpu, u32 msr, u64 *val, bool host);
int kagami_lapic_set_msr(struct kagami_vcpu *vcpu, u32 msr, u64 val, bool host);

/* CR8 is TPR[7:4]. vCPU thread only. */
u8 kagami_lapic_get_cr8(struct kagami_vcpu *vcpu);
void kagami_lapic_set_cr8(struct kagami_vcpu *vcpu, u8 cr8);

/*
 * Injection, vCPU thread only: the vector of the highest-priority fixed
 * interrupt the LAPIC would deliver now (IRR above PPR, APIC enabled), or -1.
 * ExtINT (the PIC) is not included: see kagami_lapic_accepts_extint.
 * kagami_lapic_ack() is called once the vector is in EVENTINJ: IRR to ISR.
 */
int kagami_lapic_pending_vector(struct kagami_vcpu *vcpu);
void kagami_lapic_ack(struct kagami_vcpu *vcpu, int vector);
/* Does LINT0 take the PIC's ExtINT (LVT0 unmasked ExtINT, or the APIC hardware-disabled)? */
bool kagami_lapic_accepts_extint(struct kagami_vcpu *vcpu);

/*
 * Events other than fixed interrupts, taken once by the vCPU thread: an NMI
 * (delivery mode NMI, or LVT entries with it), INIT, and a SIPI's vector.
 */
bool kagami_lapic_take_nmi(struct kagami_vcpu *vcpu);
bool kagami_lapic_take_init(struct kagami_vcpu *vcpu);
bool kagami_lapic_take_sipi(struct kagami_vcpu *vcpu, u8 *vector);
/* Would a HLT end now: any of the above pending (for fixed ones, ignoring RFLAGS.IF)? */
bool kagami_lapic_has_event(struct kagami_vcpu *vcpu);

/*
 * Delivery to the VM's LAPICs, any context: physical/logical destinations,
 * shorthands (source is the sender's LAPIC for SELF/OTHERS, NULL otherwise),
 * lowest priority (to one of the targets), NMI, INIT, SIPI. Returns how many
 * LAPICs accepted it (0: none matched, as IPIs to absent IDs on hardware).
 */
int kagami_apic_deliver(struct kagami_vm *vm, struct kagami_lapic *source,
			const struct kagami_apic_irq *irq);
/* An MSI (address 0xfeeXXXXX, data) decoded as the SDM's section 10.11 says. */
void kagami_apic_irq_from_msi(u64 address, u32 data, struct kagami_apic_irq *irq);
/* Is the LAPIC a destination of irq (for EOI-exit bitmaps)? Shorthands not used here. */
bool kagami_lapic_matches(struct kagami_vcpu *vcpu, const struct kagami_apic_irq *irq);

/* KVM_GET_LAPIC / KVM_SET_LAPIC (vcpu->mutex held). */
long kagami_vcpu_lapic_ioctl(struct kagami_vcpu *vcpu, unsigned int cmd, void __user *argp);

#endif
