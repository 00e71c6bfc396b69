// IOAPIC: registers, MSI encoding, edge and level delivery, remote IRR and EOI, hostile writes.
#include "irqchip/ioapic.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "bus_access.hpp"
#include "fakes.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::Msi;

constexpr uint64_t kBase = 0xfec00000, kIoregsel = kBase, kIowin = kBase + 0x10,
                   kEoi = kBase + 0x40;
constexpr uint32_t kMasked = 1u << 16, kLevel = 1u << 15, kRemoteIrr = 1u << 14,
                   kActiveLow = 1u << 13, kDeliveryStatus = 1u << 12, kLogical = 1u << 11;
constexpr uint32_t kMsiAssert = 1u << 14, kMsiLevel = 1u << 15;

class IoapicTest : public ::testing::Test {
 protected:
  IoapicTest() { ioapic.attach(mmio); }

  uint32_t reg(uint8_t index) {
    bus_write(mmio, kIoregsel, 4, index);
    return static_cast<uint32_t>(bus_read(mmio, kIowin, 4));
  }
  void set_reg(uint8_t index, uint32_t value) {
    bus_write(mmio, kIoregsel, 4, index);
    bus_write(mmio, kIowin, 4, value);
  }
  // Writes the high half (destination) first, then the low half, as Linux does.
  void set_entry(unsigned pin, uint32_t low, uint32_t high = 0) {
    set_reg(static_cast<uint8_t>(0x11 + 2 * pin), high);
    set_reg(static_cast<uint8_t>(0x10 + 2 * pin), low);
  }
  uint32_t entry_low(unsigned pin) { return reg(static_cast<uint8_t>(0x10 + 2 * pin)); }
  std::vector<Msi>& sent() { return msi.messages; }

  Bus mmio{"mmio"};
  testing::RecordingMsiSink msi;
  Ioapic ioapic{msi};
};

TEST_F(IoapicTest, ResetState) {
  EXPECT_EQ(reg(0x00), 0u);
  EXPECT_EQ(reg(0x01), 0x00170020u);  // 24 entries, version 0x20
  EXPECT_EQ(reg(0x02), 0u);
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) {
    EXPECT_EQ(entry_low(pin), kMasked) << pin;
    EXPECT_EQ(reg(static_cast<uint8_t>(0x11 + 2 * pin)), 0u) << pin;
  }
}

TEST_F(IoapicTest, IdKeepsBits27To24AndArbFollowsIt) {
  set_reg(0x00, 0xffffffff);
  EXPECT_EQ(reg(0x00), 0x0f000000u);
  EXPECT_EQ(reg(0x02), 0x0f000000u);
  set_reg(0x01, 0);
  set_reg(0x02, 0);
  EXPECT_EQ(reg(0x01), 0x00170020u);
  EXPECT_EQ(reg(0x02), 0x0f000000u);
}

TEST_F(IoapicTest, IoregselReadsBackItsLowByte) {
  bus_write(mmio, kIoregsel, 4, 0x12345678);
  EXPECT_EQ(bus_read(mmio, kIoregsel, 4), 0x78u);
}

TEST_F(IoapicTest, RemoteIrrAndDeliveryStatusAreReadOnly) {
  set_entry(3, 0xffffffff, 0xffffffff);
  EXPECT_EQ(entry_low(3), 0xffffffff & ~kRemoteIrr & ~kDeliveryStatus);
  EXPECT_EQ(reg(0x17), 0xffffffffu);
  set_entry(3, 0, 0);
  EXPECT_EQ(entry_low(3), 0u);
  EXPECT_EQ(reg(0x17), 0u);
}

TEST_F(IoapicTest, EdgeDeliversOnRisingEdgeOnly) {
  set_entry(4, 0x31, 0x01000000);  // vector 0x31, fixed, physical, to APIC 1
  IrqLine& pin = ioapic.pin(4);
  pin.set_level(true);
  ASSERT_EQ(sent().size(), 1u);
  EXPECT_EQ(sent()[0], (Msi{0xfee01000, 0x31 | kMsiAssert}));
  pin.set_level(true);
  pin.set_level(false);
  EXPECT_EQ(sent().size(), 1u);
  pin.pulse();
  EXPECT_EQ(sent().size(), 2u);
  EXPECT_EQ(entry_low(4) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, EdgeOnMaskedPinIsLost) {
  set_entry(4, kMasked | 0x31);
  ioapic.pin(4).set_level(true);
  set_entry(4, 0x31);
  EXPECT_TRUE(sent().empty());
  ioapic.pin(4).set_level(false);
  ioapic.pin(4).set_level(true);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, LevelSetsRemoteIrrAndRedeliversAfterEoiWhileAsserted) {
  set_entry(9, kLevel | 0x41);
  IrqLine& pin = ioapic.pin(9);
  pin.set_level(true);
  ASSERT_EQ(sent().size(), 1u);
  EXPECT_EQ(sent()[0], (Msi{0xfee00000, 0x41 | kMsiAssert | kMsiLevel}));
  EXPECT_TRUE(entry_low(9) & kRemoteIrr);
  pin.set_level(true);
  pin.set_level(false);
  pin.set_level(true);
  EXPECT_EQ(sent().size(), 1u) << "remote IRR holds further deliveries";
  ioapic.end_of_interrupt(0x41);
  EXPECT_EQ(sent().size(), 2u) << "still asserted after EOI";
  EXPECT_TRUE(entry_low(9) & kRemoteIrr);
  pin.set_level(false);
  ioapic.end_of_interrupt(0x41);
  EXPECT_EQ(sent().size(), 2u);
  EXPECT_FALSE(entry_low(9) & kRemoteIrr);
}

TEST_F(IoapicTest, EoiOfAnotherVectorLeavesRemoteIrr) {
  set_entry(9, kLevel | 0x41);
  ioapic.pin(9).set_level(true);
  ioapic.end_of_interrupt(0x42);
  EXPECT_TRUE(entry_low(9) & kRemoteIrr);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, EoiClearsEveryLevelEntryWithTheVector) {
  ioapic.pin(16).set_level(true);  // idle (high) active-low lines
  ioapic.pin(17).set_level(true);
  set_entry(16, kLevel | kActiveLow | 0x50);
  set_entry(17, kLevel | kActiveLow | 0x50);
  EXPECT_TRUE(sent().empty());
  ioapic.pin(16).set_level(false);
  ioapic.pin(17).set_level(false);
  EXPECT_EQ(sent().size(), 2u);
  ioapic.pin(16).set_level(true);
  ioapic.end_of_interrupt(0x50);
  EXPECT_FALSE(entry_low(16) & kRemoteIrr);
  EXPECT_TRUE(entry_low(17) & kRemoteIrr) << "pin 17 is still asserted: delivered again";
  EXPECT_EQ(sent().size(), 3u);
}

TEST_F(IoapicTest, EoiRegisterBroadcastsTheVector) {
  set_entry(9, kLevel | 0x41);
  ioapic.pin(9).set_level(true);
  bus_write(mmio, kEoi, 4, 0x41);
  EXPECT_EQ(sent().size(), 2u);
  bus_write(mmio, kEoi, 1, 0x41);  // only 32-bit accesses count
  EXPECT_EQ(sent().size(), 2u);
}

TEST_F(IoapicTest, UnmaskingAnAssertedLevelLineDelivers) {
  set_entry(10, kMasked | kLevel | 0x60);
  ioapic.pin(10).set_level(true);
  EXPECT_TRUE(sent().empty());
  set_entry(10, kLevel | 0x60);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, SwitchingToEdgeClearsRemoteIrr) {
  set_entry(10, kLevel | 0x60);
  ioapic.pin(10).set_level(true);
  ioapic.pin(10).set_level(false);
  set_entry(10, kMasked | 0x60);  // Linux's EOI for IOAPICs without an EOI register
  set_entry(10, kMasked | kLevel | 0x60);
  EXPECT_FALSE(entry_low(10) & kRemoteIrr);
}

TEST_F(IoapicTest, ActiveLowEntrySeesTheInverseOfThePin) {
  // A pin nobody drives is low: an active-low level entry sees it asserted, like hardware.
  set_entry(5, kActiveLow | kLevel | 0x70);
  EXPECT_EQ(sent().size(), 1u);
  sent().clear();
  ActiveLowIrqLine line(ioapic.pin(6));
  set_entry(6, kActiveLow | kLevel | 0x71);
  EXPECT_TRUE(sent().empty()) << "the adapter drives the idle level";
  line.set_level(true);
  ASSERT_EQ(sent().size(), 1u);
  EXPECT_EQ(sent()[0].data & 0xff, 0x71u);
  line.set_level(false);
  ioapic.end_of_interrupt(0x71);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, ActiveLowEdgeDeliversOnFallingPin) {
  ioapic.pin(7).set_level(true);
  set_entry(7, kActiveLow | 0x72);
  ioapic.pin(7).set_level(false);
  EXPECT_EQ(sent().size(), 1u);
  ioapic.pin(7).set_level(true);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, MsiEncodingOfDestinationAndDeliveryModes) {
  set_entry(1, kLogical | 1u << 8 | 0x81, 0xff000000);  // lowest priority, logical, all
  ioapic.pin(1).pulse();
  set_entry(2, 4u << 8, 0x03000000);  // NMI to APIC 3
  ioapic.pin(2).pulse();
  set_entry(3, 0x90, 0x00fe0000);  // Linux's extended destination ID bits 55:49
  ioapic.pin(3).pulse();
  ASSERT_EQ(sent().size(), 3u);
  EXPECT_EQ(sent()[0], (Msi{0xfeeff00c, 0x181 | kMsiAssert}));
  EXPECT_EQ(sent()[1], (Msi{0xfee03000, 0x400 | kMsiAssert}));
  EXPECT_EQ(sent()[2], (Msi{0xfee00fe0, 0x90 | kMsiAssert}));
}

TEST_F(IoapicTest, RouteListenerSeesEveryRouteChange) {
  std::vector<std::pair<unsigned, IoapicRoute>> changes;
  ioapic.set_route_listener(
      [&](unsigned pin, const IoapicRoute& route) { changes.emplace_back(pin, route); });
  set_entry(12, kMasked | kLevel | 0x44, 0x02000000);
  ASSERT_EQ(changes.size(), 2u);  // high half, then low half
  EXPECT_EQ(changes[1].first, 12u);
  EXPECT_TRUE(changes[1].second.masked);
  EXPECT_TRUE(changes[1].second.level_triggered());
  EXPECT_EQ(changes[1].second.address, 0xfee02000u);
  EXPECT_EQ(changes[1].second.data, 0x44 | kMsiAssert | kMsiLevel);
  set_entry(12, kMasked | kLevel | 0x44, 0x02000000);
  EXPECT_EQ(changes.size(), 2u) << "an identical write is no change";
  set_entry(12, kLevel | 0x44, 0x02000000);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_FALSE(changes[2].second.masked);
  ioapic.pin(12).set_level(true);  // remote IRR is not part of the route
  EXPECT_EQ(changes.size(), 3u);
  IoapicRoute route = ioapic.route(12);
  EXPECT_EQ(route.address, changes[2].second.address);
  EXPECT_EQ(route.data, changes[2].second.data);
}

TEST_F(IoapicTest, RefusedVectorsAndReservedModesAreNotDelivered) {
  set_entry(1, 0x0f);  // fixed, vector 15
  set_entry(2, kLevel | 1u << 8 | 0x02);
  set_entry(3, 3u << 8 | 0x40);
  set_entry(4, 6u << 8 | 0x40);
  for (unsigned pin = 1; pin <= 4; ++pin) ioapic.pin(pin).set_level(true);
  EXPECT_TRUE(sent().empty());
  EXPECT_FALSE(entry_low(2) & kRemoteIrr);
  set_entry(5, 4u << 8 | 0x02);  // NMI ignores the vector
  ioapic.pin(5).set_level(true);
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(IoapicTest, WindowAliasesEvery256Bytes) {
  bus_write(mmio, kBase + 0x300, 4, 0x01);
  EXPECT_EQ(bus_read(mmio, kBase + 0x310, 4), 0x00170020u);
}

TEST_F(IoapicTest, NarrowOrWideWindowAccessesAreIgnored) {
  set_entry(0, 0x35);
  bus_write(mmio, kIoregsel, 1, 0x10);
  for (size_t width : {1, 2, 8}) {
    bus_write(mmio, kIowin, width, 0);
    EXPECT_EQ(bus_read(mmio, kIowin, width), 0u) << width;
  }
  EXPECT_EQ(entry_low(0), 0x35u);
}

TEST_F(IoapicTest, ResetMasksEverythingAndReportsRoutes) {
  set_reg(0x00, 0x05000000);
  set_entry(9, kLevel | 0x41, 0x01000000);
  ioapic.pin(9).set_level(true);
  unsigned changes = 0;
  ioapic.set_route_listener([&](unsigned pin, const IoapicRoute& route) {
    EXPECT_EQ(pin, 9u);
    EXPECT_TRUE(route.masked);
    ++changes;
  });
  ioapic.reset();
  ioapic.set_route_listener(nullptr);
  EXPECT_EQ(changes, 1u);
  EXPECT_EQ(reg(0x00), 0u);
  EXPECT_EQ(entry_low(9), kMasked);
  EXPECT_EQ(reg(0x11 + 2 * 9), 0u);
  set_entry(9, kLevel | 0x41);
  EXPECT_EQ(sent().size(), 2u) << "the line is still asserted after reset";
}

TEST_F(IoapicTest, PinsOutOfRangeThrow) {
  EXPECT_THROW(ioapic.pin(24), std::out_of_range);
  EXPECT_THROW(ioapic.route(24), std::out_of_range);
}

// Writes to registers that do not exist, in every width at every offset of the window, change
// nothing and deliver nothing.
TEST_F(IoapicTest, HostileWritesOutsideTheTableChangeNothing) {
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) set_entry(pin, kLevel | (0x40 + pin));
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) ioapic.pin(pin).set_level(true);
  sent().clear();
  std::vector<uint32_t> before;
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) before.push_back(entry_low(pin));
  std::mt19937_64 random(4);
  for (int i = 0; i < 20000; ++i) {
    uint64_t offset = random() % 0x1000;
    size_t width = size_t{1} << (random() % 4);
    if (offset + width > 0x1000) continue;
    if ((offset & 0xff) == 0x10 && width == 4) continue;  // the real window
    if ((offset & 0xff) == 0x40 && width == 4) continue;  // the EOI register
    bus_write(mmio, kBase + offset, width, random());
    bus_read(mmio, kBase + offset, width);
  }
  for (unsigned index = 0x40; index <= 0xff; ++index) set_reg(static_cast<uint8_t>(index), ~0u);
  for (unsigned index = 0x03; index < 0x10; ++index) set_reg(static_cast<uint8_t>(index), ~0u);
  EXPECT_TRUE(sent().empty());
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) EXPECT_EQ(entry_low(pin), before[pin]);
}

// Arbitrary values in every register: whatever the table ends up as, the model neither crashes
// nor sends a message an entry does not call for.
TEST_F(IoapicTest, HostileTableWritesOnlyDeliverWhatEntriesSay) {
  std::mt19937 random(7);
  for (int i = 0; i < 20000; ++i) {
    set_reg(static_cast<uint8_t>(random()), static_cast<uint32_t>(random()));
    unsigned pin = random() % Ioapic::kPins;
    ioapic.pin(pin).set_level(random() & 1);
    if (random() % 4 == 0) ioapic.end_of_interrupt(static_cast<uint8_t>(random()));
    for (const Msi& m : sent()) {
      EXPECT_EQ(m.address & 0xfff00000, 0xfee00000u);
      uint32_t mode = (m.data >> 8) & 7;
      EXPECT_NE(mode, 3u);
      EXPECT_NE(mode, 6u);
      if (mode <= 1) {
        EXPECT_GE(m.data & 0xff, 16u);
      }
      EXPECT_EQ(m.data & ~0xc7ffu, 0u);
    }
    sent().clear();
  }
}

}  // namespace
}  // namespace kagami
