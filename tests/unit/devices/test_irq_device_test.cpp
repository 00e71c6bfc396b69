// The test-irq device: MSI registers and routing on fire, the irqfd signal, doorbell counters.
#include "test_irq_device.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

constexpr uint64_t kBase = TestIrqDevice::kDefaultBase;

uint64_t eventfd_count(int fd) {
  uint64_t count = 0;
  return ::read(fd, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

void signal(int fd, uint64_t n) {
  ASSERT_EQ(::write(fd, &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
}

class TestIrqDeviceTest : public ::testing::Test {
 protected:
  TestIrqDeviceTest() { device.attach(io, mmio); }
  std::vector<std::pair<uint64_t, uint32_t>> routes;
  TestIrqDevice device{
      [this](uint64_t address, uint32_t data) { routes.emplace_back(address, data); }};
  Bus io{"io"};
  Bus mmio{"mmio"};
};

TEST_F(TestIrqDeviceTest, SignatureAndMsiRegistersReadBack) {
  EXPECT_EQ(bus_read(io, kBase, 4), TestIrqDevice::kSignature);
  bus_write(io, kBase + 0x04, 4, 0xfee01000);
  bus_write(io, kBase + 0x08, 4, 0x1);
  bus_write(io, kBase + 0x0c, 4, 0x4081);
  EXPECT_EQ(bus_read(io, kBase + 0x04, 4), 0xfee01000u);
  EXPECT_EQ(bus_read(io, kBase + 0x08, 4), 0x1u);
  EXPECT_EQ(bus_read(io, kBase + 0x0c, 4), 0x4081u);
  EXPECT_EQ(bus_read(io, kBase + 0x0c, 1), 0x81u);
}

TEST_F(TestIrqDeviceTest, FireRoutesOnlyWhenTheMessageChangedAndSignalsTheIrqfd) {
  bus_write(io, kBase + 0x04, 4, 0xfee00000);
  bus_write(io, kBase + 0x0c, 4, 0x80);
  bus_write(io, kBase + 0x10, 4, 1);
  bus_write(io, kBase + 0x10, 4, 1);
  bus_write(io, kBase + 0x0c, 4, 0x81);
  bus_write(io, kBase + 0x10, 4, 1);
  EXPECT_EQ(routes,
            (std::vector<std::pair<uint64_t, uint32_t>>{{0xfee00000, 0x80}, {0xfee00000, 0x81}}));
  EXPECT_EQ(eventfd_count(device.irq_eventfd()), 3u);
  EXPECT_EQ(bus_read(io, kBase + 0x10, 4), 3u);
}

TEST_F(TestIrqDeviceTest, DoorbellCountAccumulatesTheEventfdAndExitsCountWrites) {
  signal(device.doorbell_eventfd(), 2);
  EXPECT_EQ(bus_read(io, kBase + 0x18, 4), 2u);
  signal(device.doorbell_eventfd(), 3);
  EXPECT_EQ(bus_read(io, kBase + 0x18, 4), 5u);
  EXPECT_EQ(bus_read(io, kBase + 0x18, 4), 5u);  // drained: nothing new
  bus_write(io, kBase + 0x14, 2, 1);             // reached the device: an exit
  EXPECT_EQ(bus_read(io, kBase + 0x1c, 4), 1u);
  EXPECT_EQ(bus_read(io, kBase + 0x18, 4), 5u);
}

TEST_F(TestIrqDeviceTest, MatchedDoorbellKeepsItsOwnCounts) {
  signal(device.matched_doorbell_eventfd(), 4);
  bus_write(io, kBase + 0x20, 4, 0x1234);
  EXPECT_EQ(bus_read(io, kBase + 0x24, 4), 4u);
  EXPECT_EQ(bus_read(io, kBase + 0x28, 4), 1u);
  EXPECT_EQ(bus_read(io, kBase + 0x18, 4), 0u);
  EXPECT_EQ(bus_read(io, kBase + 0x1c, 4), 0u);
}

TEST_F(TestIrqDeviceTest, MmioDoorbellCountsAndExits) {
  signal(device.mmio_doorbell_eventfd(), 6);
  bus_write(mmio, TestIrqDevice::kDefaultMmioBase, 2, 1);
  bus_write(mmio, TestIrqDevice::kDefaultMmioBase + 8, 4, 1);  // not the doorbell
  EXPECT_EQ(bus_read(io, kBase + 0x2c, 4), 6u);
  EXPECT_EQ(bus_read(io, kBase + 0x30, 4), 1u);
  EXPECT_EQ(bus_read(mmio, TestIrqDevice::kDefaultMmioBase, 4), 0u);
}

TEST_F(TestIrqDeviceTest, NarrowWritesDoNotChangeTheMessage) {
  bus_write(io, kBase + 0x0c, 4, 0x80);
  bus_write(io, kBase + 0x0c, 2, 0x99);
  EXPECT_EQ(bus_read(io, kBase + 0x0c, 4), 0x80u);
}

}  // namespace
}  // namespace kagami
