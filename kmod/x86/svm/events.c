// SPDX-License-Identifier: GPL-2.0
/* events.c: interrupt and NMI injection (userspace, LAPIC, PIC), the interrupt window, vCPU events. */
#include <linux/kernel.h>
#include <asm/msr-index.h>

#include "x86/irqchip.h"
#include "x86/lapic.h"
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
 * KVM's kvm_cpu_has_extint(): an ExtINT waits for this vCPU. Without a LAPIC
 * it is KVM_INTERRUPT's vector; with one, LINT0 must take it, and it is
 * userspace's (split irqchip) or the kernel PIC's, wired to vCPU 0.
 */
static bool svm_has_extint(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	if (!vcpu->lapic)
		return svm->irq_queued;
	if (!kagami_lapic_accepts_extint(vcpu))
		return false;
	if (!svm_kernel_irqchip(vcpu->vm))
		return svm->irq_queued;
	return vcpu->id == 0 && kagami_pic_has_output(vcpu->vm);
}

bool svm_interrupt_deliverable(struct kagami_vcpu *vcpu)
{
	return svm_has_extint(vcpu, to_svm(vcpu)) ||
	       (vcpu->lapic && kagami_lapic_pending_vector(vcpu) >= 0);
}

bool svm_guest_if(struct kagami_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.rflags & X86_EFLAGS_IF;
}

/*
 * KVM's kvm_cpu_accept_dm_intr(): room for userspace's ExtINT (KVM_INTERRUPT)
 * and, with a LAPIC, LINT0 takes it. Userspace's interrupt window opens only
 * then: a masked LINT0 would otherwise end the guest at every instruction.
 */
static bool svm_accepts_user_extint(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	return !svm_interrupt_injected(svm) && (!vcpu->lapic || kagami_lapic_accepts_extint(vcpu));
}

static void svm_inject_irq(struct vmcb_control *c, int vector)
{
	c->event_inj = (u8)vector | VMCB_EVT_TYPE_INTR | VMCB_EVT_VALID;
}

/*
 * KVM's kvm_cpu_get_interrupt(): ExtINT first (its acknowledge cycle gives
 * the vector), then the LAPIC's highest vector above PPR, moved from IRR to
 * ISR once it is in EVENTINJ.
 */
static void svm_inject_interrupt(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	int vector;

	if (svm_has_extint(vcpu, svm)) {
		if (vcpu->lapic && svm_kernel_irqchip(vcpu->vm)) {
			vector = kagami_pic_ack(vcpu->vm);
		} else {
			vector = svm->irq_vector;
			svm->irq_queued = false;
		}
		if (vector >= 0)
			svm_inject_irq(c, vector);
		return;
	}
	if (!vcpu->lapic)
		return;
	vector = kagami_lapic_pending_vector(vcpu);
	if (vector < 0)
		return;
	svm_inject_irq(c, vector);
	kagami_lapic_ack(vcpu, vector);
}

/*
 * Before each VMRUN, as KVM's inject_pending_event(): an event the last exit
 * cut short (already in EVENTINJ) goes first, then an NMI (KVM_NMI's or the
 * LAPIC's), then an interrupt once the guest can take it. An interrupt that
 * must wait for IF or the shadow, or userspace's interrupt window (not with
 * a kernel PIC: KVM's dm_request_for_irq_injection()), asks for a VINTR exit.
 */
void svm_inject_events(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	bool shadow = c->int_state & VMCB_INTERRUPT_SHADOW;
	bool user_window;

	if (vcpu->lapic && kagami_lapic_take_nmi(vcpu))
		svm->nmi_pending = true;
	if (!(c->event_inj & VMCB_EVT_VALID)) {
		if (svm->nmi_pending && !svm->nmi_masked && !shadow) {
			c->event_inj = NMI_VECTOR | VMCB_EVT_TYPE_NMI | VMCB_EVT_VALID;
			svm->nmi_pending = false;
			svm_mask_nmi(svm, true);
		} else if (svm_interrupt_allowed(svm->vmcb)) {
			svm_inject_interrupt(vcpu, svm);
		}
	}
	user_window = READ_ONCE(vcpu->run->request_interrupt_window) &&
		      !svm_kernel_irqchip(vcpu->vm) && svm_accepts_user_extint(vcpu, svm);
	svm_set_vintr(c, user_window || svm_interrupt_deliverable(vcpu));
}

/*
 * V_INTR_MASKING: while the guest runs its CR8 is V_TPR (APM 15.21.4), the
 * LAPIC's TPR outside. As KVM's update_cr8_intercept(), CR8 writes exit only
 * when lowering TPR may unblock an interrupt; the LAPIC does not tell which
 * vector its TPR blocks, so kagami intercepts them whenever TPR is not 0.
 */
void svm_sync_tpr_to_vmcb(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	if (!vcpu->lapic)
		return;
	svm->v_tpr = kagami_lapic_get_cr8(vcpu) & VMCB_V_TPR_MASK;
	c->int_ctl = (c->int_ctl & ~VMCB_V_TPR_MASK) | svm->v_tpr;
	if (svm->v_tpr)
		c->intercept_cr_write |= SVM_CR8_INTERCEPT;
	else
		c->intercept_cr_write &= ~SVM_CR8_INTERCEPT;
}

/* After each exit, before its handler: the guest's CR8 writes (KVM's sync_cr8_to_lapic()). */
void svm_sync_tpr_from_vmcb(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	u8 v_tpr = svm->vmcb->control.int_ctl & VMCB_V_TPR_MASK;

	if (vcpu->lapic && v_tpr != svm->v_tpr) {
		svm->v_tpr = v_tpr;
		kagami_lapic_set_cr8(vcpu, v_tpr);
	}
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

/* KVM's kvm_vcpu_ready_for_interrupt_injection(): userspace may give an ExtINT now. */
static bool svm_ready_for_injection(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	return svm_interrupt_allowed(svm->vmcb) && svm_accepts_user_extint(vcpu, svm);
}

/* KVM's dm_request_for_irq_injection() && kvm_vcpu_ready_for_interrupt_injection(). */
bool svm_irq_window_open(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	return READ_ONCE(vcpu->run->request_interrupt_window) && !svm_kernel_irqchip(vcpu->vm) &&
	       svm_ready_for_injection(vcpu, svm);
}

/* KVM's post_kvm_run_save(): on every return to userspace. */
void svm_fill_run_flags(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct kvm_run *run = vcpu->run;
	u64 apic_base = svm->apic_base;

	run->if_flag = !!(svm->vmcb->save.rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = svm_kernel_irqchip(vcpu->vm) ||
					     svm_ready_for_injection(vcpu, svm);
	run->cr8 = svm->cr8;
	if (vcpu->lapic) {
		run->cr8 = kagami_lapic_get_cr8(vcpu);
		if (kagami_lapic_get_msr(vcpu, MSR_IA32_APICBASE, &apic_base, true))
			apic_base = 0;
	}
	run->apic_base = apic_base;
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

	/* KVM's kvm_vcpu_ioctl_interrupt() with a LAPIC: one ExtINT, never with a kernel PIC. */
	if (vcpu->lapic) {
		if (svm_kernel_irqchip(vcpu->vm))
			return -ENXIO;
		if (svm->irq_queued)
			return -EEXIST;
		svm->irq_queued = true;
		svm->irq_vector = vector;
		return 0;
	}
	if (svm_event_is(*inj, VMCB_EVT_TYPE_INTR)) {
		*inj = (*inj & ~0xffULL) | vector;
		return 0;
	}
	svm->irq_queued = true;
	svm->irq_vector = vector;
	return 0;
}

/* INIT or reset: nothing in flight or pending (KVM's kvm_vcpu_reset()). */
void svm_clear_events(struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	c->event_inj = 0;
	c->int_state = 0;
	svm_set_vintr(c, false);
	svm->irq_queued = false;
	svm->nmi_pending = false;
	svm_mask_nmi(svm, false);
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
