/* Local APIC access in xAPIC and x2APIC mode, the IOAPIC window, waits, and fw_cfg's CPU count. */
#include "apic.h"

#include "io.h"

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define IOAPIC_BASE 0xfec00000ul
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_REDIRECTION 0x10
#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_NB_CPUS 0x05

bool cpu_has_x2apic(void) {
  return cpuid(1, 0).ecx & (1u << 21);
}

bool cpu_has_tsc_deadline(void) {
  return cpuid(1, 0).ecx & (1u << 24);
}

/* Per CPU (the ipi guest switches only the BSP), so the CPU is asked each time. */
bool apic_is_x2apic(void) {
  return rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD;
}

uint32_t apic_read(unsigned reg) {
  if (apic_is_x2apic()) return (uint32_t)rdmsr(0x800 + reg / 16);
  return mmio_read32(APIC_MMIO_BASE + reg);
}

void apic_write(unsigned reg, uint32_t value) {
  if (apic_is_x2apic())
    wrmsr(0x800 + reg / 16, value);
  else
    mmio_write32(APIC_MMIO_BASE + reg, value);
}

void apic_send_ipi(uint32_t destination, uint32_t icr_low) {
  if (apic_is_x2apic()) {
    wrmsr(0x800 + APIC_ICR / 16, (uint64_t)destination << 32 | icr_low);
    return;
  }
  mmio_write32(APIC_MMIO_BASE + APIC_ICR2, destination << 24);
  mmio_write32(APIC_MMIO_BASE + APIC_ICR, icr_low);
  for (unsigned i = 0; i < 1000000 && (mmio_read32(APIC_MMIO_BASE + APIC_ICR) & ICR_BUSY); i++)
    cpu_relax();
}

void apic_eoi(void) {
  apic_write(APIC_EOI, 0);
}

unsigned apic_id(void) {
  if (apic_is_x2apic()) return (uint32_t)rdmsr(0x800 + APIC_ID / 16);
  return mmio_read32(APIC_MMIO_BASE + APIC_ID) >> 24;
}

static bool spurious(struct trap_frame* frame) {
  (void)frame; /* no EOI for the spurious vector (SDM 11.9) */
  return true;
}

void apic_init(void) {
  outb(PIC_MASTER_DATA, 0xff);
  outb(PIC_SLAVE_DATA, 0xff);
  set_trap_handler(SPURIOUS_VECTOR, spurious);
  apic_write(APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
}

bool apic_enable_x2apic(void) {
  if (!cpu_has_x2apic()) return false;
  wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_EXTD);
  return true;
}

bool wait_for_count(volatile unsigned* counter, unsigned target, uint64_t cycles) {
  uint64_t start = rdtsc();
  __asm__ volatile("sti" : : : "memory");
  while (*counter < target && rdtsc() - start < cycles) cpu_relax();
  __asm__ volatile("cli" : : : "memory");
  return *counter >= target;
}

void spin_with_interrupts(uint64_t cycles) {
  uint64_t start = rdtsc();
  __asm__ volatile("sti" : : : "memory");
  while (rdtsc() - start < cycles) cpu_relax();
  __asm__ volatile("cli" : : : "memory");
}

uint64_t ioapic_read_redirection(unsigned pin) {
  mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REDIRECTION + 2 * pin);
  uint64_t low = mmio_read32(IOAPIC_BASE + IOAPIC_IOWIN);
  mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REDIRECTION + 2 * pin + 1);
  return low | (uint64_t)mmio_read32(IOAPIC_BASE + IOAPIC_IOWIN) << 32;
}

/* High half first, so the entry never points at a stale destination while unmasked. */
void ioapic_write_redirection(unsigned pin, uint64_t entry) {
  mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REDIRECTION + 2 * pin + 1);
  mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, (uint32_t)(entry >> 32));
  mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REDIRECTION + 2 * pin);
  mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, (uint32_t)entry);
}

unsigned fw_cfg_cpu_count(void) {
  outw(FW_CFG_SELECTOR, FW_CFG_NB_CPUS);
  unsigned low = inb(FW_CFG_DATA);
  unsigned count = low | (unsigned)inb(FW_CFG_DATA) << 8;
  return count == 0xffff ? 0 : count; /* an unassigned port reads all ones */
}

void report_skip(const char* name, const char* reason) {
  printf("SKIP: %s (%s)\n", name, reason);
}
