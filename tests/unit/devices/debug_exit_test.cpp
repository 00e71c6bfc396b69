// Debug exit: status (value << 1) | 1 for every width and port, reads of 0, no exit on reads.
#include "debug_exit.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

class DebugExitTest : public ::testing::Test {
 protected:
  DebugExitTest() : device([this](int status) { statuses.push_back(status); }) {
    device.attach(io);
  }
  Bus io{"io"};
  std::vector<int> statuses;
  DebugExit device;
};

TEST_F(DebugExitTest, ByteWritesGiveQemuStatus) {
  bus_write(io, 0xf4, 1, 0);
  bus_write(io, 0xf4, 1, 0x10);
  bus_write(io, 0xf7, 1, 0xff);
  EXPECT_EQ(statuses, (std::vector<int>{1, 0x21, 0x1ff}));
}

TEST_F(DebugExitTest, WideWritesUseTheWholeValue) {
  bus_write(io, 0xf4, 2, 0x1234);
  bus_write(io, 0xf4, 4, 0x00345678);
  bus_write(io, 0xf4, 4, 0xffffffff);  // truncated to 32 bits, like QEMU's int status
  EXPECT_EQ(statuses, (std::vector<int>{0x2469, 0x68acf1, -1}));
}

TEST_F(DebugExitTest, ReadsReturnZeroAndDoNotExit) {
  EXPECT_EQ(bus_read(io, 0xf4, 1), 0u);
  EXPECT_EQ(bus_read(io, 0xf4, 4), 0u);
  EXPECT_TRUE(statuses.empty());
}

TEST_F(DebugExitTest, OnlyFourPortsWide) {
  bus_write(io, 0xf3, 1, 1);
  bus_write(io, 0xf8, 1, 1);
  bus_write(io, 0xf6, 4, 1);  // would run past 0xf7
  EXPECT_TRUE(statuses.empty());
  EXPECT_EQ(io.unassigned().writes, 3u);
}

TEST(DebugExit, HonoursItsBaseParameter) {
  Bus io("io");
  int status = 0;
  DebugExit device([&](int s) { status = s; }, 0x501);
  device.attach(io);
  bus_write(io, 0x501, 1, 3);
  EXPECT_EQ(status, 7);
}

}  // namespace
}  // namespace kagami
