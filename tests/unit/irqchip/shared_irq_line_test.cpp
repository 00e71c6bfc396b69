// Shared interrupt line: wired-OR of sources, and with an active-low IOAPIC input behind it.
#include "irqchip/shared_irq_line.hpp"

#include <gtest/gtest.h>

#include "bus_access.hpp"
#include "fakes.hpp"
#include "irqchip/ioapic.hpp"

namespace kagami {
namespace {

using testing::bus_write;

TEST(SharedIrqLineTest, AssertedWhileAnySourceIs) {
  testing::RecordingLine target;
  SharedIrqLine shared(target);
  IrqLine& a = shared.add_source();
  IrqLine& b = shared.add_source();
  a.set_level(true);
  b.set_level(true);
  a.set_level(false);
  EXPECT_TRUE(target.level) << "b still asserts";
  b.set_level(false);
  EXPECT_FALSE(target.level);
  b.set_level(false);
  EXPECT_EQ(target.calls, 2u) << "only 0 <-> 1 changes reach the target";
}

TEST(SharedIrqLineTest, RepeatedAssertsFromOneSourceCountOnce) {
  testing::RecordingLine target;
  SharedIrqLine shared(target);
  IrqLine& a = shared.add_source();
  a.set_level(true);
  a.set_level(true);
  a.set_level(false);
  EXPECT_FALSE(target.level);
}

// Two PCI functions on GSI 16, level, active low, the way Linux programs it from the _PRT.
TEST(SharedIrqLineTest, PciIntxOnAnActiveLowIoapicPin) {
  Bus mmio("mmio");
  testing::RecordingMsiSink msi;
  Ioapic ioapic(msi);
  ioapic.attach(mmio);
  ActiveLowIrqLine intx(ioapic.pin(16));
  SharedIrqLine shared(intx);
  IrqLine& first = shared.add_source();
  IrqLine& second = shared.add_source();
  bus_write(mmio, 0xfec00000, 4, 0x30);
  bus_write(mmio, 0xfec00010, 4, 0xa000 | 0x61);  // level, active low, vector 0x61
  EXPECT_TRUE(msi.messages.empty());
  first.set_level(true);
  second.set_level(true);
  EXPECT_EQ(msi.messages.size(), 1u);
  first.set_level(false);
  ioapic.end_of_interrupt(0x61);
  EXPECT_EQ(msi.messages.size(), 2u) << "the second function still asserts";
  second.set_level(false);
  ioapic.end_of_interrupt(0x61);
  EXPECT_EQ(msi.messages.size(), 2u);
}

}  // namespace
}  // namespace kagami
