// SPDX-License-Identifier: GPL-2.0
/* run.c: KVM_RUN on AMD-V: complete userspace's answer, then run until userspace is needed. */
#include <linux/preempt.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/vtime.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/irqflags.h>

#include "x86/kvmclock.h"
#include "x86/svm/svm.h"

static inline void svm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void svm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

void svm_inject_exception(struct svm_vcpu *svm, u8 vector, bool has_error, u32 error)
{
	u64 event = vector | VMCB_EVT_TYPE_EXCEPTION | VMCB_EVT_VALID;

	if (has_error)
		event |= VMCB_EVT_ERR_VALID | (u64)error << 32;
	svm->vmcb->control.event_inj = event;
}

/* Without NRIP save the caller knows the length; with it, the CPU does. */
void svm_skip_insn(struct svm_vcpu *svm, unsigned int len)
{
	struct vmcb *vmcb = svm->vmcb;

	if (svm_has_nrips() && vmcb->control.next_rip)
		vmcb->save.rip = vmcb->control.next_rip;
	else
		vmcb->save.rip += len;
	vmcb->control.int_state = 0;	/* an instruction retired: no more STI/MOV SS shadow */
}

static int svm_complete_userspace(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	u8 pending = svm->pending;

	svm->pending = SVM_PENDING_NONE;
	if (pending == SVM_PENDING_IO_IN)
		svm_complete_in(vcpu);
	else if (pending == SVM_PENDING_INS)
		return svm_complete_ins(vcpu);
	else if (pending == SVM_PENDING_MMIO)
		return svm_complete_mmio(vcpu);
	return 1;
}

/*
 * An event the exit interrupted (EXITINTINFO) is delivered again on the next
 * VMRUN. Software interrupts and INT3/INTO are not: their instruction has not
 * retired, so the guest executes it again.
 */
static void svm_requeue_interrupted_event(struct svm_vcpu *svm)
{
	u64 info = svm->vmcb->control.exit_int_info;
	u64 type = info & VMCB_EVT_TYPE_MASK;
	u8 vector = info & 0xff;

	if (!(info & VMCB_EVT_VALID))
		return;
	if (type == VMCB_EVT_TYPE_SOFT ||
	    (type == VMCB_EVT_TYPE_EXCEPTION && (vector == 3 || vector == 4)))
		return;
	svm->vmcb->control.event_inj = info;
}

/*
 * VMRUN switches DR6 and DR7 (VMCB save area) but not DR0-3, which MOV DR in
 * the guest reaches directly: without this, a guest could move the host's
 * breakpoints. Keep the guest's in the vCPU and the host's on the stack.
 */
static void svm_load_guest_dr(const struct svm_vcpu *svm, unsigned long host[4])
{
	get_debugreg(host[0], 0);
	get_debugreg(host[1], 1);
	get_debugreg(host[2], 2);
	get_debugreg(host[3], 3);
	set_debugreg(svm->dr[0], 0);
	set_debugreg(svm->dr[1], 1);
	set_debugreg(svm->dr[2], 2);
	set_debugreg(svm->dr[3], 3);
}

static void svm_restore_host_dr(struct svm_vcpu *svm, const unsigned long host[4])
{
	get_debugreg(svm->dr[0], 0);
	get_debugreg(svm->dr[1], 1);
	get_debugreg(svm->dr[2], 2);
	get_debugreg(svm->dr[3], 3);
	set_debugreg(host[0], 0);
	set_debugreg(host[1], 1);
	set_debugreg(host[2], 2);
	set_debugreg(host[3], 3);
}

static inline void svm_fxrstor(const void *buf)
{
	asm volatile("fxrstorq %0" : : "m"(*(const u8 (*)[512])buf));
}

static inline void svm_fxsave(void *buf)
{
	asm volatile("fxsaveq %0" : "=m"(*(u8 (*)[512])buf));
}

/*
 * The last check before VMRUN, interrupts off (KVM's vcpu_enter_guest() and
 * the protocol of core/kick.c): once mode says IN_GUEST, a kick interrupts
 * this CPU, and that interrupt, held while GIF is clear, ends the guest at
 * once. A request or signal that came earlier is seen here: no entry.
 */
static bool svm_may_enter(struct kagami_vcpu *vcpu, int cpu)
{
	WRITE_ONCE(vcpu->guest_cpu, cpu);
	/* Full barrier: mode is written before requests are read; kick.c does the reverse. */
	smp_store_mb(vcpu->mode, KAGAMI_MODE_IN_GUEST);
	if (!READ_ONCE(vcpu->requests) && !signal_pending(current))
		return true;
	WRITE_ONCE(vcpu->mode, KAGAMI_MODE_OUTSIDE_GUEST);
	return false;
}

/*
 * One world switch, or none (false) when a kick came first. kernel_fpu_begin()
 * saves the VMM's FPU state (restored on its return to userspace) and disables
 * preemption, so the CPU, its ASIDs and its host save area stay ours; the
 * guest's FPU state lives in svm->fpu. Interrupts are enabled while GIF is
 * clear: they wait for VMRUN, which sets GIF, and then end the guest at once
 * (INTR intercept); after the exit they wait for STGI and are taken right
 * after it. From just before VMRUN until that interrupt has been taken, the
 * thread's time counts as guest time (PF_VCPU, or the vtime equivalent), as
 * KVM's guest_timing_enter/exit_irqoff(): the tick that ends the guest is the
 * guest's, and top and /proc/PID/stat show the VMM's guest time.
 */
static bool svm_enter_guest(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	unsigned long host_dr[4];
	bool entered = false;
	int cpu;

	kernel_fpu_begin();
	cpu = smp_processor_id();
	local_irq_disable();
	if (!svm_may_enter(vcpu, cpu))
		goto out;
	svm_fxrstor(svm->fpu);
	svm_assign_asid(svm, cpu);
	svm_load_guest_host_state(svm);
	if (svm->npt_generation != vcpu->vm->npt_generation || svm->tlb_flush) {
		svm->npt_generation = vcpu->vm->npt_generation;
		svm->tlb_flush = false;
		vmcb->control.tlb_control = VMCB_TLB_FLUSH_ALL;
	}
	vmcb->control.clean = 0;	/* kagami does not track what it changed */
	svm_load_guest_dr(svm, host_dr);
	vtime_account_guest_enter();
	svm_clgi();
	local_irq_enable();
	kagami_svm_vmrun(svm->vmcb_pa, svm->gprs, svm_host_save_pa());
	local_irq_disable();
	svm_stgi();
	WRITE_ONCE(vcpu->mode, KAGAMI_MODE_OUTSIDE_GUEST);
	svm_restore_host_dr(svm, host_dr);
	svm_put_guest_host_state(svm);
	vmcb->control.tlb_control = 0;
	vmcb->control.event_inj = 0;
	svm_fxsave(svm->fpu);
	entered = true;
	local_irq_enable();	/* the interrupt that ended the guest, still as guest time */
	local_irq_disable();
	vtime_account_guest_exit();
out:
	local_irq_enable();
	kernel_fpu_end();
	return entered;
}

/*
 * KVM's vcpu_enter_guest() requests, then the MP state (with a LAPIC: a
 * halted vCPU sleeps there), then the events to inject. 1 to enter the guest.
 */
static int svm_before_entry(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	int r;

	if (kagami_vcpu_check_request(vcpu, KAGAMI_REQ_CLOCK))
		kagami_kvmclock_before_entry(vcpu);
	/* Nested page table entries lost rights (core/dirty.c): flush at the next VMRUN. */
	if (kagami_vcpu_check_request(vcpu, KAGAMI_REQ_TLB_FLUSH))
		svm->tlb_flush = true;
	/*
	 * Cleared before any event is looked at, the MP state's INIT/SIPI/NMI
	 * included: one made pending after its check sets it again, and the entry
	 * is called off. (Cleared after them, an INIT that came in between waited
	 * in the guest for the next exit.) A signal return below leaves the
	 * events latched in the LAPIC, where the next KVM_RUN looks again.
	 */
	kagami_vcpu_check_request(vcpu, KAGAMI_REQ_EVENT);
	if (vcpu->lapic) {
		r = svm_mp_state_before_entry(vcpu);
		if (r <= 0)
			return r;
	}
	svm_inject_events(vcpu, svm);
	svm_sync_tpr_to_vmcb(vcpu, svm);
	return 1;
}

static int svm_run_loop(struct kagami_vcpu *vcpu, struct svm_vcpu *svm)
{
	struct kvm_run *run = vcpu->run;
	bool entered;
	int r;

	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
		cond_resched();
		r = svm_before_entry(vcpu, svm);
		if (r <= 0)
			return r;
		down_read(&vcpu->vm->run_sem);
		entered = svm_enter_guest(vcpu, svm);
		up_read(&vcpu->vm->run_sem);
		if (!entered)
			continue;
		svm_sync_tpr_from_vmcb(vcpu, svm);
		svm_requeue_interrupted_event(svm);
		svm_after_exit_events(svm);
		r = svm_handle_exit(vcpu);
		if (r <= 0)
			return r;
		/* As KVM's vcpu_run(): userspace asked to be told when it may inject. */
		if (svm_irq_window_open(vcpu, svm)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return 0;
		}
	}
}

/*
 * As KVM's kvm_arch_vcpu_ioctl_run(): complete userspace's answer, then
 * immediate_exit returns -EINTR and leaves the exit reason as it was (KVM
 * sets KVM_EXIT_INTR only for a signal). KVM's selftests rely on it: their
 * get_ucall() completes a KVM_EXIT_IO with an immediate_exit KVM_RUN and
 * reads run->exit_reason again afterwards.
 */
int svm_vcpu_run(struct kagami_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;
	u32 last_exit = run->exit_reason;
	int r;

	if (current->mm != vcpu->vm->mm)
		return -EIO;	/* as KVM: only the VM's creator runs it */
	/* Every other return sets its own exit reason: nothing from the last exit survives. */
	run->exit_reason = KVM_EXIT_UNKNOWN;
	r = svm_complete_userspace(vcpu, svm);
	if (r > 0 && READ_ONCE(run->immediate_exit)) {
		run->exit_reason = last_exit;
		r = -EINTR;
	} else if (r > 0) {
		r = svm_run_loop(vcpu, svm);
		/* As KVM: a signal's -EINTR goes with KVM_EXIT_INTR. */
		if (r == -EINTR)
			run->exit_reason = KVM_EXIT_INTR;
	}
	svm_fill_run_flags(vcpu, svm);
	return r;
}
