// IOAPIC saved state: entries, remote IRR and pin levels go on identically in a fresh IOAPIC,
// whose route listener hears of every changed route; malformed states are refused.
#include <gtest/gtest.h>

#include <vector>

#include "bus_access.hpp"
#include "fakes.hpp"
#include "irqchip/ioapic.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

constexpr uint64_t kBase = 0xfec00000, kIoregsel = kBase, kIowin = kBase + 0x10,
                   kEoi = kBase + 0x40;
constexpr uint32_t kMasked = 1u << 16, kLevel = 1u << 15, kActiveLow = 1u << 13;

struct Apic {
  Apic() {
    ioapic.attach(mmio);
    ioapic.set_route_listener([this](unsigned pin, const IoapicRoute&) { routed.push_back(pin); });
  }
  uint32_t reg(uint8_t index) {
    bus_write(mmio, kIoregsel, 4, index);
    return static_cast<uint32_t>(bus_read(mmio, kIowin, 4));
  }
  void set_reg(uint8_t index, uint32_t value) {
    bus_write(mmio, kIoregsel, 4, index);
    bus_write(mmio, kIowin, 4, value);
  }
  void set_entry(unsigned pin, uint32_t low, uint32_t high) {
    set_reg(static_cast<uint8_t>(0x11 + 2 * pin), high);
    set_reg(static_cast<uint8_t>(0x10 + 2 * pin), low);
  }
  Bus mmio{"mmio"};
  testing::RecordingMsiSink msi;
  Ioapic ioapic{msi};
  std::vector<unsigned> routed;
};

// ID 3; pin 4 edge (vector 0x41), pin 9 level (0x49, delivered: remote IRR set), pin 16 level
// active low masked (0x51) with its line asserted (low), pin 20 edge masked with its line high.
void drive(Apic& a) {
  a.set_reg(0x00, 3u << 24);
  a.set_entry(4, 0x41, 0x01000000);
  a.set_entry(9, 0x49 | kLevel, 0x02000000);
  a.set_entry(16, 0x51 | kLevel | kActiveLow | kMasked, 0);
  a.set_entry(20, 0x61 | kMasked, 0);
  a.ioapic.pin(16).set_level(true);
  a.ioapic.pin(16).set_level(false);
  a.ioapic.pin(9).set_level(true);
  a.ioapic.pin(20).set_level(true);
  bus_write(a.mmio, kIoregsel, 4, 0x13);
}

std::vector<uint32_t> continue_with(Apic& a) {
  std::vector<uint32_t> seen;
  seen.push_back(static_cast<uint32_t>(bus_read(a.mmio, kIowin, 4)));
  seen.push_back(a.reg(0x00));
  a.msi.messages.clear();
  a.ioapic.end_of_interrupt(0x49);                 // pin 9 is still high: delivered again
  a.set_entry(16, 0x51 | kLevel | kActiveLow, 0);  // unmasked while asserted
  a.ioapic.pin(4).set_level(true);
  a.set_entry(20, 0x61, 0);
  a.ioapic.pin(20).set_level(true);  // no edge: it was high already
  bus_write(a.mmio, kEoi, 4, 0x51);
  for (const testing::Msi& m : a.msi.messages) {
    seen.push_back(static_cast<uint32_t>(m.address));
    seen.push_back(m.data);
  }
  for (uint8_t index = 0x10; index < 0x40; ++index) seen.push_back(a.reg(index));
  return seen;
}

TEST(IoapicStateTest, ContinuesIdenticallyInAFreshIoapic) {
  Apic original;
  drive(original);

  Apic copy;
  testing::StateNode tree = testing::copy_state(original.ioapic, copy.ioapic);
  EXPECT_EQ(copy.routed, (std::vector<unsigned>{4, 9, 16, 20})) << "every changed route, once";
  EXPECT_TRUE(copy.msi.messages.empty()) << "a load delivers nothing";
  for (unsigned pin : {9, 20}) copy.ioapic.pin(pin).set_level(true);  // devices re-assert
  copy.ioapic.pin(16).set_level(false);
  EXPECT_TRUE(copy.msi.messages.empty());
  EXPECT_TRUE(testing::save(copy.ioapic) == tree);
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(IoapicStateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Apic original;
  drive(original);
  testing::StateNode tree = testing::save(original.ioapic);
  Apic target;
  target.set_entry(4, 0x77, 0);
  target.routed.clear();
  using namespace testing;
  expect_each_refused(target.ioapic, tree,
                      {{without("", "redir-23"), "redir-23"},
                       {resized("", "redir-0", 4), "redir-0"},
                       {set_u32("", "id", 16), "id"},
                       {set_u32("", "levels", 1u << 24), "levels"},
                       {set_u64("", "redir-4", 0x41 | 1u << 14), "redir-4"},
                       {set_u64("", "redir-9", 0x49 | kLevel | 1u << 12), "redir-9"}});
  EXPECT_EQ(target.reg(0x18), 0x77u);
  EXPECT_TRUE(target.routed.empty());
}

}  // namespace
}  // namespace kagami
