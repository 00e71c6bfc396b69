// PciRoot saved state: config spaces, the config address, INTx and BAR decoding go on
// identically in a fresh bus; another device, a missing slot or bad bits are refused.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "pci/pci_root.hpp"
#include "pci_test_support.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::conf1_read;
using testing::conf1_write;
using testing::RecordingIrqLine;
using testing::RegisterBlock;

constexpr unsigned kSlot = 5;

// A bus with one device in slot 5 (an I/O BAR, a 32-bit and a 64-bit memory BAR, INTA#).
struct Machine {
  explicit Machine(uint16_t device_id = 0x1000)
      : device({.vendor_id = 0x1af4, .device_id = device_id}, pci::IntxPin::kIntA) {
    device.declare_bar(0, {.type = PciBarType::kIo, .size = 0x20, .device = &io_block});
    device.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &mem_block});
    device.declare_bar(2, {.type = PciBarType::kMemory64, .size = 0x4000, .device = &wide_block});
    root.attach();
    root.add_device(kSlot, device);
  }
  Bus io{"io"};
  Bus mmio{"mmio"};
  RecordingIrqLine intx;
  PciRoot root{io, mmio, [this](unsigned) { return &intx; }};
  RegisterBlock io_block{0x20}, mem_block{0x1000}, wide_block{0x4000};
  PciDevice device;
};

// BARs placed, I/O and memory decoding on, the 64-bit BAR above 4 GiB, INTx requested, a
// partial config address latched (slot 5, register 0x10).
void drive(Machine& m) {
  conf1_write(m.io, kSlot, 0x10, 4, 0x2000);
  conf1_write(m.io, kSlot, 0x14, 4, 0xc010'0000);
  conf1_write(m.io, kSlot, 0x18, 4, 0x0000'0000);
  conf1_write(m.io, kSlot, 0x1c, 4, 0x40);
  conf1_write(m.io, kSlot, 0x0c, 1, 0x10);
  conf1_write(m.io, kSlot, 0x04, 2, pci::kCommandIo | pci::kCommandMemory | pci::kCommandBusMaster);
  m.device.set_intx(true);
  bus_write(m.io, 0xcf8, 4, testing::config_address(0, kSlot, 0, 0x10));
}

std::vector<uint64_t> continue_with(Machine& m) {
  std::vector<uint64_t> seen;
  seen.push_back(bus_read(m.io, 0xcfc, 4));  // through the latched address
  seen.push_back(bus_read(m.io, 0x2004, 1));
  seen.push_back(bus_read(m.mmio, 0xc010'0008, 4));
  seen.push_back(bus_read(m.mmio, 0x40'0000'0010, 4));
  for (unsigned reg = 0; reg < 0x40; reg += 4) seen.push_back(conf1_read(m.io, kSlot, reg, 4));
  seen.push_back(conf1_read(m.io, 0, 0, 4));
  conf1_write(m.io, kSlot, 0x04, 2, pci::kCommandIntxDisable | pci::kCommandMemory);
  seen.push_back(m.intx.level());
  seen.push_back(bus_read(m.io, 0x2004, 1));
  conf1_write(m.io, kSlot, 0x14, 4, 0xc020'0000);
  seen.push_back(bus_read(m.mmio, 0xc020'0008, 4));
  seen.push_back(m.root.bar_mapping(kSlot, 1).value_or(0));
  return seen;
}

TEST(PciStateTest, ContinuesIdenticallyOnAFreshBus) {
  Machine original;
  drive(original);

  Machine copy;
  testing::StateNode tree = testing::copy_state(original.root, copy.root);
  EXPECT_TRUE(copy.intx.level()) << "the INTx request is driven again";
  for (unsigned index : {0u, 1u, 2u})
    EXPECT_EQ(copy.root.bar_mapping(kSlot, index), original.root.bar_mapping(kSlot, index));
  EXPECT_TRUE(testing::save(copy.root) == tree);
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(PciStateTest, RefusesAnotherMachineAndMalformedStatesAndStaysAsItWas) {
  Machine original;
  drive(original);
  testing::StateNode tree = testing::save(original.root);
  Machine target;
  conf1_write(target.io, kSlot, 0x0c, 1, 0x42);
  using namespace testing;
  expect_each_refused(
      target.root, tree,
      {{without("slot-5", "config"), "slot-5/config"},
       {resized("slot-5", "config", 256), "config"},
       {set_u32("", "config-address", 0x8000'0001), "config-address"},
       {without_node("slot-5"), "slot-5"},
       {[](StateNode& t) { t.children["slot-7"] = t.children["slot-5"]; }, "slot-7"},
       {set_u32("slot-5", "intx-requested", 2), "intx-requested"},
       {set_u32("slot-0", "intx-requested", 1), "intx-requested"},
       // A read-only bit that differs: the BAR's type bits.
       {[](StateNode& t) { t.at("slot-5").fields["config"][0x10] = 0; }, "config"}});
  EXPECT_EQ(conf1_read(target.io, kSlot, 0x0c, 1), 0x42u);
  EXPECT_EQ(target.root.bar_mapping(kSlot, 1), std::nullopt);

  Machine other(0x1001);  // another device in the slot: its device ID is read-only
  expect_refused(
      other.root, tree, [](StateNode&) {}, "0x002");
}

}  // namespace
}  // namespace kagami
