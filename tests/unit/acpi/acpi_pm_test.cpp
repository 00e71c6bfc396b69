// ACPI PM registers on the port bus: PM timer from a fake clock, status/enable, SCI, soft-off.
#include "acpi/acpi_pm.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "acpi/tables.hpp"
#include "bus_access.hpp"

namespace kagami {
namespace {

using namespace std::chrono_literals;
using kagami::testing::bus_read;
using kagami::testing::bus_write;

constexpr uint16_t kPm1Status = 0x600, kPm1Enable = 0x602, kPm1Control = 0x604, kTimer = 0x608,
                   kGpe0Status = 0x620, kGpe0Enable = 0x622;
constexpr uint16_t kSlpTyp5 = 5u << 10, kSlpEn = 1u << 13;

class FakeIrqLine final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    if (asserted == level) ++redundant_calls;
    level = asserted;
    ++calls;
  }
  bool level = false;
  int calls = 0;
  int redundant_calls = 0;
};

// The clock time at which the timer reaches `ticks` (the first nanosecond it reads that count).
std::chrono::nanoseconds time_of_tick(uint64_t ticks) {
  return std::chrono::nanoseconds((ticks * 1'000'000'000 + AcpiPm::kTimerHz - 1) /
                                  AcpiPm::kTimerHz);
}

class AcpiPmTest : public ::testing::Test {
 protected:
  AcpiPmTest() { pm.attach(io); }

  uint64_t read(uint16_t port, size_t width) { return bus_read(io, port, width); }
  void write(uint16_t port, size_t width, uint64_t value) { bus_write(io, port, width, value); }
  void at_tick(uint64_t ticks) { now = kStart + time_of_tick(ticks); }

  static constexpr std::chrono::nanoseconds kStart = 1234s;
  Bus io{"io"};
  FakeIrqLine sci;
  int power_offs = 0;
  std::chrono::nanoseconds now = kStart;
  AcpiPm* pm_under_test = nullptr;
  AcpiPm pm{sci, [this] { ++power_offs; }, [this] { return now; }};
};

TEST_F(AcpiPmTest, PortsAndSleepTypeAgreeWithTheFadtAndDsdt) {
  AcpiPm::Ports ports;
  acpi::AcpiConfig config;
  EXPECT_EQ(ports.pm1a_event, config.pm.pm1a_event);
  EXPECT_EQ(ports.pm1a_control, config.pm.pm1a_control);
  EXPECT_EQ(ports.pm_timer, config.pm.pm_timer);
  EXPECT_EQ(ports.gpe0, config.pm.gpe0);
  EXPECT_EQ(config.s5_sleep_type, 5);
}

TEST_F(AcpiPmTest, TimerCountsAt3579545HzFromZero) {
  EXPECT_EQ(read(kTimer, 4), 0u);
  now = kStart + 1s;
  EXPECT_EQ(read(kTimer, 4), 3'579'545u);
  now = kStart + 1ms;
  EXPECT_EQ(read(kTimer, 4), 3'579u);  // 3579.545 ticks, truncated
  at_tick(123456);
  EXPECT_EQ(read(kTimer, 4), 123456u);
  now -= 1ns;
  EXPECT_EQ(read(kTimer, 4), 123455u);
  EXPECT_EQ(pm.timer(), 123455u);
}

TEST_F(AcpiPmTest, TimerWrapsAt24Bits) {
  at_tick((1u << 24) - 1);
  EXPECT_EQ(read(kTimer, 4), 0xffffffu);
  at_tick(1u << 24);
  EXPECT_EQ(read(kTimer, 4), 0u);
  at_tick((uint64_t{1} << 24) * 1000 + 77);  // 78 minutes on: still exact
  EXPECT_EQ(read(kTimer, 4), 77u);
  now = kStart + std::chrono::hours(24 * 365 * 50);  // no overflow in the scaling
  EXPECT_LE(read(kTimer, 4), 0xffffffu);
}

TEST_F(AcpiPmTest, TimerReadsByteAndWordWiseAndIgnoresWrites) {
  at_tick(0xabcdef);
  EXPECT_EQ(read(kTimer, 1), 0xefu);
  EXPECT_EQ(read(kTimer + 1, 1), 0xcdu);
  EXPECT_EQ(read(kTimer + 2, 1), 0xabu);
  EXPECT_EQ(read(kTimer + 3, 1), 0x00u) << "bits 31:24 read 0 (24-bit timer)";
  EXPECT_EQ(read(kTimer + 2, 2), 0x00abu);
  write(kTimer, 4, 0);
  write(kTimer + 1, 1, 0x55);
  EXPECT_EQ(read(kTimer, 4), 0xabcdefu);
}

TEST_F(AcpiPmTest, ClockGoingBackwardsHoldsTheTimer) {
  now = kStart - 1s;
  EXPECT_EQ(read(kTimer, 4), 0u);
}

TEST_F(AcpiPmTest, TimerStatusSetWhenBit23Changes) {
  at_tick((1u << 23) - 1);
  EXPECT_EQ(read(kPm1Status, 2) & AcpiPm::kTmrSts, 0u);
  at_tick(1u << 23);
  EXPECT_EQ(read(kPm1Status, 2) & AcpiPm::kTmrSts, AcpiPm::kTmrSts);
  write(kPm1Status, 2, AcpiPm::kTmrSts);
  EXPECT_EQ(read(kPm1Status, 2) & AcpiPm::kTmrSts, 0u);
  at_tick((1u << 24) - 1);
  EXPECT_EQ(read(kPm1Status, 2) & AcpiPm::kTmrSts, 0u);
  at_tick(1u << 24);  // bit 23 falls: also a change
  EXPECT_EQ(read(kPm1Status, 2) & AcpiPm::kTmrSts, AcpiPm::kTmrSts);
}

TEST_F(AcpiPmTest, TimerStatusRaisesTheSciWhenEnabled) {
  write(kPm1Enable, 2, AcpiPm::kTmrEn);
  EXPECT_FALSE(sci.level);
  at_tick(1u << 23);
  read(kTimer, 4);  // any access notices the carry
  EXPECT_TRUE(sci.level);
  write(kPm1Status, 2, AcpiPm::kTmrSts);
  EXPECT_FALSE(sci.level);
}

TEST_F(AcpiPmTest, PowerButtonSetsStatusAndRaisesSciOnlyWhenEnabled) {
  EXPECT_FALSE(pm.power_button_enabled());
  pm.press_power_button();
  EXPECT_EQ(read(kPm1Status, 2), AcpiPm::kPwrbtnSts);
  EXPECT_FALSE(sci.level);
  EXPECT_FALSE(pm.sci_asserted());
  write(kPm1Enable, 2, AcpiPm::kPwrbtnEn);  // enabling with the status pending raises it
  EXPECT_TRUE(pm.power_button_enabled());
  EXPECT_TRUE(sci.level);
  EXPECT_TRUE(pm.sci_asserted());
  write(kPm1Status, 2, 0);  // writing 0 clears nothing
  EXPECT_TRUE(sci.level);
  write(kPm1Status + 1, 1, 0x01);  // write 1 to clear, bytewise
  EXPECT_EQ(read(kPm1Status, 2), 0u);
  EXPECT_FALSE(sci.level);
  pm.press_power_button();
  EXPECT_TRUE(sci.level);
  write(kPm1Status, 4, AcpiPm::kPwrbtnSts | uint32_t{AcpiPm::kPwrbtnEn} << 16);  // dword, as ACPICA
  EXPECT_FALSE(sci.level);
  EXPECT_EQ(read(kPm1Enable, 2), AcpiPm::kPwrbtnEn);
  EXPECT_EQ(sci.redundant_calls, 0) << "the line only sees changes";
}

TEST_F(AcpiPmTest, Pm1EnableKeepsOnlyDefinedBits) {
  write(kPm1Enable, 2, 0xffff);
  EXPECT_EQ(read(kPm1Enable, 2), 0x4721u);
  write(kPm1Enable + 1, 1, 0x00);  // a byte write changes only its byte
  EXPECT_EQ(read(kPm1Enable, 2), 0x0021u);
  EXPECT_EQ(read(kPm1Status, 4), 0x0021u << 16);
}

TEST_F(AcpiPmTest, ControlReadsSciEnAndKeepsSleepType) {
  EXPECT_EQ(read(kPm1Control, 2), AcpiPm::kSciEn);
  write(kPm1Control, 2, 0);
  EXPECT_EQ(read(kPm1Control, 2), AcpiPm::kSciEn) << "no SMM to hand the events back to";
  write(kPm1Control, 2, kSlpTyp5);
  EXPECT_EQ(read(kPm1Control, 2), kSlpTyp5 | AcpiPm::kSciEn);
  write(kPm1Control, 2, 0xffff & ~kSlpEn);
  EXPECT_EQ(read(kPm1Control, 2), 0x1c03u) << "SLP_TYP, BM_RLD, SCI_EN; GBL_RLS write-only";
  EXPECT_EQ(power_offs, 0);
}

TEST_F(AcpiPmTest, SleepEnableWithS5PowersOff) {
  // Linux: SLP_TYP first, then SLP_TYP | SLP_EN.
  write(kPm1Control, 2, kSlpTyp5 | AcpiPm::kSciEn);
  EXPECT_EQ(power_offs, 0);
  write(kPm1Control, 2, kSlpTyp5 | kSlpEn | AcpiPm::kSciEn);
  EXPECT_EQ(power_offs, 1);
  EXPECT_EQ(read(kPm1Control, 2) & kSlpEn, 0u) << "SLP_EN is write-only";
  write(kPm1Control + 1, 1, (kSlpTyp5 | kSlpEn) >> 8);  // the high byte alone
  EXPECT_EQ(power_offs, 2);
}

TEST_F(AcpiPmTest, OtherSleepTypesDoNothing) {
  for (uint16_t type = 0; type < 8; ++type) {
    if (type == 5) continue;
    write(kPm1Control, 2, type << 10 | kSlpEn);
  }
  EXPECT_EQ(power_offs, 0);
}

TEST_F(AcpiPmTest, PowerOffCallbackRunsWithoutTheDeviceLock) {
  bool asked = false;
  AcpiPm reentrant{sci, [&] { asked = pm_under_test->sci_asserted(); }, [this] { return now; }};
  pm_under_test = &reentrant;
  Bus other{"other"};
  reentrant.attach(other);
  bus_write(other, kPm1Control, 2, kSlpTyp5 | kSlpEn);  // would deadlock if the lock were held
  EXPECT_FALSE(asked);
  pm_under_test = nullptr;
}

TEST_F(AcpiPmTest, Gpe0StatusAndEnable) {
  pm.raise_gpe(3);
  EXPECT_EQ(read(kGpe0Status, 2), 1u << 3);
  EXPECT_FALSE(sci.level);
  write(kGpe0Enable, 2, 1u << 3);
  EXPECT_TRUE(sci.level);
  write(kGpe0Status, 1, 1u << 3);
  EXPECT_EQ(read(kGpe0Status, 2), 0u);
  EXPECT_FALSE(sci.level);
  pm.raise_gpe(16);  // beyond GPE0's 16 events: ignored
  pm.raise_gpe(~0u);
  EXPECT_EQ(read(kGpe0Status, 4), (1u << 3) << 16);
}

// Every port of the four blocks, every value at byte width, every value at word width, a spread
// of dword values: nothing throws or crashes, and the invariants hold after each write.
TEST_F(AcpiPmTest, HostileWritesKeepTheInvariants) {
  struct Block {
    uint16_t base, size;
  };
  const Block blocks[] = {{kPm1Status, 4}, {kPm1Control, 2}, {kTimer, 4}, {kGpe0Status, 4}};
  int expected_power_offs = 0;
  auto check = [&](uint16_t port, size_t width, uint64_t value) {
    // Did the write put SLP_EN with SLP_TYP 5 in the control register's high byte?
    if (port <= kPm1Control + 1 && port + width > kPm1Control + 1) {
      uint8_t high = static_cast<uint8_t>(value >> (8 * (kPm1Control + 1 - port)));
      if ((high & 0x20) && ((high >> 2) & 7) == 5) ++expected_power_offs;
    }
    ASSERT_EQ(power_offs, expected_power_offs) << port << " " << width << " " << value;
    ASSERT_EQ(read(kPm1Control, 2) & (AcpiPm::kSciEn | kSlpEn), AcpiPm::kSciEn);
    uint64_t pm1 = read(kPm1Status, 4), gpe = read(kGpe0Status, 4);
    ASSERT_EQ((pm1 >> 16) & ~0x4721u, 0u);
    bool pending = (pm1 & (pm1 >> 16) & 0x0721) || (gpe & (gpe >> 16) & 0xffff);
    ASSERT_EQ(sci.level, pending) << port << " " << width << " " << value;
    ASSERT_LE(read(kTimer, 4), 0xffffffu);
  };
  uint64_t lcg = 1;
  for (const Block& block : blocks) {
    for (uint16_t offset = 0; offset < block.size; ++offset) {
      for (unsigned value = 0; value < 256; ++value) {
        pm.press_power_button();
        pm.raise_gpe(value % 16);
        write(block.base + offset, 1, value);
        check(block.base + offset, 1, value);
      }
    }
    for (uint16_t offset = 0; offset + 2 <= block.size; ++offset) {
      for (unsigned value = 0; value < 0x10000; value += 7) {
        now += 997ns;
        write(block.base + offset, 2, value);
        check(block.base + offset, 2, value);
      }
    }
    if (block.size == 4) {
      for (int i = 0; i < 20000; ++i) {
        lcg = lcg * 6364136223846793005u + 1442695040888963407u;
        uint32_t value = static_cast<uint32_t>(lcg >> 32);
        now += std::chrono::microseconds(lcg % 5000);
        write(block.base, 4, value);
        check(block.base, 4, value);
      }
    }
    // Accesses that do not fit a block are the bus's: unassigned, never seen by the device.
    write(block.base, 8, ~0ull);
    check(block.base, 8, 0);
  }
}

}  // namespace
}  // namespace kagami
