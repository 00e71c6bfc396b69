// SPDX-License-Identifier: GPL-2.0
/* mp_state.c: INIT, SIPI and HLT with an in-kernel LAPIC: the MP-state machine and its sleep. */
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/wait.h>

#include "x86/lapic.h"
#include "x86/svm/svm.h"

#define LEN_HLT			1
#define MSR_APIC_BASE		0x1b
#define APIC_BASE_BSP		BIT_ULL(8)

/* KVM's default (virt/kvm/kvm_main.c): long enough to catch an IPI's answer, short for a tick. */
static unsigned int halt_poll_ns = 200000;
module_param(halt_poll_ns, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns,
		 "Nanoseconds a halted vCPU polls for a wake-up event before it sleeps (0: never)");

/*
 * Moves what the LAPIC latched into the vCPU: an NMI to the NMI latch, an
 * INIT and a SIPI to be applied by svm_mp_apply_events(). A SIPI counts only
 * for a vCPU waiting for one (SDM vol. 3, 9.4.4): otherwise it is dropped.
 * Nothing here sleeps, so the wait loop calls it with its task state set.
 */
static void svm_mp_take_lapic_events(struct kagami_vcpu *vcpu)
{
	u8 vector;

	if (kagami_lapic_take_nmi(vcpu))
		to_svm(vcpu)->nmi_pending = true;
	if (kagami_lapic_take_init(vcpu)) {
		vcpu->init_pending = true;
		vcpu->sipi_pending = false;
	}
	if (kagami_lapic_take_sipi(vcpu, &vector) &&
	    (vcpu->init_pending || vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)) {
		vcpu->sipi_vector = vector;
		vcpu->sipi_pending = true;
	}
}

/* The BSP flag of IA32_APIC_BASE: an INIT restarts the BSP at the reset vector, as KVM. */
static bool svm_mp_is_bsp(struct kagami_vcpu *vcpu)
{
	u64 base = 0;

	return !kagami_lapic_get_msr(vcpu, MSR_APIC_BASE, &base, true) && (base & APIC_BASE_BSP);
}

/* KVM's kvm_vcpu_deliver_sipi_vector(): real mode at vector:0000, the rest is INIT's state. */
static void svm_mp_start_at_sipi(struct kagami_vcpu *vcpu, u8 vector)
{
	struct vmcb_save *save = &to_svm(vcpu)->vmcb->save;

	save->cs.selector = (u16)vector << 8;
	save->cs.base = (u64)vector << 12;
	save->rip = 0;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
}

/* KVM's kvm_apic_accept_events(): INIT resets the vCPU, then a SIPI may start it. */
void svm_mp_apply_events(struct kagami_vcpu *vcpu)
{
	svm_mp_take_lapic_events(vcpu);
	if (vcpu->init_pending) {
		vcpu->init_pending = false;
		svm_vcpu_reset(vcpu, true);
		kagami_lapic_reset(vcpu, true);
		vcpu->mp_state = svm_mp_is_bsp(vcpu) ? KVM_MP_STATE_RUNNABLE :
						       KVM_MP_STATE_INIT_RECEIVED;
	}
	if (vcpu->sipi_pending) {
		vcpu->sipi_pending = false;
		if (vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)
			svm_mp_start_at_sipi(vcpu, vcpu->sipi_vector);
	}
}

static bool svm_mp_halted(const struct kagami_vcpu *vcpu)
{
	return vcpu->mp_state == KVM_MP_STATE_HALTED || vcpu->mp_state == KVM_MP_STATE_AP_RESET_HOLD;
}

/*
 * What ends a halt, as KVM's kvm_vcpu_has_events(): an event already in
 * EVENTINJ (KVM_SET_VCPU_EVENTS), an NMI that is not masked, or an interrupt
 * the guest takes now. Nothing here sleeps.
 */
static bool svm_mp_halt_ends(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->vmcb->control.event_inj & VMCB_EVT_VALID)
		return true;
	if (svm->nmi_pending && !svm->nmi_masked)
		return true;
	return svm_guest_if(vcpu) && svm_interrupt_deliverable(vcpu);
}

/*
 * KVM's kvm_arch_vcpu_runnable() for a vCPU that does not run: an INIT, a
 * SIPI it waits for, or, when halted, an event that ends the halt. A vCPU
 * waiting for INIT or SIPI ignores interrupts and NMIs.
 */
static bool svm_mp_wake_pending(struct kagami_vcpu *vcpu)
{
	svm_mp_take_lapic_events(vcpu);
	if (vcpu->init_pending || vcpu->sipi_pending)
		return true;
	return vcpu->mp_state == KVM_MP_STATE_RUNNABLE ||
	       (svm_mp_halted(vcpu) && svm_mp_halt_ends(vcpu));
}

/*
 * Halt polling, as KVM's kvm_vcpu_halt(): a wake-up that comes within
 * halt_poll_ns (an IPI's answer, a short timer) costs no sleep and no
 * wake-up. Only while nothing else wants this CPU.
 */
static bool svm_mp_poll(struct kagami_vcpu *vcpu)
{
	unsigned int ns = READ_ONCE(halt_poll_ns);
	ktime_t stop;

	if (!ns || !svm_mp_halted(vcpu))
		return false;
	stop = ktime_add_ns(ktime_get(), ns);
	do {
		if (svm_mp_wake_pending(vcpu))
			return true;
		cpu_relax();
	} while (single_task_running() && !need_resched() && !signal_pending(current) &&
		 ktime_before(ktime_get(), stop));
	return false;
}

/*
 * Sleeps until a kick (kagami_vcpu_kick() wakes vcpu->wait after the LAPIC
 * made an event pending) or a signal. The check follows prepare_to_wait(),
 * so an event made pending after it is not missed.
 */
static void svm_mp_sleep(struct kagami_vcpu *vcpu)
{
	DEFINE_WAIT(wait);

	prepare_to_wait(&vcpu->wait, &wait, TASK_INTERRUPTIBLE);
	if (!svm_mp_wake_pending(vcpu) && !signal_pending(current))
		schedule();
	finish_wait(&vcpu->wait, &wait);
}

static int svm_mp_interrupted(struct kagami_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	return -EINTR;
}

/*
 * KVM_RUN of a vCPU that has not had an INIT, as KVM's
 * kvm_arch_vcpu_ioctl_run(): wait for one (or a signal), apply it, and return
 * -EAGAIN, which userspace answers with another KVM_RUN.
 */
static int svm_mp_run_uninitialized(struct kagami_vcpu *vcpu)
{
	while (!svm_mp_wake_pending(vcpu) && !signal_pending(current))
		svm_mp_sleep(vcpu);
	svm_mp_apply_events(vcpu);
	return signal_pending(current) ? svm_mp_interrupted(vcpu) : -EAGAIN;
}

/*
 * KVM's vcpu_run() and vcpu_block(): apply INIT and SIPI, then, while the
 * vCPU is halted or waits for SIPI, poll and sleep. A halt ends in RUNNABLE;
 * a signal returns -EINTR with the state kept, so KVM_RUN blocks again where
 * it left off. Without a LAPIC HLT exits to userspace instead.
 */
int svm_mp_state_before_entry(struct kagami_vcpu *vcpu)
{
	if (!vcpu->lapic)
		return 1;
	if (vcpu->mp_state == KVM_MP_STATE_UNINITIALIZED)
		return svm_mp_run_uninitialized(vcpu);
	for (;;) {
		svm_mp_apply_events(vcpu);
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			return 1;
		if (svm_mp_halted(vcpu) && svm_mp_halt_ends(vcpu)) {
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
			return 1;
		}
		if (signal_pending(current))
			return svm_mp_interrupted(vcpu);
		if (!svm_mp_poll(vcpu))
			svm_mp_sleep(vcpu);
	}
}

/* KVM's kvm_emulate_halt() with a LAPIC: the vCPU sleeps in svm_mp_state_before_entry(). */
int svm_exit_hlt_in_kernel(struct kagami_vcpu *vcpu)
{
	svm_skip_insn(to_svm(vcpu), LEN_HLT);
	vcpu->mp_state = KVM_MP_STATE_HALTED;
	return 1;
}
