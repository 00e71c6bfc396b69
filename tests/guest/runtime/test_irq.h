/* kagami's test-irq device (devices/test_irq_device.hpp): its ports, and whether it is there. */
#pragma once

#include "io.h"
#include "runtime.h"

#define TEST_IRQ_BASE 0x2100
#define TEST_IRQ_SIGNATURE 0x00
#define TEST_IRQ_MSI_ADDRESS_LOW 0x04
#define TEST_IRQ_MSI_ADDRESS_HIGH 0x08
#define TEST_IRQ_MSI_DATA 0x0c
#define TEST_IRQ_FIRE 0x10
#define TEST_IRQ_DOORBELL 0x14
#define TEST_IRQ_DOORBELL_COUNT 0x18
#define TEST_IRQ_DOORBELL_EXITS 0x1c
#define TEST_IRQ_MATCHED_DOORBELL 0x20
#define TEST_IRQ_MATCHED_COUNT 0x24
#define TEST_IRQ_MATCHED_EXITS 0x28
#define TEST_IRQ_MMIO_COUNT 0x2c
#define TEST_IRQ_MMIO_EXITS 0x30
#define TEST_IRQ_MMIO_DOORBELL 0xff010000ul
#define TEST_IRQ_SIGNATURE_VALUE 0x7172696bu /* "kirq" */
#define TEST_IRQ_MATCH_VALUE 0x600du

static inline uint32_t test_irq_read(unsigned reg) {
  return inl((uint16_t)(TEST_IRQ_BASE + reg));
}
static inline void test_irq_write(unsigned reg, uint32_t value) {
  outl((uint16_t)(TEST_IRQ_BASE + reg), value);
}
/* Reports the device's presence; the rest of the guest needs it. */
static inline bool test_irq_present(void) {
  uint32_t signature = test_irq_read(TEST_IRQ_SIGNATURE);
  reportf(signature == TEST_IRQ_SIGNATURE_VALUE,
          "test-irq device at port %#x (signature %#x; kagami --testdev on a hypervisor with "
          "irqfd and ioeventfd)",
          TEST_IRQ_BASE, signature);
  return signature == TEST_IRQ_SIGNATURE_VALUE;
}
