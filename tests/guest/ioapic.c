/* ioapic: edge- and level-triggered IOAPIC interrupts from pc-testdev's IRQ lines (port
 * 0x2000 + ISA IRQ: writing 1 raises the line, 0 lowers it), with EOI, remote IRR, re-delivery
 * of a level line still asserted, and masking (82093AA datasheet 3.2.4). */
#include "runtime/apic.h"
#include "runtime/io.h"
#include "runtime/runtime.h"

#define IRQ_LINE_PORT 0x2000
#define EDGE_IRQ 14 /* ISA IRQs = IOAPIC pins on a PC, no device of the test machines uses them */
#define LEVEL_IRQ 15
#define EDGE_VECTOR 0x70
#define LEVEL_VECTOR 0x71
#define IOAPIC_BASE 0xfec00000ul
#define IOAPIC_VERSION_REGISTER 0x01

static volatile unsigned edge_hits, level_hits;
/* The level handler lowers the line on its lower_at-th run; with withhold_eoi it returns
 * without an EOI (the test sends it later). */
static volatile unsigned lower_at;
static volatile bool withhold_eoi;
static volatile bool remote_irr_in_handler = true;

static void set_line(unsigned irq, bool high) {
  outb((uint16_t)(IRQ_LINE_PORT + irq), high);
}

static bool edge_interrupt(struct trap_frame* frame) {
  (void)frame;
  edge_hits++;
  apic_eoi();
  return true;
}

static bool level_interrupt(struct trap_frame* frame) {
  (void)frame;
  level_hits++;
  if (!(ioapic_read_redirection(LEVEL_IRQ) & IOAPIC_REMOTE_IRR)) remote_irr_in_handler = false;
  if (level_hits == lower_at) set_line(LEVEL_IRQ, false);
  if (!withhold_eoi) apic_eoi();
  return true;
}

static uint64_t route(unsigned vector, uint64_t flags) {
  return (uint64_t)apic_id() << 56 | flags | vector;
}

static void check_registers(void) {
  mmio_write32(IOAPIC_BASE, IOAPIC_VERSION_REGISTER);
  uint32_t version = mmio_read32(IOAPIC_BASE + 0x10);
  reportf(((version >> 16) & 0xff) == 23, "IOAPIC version register: 24 redirection entries (%#x)",
          version);
  uint64_t entry = route(LEVEL_VECTOR, IOAPIC_MASKED | IOAPIC_LEVEL) | 0x5aull << 56;
  ioapic_write_redirection(LEVEL_IRQ, entry);
  uint64_t back = ioapic_read_redirection(LEVEL_IRQ);
  reportf(back == entry, "redirection entry reads back (%#lx, wrote %#lx)", back, entry);
}

static void check_edge(void) {
  edge_hits = 0;
  ioapic_write_redirection(EDGE_IRQ, route(EDGE_VECTOR, 0));
  set_line(EDGE_IRQ, true);
  bool ok = wait_for_count(&edge_hits, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && edge_hits == 1, "edge: a rising edge delivers vector %#x once (%u) while held",
          EDGE_VECTOR, edge_hits);
  reportf(!(ioapic_read_redirection(EDGE_IRQ) & IOAPIC_REMOTE_IRR),
          "edge: remote IRR stays clear for an edge-triggered entry");
  set_line(EDGE_IRQ, false);
  set_line(EDGE_IRQ, true);
  ok = wait_for_count(&edge_hits, 2, WAIT_EVENT_CYCLES);
  set_line(EDGE_IRQ, false);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && edge_hits == 2, "edge: the next rising edge delivers again (%u)", edge_hits);

  ioapic_write_redirection(EDGE_IRQ, route(EDGE_VECTOR, IOAPIC_MASKED));
  set_line(EDGE_IRQ, true);
  spin_with_interrupts(QUIET_CYCLES);
  set_line(EDGE_IRQ, false);
  reportf(edge_hits == 2, "edge: a masked entry delivers nothing (%u)", edge_hits);
}

static void check_level_redelivery(void) {
  level_hits = 0;
  lower_at = 3;
  remote_irr_in_handler = true;
  ioapic_write_redirection(LEVEL_IRQ, route(LEVEL_VECTOR, IOAPIC_LEVEL));
  set_line(LEVEL_IRQ, true);
  bool ok = wait_for_count(&level_hits, 3, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && level_hits == 3,
          "level: re-delivered after each EOI while asserted, not after it is lowered (%u, want 3)",
          level_hits);
  reportf(remote_irr_in_handler, "level: remote IRR is set while the handler runs");
  reportf(!(ioapic_read_redirection(LEVEL_IRQ) & IOAPIC_REMOTE_IRR),
          "level: the EOI clears remote IRR");
}

static void check_level_remote_irr(void) {
  level_hits = 0;
  lower_at = 2;
  withhold_eoi = true;
  set_line(LEVEL_IRQ, true);
  bool ok = wait_for_count(&level_hits, 1, WAIT_EVENT_CYCLES);
  withhold_eoi = false;
  spin_with_interrupts(QUIET_CYCLES);
  bool irr = ioapic_read_redirection(LEVEL_IRQ) & IOAPIC_REMOTE_IRR;
  bool isr = apic_read(APIC_ISR + (LEVEL_VECTOR / 32) * 0x10) & (1u << (LEVEL_VECTOR % 32));
  reportf(ok && level_hits == 1 && irr && isr,
          "level: without an EOI remote IRR and ISR stay set and nothing is re-delivered (%u)",
          level_hits);
  apic_eoi();
  ok = wait_for_count(&level_hits, 2, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && level_hits == 2, "level: the late EOI re-delivers the still-asserted line (%u)",
          level_hits);
}

static void check_level_mask(void) {
  level_hits = 0;
  lower_at = 1;
  ioapic_write_redirection(LEVEL_IRQ, route(LEVEL_VECTOR, IOAPIC_LEVEL | IOAPIC_MASKED));
  set_line(LEVEL_IRQ, true);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(level_hits == 0, "level: a masked entry delivers nothing while asserted (%u)",
          level_hits);
  ioapic_write_redirection(LEVEL_IRQ, route(LEVEL_VECTOR, IOAPIC_LEVEL));
  bool ok = wait_for_count(&level_hits, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && level_hits == 1, "level: unmasking an asserted line delivers it (%u)", level_hits);
  ioapic_write_redirection(LEVEL_IRQ, route(LEVEL_VECTOR, IOAPIC_LEVEL | IOAPIC_MASKED));
}

void guest_main(void) {
  set_trap_handler(EDGE_VECTOR, edge_interrupt);
  set_trap_handler(LEVEL_VECTOR, level_interrupt);
  apic_init();
  set_line(EDGE_IRQ, false);
  set_line(LEVEL_IRQ, false);
  check_registers();
  check_edge();
  check_level_redelivery();
  check_level_remote_irr();
  check_level_mask();
}
