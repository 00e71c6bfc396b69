// Saved state of the small legacy devices: i8042, fw_cfg, pc-testdev and the test-irq device
// continue identically in fresh instances; malformed states are refused and change nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "bus_access.hpp"
#include "fw_cfg.hpp"
#include "i8042.hpp"
#include "pc_testdev.hpp"
#include "state_checks.hpp"
#include "test_irq_device.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::inb;
using testing::outb;

struct Keyboard {
  Keyboard() { i8042.attach(io); }
  Bus io{"io"};
  int resets = 0;
  I8042 i8042{[this] { ++resets; }};
};

// Identify (ack + two ID bytes), read the command byte, one answer read, a write-command-byte
// command waiting for its data byte.
void drive(Keyboard& kbd) {
  outb(kbd.io, 0x60, 0xf2);
  outb(kbd.io, 0x64, 0x20);
  inb(kbd.io, 0x60);
  outb(kbd.io, 0x64, 0xad);
  outb(kbd.io, 0x64, 0x60);
}

std::vector<int> continue_with(Keyboard& kbd) {
  std::vector<int> seen;
  seen.push_back(inb(kbd.io, 0x64));
  outb(kbd.io, 0x60, 0x47);  // the data byte of the pending command
  for (int i = 0; i < 5; ++i) {
    seen.push_back(inb(kbd.io, 0x64));
    seen.push_back(inb(kbd.io, 0x60));
  }
  outb(kbd.io, 0x64, 0x20);
  seen.push_back(inb(kbd.io, 0x60));
  outb(kbd.io, 0x60, 0xed);  // set LEDs: takes a parameter
  testing::StateNode middle = testing::save(kbd.i8042);
  seen.push_back(static_cast<int>(middle.fields.at("pending-keyboard").back()));
  return seen;
}

TEST(I8042StateTest, ContinuesIdenticallyAndRefusesMalformedStates) {
  Keyboard original;
  drive(original);
  Keyboard copy;
  testing::StateNode tree = testing::copy_state(original.i8042, copy.i8042);
  EXPECT_EQ(continue_with(copy), continue_with(original));

  Keyboard target;
  outb(target.io, 0x60, 0xff);
  using namespace testing;
  expect_each_refused(target.i8042, tree,
                      {{without("", "command-byte"), "command-byte"},
                       {resized("", "output", 9), "output"},
                       {set_u32("", "output-port", 0x02), "output-port"},
                       {set_u32("", "pending-command", 0xaa), "pending-command"},
                       {set_u32("", "pending-keyboard", 0xf2), "pending-keyboard"},
                       {set_u32("", "last-output", 0x100), "last-output"}});
  EXPECT_EQ(inb(target.io, 0x60), 0xfa) << "the target's own answer is still there";
}

struct FirmwareConfig {
  FirmwareConfig() {
    fw_cfg.add_file("etc/one", {1, 2, 3, 4, 5, 6, 7, 8});
    fw_cfg.add_file("etc/two", {9, 10});
    fw_cfg.attach(io);
  }
  Bus io{"io"};
  FwCfg fw_cfg{256ull << 20, 2};
};

TEST(FwCfgStateTest, ContinuesReadingTheSelectedItem) {
  FirmwareConfig original;
  bus_write(original.io, 0x510, 2, 0x20);  // etc/one
  for (int i = 0; i < 3; ++i) inb(original.io, 0x511);
  FirmwareConfig copy;
  testing::copy_state(original.fw_cfg, copy.fw_cfg);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(inb(copy.io, 0x511), inb(original.io, 0x511)) << i;
}

TEST(FwCfgStateTest, RefusesAnOffsetPastTheItemAndStaysAsItWas) {
  FirmwareConfig original;
  bus_write(original.io, 0x510, 2, 0x21);  // etc/two: 2 bytes
  testing::StateNode tree = testing::save(original.fw_cfg);
  FirmwareConfig target;
  bus_write(target.io, 0x510, 2, 0x20);
  inb(target.io, 0x511);
  using namespace testing;
  expect_each_refused(target.fw_cfg, tree,
                      {{set_u32("", "offset", 3), "offset"},
                       {[](StateNode& t) {
                          t.set_u32("selector", 0x22);  // no such file: nothing to be 1 byte into
                          t.set_u32("offset", 1);
                        },
                        "offset"},
                       {without("", "selector"), "selector"},
                       {set_u32("", "selector", 0x10000), "selector"}});
  EXPECT_EQ(inb(target.io, 0x511), 2) << "the target still reads etc/one from its offset";
  tree.set_u32("offset", 2);
  testing::load(target.fw_cfg, tree);
  EXPECT_EQ(inb(target.io, 0x511), 0) << "the end of etc/two";
}

struct Testdev {
  Testdev() { testdev.attach(io, mmio); }
  Bus io{"io"};
  Bus mmio{"mmio"};
  PcTestdev testdev;
};

TEST(PcTestdevStateTest, KeepsItsRegisterAndScratchMemory) {
  Testdev original;
  bus_write(original.io, 0xe0, 4, 0xdeadbeef);
  bus_write(original.mmio, PcTestdev::kDefaultMmioBase + 0x1234, 4, 0x01020304);
  bus_write(original.mmio, PcTestdev::kDefaultMmioBase + 0xfffc, 4, 0xa5a5a5a5);
  Testdev copy;
  testing::StateNode tree = testing::copy_state(original.testdev, copy.testdev);
  EXPECT_EQ(bus_read(copy.io, 0xe0, 4), 0xdeadbeefu);
  EXPECT_EQ(bus_read(copy.mmio, PcTestdev::kDefaultMmioBase + 0x1234, 4), 0x01020304u);
  EXPECT_EQ(bus_read(copy.mmio, PcTestdev::kDefaultMmioBase + 0xfffc, 4), 0xa5a5a5a5u);

  Testdev target;
  bus_write(target.io, 0xe0, 4, 7);
  using namespace testing;
  expect_each_refused(target.testdev, tree,
                      {{resized("", "scratch", PcTestdev::kMmioSize - 1), "scratch"},
                       {without("", "ioport"), "ioport"}});
  EXPECT_EQ(bus_read(target.io, 0xe0, 4), 7u);
}

void signal(int fd, uint64_t n) {
  ASSERT_EQ(::write(fd, &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
}

struct IrqTestDevice {
  IrqTestDevice() { device.attach(io, mmio); }
  Bus io{"io"};
  Bus mmio{"mmio"};
  std::vector<std::pair<uint64_t, uint32_t>> routes;
  TestIrqDevice device{
      [this](uint64_t address, uint32_t data) { routes.emplace_back(address, data); }};
};

TEST(TestIrqDeviceStateTest, KeepsItsCountersAndRoutesAgainOnTheNextFire) {
  constexpr uint64_t kBase = TestIrqDevice::kDefaultBase;
  IrqTestDevice original;
  bus_write(original.io, kBase + 0x04, 4, 0xfee01000);
  bus_write(original.io, kBase + 0x0c, 4, 0x4031);
  bus_write(original.io, kBase + 0x10, 4, 1);
  bus_write(original.io, kBase + 0x14, 2, 1);     // a doorbell exit
  signal(original.device.doorbell_eventfd(), 3);  // three doorbells KVM counted
  signal(original.device.mmio_doorbell_eventfd(), 2);

  IrqTestDevice copy;
  signal(copy.device.doorbell_eventfd(), 40);  // counted here before the load: discarded
  testing::StateNode tree = testing::copy_state(original.device, copy.device);
  for (uint64_t reg = 0; reg < TestIrqDevice::kSize; reg += 4)
    EXPECT_EQ(bus_read(copy.io, kBase + reg, 4), bus_read(original.io, kBase + reg, 4)) << reg;
  bus_write(copy.io, kBase + 0x10, 4, 1);
  EXPECT_EQ(copy.routes, original.routes) << "the first fire routes the saved message here";
  EXPECT_EQ(bus_read(copy.io, kBase + 0x10, 4), 2u);

  IrqTestDevice target;
  using namespace testing;
  expect_each_refused(
      target.device, tree,
      {{resized("", "msi-address", 4), "msi-address"}, {without("", "mmio-exits"), "mmio-exits"}});
  EXPECT_EQ(bus_read(target.io, kBase + 0x0c, 4), 0u);
}

}  // namespace
}  // namespace kagami
