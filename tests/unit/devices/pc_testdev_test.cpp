// pc-testdev: the port register through both windows and every width, and the MMIO scratch.
#include "pc_testdev.hpp"

#include <gtest/gtest.h>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

constexpr uint64_t kMmio = 0xff000000;

class PcTestdevTest : public ::testing::Test {
 protected:
  PcTestdevTest() { testdev.attach(io, mmio); }
  Bus io{"io"};
  Bus mmio{"mmio"};
  PcTestdev testdev;
};

TEST_F(PcTestdevTest, PortRegisterStartsAtZero) {
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0u);
  EXPECT_EQ(bus_read(io, 0xe8, 4), 0u);
}

TEST_F(PcTestdevTest, PortRegisterEveryWidthAndOffset) {
  bus_write(io, 0xe0, 4, 0x11223344);
  EXPECT_EQ(bus_read(io, 0xe0, 1), 0x44u);
  EXPECT_EQ(bus_read(io, 0xe1, 1), 0x33u);
  EXPECT_EQ(bus_read(io, 0xe2, 1), 0x22u);
  EXPECT_EQ(bus_read(io, 0xe3, 1), 0x11u);
  EXPECT_EQ(bus_read(io, 0xe0, 2), 0x3344u);
  EXPECT_EQ(bus_read(io, 0xe1, 2), 0x2233u);
  EXPECT_EQ(bus_read(io, 0xe2, 2), 0x1122u);
  bus_write(io, 0xe2, 1, 0xaa);
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0x11aa3344u);
  bus_write(io, 0xe1, 2, 0xbbcc);
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0x11bbcc44u);
  bus_write(io, 0xe2, 2, 0xddee);
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0xddeecc44u);
}

TEST_F(PcTestdevTest, ByteWindowIsTheSameRegister) {
  bus_write(io, 0xe8, 4, 0xdeadbeef);
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0xdeadbeefu);
  EXPECT_EQ(bus_read(io, 0xea, 2), 0xdeadu);
  EXPECT_EQ(bus_read(io, 0xeb, 1), 0xdeu);
  bus_write(io, 0xe9, 2, 0x1234);
  EXPECT_EQ(bus_read(io, 0xe8, 4), 0xde1234efu);
  bus_write(io, 0xe8, 1, 0x00);
  EXPECT_EQ(bus_read(io, 0xe0, 4), 0xde123400u);
  EXPECT_EQ(bus_read(io, 0xe9, 1), 0x34u);
}

TEST_F(PcTestdevTest, PortAccessesOutsideTheWindowsAreUnassigned) {
  EXPECT_EQ(bus_read(io, 0xe3, 2), 0xffffu);
  EXPECT_EQ(bus_read(io, 0xe4, 1), 0xffu);
  EXPECT_EQ(bus_read(io, 0xe0, 8), 0xffffffffffffffffu);
  EXPECT_EQ(bus_read(io, 0xec, 1), 0xffu);
  EXPECT_EQ(io.unassigned().reads, 4u);
}

TEST_F(PcTestdevTest, MmioScratchEveryWidthLittleEndian) {
  EXPECT_EQ(bus_read(mmio, kMmio, 8), 0u);
  bus_write(mmio, kMmio + 0x10, 8, 0x0123456789abcdefu);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x10, 4), 0x89abcdefu);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x14, 4), 0x01234567u);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x12, 2), 0x89abu);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x17, 1), 0x01u);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x10, 8), 0x0123456789abcdefu);
  bus_write(mmio, kMmio + 0x11, 4, 0xa1b2c3d4);  // unaligned
  EXPECT_EQ(bus_read(mmio, kMmio + 0x10, 8), 0x012345a1b2c3d4efu);
  bus_write(mmio, kMmio + 0x16, 2, 0xf00d);
  bus_write(mmio, kMmio + 0x10, 1, 0x5a);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x10, 8), 0xf00d45a1b2c3d45au);
}

TEST_F(PcTestdevTest, MmioWindowEdges) {
  bus_write(mmio, kMmio + 0xfff8, 8, 0x8877665544332211u);
  EXPECT_EQ(bus_read(mmio, kMmio + 0xffff, 1), 0x88u);
  EXPECT_EQ(bus_read(mmio, kMmio + 0xfffc, 8), 0xffffffffffffffffu);
  EXPECT_EQ(bus_read(mmio, kMmio + 0x10000, 1), 0xffu);
  EXPECT_EQ(bus_read(mmio, kMmio - 1, 1), 0xffu);
  EXPECT_EQ(mmio.unassigned().reads, 3u);
}

}  // namespace
}  // namespace kagami
