// SPDX-License-Identifier: GPL-2.0
/* events.c: userspace's interrupts and NMIs, the interrupt window, and KVM_GET/SET_VCPU_EVENTS. */
#include <linux/kernel.h>

#include "x86/svm/svm.h"

#define NMI_VECTOR	2
#define SHADOW_BOTH	(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI)

u8 *svm_fpu_image(struct kagami_vcpu *vcpu)
{
	return to_svm(vcpu)->fpu;
}

static bool svm_event_is(u64 event, u64 type)
{
	return (event & VMCB_EVT_VALID) && (event & VMCB_EVT_TYPE_MASK) == type;
}

/* IF is the guest's (V_INTR_MASKING) and no STI / MOV SS shadow: KVM's svm_interrupt_blocked(). */
static bool svm_interrupt_allowed(const struct vmcb *vmcb)
{
	return (vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !(vmcb->control.int_state & VMCB_INTERRUPT_SHADOW);
}

/* KVM's interrupt.injected: an external interrupt queued or on its way in. */
static bool svm_interrupt_injected(const struct svm_vcpu *svm)
{
	return svm->irq_queued || svm_event_is(svm->vmcb->control.event_inj, VMCB_EVT_TYPE_INTR);
}

/* NMIs stay masked from injection until the guest's IRET has run: intercept it to know. */
static void svm_mask_nmi(struct svm_vcpu *svm, bool masked)
{
	svm->nmi_masked = masked;
	svm->iret_seen = false;
	if (masked)
		svm->vmcb->control.intercept_misc1 |= INTERCEPT_IRET;
	else
		svm->vmcb->control.intercept_misc1 &= ~INTERCEPT_IRET;
}

/*
 * The interrupt window, as KVM's svm_set_vintr(): a dummy virtual interrupt
 * (V_IRQ, TPR ignored) whose delivery is intercepted, so the guest exits with
 * VINTR as soon as it can take an interrupt.
 */
static void svm_set_vintr(struct vmcb_control *c, bool on)
{
	c->int_ctl &= ~(VMCB_V_IRQ | VMCB_V_IGN_TPR | VMCB_V_INTR_PRIO_MASK |
			VMCB_V_INTR_VECTOR_MASK);
	c->intercept_misc1 &= ~INTERCEPT_VINTR;
	if (on) {
		c->int_ctl |= VMCB_V_IRQ | VMCB_V_IGN_TPR | VMCB_V_INTR_PRIO_MASK;
		c->intercept_misc1 |= INTERCEPT_VINTR;
	}
}

/*
 * Before each VMRUN, as KVM's inject_pending_event(): an event the last exit
 * cut short (already in EVENTINJ) goes first, then an NMI, then the queued
 * interrupt once the guest can take it. Userspace's interrupt window, or an
 * interrupt still waiting, asks for a VINTR exit.
 */
void svm_inject_events(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	bool shadow = c->int_state & VMCB_INTERRUPT_SHADOW;

	if (!(c->event_inj & VMCB_EVT_VALID)) {
		if (svm->nmi_pending && !svm->nmi_masked && !shadow) {
			c->event_inj = NMI_VECTOR | VMCB_EVT_TYPE_NMI | VMCB_EVT_VALID;
			svm->nmi_pending = false;
			svm_mask_nmi(svm, true);
		} else if (svm->irq_queued && svm_interrupt_allowed(svm->vmcb)) {
			c->event_inj = svm->irq_vector | VMCB_EVT_TYPE_INTR | VMCB_EVT_VALID;
			svm->irq_queued = false;
		}
	}
	svm_set_vintr(c, svm->irq_queued ||
		      (READ_ONCE(vcpu->run->request_interrupt_window) &&
		       !svm_interrupt_injected(svm)));
}

/*
 * After each exit: an intercepted IRET has completed once RIP has moved on
 * (KVM's check, without its single-step: a pending NMI waits for the next
 * exit, at the latest the next host timer tick).
 */
void svm_after_exit_events(struct svm_vcpu *svm)
{
	if (svm->iret_seen && svm->vmcb->save.rip != svm->iret_rip)
		svm_mask_nmi(svm, false);
}

/* KVM's dm_request_for_irq_injection() && kvm_vcpu_ready_for_interrupt_injection(). */
bool svm_irq_window_open(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	return READ_ONCE(vcpu->run->request_interrupt_window) &&
	       svm_interrupt_allowed(svm->vmcb) && !svm_interrupt_injected(svm);
}

/* KVM's post_kvm_run_save(): on every return to userspace. */
void svm_fill_run_flags(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(svm->vmcb->save.rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = svm_interrupt_allowed(svm->vmcb) &&
					     !svm_interrupt_injected(svm);
	run->cr8 = svm->cr8;
	run->apic_base = svm->apic_base;
}

int svm_exit_vintr(struct kagami_vcpu *vcpu)
{
	svm_set_vintr(&to_svm(vcpu)->vmcb->control, false);
	return 1;
}

/* The IRET has not run yet: remember where it is, and stop intercepting. */
int svm_exit_iret(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->vmcb->control.intercept_misc1 &= ~INTERCEPT_IRET;
	svm->iret_seen = true;
	svm->iret_rip = svm->vmcb->save.rip;
	return 1;
}

/*
 * As KVM without an irqchip (kvm_queue_interrupt()): the vector replaces any
 * interrupt already on its way; userspace is expected to wait for
 * ready_for_interrupt_injection.
 */
int svm_queue_interrupt(struct kagami_vcpu *vcpu, u8 vector)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 *inj = &svm->vmcb->control.event_inj;

	if (svm_event_is(*inj, VMCB_EVT_TYPE_INTR)) {
		*inj = (*inj & ~0xffULL) | vector;
		return 0;
	}
	svm->irq_queued = true;
	svm->irq_vector = vector;
	return 0;
}

/* NMIs do not queue up: one pending at a time (KVM allows one more while one is in service). */
int svm_queue_nmi(struct kagami_vcpu *vcpu)
{
	to_svm(vcpu)->nmi_pending = true;
	return 0;
}

int svm_get_vcpu_events(struct kagami_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 inj = svm->vmcb->control.event_inj;

	if (svm_event_is(inj, VMCB_EVT_TYPE_EXCEPTION)) {
		e->exception.injected = 1;
		e->exception.nr = inj & 0xff;
		e->exception.has_error_code = !!(inj & VMCB_EVT_ERR_VALID);
		e->exception.error_code = inj >> 32;
	}
	e->interrupt.injected = svm_interrupt_injected(svm);
	if (svm->irq_queued)
		e->interrupt.nr = svm->irq_vector;
	else if (e->interrupt.injected)
		e->interrupt.nr = inj & 0xff;
	if (svm->vmcb->control.int_state & VMCB_INTERRUPT_SHADOW)
		e->interrupt.shadow = SHADOW_BOTH;
	e->nmi.injected = svm_event_is(inj, VMCB_EVT_TYPE_NMI);
	e->nmi.pending = svm->nmi_pending;
	e->nmi.masked = svm->nmi_masked;
	return 0;
}

/*
 * EVENTINJ holds one event: an injected exception takes it, an injected
 * interrupt that finds it taken waits as a queued one, an injected NMI as a
 * pending one (delivered right after, as the CPU would).
 */
int svm_set_vcpu_events(struct kagami_vcpu *vcpu, const struct kvm_vcpu_events *e)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;
	u64 inj = 0;

	if (e->exception.injected) {
		inj = e->exception.nr | VMCB_EVT_TYPE_EXCEPTION | VMCB_EVT_VALID;
		if (e->exception.has_error_code)
			inj |= VMCB_EVT_ERR_VALID | (u64)e->exception.error_code << 32;
	}
	svm->irq_queued = false;
	if (e->interrupt.injected && !inj)
		inj = e->interrupt.nr | VMCB_EVT_TYPE_INTR | VMCB_EVT_VALID;
	else if (e->interrupt.injected)
		svm->irq_queued = true;
	svm->irq_vector = e->interrupt.nr;
	if (e->flags & KVM_VCPUEVENT_VALID_SHADOW) {
		c->int_state &= ~VMCB_INTERRUPT_SHADOW;
		if (e->interrupt.shadow)
			c->int_state |= VMCB_INTERRUPT_SHADOW;
	}
	if (e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		svm->nmi_pending = e->nmi.pending;
	if (e->nmi.injected && !inj)
		inj = NMI_VECTOR | VMCB_EVT_TYPE_NMI | VMCB_EVT_VALID;
	else if (e->nmi.injected)
		svm->nmi_pending = true;
	svm_mask_nmi(svm, e->nmi.masked);
	c->event_inj = inj;
	return 0;
}
