// SPDX-License-Identifier: GPL-2.0
/* timer.c: the LAPIC timer (one-shot, periodic, TSC-deadline) on a host hrtimer. */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "core/kagami.h"
#include "x86/lapic/lapic_internal.h"

/*
 * KVM's min_timer_period_us: a periodic timer faster than this would let a
 * guest keep a host CPU in hrtimer interrupts, so the period is clamped.
 */
#define LAPIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)
/* A TSC deadline further away than this (about 73 years) is as good as never. */
#define LAPIC_MAX_DELAY_NS	((u64)KTIME_MAX / 4)

/*
 * The hrtimer is armed only with the lock held and stands for timer.target
 * while timer.armed. Stopping it under the lock may race with a callback
 * already running on another CPU: that callback then finds the timer disarmed
 * or re-queued (armed again for a new target) and does nothing.
 */
static void lapic_timer_arm(struct kagami_lapic *apic, ktime_t target)
{
	apic->timer.target = target;
	apic->timer.armed = true;
	hrtimer_start(&apic->timer.hrtimer, target, HRTIMER_MODE_ABS_HARD);
}

void lapic_timer_stop(struct kagami_lapic *apic)
{
	apic->timer.armed = false;
	hrtimer_try_to_cancel(&apic->timer.hrtimer);
}

/* TDCR bits 0, 1 and 3 (SDM 10.5.4): 0b000 divides by 2, ..., 0b111 by 1. */
static u32 lapic_timer_divide(struct kagami_lapic *apic)
{
	u32 tdcr = lapic_reg(apic, APIC_TDCR);
	u32 shift = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;

	return 1U << (shift & 7);
}

/* The APIC bus runs at 1 GHz, as KVM's: one count is divide nanoseconds. */
static void lapic_timer_set_period(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;

	t->period_ns = (u64)lapic_reg(apic, APIC_TMICT) * t->divide;
	if (t->mode == APIC_LVT_TIMER_PERIODIC && t->period_ns &&
	    t->period_ns < LAPIC_MIN_PERIOD_NS)
		t->period_ns = LAPIC_MIN_PERIOD_NS;
}

/* Expiry (lock held): LVTT's interrupt; whether a periodic timer goes on, at timer.target. */
static bool lapic_timer_expire(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;
	ktime_t now;

	lapic_local_deliver(apic, APIC_LVTT);
	if (t->mode == APIC_LVT_TIMER_PERIODIC && t->period_ns) {
		/* Missed periods are not caught up (one interrupt, as KVM). */
		now = ktime_get();
		t->target = ktime_add_ns(t->target, t->period_ns);
		if (ktime_before(t->target, now))
			t->target = now;
		return true;
	}
	if (t->mode == APIC_LVT_TIMER_TSCDEADLINE)
		t->tsc_deadline = 0;
	t->armed = false;
	return false;
}

static enum hrtimer_restart lapic_timer_fired(struct hrtimer *hrtimer)
{
	struct kagami_lapic *apic = container_of(hrtimer, struct kagami_lapic, timer.hrtimer);
	enum hrtimer_restart r = HRTIMER_NORESTART;
	unsigned long flags;
	bool fired = false;

	raw_spin_lock_irqsave(&apic->lock, flags);
	/* Stale: stopped, or already re-armed for a new target, while this waited for the lock. */
	if (apic->timer.armed && !hrtimer_is_queued(hrtimer)) {
		fired = true;
		if (lapic_timer_expire(apic)) {
			hrtimer_set_expires(hrtimer, apic->timer.target);
			r = HRTIMER_RESTART;
		}
	}
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	if (fired)
		kagami_vcpu_request(apic->vcpu, KAGAMI_REQ_EVENT);
	return r;
}

void lapic_timer_init(struct kagami_lapic *apic)
{
	hrtimer_init(&apic->timer.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.hrtimer.function = lapic_timer_fired;
	apic->timer.divide = 2;
}

/* Waits for a running callback too: for free and reset, vCPU thread, lock not held. */
void lapic_timer_cancel_sync(struct kagami_lapic *apic)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&apic->lock, flags);
	apic->timer.armed = false;
	raw_spin_unlock_irqrestore(&apic->lock, flags);
	hrtimer_cancel(&apic->timer.hrtimer);
}

/* TMICT written (not in TSC-deadline mode): 0 stops, anything else (re)starts the count. */
bool lapic_timer_tmict_written(struct kagami_lapic *apic)
{
	lapic_timer_stop(apic);
	lapic_timer_set_period(apic);
	if (apic->timer.period_ns)
		lapic_timer_arm(apic, ktime_add_ns(ktime_get(), apic->timer.period_ns));
	return false;
}

/*
 * LVTT written: a switch into or out of TSC-deadline mode stops the timer
 * and clears TMICT and the deadline (SDM 10.5.4.1); between one-shot and
 * periodic the count goes on, and the next period follows the new mode.
 */
bool lapic_timer_lvtt_written(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;
	u32 mode = lapic_reg(apic, APIC_LVTT) & LAPIC_LVT_TIMER_MODE;

	if (mode == t->mode)
		return false;
	if ((mode == APIC_LVT_TIMER_TSCDEADLINE) != (t->mode == APIC_LVT_TIMER_TSCDEADLINE)) {
		lapic_timer_stop(apic);
		lapic_set_reg(apic, APIC_TMICT, 0);
		t->tsc_deadline = 0;
	}
	t->mode = mode;
	lapic_timer_set_period(apic);
	return false;
}

/* TDCR written: a running count continues at the new rate (KVM's update_target_expiration()). */
void lapic_timer_tdcr_written(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;
	u32 old = t->divide;
	ktime_t now;
	s64 left;

	t->divide = lapic_timer_divide(apic);
	if (t->divide == old || !t->armed || t->mode == APIC_LVT_TIMER_TSCDEADLINE)
		return;
	now = ktime_get();
	left = max_t(s64, ktime_to_ns(ktime_sub(t->target, now)), 0);
	lapic_timer_set_period(apic);
	lapic_timer_stop(apic);
	lapic_timer_arm(apic, ktime_add_ns(now, mul_u64_u32_div(left, t->divide, old)));
}

/* TMCCT: counts left in this period; 0 once a one-shot count ended, and in TSC-deadline mode. */
u32 lapic_timer_current_count(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;
	s64 left;
	u64 rem;

	if (t->mode == APIC_LVT_TIMER_TSCDEADLINE || !t->armed || !t->period_ns ||
	    !lapic_reg(apic, APIC_TMICT))
		return 0;
	left = ktime_to_ns(ktime_sub(t->target, ktime_get()));
	if (left <= 0)
		return 0;
	div64_u64_rem(left, t->period_ns, &rem);
	return div_u64(rem, t->divide);
}

/* Guest TSC cycles to nanoseconds at the host's tsc_khz, saturating. */
static u64 lapic_tsc_to_ns(u64 cycles)
{
	if (div64_u64(cycles, tsc_khz) >= LAPIC_MAX_DELAY_NS / NSEC_PER_MSEC)
		return LAPIC_MAX_DELAY_NS;
	return mul_u64_u32_div(cycles, NSEC_PER_MSEC, tsc_khz);
}

/* Arms for timer.tsc_deadline; one already past fires now. Returns whether it fired. */
static bool lapic_timer_start_deadline(struct kagami_lapic *apic)
{
	struct kagami_lapic_timer *t = &apic->timer;
	u64 guest_tsc;

	if (!t->tsc_deadline || !tsc_khz)
		return false;
	guest_tsc = rdtsc() + kagami_vendor->tsc_offset(apic->vcpu);
	if (t->tsc_deadline <= guest_tsc) {
		lapic_local_deliver(apic, APIC_LVTT);
		t->tsc_deadline = 0;
		return true;
	}
	lapic_timer_arm(apic, ktime_add_ns(ktime_get(), lapic_tsc_to_ns(t->tsc_deadline - guest_tsc)));
	return false;
}

/* IA32_TSC_DEADLINE written: ignored outside TSC-deadline mode (SDM 10.5.4.1); 0 disarms. */
bool lapic_timer_set_deadline(struct kagami_lapic *apic, u64 deadline)
{
	if (apic->timer.mode != APIC_LVT_TIMER_TSCDEADLINE)
		return false;
	lapic_timer_stop(apic);
	apic->timer.tsc_deadline = deadline;
	return lapic_timer_start_deadline(apic);
}

/*
 * The registers were replaced (reset, KVM_SET_LAPIC): the timer restarts from
 * them. current_count is what TMCCT read when they were saved: the first
 * expiry is that far away (a full period if 0 and periodic; a one-shot count
 * at 0 has ended). TSC-deadline mode keeps the deadline it had, as KVM.
 */
bool lapic_timer_restore(struct kagami_lapic *apic, u32 current_count)
{
	struct kagami_lapic_timer *t = &apic->timer;
	u32 mode = lapic_reg(apic, APIC_LVTT) & LAPIC_LVT_TIMER_MODE;
	u64 first;

	lapic_timer_stop(apic);
	if ((mode == APIC_LVT_TIMER_TSCDEADLINE) != (t->mode == APIC_LVT_TIMER_TSCDEADLINE))
		t->tsc_deadline = 0;
	t->mode = mode;
	t->divide = lapic_timer_divide(apic);
	lapic_timer_set_period(apic);
	if (mode == APIC_LVT_TIMER_TSCDEADLINE)
		return lapic_timer_start_deadline(apic);
	if (!t->period_ns)
		return false;
	first = (u64)current_count * t->divide;
	if (!first && mode == APIC_LVT_TIMER_PERIODIC)
		first = t->period_ns;
	if (!first)
		return false;
	lapic_timer_arm(apic, ktime_add_ns(ktime_get(), min(first, t->period_ns)));
	return false;
}
