/* SPDX-License-Identifier: GPL-2.0 */
/* lapic_internal.h: the local APIC object and the helpers its files share. */
#ifndef KAGAMI_X86_LAPIC_INTERNAL_H
#define KAGAMI_X86_LAPIC_INTERNAL_H

#include <linux/hrtimer.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/apicdef.h>
#include <asm/kvm.h>

#include "x86/lapic.h"

/* Version register: 0x14 (integrated APIC), six LVT entries (KVM 6.1: LVT count - 1 = 5). */
#define LAPIC_VERSION		(0x14 | (5 << 16))
#define LAPIC_MMIO_SIZE		0x1000
#define LAPIC_REG_LAST		0x3f0

#define LAPIC_BASE_BSP		BIT_ULL(8)
#define LAPIC_BASE_EXTD		BIT_ULL(10)	/* x2APIC mode */
#define LAPIC_BASE_EN		BIT_ULL(11)
#define LAPIC_BASE_ADDR		GENMASK_ULL(51, 12)
#define LAPIC_MSR_BASE		0x1b
#define LAPIC_MSR_TSC_DEADLINE	0x6e0
#define LAPIC_MSR_X2APIC_FIRST	0x800
#define LAPIC_MSR_X2APIC_LAST	0x8ff

#define LAPIC_LVT_TIMER_MODE	(3 << 17)
#define LAPIC_ESR_ALL		0xef	/* every ESR bit the SDM defines (bit 4 is reserved) */

/* The LVT timer's mode; its hrtimer and what the guest programmed. All (l). */
struct kagami_lapic_timer {
	struct hrtimer hrtimer;	/* (c) absolute CLOCK_MONOTONIC, hard irq */
	u32 mode;		/* LVTT bits 18:17 as last written */
	u32 divide;		/* 1..128, from TDCR */
	u64 period_ns;		/* TMICT times bus cycle and divide; 0 when stopped */
	ktime_t target;		/* next expiry: the hrtimer's, while armed */
	u64 tsc_deadline;	/* IA32_TSC_DEADLINE in TSC-deadline mode, 0 disarmed */
	bool armed;		/* the hrtimer stands for target */
};

/*
 * Fields tagged (c) are set at creation; (l) are guarded by lock, which is
 * taken with interrupts off so that every context (vCPU thread, another
 * vCPU's IPI, the hrtimer, an eventfd wake-up) may take it. Nothing holds it
 * while taking another LAPIC's lock or kicking a vCPU.
 */
struct kagami_lapic {
	raw_spinlock_t lock;
	struct kagami_vcpu *vcpu;	/* (c) */
	u8 regs[KVM_APIC_REG_SIZE] __aligned(16);	/* (l) xAPIC layout, struct kvm_lapic_state */
	u64 base_msr;			/* (l) IA32_APIC_BASE */
	u32 esr_pending;		/* (l) errors since the last ESR write */
	u8 nmi_pending;			/* (l) NMIs not yet taken (at most 2, as KVM) */
	bool init_pending;		/* (l) */
	bool sipi_pending;		/* (l) */
	u8 sipi_vector;			/* (l) */
	struct kagami_lapic_timer timer;
};

static inline u32 lapic_reg(const struct kagami_lapic *apic, unsigned int reg)
{
	return *(const u32 *)(apic->regs + reg);
}

static inline void lapic_set_reg(struct kagami_lapic *apic, unsigned int reg, u32 val)
{
	*(u32 *)(apic->regs + reg) = val;
}

/* The 256-bit ISR, TMR and IRR: vector v is bit v % 32 of the word at base + (v / 32) * 16. */
static inline u32 *lapic_vec_word(struct kagami_lapic *apic, unsigned int base, u8 vec)
{
	return (u32 *)(apic->regs + base + (vec >> 5) * 0x10);
}

static inline bool lapic_test_vec(struct kagami_lapic *apic, unsigned int base, u8 vec)
{
	return *lapic_vec_word(apic, base, vec) & BIT(vec & 31);
}

static inline void lapic_set_vec(struct kagami_lapic *apic, unsigned int base, u8 vec)
{
	*lapic_vec_word(apic, base, vec) |= BIT(vec & 31);
}

static inline void lapic_clear_vec(struct kagami_lapic *apic, unsigned int base, u8 vec)
{
	*lapic_vec_word(apic, base, vec) &= ~BIT(vec & 31);
}

static inline bool lapic_hw_enabled(const struct kagami_lapic *apic)
{
	return apic->base_msr & LAPIC_BASE_EN;
}

static inline bool lapic_sw_enabled(const struct kagami_lapic *apic)
{
	return lapic_reg(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static inline bool lapic_x2apic_mode(const struct kagami_lapic *apic)
{
	return apic->base_msr & LAPIC_BASE_EXTD;
}

/* x2APIC: the LDR follows from the ID (SDM 10.12.10.2): cluster in 31:16, bit in 15:0. */
static inline u32 lapic_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

/* What a register write left to do once the lock is dropped. */
struct lapic_after {
	bool kick;			/* an event became pending here */
	bool send_ipi;			/* ICR or SELF IPI written */
	struct kagami_apic_irq ipi;
	int eoi_vector;			/* -1, or the vector an EOI retired */
	bool eoi_level;			/* its TMR bit was set */
};

/* lapic.c: the pieces every file uses (lock held). */
int lapic_highest_vec(struct kagami_lapic *apic, unsigned int base);
bool lapic_update_ppr(struct kagami_lapic *apic);
int lapic_accept(struct kagami_lapic *apic, const struct kagami_apic_irq *irq);
bool lapic_local_deliver(struct kagami_lapic *apic, unsigned int lvt);
bool lapic_error(struct kagami_lapic *apic, u32 esr_bit);
void lapic_finish(struct kagami_lapic *apic, const struct lapic_after *after);
int lapic_set_base(struct kagami_lapic *apic, u64 value, bool host);
u32 lapic_timer_mode_mask(struct kagami_lapic *apic);

/* regs.c: register reads and writes (lock held). */
bool lapic_reg_readable(struct kagami_lapic *apic, unsigned int reg);
u32 lapic_reg_read(struct kagami_lapic *apic, unsigned int reg);
int lapic_reg_write(struct kagami_lapic *apic, unsigned int reg, u32 val,
		    struct lapic_after *after);
int lapic_eoi_exit(struct kagami_vcpu *vcpu, const struct lapic_after *after);
int lapic_x2apic_read(struct kagami_vcpu *vcpu, u32 msr, u64 *val);
int lapic_x2apic_write(struct kagami_vcpu *vcpu, u32 msr, u64 val);

/* timer.c (lock held, except init and cancel_sync). */
void lapic_timer_init(struct kagami_lapic *apic);
void lapic_timer_cancel_sync(struct kagami_lapic *apic);
void lapic_timer_stop(struct kagami_lapic *apic);
bool lapic_timer_lvtt_written(struct kagami_lapic *apic);
bool lapic_timer_tmict_written(struct kagami_lapic *apic);
void lapic_timer_tdcr_written(struct kagami_lapic *apic);
u32 lapic_timer_current_count(struct kagami_lapic *apic);
bool lapic_timer_set_deadline(struct kagami_lapic *apic, u64 deadline);
bool lapic_timer_restore(struct kagami_lapic *apic, u32 current_count);

/* deliver.c */
bool lapic_match_dest(struct kagami_lapic *target, struct kagami_lapic *source,
		      const struct kagami_apic_irq *irq);

#endif
