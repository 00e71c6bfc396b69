// Reset control register 0xCF9: which writes reset, what reads return, odd offsets and widths.
#include "acpi/reset_control.hpp"

#include <gtest/gtest.h>

#include "bus_access.hpp"

namespace kagami {
namespace {

using kagami::testing::bus_read;
using kagami::testing::bus_write;
using kagami::testing::inb;
using kagami::testing::outb;

class ResetControlTest : public ::testing::Test {
 protected:
  ResetControlTest() { reset.attach(io); }

  Bus io{"io"};
  int resets = 0;
  ResetControl reset{[this] { ++resets; }};
};

TEST_F(ResetControlTest, FadtResetValueResets) {
  outb(io, 0xcf9, 0x06);
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(inb(io, 0xcf9), 0x06);
}

TEST_F(ResetControlTest, LinuxRebootPciSequence) {
  uint8_t cf9 = inb(io, 0xcf9) & ~0x06;
  outb(io, 0xcf9, cf9 | 0x02);  // request a hard reset
  EXPECT_EQ(resets, 0);
  outb(io, 0xcf9, cf9 | 0x06);  // do it
  EXPECT_EQ(resets, 1);
}

TEST_F(ResetControlTest, EveryByteValue) {
  int expected = 0;
  for (unsigned value = 0; value < 256; ++value) {
    outb(io, 0xcf9, static_cast<uint8_t>(value));
    if ((value & 0x06) == 0x06) ++expected;
    EXPECT_EQ(resets, expected) << value;
    EXPECT_EQ(inb(io, 0xcf9), value) << "reads return the last value";
    EXPECT_EQ(reset.value(), value);
  }
  EXPECT_EQ(expected, 64);
}

TEST_F(ResetControlTest, SoftResetAloneDoesNothing) {
  outb(io, 0xcf9, 0x04);  // RST_CPU without SYS_RST
  EXPECT_EQ(resets, 0);
}

TEST_F(ResetControlTest, WiderAccessesAreTheBusesToSplitOrDrop) {
  bus_write(io, 0xcf9, 2, 0x0606);  // runs past the one-byte register: unassigned
  bus_write(io, 0xcf9, 4, 0x06060606);
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(bus_read(io, 0xcf9, 2), 0xffffu);
}

// As PciRoot passes it accesses: offset 0 is the register, anything else is not.
TEST_F(ResetControlTest, DirectCallsAtOtherOffsetsAreIgnored) {
  const uint8_t six[] = {0x06};
  reset.write(1, six);
  reset.write(0, std::span<const uint8_t>());
  EXPECT_EQ(resets, 0);
  uint8_t out[2] = {0, 0};
  reset.read(1, out);
  EXPECT_EQ(out[0], 0xff);
  const uint8_t pair[] = {0x06, 0x00};
  reset.write(0, pair);  // a wider write at offset 0: the first byte is the register
  EXPECT_EQ(resets, 1);
  reset.read(0, out);
  EXPECT_EQ(out[0], 0x06);
  EXPECT_EQ(out[1], 0xff);
}

}  // namespace
}  // namespace kagami
