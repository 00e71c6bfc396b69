// CMOS RTC saved state on fake clocks: the guest clock, pending flags, the IRQ line and the
// periodic and alarm timers continue on a machine whose monotonic clock reads differently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "cmos_rtc.hpp"
#include "cmos_rtc_rig.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using namespace testing::cmos;

// 2024-02-29 13:45:07.250 UTC.
constexpr int64_t kWall = 1709214307 * static_cast<int64_t>(kSecond) + 250 * kMs;

// An RTC whose monotonic clock starts at `mono_start` while the wall clock reads `wall_start`.
class Rig : public testing::CmosPorts {
 public:
  Rig(uint64_t mono_start, int64_t wall_start)
      : now(mono_start), mono_start_(mono_start), wall_start_(wall_start) {
    rtc.attach(io);
  }
  int64_t wall() const { return wall_start_ + static_cast<int64_t>(now - mono_start_); }
  // The armed deadline relative to now (nullopt: none).
  std::optional<uint64_t> due_in() const {
    if (!deadlines.back()) return std::nullopt;
    return *deadlines.back() - now;
  }
  // Fires the timer at each deadline for `ns`, the guest reading C on each interrupt; returns
  // the values register C gave.
  std::vector<int> run_for(uint64_t ns) {
    std::vector<int> seen;
    uint64_t end = now + ns;
    while (deadlines.back() && *deadlines.back() <= end) {
      now = *deadlines.back();
      rtc.timer_expired();
      if (irq.level) seen.push_back(cmos(kRegC));
    }
    now = end;
    return seen;
  }
  std::vector<int> time_registers() {
    std::vector<int> values;
    for (uint8_t r : {kSec, kMin, kHour, kDay, kMonth, kYear, kCentury, kRegB})
      values.push_back(cmos(r));
    return values;
  }

  uint64_t now;
  testing::LevelLine irq;
  std::vector<std::optional<uint64_t>> deadlines{std::nullopt};
  CmosRtc rtc{irq, [this](std::optional<uint64_t> at) { deadlines.push_back(at); },
              [this] { return now; }, [this] { return wall(); }};

 private:
  uint64_t mono_start_;
  int64_t wall_start_;
};

// 64 Hz periodic and an alarm 3 s after a time the guest set (2031-12-31 23:59:58), the clock
// run 1.3 s with the guest acknowledging, then 4 ms more with a period due but not yet fired.
void drive(Rig& rig) {
  rig.set_cmos(kRegB, 0x82);
  rig.set_cmos(kSec, 0x58);
  rig.set_cmos(kMin, 0x59);
  rig.set_cmos(kHour, 0x23);
  rig.set_cmos(kDay, 0x31);
  rig.set_cmos(kMonth, 0x12);
  rig.set_cmos(kYear, 0x31);
  rig.set_cmos(kCentury, 0x20);
  rig.set_cmos(kSecAlarm, 0x01);
  rig.set_cmos(kMinAlarm, 0x00);
  rig.set_cmos(kHourAlarm, 0x00);
  rig.set_cmos(0x40, 0xab);
  rig.set_cmos(kRegA, 0x2a);
  rig.set_cmos(kRegB, 0x62);
  rig.cmos(kRegC);  // the flags that rose while the clock was being set
  rig.run_for(1300 * kMs);
  rig.now += 20 * kMs;
}

TEST(CmosRtcStateTest, ContinuesIdenticallyOnAnotherClock) {
  Rig original(50 * kSecond, kWall);
  drive(original);

  // The destination's monotonic clock is younger than the source's.
  Rig copy(3 * kSecond + 123, original.wall());
  testing::copy_state(original.rtc, copy.rtc);
  EXPECT_TRUE(copy.irq.level) << "a period passed before the save and was not acknowledged";
  EXPECT_EQ(copy.cmos(kRegC), original.cmos(kRegC));
  original.rtc.timer_expired();  // the armed timer fires late, after the acknowledgement
  EXPECT_EQ(copy.due_in(), original.due_in());
  EXPECT_FALSE(copy.irq.level);

  std::vector<int> flags = copy.run_for(3 * kSecond);
  EXPECT_EQ(flags, original.run_for(3 * kSecond));
  EXPECT_GT(flags.size(), 190u) << "64 Hz for 3 s";
  EXPECT_EQ(std::count_if(flags.begin(), flags.end(), [](int c) { return c & 0x20; }), 1)
      << "the alarm at 00:00:01 rang once";
  EXPECT_EQ(copy.time_registers(), original.time_registers());
  EXPECT_EQ(copy.cmos(0x40), 0xab);
}

TEST(CmosRtcStateTest, AFrozenClockStaysFrozenWithWhatTheGuestWrote) {
  Rig original(50 * kSecond, kWall);
  original.set_cmos(kRegB, 0x86);  // SET, binary, 24-hour
  original.set_cmos(kSec, 75);     // not a valid second: kept as written
  original.set_cmos(kHour, 23);
  Rig copy(7 * kSecond, original.wall());
  testing::copy_state(original.rtc, copy.rtc);
  EXPECT_EQ(copy.time_registers(), original.time_registers());
  original.now += 2 * kSecond;
  copy.now += 2 * kSecond;
  EXPECT_EQ(copy.time_registers(), original.time_registers());
  original.set_cmos(kRegB, 0x06);
  copy.set_cmos(kRegB, 0x06);
  original.now += 5 * kSecond;
  copy.now += 5 * kSecond;
  EXPECT_EQ(copy.time_registers(), original.time_registers());
}

TEST(CmosRtcStateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Rig original(50 * kSecond, kWall);
  drive(original);
  testing::StateNode tree = testing::save(original.rtc);
  Rig target(9 * kSecond, kWall);
  target.set_cmos(0x40, 0x11);
  using namespace testing;
  expect_each_refused(target.rtc, tree,
                      {{without("", "offset-s"), "offset-s"},
                       {resized("", "cmos", 127), "cmos"},
                       {set_u32("", "index", 0x80), "index"},
                       {set_u32("", "flags", 0x80), "flags"},
                       {set_u32("", "flags", 0x0f), "flags"},
                       {set_u64("", "periodic-phase-ns", kSecond), "periodic-phase-ns"},
                       {set_u64("", "offset-s", uint64_t{1} << 50), "offset-s"},
                       {[](StateNode& t) { t.fields["cmos"][kRegA] |= 0x80; }, "cmos"},
                       // A frozen time without SET in register B, and SET without a frozen time.
                       {[](StateNode& t) { t.children["frozen-time"]; }, "frozen-time"},
                       {[](StateNode& t) { t.fields["cmos"][kRegB] |= 0x80; }, "frozen-time"}});

  Rig frozen(50 * kSecond, kWall);
  frozen.set_cmos(kRegB, 0x86);
  testing::StateNode frozen_tree = testing::save(frozen.rtc);
  expect_each_refused(
      target.rtc, frozen_tree,
      {{set_u64("frozen-time", "sec", 256), "sec"}, {without("frozen-time", "year"), "year"}});
  EXPECT_EQ(target.cmos(0x40), 0x11);
}

}  // namespace
}  // namespace kagami
