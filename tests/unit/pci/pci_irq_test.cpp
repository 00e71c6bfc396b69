// INTx routing: the slot/pin to GSI swizzle, and PciRoot wiring each device's pin to its GSI.
#include "pci/pci_irq.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "pci/pci_root.hpp"
#include "pci_test_support.hpp"

namespace kagami {
namespace {

using pci::IntxPin;
using testing::conf1_read;
using testing::RecordingIrqLine;

TEST(PciIntx, GsiIsSixteenPlusSlotPlusPinModFour) {
  EXPECT_EQ(pci::intx_gsi(0, IntxPin::kIntA), 16u);
  EXPECT_EQ(pci::intx_gsi(1, IntxPin::kIntA), 17u);
  EXPECT_EQ(pci::intx_gsi(1, IntxPin::kIntD), 16u);
  EXPECT_EQ(pci::intx_gsi(3, IntxPin::kIntD), 18u);
  EXPECT_EQ(pci::intx_gsi(31, IntxPin::kIntB), 16u);
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    std::vector<unsigned> gsis;
    for (unsigned pin = 0; pin < pci::kIntxPins; ++pin) {
      unsigned gsi = pci::intx_gsi(slot, static_cast<IntxPin>(pin));
      EXPECT_GE(gsi, 16u);
      EXPECT_LE(gsi, 19u);
      for (unsigned other : gsis) EXPECT_NE(gsi, other);  // a slot's four pins: four lines
      gsis.push_back(gsi);
    }
  }
}

TEST(PciIntx, RootWiresEachPinToItsGsi) {
  Bus io("io"), mmio("mmio");
  std::map<unsigned, RecordingIrqLine> lines;
  std::vector<unsigned> asked;
  PciRoot root(io, mmio, [&](unsigned gsi) {
    asked.push_back(gsi);
    return &lines[gsi];
  });
  root.attach();
  PciDevice a({.vendor_id = 1}, IntxPin::kIntA);
  PciDevice b({.vendor_id = 2}, IntxPin::kIntC);
  PciDevice none({.vendor_id = 3});
  root.add_device(2, a);
  root.add_device(7, b);
  root.add_device(9, none);
  EXPECT_EQ(asked, (std::vector<unsigned>{18, 17}));
  EXPECT_EQ(conf1_read(io, 2, 0x3c, 2), 0x0112u);
  EXPECT_EQ(conf1_read(io, 7, 0x3c, 2), 0x0311u);
  EXPECT_EQ(conf1_read(io, 9, 0x3c, 2), 0x0000u);
  a.set_intx(true);
  b.set_intx(true);
  b.set_intx(false);
  EXPECT_EQ(lines[18].levels, (std::vector<bool>{true}));
  EXPECT_EQ(lines[17].levels, (std::vector<bool>{true, false}));
}

TEST(PciIntx, WorksWithoutIrqLines) {
  Bus io("io"), mmio("mmio");
  PciRoot root(io, mmio);
  PciDevice device({.vendor_id = 1}, IntxPin::kIntB);
  root.add_device(4, device);
  device.set_intx(true);
  EXPECT_EQ(device.config_value(pci::kInterruptLine, 1), 17u);
  EXPECT_EQ(device.config_value(pci::kStatus, 2), pci::kStatusInterrupt);
}

TEST(PciRoot, SlotErrors) {
  Bus io("io"), mmio("mmio");
  PciRoot root(io, mmio);
  PciDevice a({.vendor_id = 1}), b({.vendor_id = 2});
  auto error = [&](unsigned slot, PciDevice& device) -> std::string {
    try {
      root.add_device(slot, device);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error(0, a), "pci slot 0: reserved for the host bridge");
  EXPECT_EQ(error(32, a), "pci slot 32: bus 0 has slots 1..31");
  EXPECT_EQ(error(31, a), "");
  EXPECT_EQ(error(31, b), "pci slot 31: already taken");
  EXPECT_EQ(error(30, a), "pci device 0001:0000 connect: the device is already on a pci bus");
  EXPECT_EQ(root.device(31), &a);
  EXPECT_EQ(root.device(30), nullptr);
  EXPECT_EQ(root.device(99), nullptr);
  EXPECT_EQ(root.device(0)->config_value(pci::kVendorId, 2), PciHostBridge::kVendorId);
}

}  // namespace
}  // namespace kagami
