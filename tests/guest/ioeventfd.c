/* ioeventfd: doorbell writes that the kernel turns into eventfd signals (KVM_IOEVENTFD) instead
 * of exits to the VMM, port and MMIO, with and without datamatch, counted by kagami's test-irq
 * device.
 * run-guest: --kagami-only it needs kagami's test-irq device (port 0x2100), which QEMU lacks */
#include "runtime/io.h"
#include "runtime/runtime.h"
#include "runtime/test_irq.h"

#define DOORBELLS 10

void guest_main(void) {
  if (!test_irq_present()) return;

  for (unsigned i = 0; i < DOORBELLS; i++) test_irq_write(TEST_IRQ_DOORBELL, i);
  uint32_t count = test_irq_read(TEST_IRQ_DOORBELL_COUNT);
  uint32_t exits = test_irq_read(TEST_IRQ_DOORBELL_EXITS);
  reportf(count == DOORBELLS && exits == 0,
          "%d 4-byte doorbell writes signal the eventfd %u times, %u reach the VMM", DOORBELLS,
          count, exits);
  reportf(test_irq_read(TEST_IRQ_DOORBELL_COUNT) == DOORBELLS,
          "the count stays when nothing rang since");

  outw(TEST_IRQ_BASE + TEST_IRQ_DOORBELL, 1);
  count = test_irq_read(TEST_IRQ_DOORBELL_COUNT);
  exits = test_irq_read(TEST_IRQ_DOORBELL_EXITS);
  reportf(count == DOORBELLS && exits == 1,
          "a 2-byte write does not match the 4-byte ioeventfd: it exits (count %u, exits %u)",
          count, exits);

  for (unsigned i = 0; i < 3; i++) test_irq_write(TEST_IRQ_MATCHED_DOORBELL, TEST_IRQ_MATCH_VALUE);
  for (unsigned i = 0; i < 2; i++) test_irq_write(TEST_IRQ_MATCHED_DOORBELL, 0x1234);
  count = test_irq_read(TEST_IRQ_MATCHED_COUNT);
  exits = test_irq_read(TEST_IRQ_MATCHED_EXITS);
  reportf(count == 3 && exits == 2,
          "datamatch: 3 matching writes signal (%u), 2 others exit to the VMM (%u)", count, exits);
  reportf(test_irq_read(TEST_IRQ_DOORBELL_COUNT) == DOORBELLS,
          "the matched doorbell leaves the other's count alone");

  for (unsigned i = 0; i < DOORBELLS; i++) mmio_write32(TEST_IRQ_MMIO_DOORBELL, i);
  mmio_write16(TEST_IRQ_MMIO_DOORBELL, 1);
  count = test_irq_read(TEST_IRQ_MMIO_COUNT);
  exits = test_irq_read(TEST_IRQ_MMIO_EXITS);
  reportf(count == DOORBELLS && exits == 1,
          "MMIO ioeventfd: %d 4-byte writes signal it (%u), a 2-byte write exits (%u)", DOORBELLS,
          count, exits);
}
