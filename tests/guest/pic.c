/* pic: an ISA interrupt through the 8259 pair and the boot CPU's LINT0 (ExtINT), the way a
 * PC's legacy interrupts reach the in-kernel local APIC from the VMM's PIC: pc-testdev's IRQ
 * line 5, edge-triggered, with the 8259's EOI and mask (8259A datasheet; SDM 11.5.1). */
#include "runtime/apic.h"
#include "runtime/io.h"
#include "runtime/runtime.h"

#define IRQ_LINE_PORT 0x2000
#define PIC_IRQ 5 /* on the master, and no device of the test machines uses it */
#define MASTER_COMMAND 0x20
#define MASTER_DATA 0x21
#define SLAVE_COMMAND 0xa0
#define SLAVE_DATA 0xa1
#define MASTER_BASE 0x20 /* vectors 0x20..0x27, then the slave's 0x28..0x2f */
#define SLAVE_BASE 0x28
#define PIC_VECTOR (MASTER_BASE + PIC_IRQ)
#define NONSPECIFIC_EOI 0x20
#define LVT_EXTINT (7u << 8)

static volatile unsigned hits;

static bool pic_interrupt(struct trap_frame* frame) {
  (void)frame;
  hits++;
  outb(MASTER_COMMAND, NONSPECIFIC_EOI);
  return true;
}

/* The 8259's IRQ 7 when an input goes away before it is acknowledged: no EOI for it. */
static bool spurious_irq7(struct trap_frame* frame) {
  (void)frame;
  return true;
}

static void set_line(bool high) {
  outb(IRQ_LINE_PORT + PIC_IRQ, high);
}

/* ICW1-ICW4 (edge, cascade, 8086 mode), as a BIOS does, but at vectors 0x20/0x28 that no
 * exception uses; then every input masked. */
static void pic_init(void) {
  outb(MASTER_COMMAND, 0x11);
  outb(SLAVE_COMMAND, 0x11);
  outb(MASTER_DATA, MASTER_BASE);
  outb(SLAVE_DATA, SLAVE_BASE);
  outb(MASTER_DATA, 1u << 2); /* the slave on IRQ 2 */
  outb(SLAVE_DATA, 2);        /* its cascade identity */
  outb(MASTER_DATA, 0x01);
  outb(SLAVE_DATA, 0x01);
  outb(MASTER_DATA, 0xff);
  outb(SLAVE_DATA, 0xff);
}

void guest_main(void) {
  set_trap_handler(PIC_VECTOR, pic_interrupt);
  set_trap_handler(MASTER_BASE + 7, spurious_irq7);
  apic_init();
  /* The IOAPIC's pin for the same line stays masked: only the PIC path may deliver. */
  ioapic_write_redirection(PIC_IRQ, IOAPIC_MASKED | PIC_VECTOR);
  apic_write(APIC_LVT_LINT0, LVT_EXTINT);
  pic_init();
  set_line(false);

  set_line(true);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(hits == 0, "a masked 8259 input delivers nothing (%u)", hits);
  set_line(false);

  outb(MASTER_DATA, (uint8_t) ~(1u << PIC_IRQ));
  set_line(true);
  bool ok = wait_for_count(&hits, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && hits == 1, "IRQ %d through the 8259 and LINT0 (ExtINT) arrives once at vector %#x",
          PIC_IRQ, PIC_VECTOR);
  set_line(false);
  set_line(true);
  ok = wait_for_count(&hits, 2, WAIT_EVENT_CYCLES);
  set_line(false);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && hits == 2, "after the 8259's EOI the next edge arrives again (%u)", hits);

  outb(MASTER_COMMAND, 0x0b); /* OCW3: read ISR */
  reportf(inb(MASTER_COMMAND) == 0, "the 8259's ISR is clear after the EOIs");
  outb(MASTER_COMMAND, 0x0a); /* back to reading IRR */

  apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED | LVT_EXTINT);
  set_line(true);
  spin_with_interrupts(QUIET_CYCLES);
  set_line(false);
  reportf(hits == 2, "a masked LINT0 takes nothing from the 8259 (%u)", hits);
  outb(MASTER_DATA, 0xff);
}
