// CMOS RTC: BCD/binary and 12/24-hour time from an injected clock, SET-bit updates, CMOS RAM.
#include "cmos_rtc.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "cmos_rtc_rig.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr std::time_t kLeapDay = 1709214307;  // Thursday 2024-02-29 13:45:07 UTC

class CmosRtcTest : public ::testing::Test, public testing::CmosPorts {
 protected:
  CmosRtcTest() { rtc.attach(io); }

  std::time_t host_time = kLeapDay;
  CmosRtc rtc{[this] { return host_time; }};
};

TEST_F(CmosRtcTest, BcdTimeByDefault) {
  EXPECT_EQ(cmos(0x0b), 0x02);  // 24-hour, BCD
  EXPECT_EQ(cmos(0x00), 0x07);
  EXPECT_EQ(cmos(0x02), 0x45);
  EXPECT_EQ(cmos(0x04), 0x13);
  EXPECT_EQ(cmos(0x06), 0x05);  // Thursday, Sunday = 1
  EXPECT_EQ(cmos(0x07), 0x29);
  EXPECT_EQ(cmos(0x08), 0x02);
  EXPECT_EQ(cmos(0x09), 0x24);
  EXPECT_EQ(cmos(0x32), 0x20);
}

TEST_F(CmosRtcTest, BinaryMode) {
  set_cmos(0x0b, 0x06);
  EXPECT_EQ(cmos(0x00), 7);
  EXPECT_EQ(cmos(0x02), 45);
  EXPECT_EQ(cmos(0x04), 13);
  EXPECT_EQ(cmos(0x07), 29);
  EXPECT_EQ(cmos(0x09), 24);
  EXPECT_EQ(cmos(0x32), 20);
}

TEST_F(CmosRtcTest, TwelveHourModeSetsPmBit) {
  set_cmos(0x0b, 0x00);
  EXPECT_EQ(cmos(0x04), 0x81);  // 1 PM, BCD
  set_cmos(0x0b, 0x04);
  EXPECT_EQ(cmos(0x04), 0x81);                 // 1 PM, binary
  host_time = kLeapDay - 13 * 3600 - 45 * 60;  // 00:00:07
  EXPECT_EQ(cmos(0x04), 12);                   // 12 AM
  host_time += 12 * 3600;                      // 12:00:07
  EXPECT_EQ(cmos(0x04), 0x80 | 12);            // 12 PM
  set_cmos(0x0b, 0x00);
  host_time += 11 * 3600;  // 23:00:07
  EXPECT_EQ(cmos(0x04), 0x91);
}

TEST_F(CmosRtcTest, TimeFollowsTheHostClock) {
  host_time += 60 * 60 * 24 + 61;  // Friday 2024-03-01 13:46:08
  EXPECT_EQ(cmos(0x00), 0x08);
  EXPECT_EQ(cmos(0x02), 0x46);
  EXPECT_EQ(cmos(0x06), 0x06);
  EXPECT_EQ(cmos(0x07), 0x01);
  EXPECT_EQ(cmos(0x08), 0x03);
}

TEST_F(CmosRtcTest, StatusRegisters) {
  EXPECT_EQ(cmos(0x0a) & 0x7f, 0x26);
  EXPECT_EQ(cmos(0x0c), 0x00);
  EXPECT_EQ(cmos(0x0d), 0x80);
  set_cmos(0x0d, 0x00);  // read-only
  EXPECT_EQ(cmos(0x0d), 0x80);
  set_cmos(0x0a, 0xa5);  // UIP is read-only
  EXPECT_EQ(cmos(0x0a) & 0x7f, 0x25);
}

TEST_F(CmosRtcTest, GuestSetTimeWithSetBitAdvancesFromThere) {
  set_cmos(0x0b, 0x82);  // SET: the clock stops
  EXPECT_EQ(cmos(0x0b), 0x82);
  set_cmos(0x00, 0x00);
  set_cmos(0x02, 0x00);
  set_cmos(0x04, 0x08);
  set_cmos(0x07, 0x15);
  set_cmos(0x08, 0x01);
  set_cmos(0x09, 0x30);
  host_time += 100;
  EXPECT_EQ(cmos(0x00), 0x00);  // frozen while SET
  EXPECT_EQ(cmos(0x04), 0x08);
  set_cmos(0x0b, 0x02);  // run: 2030-01-15 08:00:00 from now on
  EXPECT_EQ(cmos(0x09), 0x30);
  EXPECT_EQ(cmos(0x08), 0x01);
  EXPECT_EQ(cmos(0x07), 0x15);
  EXPECT_EQ(cmos(0x06), 0x03);  // a Tuesday
  EXPECT_EQ(cmos(0x04), 0x08);
  EXPECT_EQ(cmos(0x00), 0x00);
  host_time += 65;
  EXPECT_EQ(cmos(0x00), 0x05);
  EXPECT_EQ(cmos(0x02), 0x01);
}

TEST_F(CmosRtcTest, SetBitClearsUpdateInterruptEnable) {
  set_cmos(0x0b, 0x92);
  EXPECT_EQ(cmos(0x0b), 0x82);
}

TEST_F(CmosRtcTest, TimeWriteWhileRunningMovesTheClock) {
  set_cmos(0x02, 0x10);
  set_cmos(0x32, 0x21);  // century
  EXPECT_EQ(cmos(0x02), 0x10);
  EXPECT_EQ(cmos(0x04), 0x13);
  EXPECT_EQ(cmos(0x09), 0x24);
  EXPECT_EQ(cmos(0x32), 0x21);
  host_time += 3;
  EXPECT_EQ(cmos(0x00), 0x10);
}

TEST_F(CmosRtcTest, TwelveHourWriteWhileSet) {
  set_cmos(0x0b, 0x84);       // SET, binary, 12-hour
  set_cmos(0x04, 0x80 | 11);  // 11 PM
  set_cmos(0x0b, 0x06);       // run, binary, 24-hour
  EXPECT_EQ(cmos(0x04), 23);
}

TEST_F(CmosRtcTest, OtherBytesArePlainRam) {
  for (uint8_t index : {0x01, 0x03, 0x05, 0x0e, 0x10, 0x33, 0x7f}) {
    set_cmos(index, static_cast<uint8_t>(index ^ 0x5a));
  }
  for (uint8_t index : {0x01, 0x03, 0x05, 0x0e, 0x10, 0x33, 0x7f}) {
    EXPECT_EQ(cmos(index), index ^ 0x5a) << "index " << int{index};
  }
  EXPECT_EQ(cmos(0x40), 0x00);
}

TEST_F(CmosRtcTest, IndexBitSevenIsTheNmiMask) {
  EXPECT_FALSE(rtc.nmi_masked());
  outb(io, 0x70, 0x8d);
  EXPECT_TRUE(rtc.nmi_masked());
  EXPECT_EQ(inb(io, 0x71), 0x80);  // register D, the mask bit is not part of the index
  outb(io, 0x70, 0x0d);
  EXPECT_FALSE(rtc.nmi_masked());
  EXPECT_EQ(inb(io, 0x70), 0xff);  // the index port is write-only
}

TEST_F(CmosRtcTest, NoUpdateInProgressWhileSet) {
  set_cmos(0x0b, 0x82);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1100);
  while (std::chrono::steady_clock::now() < end) ASSERT_EQ(cmos(0x0a), 0x26);
}

// UIP is up in the last 244 us of each host second: wake just before one and watch it rise and
// fall. A loaded host may deschedule the test across the window, hence several attempts.
TEST(CmosRtc, UpdateInProgressOnceASecondOnTheHostClock) {
  using namespace std::chrono;
  Bus io("io");
  CmosRtc rtc;
  rtc.attach(io);
  outb(io, 0x70, 0x0a);
  bool seen_set = false, seen_clear_after = false;
  for (int attempt = 0; attempt < 5 && !seen_clear_after; ++attempt) {
    auto next_second = ceil<seconds>(system_clock::now() + milliseconds(1));
    std::this_thread::sleep_until(next_second - microseconds(600));
    while (system_clock::now() < next_second + microseconds(400)) {
      if (inb(io, 0x71) & 0x80) {
        seen_set = true;
      } else if (seen_set) {
        seen_clear_after = true;
        break;
      }
    }
  }
  EXPECT_TRUE(seen_set);
  EXPECT_TRUE(seen_clear_after);
}

TEST(CmosRtc, DefaultClockIsTheHostsUtcTime) {
  Bus io("io");
  CmosRtc rtc;
  rtc.attach(io);
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  outb(io, 0x70, 0x09);
  uint8_t year = inb(io, 0x71);
  outb(io, 0x70, 0x08);
  uint8_t month = inb(io, 0x71);
  int expected_year = (utc.tm_year + 1900) % 100;
  EXPECT_EQ(year, ((expected_year / 10) << 4) | (expected_year % 10));
  EXPECT_EQ(month, (((utc.tm_mon + 1) / 10) << 4) | ((utc.tm_mon + 1) % 10));
}

}  // namespace
}  // namespace kagami
