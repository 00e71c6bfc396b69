// SPDX-License-Identifier: GPL-2.0
/* kick.c: telling a vCPU that an event is pending for it, wherever its thread is. */
#include <linux/smp.h>
#include <linux/wait.h>

#include "core/kagami.h"

/*
 * The request bit is set before the vCPU's mode is read; the vCPU thread
 * writes its mode (IN_GUEST) before it reads the requests, with a full barrier
 * between each pair. So either the vCPU sees the request before it enters,
 * or this sees IN_GUEST and interrupts that CPU, which ends the guest (the
 * physical interrupt is intercepted) and brings the vCPU back to its checks.
 */
void kagami_vcpu_request(struct kagami_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
	/* The request before the mode read: pairs with svm_may_enter()'s smp_store_mb(). */
	smp_mb__after_atomic();
	kagami_vcpu_kick(vcpu);
}

void kagami_vcpu_kick(struct kagami_vcpu *vcpu)
{
	int me, cpu;

	wake_up_interruptible(&vcpu->wait);
	me = get_cpu();
	cpu = READ_ONCE(vcpu->guest_cpu);
	if (READ_ONCE(vcpu->mode) == KAGAMI_MODE_IN_GUEST && cpu != me &&
	    (unsigned int)cpu < nr_cpu_ids)
		smp_send_reschedule(cpu);
	put_cpu();
}
