// CMOS RTC interrupts on fake clocks: periodic rates, update-ended, alarms, register C, hostile
// writes.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "cmos_rtc.hpp"
#include "cmos_rtc_rig.hpp"

namespace kagami {
namespace {

using namespace testing::cmos;
using testing::inb;
using testing::outb;

constexpr uint64_t kStart = 5 * kSecond;  // the monotonic clock at construction
// Thursday 2024-02-29 13:45:07.250 UTC at kStart: the host's seconds roll over 750 ms later.
constexpr int64_t kWallAtStart = 1709214307 * static_cast<int64_t>(kSecond) + 250 * kMs;

// The monotonic time of the host's n-th second rollover after kStart (n = 1: 13:45:08).
constexpr uint64_t update(uint64_t n) {
  return kStart + 750 * kMs + (n - 1) * kSecond;
}

// An RTC on fake clocks, with the VMM's side (the timer) and, when asked, a guest that reads
// register C on each interrupt, as Linux's handler does.
class Rig : public testing::CmosPorts {
 public:
  Rig() { rtc.attach(io); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  std::optional<uint64_t> deadline() const { return deadlines.back(); }

  // Fires the armed timer at each deadline up to `end`, then moves the clocks to `end`.
  // Returns the interrupts (rising edges) seen on the way.
  unsigned run_until(uint64_t end, bool guest_acks = false) {
    unsigned before = irq.rising_edges;
    for (unsigned spins = 0; deadline() && *deadline() <= end; ++spins) {
      if (spins > 10'000'000) {
        ADD_FAILURE() << "the timer never settles";
        break;
      }
      now = *deadline();
      rtc.timer_expired();
      if (guest_acks && irq.level) cmos(kRegC);
    }
    now = end;
    return irq.rising_edges - before;
  }
  unsigned run_for(uint64_t ns, bool guest_acks = false) { return run_until(now + ns, guest_acks); }

  uint64_t now = kStart;
  int64_t wall_step = 0;  // the host's wall clock set forward or back
  testing::LevelLine irq;
  std::vector<std::optional<uint64_t>> deadlines{std::nullopt};
  CmosRtc rtc{irq,
              [this](std::optional<uint64_t> at) {
                // The model never asks for a time already passed: that would make the VMM spin.
                if (at) {
                  EXPECT_GT(*at, now);
                }
                deadlines.push_back(at);
              },
              [this] { return now; },
              [this] { return kWallAtStart + static_cast<int64_t>(now - kStart) + wall_step; }};
};

// The periodic rate of register A's rate select, per the MC146818 datasheet's table.
uint64_t periodic_hz(unsigned rate) {
  if (rate == 1) return 256;
  if (rate == 2) return 128;
  return 32768 >> (rate - 1);
}

TEST(CmosRtcIrq, NothingIsArmedAtReset) {
  Rig rig;
  EXPECT_EQ(rig.deadlines.size(), 1u);
  EXPECT_FALSE(rig.irq.level);
  EXPECT_EQ(rig.cmos(kRegA), 0x26);
  EXPECT_EQ(rig.cmos(kRegB), 0x02);
  EXPECT_EQ(rig.cmos(kRegC), 0x00);
  EXPECT_EQ(rig.cmos(0x0d), 0x80);
  EXPECT_EQ(rig.run_for(10 * kSecond), 0u) << "no interrupt is enabled";
  EXPECT_EQ(rig.deadlines.size(), 1u);
}

TEST(CmosRtcIrq, PeriodicRatesFollowRegisterA) {
  for (unsigned rate = 1; rate <= 15; ++rate) {
    SCOPED_TRACE(rate);
    auto rig = std::make_unique<Rig>();
    rig->set_cmos(kRegA, static_cast<uint8_t>(0x20 | rate));
    rig->set_cmos(kRegB, 0x42);  // PIE
    uint64_t period_sixtyfour = 64 * kSecond / periodic_hz(rate);
    ASSERT_TRUE(rig->deadline().has_value());
    EXPECT_NEAR(static_cast<double>(*rig->deadline() - kStart),
                static_cast<double>(period_sixtyfour) / 64, 1.0);
    EXPECT_EQ(rig->run_until(kStart + period_sixtyfour - 1, true), 63u);
    EXPECT_EQ(rig->run_until(kStart + period_sixtyfour, true), 1u);
  }
}

TEST(CmosRtcIrq, RateZeroOrAStoppedDividerGivesNoPeriodicInterrupt) {
  for (uint8_t reg_a : {0x20, 0x00, 0x10, 0x36, 0x46, 0x56, 0x66, 0x76}) {
    SCOPED_TRACE(int{reg_a});
    Rig rig;
    rig.set_cmos(kRegA, reg_a);
    rig.set_cmos(kRegB, 0x42);
    EXPECT_EQ(rig.deadline(), std::nullopt);
    EXPECT_EQ(rig.run_for(2 * kSecond, true), 0u);
    EXPECT_EQ(rig.cmos(kRegC) & 0x40, 0) << "the divider makes no periodic edge";
  }
}

TEST(CmosRtcIrq, PeriodicFlagRisesWithoutPieAndRaisesNothing) {
  Rig rig;  // 1024 Hz by default
  rig.run_for(976 * 1000);
  EXPECT_EQ(rig.cmos(kRegC), 0x00);
  rig.run_for(1000);  // 977 us: the first edge has passed
  EXPECT_EQ(rig.cmos(kRegC), 0x40);
  EXPECT_EQ(rig.cmos(kRegC), 0x00) << "reading register C clears it";
  EXPECT_FALSE(rig.irq.level);
  EXPECT_EQ(rig.deadlines.size(), 1u) << "no timer for a flag nobody is interrupted by";
}

TEST(CmosRtcIrq, LineStaysHighUntilRegisterCIsRead) {
  Rig rig;
  rig.set_cmos(kRegB, 0x42);
  EXPECT_EQ(rig.run_for(100 * kMs), 1u) << "a level: one rise, however many periods pass";
  EXPECT_TRUE(rig.irq.level);
  EXPECT_EQ(rig.deadline(), std::nullopt) << "nothing to time while the line is high";
  EXPECT_EQ(rig.cmos(kRegC), 0xc0);
  EXPECT_FALSE(rig.irq.level);
  ASSERT_TRUE(rig.deadline().has_value());
  EXPECT_LE(*rig.deadline(), rig.now + 977 * 1000);
  EXPECT_EQ(rig.cmos(kRegC), 0x00);
  EXPECT_EQ(rig.run_for(977 * 1000), 1u);
}

TEST(CmosRtcIrq, LateTimerGivesOneInterruptNotABurst) {
  Rig rig;
  rig.set_cmos(kRegB, 0x42);
  ASSERT_TRUE(rig.deadline().has_value());
  rig.now = *rig.deadline() + 50 * kMs;  // the event loop was 50 periods late
  rig.rtc.timer_expired();
  EXPECT_EQ(rig.irq.rising_edges, 1u);
  EXPECT_EQ(rig.cmos(kRegC), 0xc0);
  EXPECT_EQ(rig.run_for(0), 0u);
  ASSERT_TRUE(rig.deadline().has_value());
  EXPECT_GT(*rig.deadline(), rig.now);
}

TEST(CmosRtcIrq, EarlyTimerAsksAgainForTheSameTime) {
  Rig rig;
  rig.set_cmos(kRegB, 0x12);  // UIE
  ASSERT_EQ(rig.deadline(), update(1));
  size_t asked = rig.deadlines.size();
  rig.now = update(1) - 1;
  rig.rtc.timer_expired();
  EXPECT_FALSE(rig.irq.level);
  EXPECT_EQ(rig.deadlines.size(), asked + 1);
  EXPECT_EQ(rig.deadline(), update(1));
}

TEST(CmosRtcIrq, UpdateEndedOncePerSecondWhenTheSecondRollsOver) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);  // no periodic flag, to read register C exactly
  rig.set_cmos(kRegB, 0x12);
  EXPECT_EQ(rig.deadline(), update(1)) << "the host's second boundary, not a second from now";
  EXPECT_EQ(rig.run_until(update(1) - 1), 0u);
  EXPECT_EQ(rig.cmos(kSec), 0x07);
  EXPECT_EQ(rig.run_until(update(1)), 1u);
  EXPECT_EQ(rig.cmos(kSec), 0x08) << "the new second shows when the interrupt comes";
  EXPECT_EQ(rig.cmos(kRegC), 0x90);
  EXPECT_EQ(rig.cmos(kRegC), 0x00);
  EXPECT_EQ(rig.deadline(), update(2));
  EXPECT_EQ(rig.run_until(update(11) - 1, true), 9u);
  EXPECT_EQ(rig.cmos(kSec), 0x17);
}

TEST(CmosRtcIrq, UpdateFlagIsPolledWithoutUie) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.run_until(update(1) - 1);
  EXPECT_EQ(rig.cmos(kRegC), 0x00);
  rig.run_until(update(3));
  EXPECT_EQ(rig.cmos(kRegC), 0x10) << "one flag for the seconds passed since the last read";
  EXPECT_EQ(rig.irq.rising_edges, 0u);
}

TEST(CmosRtcIrq, UpdateInProgressIsTheLast244UsBeforeTheRollover) {
  Rig rig;
  rig.run_until(update(1) - 244'001);
  EXPECT_EQ(rig.cmos(kRegA), 0x26);
  rig.run_until(update(1) - 244'000);
  EXPECT_EQ(rig.cmos(kRegA), 0xa6);
  EXPECT_EQ(rig.cmos(kSec), 0x07);
  rig.run_until(update(1) - 1);
  EXPECT_EQ(rig.cmos(kRegA), 0xa6);
  rig.run_until(update(1));
  EXPECT_EQ(rig.cmos(kRegA), 0x26);
  EXPECT_EQ(rig.cmos(kSec), 0x08);
  rig.set_cmos(kRegA, 0x66);  // divider in reset: no updates
  rig.run_until(update(2) - 1);
  EXPECT_EQ(rig.cmos(kRegA), 0x66);
}

TEST(CmosRtcIrq, AlarmFiresWhenTheTimeMatches) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kSecAlarm, 0x10);
  rig.set_cmos(kMinAlarm, 0x45);
  rig.set_cmos(kHourAlarm, 0x13);
  rig.set_cmos(kRegB, 0x22);  // AIE
  EXPECT_EQ(rig.deadline(), update(3)) << "13:45:10";
  EXPECT_EQ(rig.run_until(update(3) - 1), 0u);
  EXPECT_EQ(rig.run_until(update(3)), 1u);
  EXPECT_EQ(rig.cmos(kRegC), 0xb0) << "IRQF, AF, and UF (flags rise without their enable)";
  EXPECT_EQ(rig.deadline(), update(3) + 86400 * kSecond) << "the same time tomorrow";
}

TEST(CmosRtcIrq, AlarmDontCareValuesMatchAnything) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kSecAlarm, 0xc0);
  rig.set_cmos(kMinAlarm, 0x46);
  rig.set_cmos(kHourAlarm, 0xff);
  rig.set_cmos(kRegB, 0x22);
  EXPECT_EQ(rig.deadline(), update(53)) << "13:46:00";
  EXPECT_EQ(rig.run_until(update(53) + kSecond / 2, true), 1u);
  EXPECT_EQ(rig.deadline(), update(54)) << "every second of minute 46";
  EXPECT_EQ(rig.run_until(update(112), true), 59u);  // 13:46:01 .. 13:46:59
  EXPECT_EQ(rig.deadline(), update(53) + 3600 * kSecond) << "14:46:00";

  Rig every_second;
  for (uint8_t alarm : {kSecAlarm, kMinAlarm, kHourAlarm}) every_second.set_cmos(alarm, 0xd5);
  every_second.set_cmos(kRegB, 0x22);
  EXPECT_EQ(every_second.run_until(update(10), true), 10u);
}

TEST(CmosRtcIrq, AlarmComparesInTheCurrentFormat) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kRegB, 0x24);  // AIE, binary, 12-hour
  rig.set_cmos(kSecAlarm, 9);
  rig.set_cmos(kMinAlarm, 45);
  rig.set_cmos(kHourAlarm, 0x80 | 1);  // 1 PM
  EXPECT_EQ(rig.deadline(), update(2));
  rig.set_cmos(kHourAlarm, 1);  // 1 AM
  EXPECT_EQ(rig.deadline(), update(2) + 12 * 3600 * kSecond);
  rig.set_cmos(kHourAlarm, 13);  // 13 is no 12-hour value
  EXPECT_EQ(rig.deadline(), std::nullopt);
  rig.set_cmos(kRegB, 0x26);  // binary, 24-hour: 13 now matches
  EXPECT_EQ(rig.deadline(), update(2));
  rig.set_cmos(kRegB, 0x22);  // BCD: 13, 45, 9 read as 0x0d, 0x2d, 0x09 never match
  EXPECT_EQ(rig.deadline(), std::nullopt);
  rig.set_cmos(kSecAlarm, 0x5a);  // not BCD at all
  rig.set_cmos(kMinAlarm, 0xff);
  rig.set_cmos(kHourAlarm, 0xff);
  EXPECT_EQ(rig.deadline(), std::nullopt);
  EXPECT_EQ(rig.run_for(120 * kSecond), 0u);
  EXPECT_EQ(rig.cmos(kRegC), 0x10);
}

TEST(CmosRtcIrq, EnablingAPendingFlagRaisesAtOnceAndDisablingDropsTheLine) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.run_until(update(1));
  EXPECT_FALSE(rig.irq.level);
  rig.set_cmos(kRegB, 0x12);
  EXPECT_TRUE(rig.irq.level);
  rig.set_cmos(kRegB, 0x02);
  EXPECT_FALSE(rig.irq.level);
  EXPECT_EQ(rig.cmos(kRegC), 0x10) << "the flag stays until register C is read";
  rig.set_cmos(kRegB, 0x12);
  EXPECT_FALSE(rig.irq.level);
}

TEST(CmosRtcIrq, SetInhibitsUpdatesAndTheirInterrupts) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  for (uint8_t alarm : {kSecAlarm, kMinAlarm, kHourAlarm}) rig.set_cmos(alarm, 0xff);
  rig.set_cmos(kRegB, 0xb2);  // SET, AIE, UIE
  EXPECT_EQ(rig.cmos(kRegB), 0xa2) << "SET clears UIE";
  EXPECT_EQ(rig.deadline(), std::nullopt);
  EXPECT_EQ(rig.run_for(5 * kSecond), 0u);
  EXPECT_EQ(rig.cmos(kRegC), 0x00) << "no update happened";
  EXPECT_EQ(rig.cmos(kSec), 0x07);
  rig.set_cmos(kRegB, 0x32);  // run again from 13:45:07, with UIE
  EXPECT_EQ(rig.deadline(), update(6));
  EXPECT_EQ(rig.run_until(update(6)), 1u);
  EXPECT_EQ(rig.cmos(kSec), 0x08);
  EXPECT_EQ(rig.cmos(kRegC), 0xb0);
}

TEST(CmosRtcIrq, PeriodicRunsWhileSet) {
  Rig rig;
  rig.set_cmos(kRegB, 0xc2);  // SET, PIE
  EXPECT_EQ(rig.run_for(10 * kMs, true), 10u);
}

TEST(CmosRtcIrq, GuestTimePersistsAsAnOffsetFromTheHost) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kRegB, 0x86);  // SET, binary, 24-hour
  for (auto [index, value] : {std::pair{kSec, 0},
                              {kMin, 0},
                              {kHour, 8},
                              {kDay, 15},
                              {kMonth, 1},
                              {kYear, 30},
                              {kCentury, 20}}) {
    rig.set_cmos(index, static_cast<uint8_t>(value));
  }
  rig.run_for(kSecond / 4);  // 13:45:07.5 on the host
  rig.set_cmos(kSecAlarm, 5);
  rig.set_cmos(kMinAlarm, 0);
  rig.set_cmos(kHourAlarm, 9);
  rig.set_cmos(kRegB, 0x26);  // run, AIE: 2030-01-15 08:00:00
  EXPECT_EQ(rig.deadline(), update(3605)) << "09:00:05 guest time, at the host's rollovers";
  rig.run_until(update(3599));
  EXPECT_EQ(rig.cmos(kHour), 8);
  EXPECT_EQ(rig.cmos(kMin), 59);
  EXPECT_EQ(rig.cmos(kSec), 59);
  rig.run_until(update(3600));
  EXPECT_EQ(rig.cmos(kHour), 9);
  EXPECT_EQ(rig.cmos(kMin), 0);
  EXPECT_EQ(rig.cmos(kSec), 0);
  EXPECT_EQ(rig.cmos(kYear), 30);
  EXPECT_EQ(rig.cmos(kCentury), 20);
  EXPECT_EQ(rig.run_until(update(3605) - 1), 0u);
  EXPECT_EQ(rig.run_until(update(3605)), 1u);
  EXPECT_EQ(rig.cmos(kSec), 5);
}

TEST(CmosRtcIrq, TimeWriteWhileRunningMakesNoUpdate) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kRegB, 0x12);
  rig.run_for(kSecond / 2);
  rig.set_cmos(kSec, 0x30);
  rig.set_cmos(kMin, 0x10);
  EXPECT_FALSE(rig.irq.level);
  EXPECT_EQ(rig.deadline(), update(1)) << "the guest's seconds keep the host's phase";
  EXPECT_EQ(rig.run_until(update(1)), 1u);
  EXPECT_EQ(rig.cmos(kSec), 0x31);
  EXPECT_EQ(rig.cmos(kMin), 0x10);
}

TEST(CmosRtcIrq, HostClockStepsAreOneUpdate) {
  Rig rig;
  rig.set_cmos(kRegA, 0x20);
  rig.set_cmos(kSecAlarm, 0x30);
  rig.set_cmos(kMinAlarm, 0x15);
  rig.set_cmos(kHourAlarm, 0x14);  // 14:15:30, skipped by the step below
  rig.set_cmos(kRegB, 0x12);
  rig.run_until(update(1), true);
  rig.wall_step = 3600 * static_cast<int64_t>(kSecond);  // the host's clock jumps to 14:45
  EXPECT_EQ(rig.run_until(update(2)), 1u);
  EXPECT_EQ(rig.cmos(kRegC), 0xb0) << "the skipped alarm time counts";
  EXPECT_EQ(rig.cmos(kHour), 0x14);
  rig.wall_step = -7200 * static_cast<int64_t>(kSecond);  // and back to 11:45
  EXPECT_EQ(rig.run_until(update(3)), 1u);
  EXPECT_EQ(rig.cmos(kRegC), 0x90);
  EXPECT_EQ(rig.cmos(kHour), 0x11);
  EXPECT_EQ(rig.run_until(update(13), true), 10u);
}

// Every value in every register, from a state with every interrupt enabled at the fastest rate:
// no crash, the timer never asked for the past, no more interrupts than 8192 Hz allows.
TEST(CmosRtcIrq, HostileWritesToEveryRegister) {
  constexpr uint64_t kWindow = 5 * kMs;
  constexpr unsigned kMaxPeriodic = kWindow * 8192 / kSecond;
  for (unsigned index = 0; index < 128; ++index) {
    for (unsigned value = 0; value < 256; ++value) {
      auto rig = std::make_unique<Rig>();
      for (uint8_t alarm : {kSecAlarm, kMinAlarm, kHourAlarm}) rig->set_cmos(alarm, 0xff);
      rig->set_cmos(kRegA, 0x23);
      rig->set_cmos(kRegB, 0x72);
      rig->run_for(kMs / 2, true);
      rig->set_cmos(static_cast<uint8_t>(index), static_cast<uint8_t>(value));
      unsigned interrupts = rig->run_for(kWindow, true);
      ASSERT_LE(interrupts, kMaxPeriodic + 2) << "index " << index << " value " << value;
      for (unsigned read = 0; read < 128; ++read) rig->cmos(static_cast<uint8_t>(read));
      ASSERT_FALSE(rig->irq.level) << "register C was just read";
    }
  }
}

// Random writes, reads and waits: interrupts stay within what the enables allow (the periodic
// rate, one per second for updates and alarms, one per write that enables a pending flag).
TEST(CmosRtcIrq, RandomAccessesKeepTheRateBound) {
  std::mt19937 random(4);
  Rig rig;
  uint64_t start = rig.now;
  unsigned data_writes = 0;
  for (int step = 0; step < 200'000; ++step) {
    switch (random() % 4) {
      case 0: outb(rig.io, 0x70, static_cast<uint8_t>(random())); break;
      case 1:
        outb(rig.io, 0x71, static_cast<uint8_t>(random()));
        ++data_writes;
        break;
      case 2: inb(rig.io, 0x71 - random() % 2); break;
      default: rig.run_for(random() % (6 * kMs), random() % 2); break;
    }
  }
  uint64_t elapsed = rig.now - start;
  unsigned interrupts = rig.irq.rising_edges;
  EXPECT_GT(elapsed, 100 * kSecond);
  EXPECT_GT(interrupts, 0u);
  EXPECT_LE(interrupts, elapsed * 8192 / kSecond + elapsed / kSecond + data_writes + 1);
}

}  // namespace
}  // namespace kagami
