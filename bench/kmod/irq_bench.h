/* SPDX-License-Identifier: GPL-2.0 */
/* irq_bench.h: guest memory layout and constants shared by irq_bench.c and irq_guest.S. */
#ifndef KAGAMI_BENCH_IRQ_BENCH_H
#define KAGAMI_BENCH_IRQ_BENCH_H

/* Guest physical layout (32-bit protected mode, paging off, one slot at GPA 0). */
#define GUEST_CODE 0x1000     /* irq_guest.S, copied here */
#define GUEST_GDT 0x4000      /* null, code 0x08, data 0x10 */
#define GUEST_IDT 0x4100      /* 256 interrupt gates */
#define GUEST_SHARED 0x5000   /* the SH_* words below */
#define GUEST_STACK0 0x8000   /* top of vCPU 0's stack */
#define GUEST_STACK1 0x9000   /* top of vCPU 1's stack */
#define GUEST_ARRAY_A 0x10000 /* per-iteration start TSCs (u64) */
#define GUEST_ARRAY_B 0x30000 /* per-iteration handler TSCs (u64) */
#define GUEST_MAX_ITERATIONS 0x4000
#define GUEST_MEM_SIZE 0x60000

/* The shared words, host and guest (absolute guest addresses). */
#define SH_N (GUEST_SHARED + 0x00)        /* u32: iterations */
#define SH_X2APIC (GUEST_SHARED + 0x04)   /* u32: 1 = x2APIC MSRs, 0 = xAPIC MMIO */
#define SH_AP_READY (GUEST_SHARED + 0x08) /* u32: vCPU 1 has enabled its LAPIC */
#define SH_FIRED (GUEST_SHARED + 0x0c)    /* u32: the awaited interrupt came */
#define SH_READY (GUEST_SHARED + 0x10)    /* u32: irqfd: i + 1 when waiting for interrupt i */
#define SH_SPIN (GUEST_SHARED + 0x14)     /* u32: wait for interrupts in a loop, not in HLT */
#define SH_DELTA (GUEST_SHARED + 0x18)    /* u64: timer: deadline - now, in TSC cycles */
#define SH_T_START (GUEST_SHARED + 0x20)  /* u64: exit loop: TSC before */
#define SH_T_END (GUEST_SHARED + 0x28)    /* u64: exit loop: TSC after */

/* Ports: the guest's loop writes BENCH_PORT; DONE_PORT ends a vCPU's KVM_RUN. */
#define BENCH_PORT 0xe0
#define DONE_PORT 0xf4
#define UNEXPECTED_PORT 0xf5 /* an exception or unexpected vector */

/* Vectors. */
#define TIMER_VECTOR 0x40
#define IPI_REQUEST_VECTOR 0x50 /* vCPU 0 -> vCPU 1 */
#define IPI_REPLY_VECTOR 0x51   /* vCPU 1 -> vCPU 0 */
#define QUIT_VECTOR 0x52        /* vCPU 0 -> vCPU 1: leave KVM_RUN */
#define IRQFD_VECTOR 0x60

/* Local APIC (SDM vol. 3 chapter 10): xAPIC MMIO offsets; x2APIC MSR = 0x800 + offset / 16. */
#define APIC_BASE_GPA 0xfee00000
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_SVR_ENABLE 0x100
#define APIC_ICR_ASSERT 0x4000 /* level assert; fixed delivery, physical destination */
#define APIC_LVTT_TSC_DEADLINE (2 << 17)
#define MSR_APIC_BASE 0x1b
#define MSR_APIC_BASE_X2APIC 0xc00 /* EN | EXTD */
#define MSR_TSC_DEADLINE 0x6e0

#ifndef __ASSEMBLER__
/* Entry points and handlers inside the guest image (irq_guest.S), host addresses. */
extern const unsigned char irq_guest_start[], irq_guest_end[];
extern const unsigned char guest_timer_main[], guest_ipi_main[], guest_ap_main[];
extern const unsigned char guest_irqfd_main[], guest_exit_main[];
extern const unsigned char guest_record_handler[], guest_request_handler[];
extern const unsigned char guest_quit_handler[], guest_unexpected_handler[];
extern const unsigned char guest_spurious_handler[];
#endif

#endif
