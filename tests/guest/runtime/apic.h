/* Interrupt-test helpers: the local APIC (xAPIC MMIO or x2APIC MSRs), the 8259 mask, the
 * IOAPIC window, waiting with interrupts enabled, and AP start-up (INIT-SIPI-SIPI). */
#pragma once

#include "runtime.h"

/* Local APIC registers by their xAPIC offset; in x2APIC mode the MSR is 0x800 + offset / 16
 * (SDM 11.12.1.2). */
#define APIC_ID 0x20
#define APIC_VERSION 0x30
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define APIC_SELF_IPI 0x3f0 /* x2APIC only */

#define APIC_SVR_ENABLE (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_TIMER_ONESHOT (0u << 17)
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_TIMER_TSC_DEADLINE (2u << 17)
#define APIC_TDCR_DIV_1 0xb
#define APIC_TDCR_DIV_16 0x3

/* ICR low word (SDM 11.6.1). */
#define ICR_FIXED (0u << 8)
#define ICR_LOWEST_PRIORITY (1u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_BUSY (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL_INCLUDING_SELF (2u << 18)
#define ICR_ALL_BUT_SELF (3u << 18)

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define MSR_TSC_DEADLINE 0x6e0
#define APIC_MMIO_BASE 0xfee00000ul
#define SPURIOUS_VECTOR 0xff

#define MAX_CPUS 8

bool cpu_has_x2apic(void);       /* CPUID.1:ECX[21] */
bool cpu_has_tsc_deadline(void); /* CPUID.1:ECX[24] */

/* Register access in the calling CPU's current mode (xAPIC or x2APIC). */
uint32_t apic_read(unsigned reg);
void apic_write(unsigned reg, uint32_t value);
/* Sends an IPI: ICR high (destination) first, then low; waits for the xAPIC's delivery-status
 * bit to clear. In x2APIC mode one 64-bit write with a 32-bit destination. */
void apic_send_ipi(uint32_t destination, uint32_t icr_low);
void apic_eoi(void);
unsigned apic_id(void); /* 8 bits in xAPIC mode, 32 in x2APIC mode */
/* Software-enables the calling CPU's APIC (SVR) with a handler for the spurious vector, and
 * masks the 8259 pair so firmware-programmed PIC interrupts (QEMU's SeaBIOS leaves the PIT on
 * IRQ 0 unmasked) never reach LINT0. */
void apic_init(void);
/* Switches the calling CPU to x2APIC mode; false when CPUID does not offer it. */
bool apic_enable_x2apic(void);
bool apic_is_x2apic(void);

/* Spins with interrupts enabled until *counter >= target or `cycles` TSC cycles have passed;
 * returns whether the count was reached. Interrupts are disabled again on return. */
bool wait_for_count(volatile unsigned* counter, unsigned target, uint64_t cycles);
/* Spins with interrupts enabled for `cycles` TSC cycles (to show that nothing arrives). */
void spin_with_interrupts(uint64_t cycles);
/* Generous bounds: QEMU TCG and nested hosts are slow and noisy, so waits for an event are
 * seconds long (they end as soon as the event arrives), and quiet windows are long compared to
 * the timer periods the tests program. */
#define WAIT_EVENT_CYCLES 30000000000ull /* ~10 s at 3 GHz */
#define QUIET_CYCLES 600000000ull        /* ~0.2 s at 3 GHz */

/* IOAPIC at its PC address (0xfec00000): redirection entry `pin`. */
uint64_t ioapic_read_redirection(unsigned pin);
void ioapic_write_redirection(unsigned pin, uint64_t entry);
#define IOAPIC_MASKED (1ull << 16)
#define IOAPIC_LEVEL (1ull << 15)
#define IOAPIC_REMOTE_IRR (1ull << 14)

/* fw_cfg's CPU count (selector 0x05, QEMU and kagami alike); 0 without fw_cfg. */
unsigned fw_cfg_cpu_count(void);

/* Starts the APs with APIC IDs 1..cpus-1, one at a time, with INIT-SIPI-SIPI (SDM 8.4.4.1):
 * a real-mode trampoline at 0x8000 takes each one to long mode on the BSP's page tables, GDT
 * and IDT, enables its APIC, and calls fn(index) on a stack of its own (fn usually halts with
 * interrupts enabled and never returns; if it does, the AP halts for good). Returns how many
 * CPUs are online, the BSP included. */
unsigned smp_start_aps(unsigned cpus, void (*fn)(unsigned index));
/* Prints "SKIP: name (reason)": a check this platform cannot make, neither passed nor failed. */
void report_skip(const char* name, const char* reason);
