// SPDX-License-Identifier: GPL-2.0
/* host.c: is the host's own clock the TSC? KVM's test for a stable kvm-clock, kept current. */
#include <linux/notifier.h>
#include <linux/pvclock_gtod.h>
#include <linux/timekeeper_internal.h>
#include <asm/vdso/clocksource.h>

#include "x86/clock/clock.h"
#include "x86/kvmclock.h"

static bool host_clock_is_tsc;

/*
 * Timekeeping calls this on every update, under its lock with interrupts off:
 * record whether it reads the TSC. The kernel chose the TSC as its clock only
 * if it found it constant-rate and synchronised across CPUs (its watchdog
 * demotes it otherwise), which is what KVM's master clock relies on
 * (gtod_is_based_on_tsc()); so does kagami's stable bit.
 */
static int kvmclock_host_clock_changed(struct notifier_block *nb, unsigned long was_set,
				       void *priv)
{
	struct timekeeper *tk = priv;

	WRITE_ONCE(host_clock_is_tsc, tk->tkr_mono.clock->vdso_clock_mode == VDSO_CLOCKMODE_TSC);
	return 0;
}

static struct notifier_block kvmclock_host_clock_nb = {
	.notifier_call = kvmclock_host_clock_changed,
};

bool kvmclock_host_clock_is_tsc(void)
{
	return READ_ONCE(host_clock_is_tsc);
}

/* Registration calls the notifier once at once, so the answer is known from load on. */
int kagami_kvmclock_init(void)
{
	return pvclock_gtod_register_notifier(&kvmclock_host_clock_nb);
}

void kagami_kvmclock_exit(void)
{
	pvclock_gtod_unregister_notifier(&kvmclock_host_clock_nb);
}
