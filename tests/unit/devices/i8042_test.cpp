// i8042: reset only on command 0xFE, status and output buffer, minimal command answers.
#include "i8042.hpp"

#include <gtest/gtest.h>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

class I8042Test : public ::testing::Test {
 protected:
  I8042Test() { controller.attach(io); }
  Bus io{"io"};
  int resets = 0;
  I8042 controller{[this] { ++resets; }};
};

TEST_F(I8042Test, ConstructionDoesNotReset) {
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(inb(io, 0x64), 0x14);  // unlocked, system flag, no data pending
}

TEST_F(I8042Test, CommandFeResets) {
  outb(io, 0x64, 0xfe);
  EXPECT_EQ(resets, 1);
  outb(io, 0x64, 0xfe);
  EXPECT_EQ(resets, 2);
}

TEST_F(I8042Test, NoOtherCommandOrDataResets) {
  for (int value = 0; value < 0x100; ++value) {
    if (value != 0xfe) outb(io, 0x64, static_cast<uint8_t>(value));
  }
  for (int value = 0; value < 0x100; ++value) outb(io, 0x60, static_cast<uint8_t>(value));
  outb(io, 0x64, 0xd1);  // write output port with the reset bit low
  outb(io, 0x60, 0x00);
  EXPECT_EQ(resets, 0);
}

TEST_F(I8042Test, ReadCommandByteSetsOutputBufferFull) {
  outb(io, 0x64, 0x20);
  EXPECT_EQ(inb(io, 0x64), 0x1d);  // OBF, last write was a command
  EXPECT_EQ(inb(io, 0x60), 0x45);
  EXPECT_EQ(inb(io, 0x64), 0x1c);
}

TEST_F(I8042Test, WriteCommandByte) {
  outb(io, 0x64, 0x60);
  outb(io, 0x60, 0x61);  // system flag clear
  EXPECT_EQ(inb(io, 0x64), 0x10);
  outb(io, 0x64, 0x20);
  EXPECT_EQ(inb(io, 0x60), 0x61);
}

TEST_F(I8042Test, SelfTestsAndOutputPort) {
  outb(io, 0x64, 0xaa);
  EXPECT_EQ(inb(io, 0x60), 0x55);
  outb(io, 0x64, 0xab);
  EXPECT_EQ(inb(io, 0x60), 0x00);
  outb(io, 0x64, 0xd0);
  EXPECT_EQ(inb(io, 0x60), 0x03);
}

TEST_F(I8042Test, KeyboardAcknowledgesCommands) {
  outb(io, 0x60, 0xff);  // reset: ACK, then self-test passed
  EXPECT_EQ(inb(io, 0x60), 0xfa);
  EXPECT_EQ(inb(io, 0x64) & 0x01, 0x01);
  EXPECT_EQ(inb(io, 0x60), 0xaa);
  EXPECT_EQ(inb(io, 0x64) & 0x01, 0x00);
  outb(io, 0x60, 0xed);  // set LEDs takes a parameter, each byte ACKed
  outb(io, 0x60, 0x07);
  EXPECT_EQ(inb(io, 0x60), 0xfa);
  EXPECT_EQ(inb(io, 0x60), 0xfa);
  EXPECT_EQ(inb(io, 0x64) & 0x01, 0x00);
  EXPECT_EQ(inb(io, 0x60), 0xfa);  // empty: the last byte again
}

TEST_F(I8042Test, PortsAreSeparate) {
  uint8_t byte;
  EXPECT_FALSE(io.read(0x61, std::span(&byte, 1)));  // port B is not the controller's
  EXPECT_FALSE(io.read(0x63, std::span(&byte, 1)));
}

}  // namespace
}  // namespace kagami
