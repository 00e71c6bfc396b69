/* SPDX-License-Identifier: GPL-2.0 */
/* irq_guest.S: the interrupt benchmarks' guest, 32-bit code that irq_bench copies to GUEST_CODE.
 *
 * It is data in the host binary (.rodata), never run there. Flat 32-bit protected mode with
 * paging off, so every GUEST_* / SH_* constant is the absolute address the guest uses; branches
 * and calls are relative, so the image runs wherever it is copied. The host sets RIP to one
 * *_main entry per measurement and fills the IDT with the handlers. Each main ends with an OUT
 * to DONE_PORT (an exit to userspace). Per iteration i (in ESI) the mains write the start TSC to
 * GUEST_ARRAY_A[i] and guest_record_handler writes its TSC to GUEST_ARRAY_B[i].
 */
#include "irq_bench.h"

	.section .rodata.kagami_irq_guest, "a"
	.code32
	.globl irq_guest_start, irq_guest_end
	.globl guest_timer_main, guest_ipi_main, guest_ap_main, guest_irqfd_main, guest_exit_main
	.globl guest_record_handler, guest_request_handler, guest_quit_handler
	.globl guest_unexpected_handler, guest_spurious_handler
irq_guest_start:

/* apic_write: writes EAX to LAPIC register ECX (its xAPIC offset); for APIC_ICR, EDX is the
 * destination APIC ID. Clobbers ECX and EDX. */
apic_write:
	cmpl $0, SH_X2APIC
	jne 2f
	cmpl $APIC_ICR, %ecx
	jne 1f
	shll $24, %edx			/* xAPIC: ICR2 first, the ICR write sends */
	movl %edx, APIC_BASE_GPA + APIC_ICR2
1:	movl %eax, APIC_BASE_GPA(%ecx)
	ret
2:	cmpl $APIC_ICR, %ecx		/* x2APIC: one MSR, destination in bits 63:32 */
	je 3f
	xorl %edx, %edx			/* reserved in every other register: #GP if set */
3:	shrl $4, %ecx
	addl $0x800, %ecx
	wrmsr
	ret

/* apic_init: x2APIC mode if asked, then software-enable the LAPIC (spurious vector 0xff). */
apic_init:
	cmpl $0, SH_X2APIC
	je 1f
	movl $MSR_APIC_BASE, %ecx
	rdmsr
	orl $MSR_APIC_BASE_X2APIC, %eax
	wrmsr
1:	movl $APIC_SVR, %ecx
	movl $(APIC_SVR_ENABLE | 0xff), %eax
	jmp apic_write

apic_eoi:
	movl $APIC_EOI, %ecx
	xorl %eax, %eax
	jmp apic_write

/* wait_fired: halt (or, with SH_SPIN, loop) with interrupts on until a handler sets SH_FIRED,
 * then clear it. STI's interrupt shadow keeps the interrupt from coming between STI and HLT. */
wait_fired:
	cmpl $0, SH_SPIN
	jne 2f
1:	sti
	hlt
	cli
	cmpl $0, SH_FIRED
	je 1b
	movl $0, SH_FIRED
	ret
2:	sti
3:	pause
	cmpl $0, SH_FIRED
	je 3b
	cli
	movl $0, SH_FIRED
	ret

/* store_start: GUEST_ARRAY_A[ESI] = EDX:EAX. */
store_start:
	movl %eax, GUEST_ARRAY_A(, %esi, 8)
	movl %edx, GUEST_ARRAY_A + 4(, %esi, 8)
	ret

done:
	outb %al, $DONE_PORT
	jmp done

/* Timer: arm the TSC deadline SH_DELTA cycles ahead, halt, repeat. */
guest_timer_main:
	movl $GUEST_STACK0, %esp
	call apic_init
	movl $APIC_LVTT, %ecx
	movl $(APIC_LVTT_TSC_DEADLINE | TIMER_VECTOR), %eax
	call apic_write
	xorl %esi, %esi
1:	rdtsc
	addl SH_DELTA, %eax
	adcl SH_DELTA + 4, %edx
	call store_start
	movl $MSR_TSC_DEADLINE, %ecx
	wrmsr
	call wait_fired
	incl %esi
	cmpl SH_N, %esi
	jb 1b
	jmp done

/* IPI round trip, vCPU 0: once vCPU 1 is up, IPI it and wait for its reply IPI. */
guest_ipi_main:
	movl $GUEST_STACK0, %esp
	call apic_init
1:	pause
	cmpl $0, SH_AP_READY
	je 1b
	xorl %esi, %esi
2:	rdtsc
	call store_start
	movl $APIC_ICR, %ecx
	movl $(APIC_ICR_ASSERT | IPI_REQUEST_VECTOR), %eax
	movl $1, %edx
	call apic_write
	call wait_fired
	incl %esi
	cmpl SH_N, %esi
	jb 2b
	movl $APIC_ICR, %ecx
	movl $(APIC_ICR_ASSERT | QUIT_VECTOR), %eax
	movl $1, %edx
	call apic_write
	jmp done

/* IPI round trip, vCPU 1: answer in guest_request_handler; halted otherwise. */
guest_ap_main:
	movl $GUEST_STACK1, %esp
	call apic_init
	movl $1, SH_AP_READY
1:	sti
	hlt
	jmp 1b

/* irqfd: say which interrupt is awaited (SH_READY = i + 1), halt until it comes. */
guest_irqfd_main:
	movl $GUEST_STACK0, %esp
	call apic_init
	xorl %esi, %esi
1:	leal 1(%esi), %eax
	movl %eax, SH_READY
	call wait_fired
	incl %esi
	cmpl SH_N, %esi
	jb 1b
	jmp done

/* Exits: SH_N writes to BENCH_PORT between two TSC reads. */
guest_exit_main:
	movl $GUEST_STACK0, %esp
	movl SH_N, %esi
	rdtsc
	movl %eax, SH_T_START
	movl %edx, SH_T_START + 4
1:	outb %al, $BENCH_PORT
	decl %esi
	jnz 1b
	rdtsc
	movl %eax, SH_T_END
	movl %edx, SH_T_END + 4
	jmp done

/* Timer, IPI reply and irqfd: the TSC first, into GUEST_ARRAY_B[ESI] (ESI is the interrupted
 * loop's index: an interrupt leaves registers alone). */
guest_record_handler:
	pushal
	rdtsc
	movl %eax, GUEST_ARRAY_B(, %esi, 8)
	movl %edx, GUEST_ARRAY_B + 4(, %esi, 8)
	movl $1, SH_FIRED
	call apic_eoi
	popal
	iret

/* vCPU 1: reply to vCPU 0 at once, then EOI. */
guest_request_handler:
	pushal
	movl $APIC_ICR, %ecx
	movl $(APIC_ICR_ASSERT | IPI_REPLY_VECTOR), %eax
	xorl %edx, %edx
	call apic_write
	call apic_eoi
	popal
	iret

/* vCPU 1: the benchmark is over, leave KVM_RUN for good. */
guest_quit_handler:
	call apic_eoi
	jmp done

/* Any other vector, exceptions included: tell the host, which stops. */
guest_unexpected_handler:
	outb %al, $UNEXPECTED_PORT
	jmp guest_unexpected_handler

/* The spurious-interrupt vector (0xff) takes no EOI. */
guest_spurious_handler:
	iret

irq_guest_end:
	.code64
	.previous
	.section .note.GNU-stack, "", @progbits
