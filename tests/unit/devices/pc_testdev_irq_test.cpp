// pc-testdev's IRQ lines: a byte write of 1/0 to 0x2000 + n raises/lowers line n.
#include <gtest/gtest.h>

#include <vector>

#include "bus_access.hpp"
#include "pc_testdev.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

class RecordingLine final : public IrqLine {
 public:
  void set_level(bool asserted) override { levels.push_back(asserted); }
  std::vector<bool> levels;
};

class PcTestdevIrqTest : public ::testing::Test {
 protected:
  PcTestdevIrqTest() {
    testdev.attach(io, mmio);
    testdev.connect_irq_line(14, line14);
    testdev.connect_irq_line(23, line23);
  }
  Bus io{"io"};
  Bus mmio{"mmio"};
  PcTestdev testdev;
  RecordingLine line14, line23;
};

TEST_F(PcTestdevIrqTest, WriteRaisesAndLowersTheLine) {
  bus_write(io, 0x200e, 1, 1);
  bus_write(io, 0x200e, 1, 0);
  bus_write(io, 0x200e, 1, 0xff);  // any nonzero byte raises, as QEMU's !!data
  EXPECT_EQ(line14.levels, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(line23.levels.empty());
}

TEST_F(PcTestdevIrqTest, LastLineAndUnwiredLines) {
  bus_write(io, 0x2017, 1, 1);
  EXPECT_EQ(line23.levels, (std::vector<bool>{true}));
  bus_write(io, 0x2000, 1, 1);  // line 0 is not wired here: ignored
  EXPECT_TRUE(line14.levels.empty());
}

TEST_F(PcTestdevIrqTest, ReadsReturnZeroAndTheWindowEndsAt0x2018) {
  EXPECT_EQ(bus_read(io, 0x200e, 1), 0u);
  EXPECT_EQ(bus_read(io, 0x2018, 1), 0xffu);  // unassigned
}

TEST_F(PcTestdevIrqTest, WideWritesAreSplitIntoBytes) {
  bus_write(io, 0x200e, 2, 0x0001);  // line 14 high, line 15 (unwired) low
  EXPECT_EQ(line14.levels, (std::vector<bool>{true}));
}

TEST(PcTestdevIrqLines, ConnectingABadLineThrows) {
  PcTestdev testdev;
  RecordingLine line;
  EXPECT_THROW(testdev.connect_irq_line(PcTestdev::kIrqLines, line), std::out_of_range);
}

}  // namespace
}  // namespace kagami
