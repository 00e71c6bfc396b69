/* msi_irqfd: MSIs that the VMM delivers through an irqfd on an MSI route (KVM_IRQFD +
 * KVM_SET_GSI_ROUTING), programmed from inside through kagami's test-irq device.
 * run-guest: --kagami-only it needs kagami's test-irq device (port 0x2100), which QEMU lacks */
#include "runtime/apic.h"
#include "runtime/io.h"
#include "runtime/runtime.h"
#include "runtime/test_irq.h"

#define FIRST_VECTOR 0x80
#define VECTORS 4
#define MSI_ADDRESS(apic_id) (0xfee00000u | (apic_id) << 12) /* physical, no redirection hint */

static volatile unsigned hits[VECTORS];
static volatile unsigned total_hits;

static bool msi_interrupt(struct trap_frame* frame) {
  hits[frame->vector - FIRST_VECTOR]++;
  total_hits++;
  apic_eoi();
  return true;
}

/* Points the message at vector on this CPU (fixed delivery, edge), then fires it. */
static void fire(unsigned vector) {
  test_irq_write(TEST_IRQ_MSI_ADDRESS_LOW, MSI_ADDRESS(apic_id()));
  test_irq_write(TEST_IRQ_MSI_ADDRESS_HIGH, 0);
  test_irq_write(TEST_IRQ_MSI_DATA, vector);
  test_irq_write(TEST_IRQ_FIRE, 1);
}

static void check_vector(unsigned vector, unsigned want, const char* what) {
  volatile unsigned* count = &hits[vector - FIRST_VECTOR];
  bool ok = wait_for_count(count, want, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  unsigned others = total_hits - *count;
  reportf(ok && *count == want && others == 0,
          "%s: vector %#x taken %u times (want %u), %u interrupts elsewhere", what, vector, *count,
          want, others);
}

void guest_main(void) {
  for (unsigned v = FIRST_VECTOR; v < FIRST_VECTOR + VECTORS; v++)
    set_trap_handler((uint8_t)v, msi_interrupt);
  apic_init();
  if (!test_irq_present()) return;

  fire(FIRST_VECTOR);
  check_vector(FIRST_VECTOR, 1, "irqfd MSI");
  reportf(test_irq_read(TEST_IRQ_FIRE) == 1, "the device counted one fire");

  total_hits = hits[0] = 0;
  for (unsigned i = 0; i < 3; i++) {
    test_irq_write(TEST_IRQ_FIRE, 1);
    wait_for_count(&hits[0], i + 1, WAIT_EVENT_CYCLES);
  }
  check_vector(FIRST_VECTOR, 3, "irqfd MSI on an unchanged route, three times");

  total_hits = hits[0] = 0;
  fire(FIRST_VECTOR + 1);
  check_vector(FIRST_VECTOR + 1, 1, "after a route change (KVM_SET_GSI_ROUTING)");

  /* Fired with interrupts disabled: it waits in IRR until they are enabled. */
  total_hits = hits[1] = 0;
  test_irq_write(TEST_IRQ_FIRE, 1);
  check_vector(FIRST_VECTOR + 1, 1, "irqfd MSI raised while interrupts were disabled");

  total_hits = 0;
  fire(FIRST_VECTOR + 2);
  fire(FIRST_VECTOR + 3);
  bool ok = wait_for_count(&total_hits, 2, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && hits[2] == 1 && hits[3] == 1 && total_hits == 2,
          "two routes in a row deliver each vector once (%u, %u)", hits[2], hits[3]);
}
