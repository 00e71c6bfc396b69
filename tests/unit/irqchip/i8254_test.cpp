// 8254 PIT: modes, counts read back at fake times, latches, read-back, timer hook, hostile writes.
#include "irqchip/i8254.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <vector>

#include "bus_access.hpp"
#include "fakes.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr uint16_t kCh0 = 0x40, kCh1 = 0x41, kCh2 = 0x42, kControl = 0x43;

// The first ns at which `ticks` PIT clocks have passed.
constexpr uint64_t ns_of_ticks(uint64_t ticks) {
  return (ticks * 1'000'000'000 + I8254::kFrequencyHz - 1) / I8254::kFrequencyHz;
}

class I8254Test : public ::testing::Test {
 protected:
  I8254Test() { pit.attach(io); }

  void program(uint16_t port, uint8_t control, uint16_t count) {
    outb(io, kControl, control);
    outb(io, port, static_cast<uint8_t>(count));
    outb(io, port, static_cast<uint8_t>(count >> 8));
  }
  uint16_t read_count(uint16_t port) {
    uint8_t lsb = inb(io, port);
    return static_cast<uint16_t>(lsb | inb(io, port) << 8);
  }
  uint16_t latched_count(unsigned channel) {
    outb(io, kControl, static_cast<uint8_t>(channel << 6));
    return read_count(static_cast<uint16_t>(kCh0 + channel));
  }
  std::optional<uint64_t> deadline() const { return deadlines.back(); }
  // Runs the VMM's side: advances the clock to the armed deadline and reports the expiry.
  void expire() {
    ASSERT_TRUE(deadline().has_value());
    now = *deadline();
    pit.timer_expired();
  }

  Bus io{"io"};
  uint64_t now = 1'000'000'000;
  testing::RecordingLine irq0;
  std::vector<std::optional<uint64_t>> deadlines{std::nullopt};
  I8254 pit{irq0, [this](std::optional<uint64_t> at) { deadlines.push_back(at); },
            [this] { return now; }};
};

TEST_F(I8254Test, NothingIsArmedAtReset) {
  EXPECT_EQ(deadlines.size(), 1u);
  EXPECT_FALSE(irq0.level);
}

TEST_F(I8254Test, Mode0CountsDownAndRaisesIrq0AtTerminalCount) {
  uint64_t start = now;
  program(kCh0, 0x30, 1193);
  EXPECT_FALSE(irq0.level);
  EXPECT_EQ(deadline(), start + ns_of_ticks(1193));
  now = start + 500'000;  // 596.59 clocks
  EXPECT_EQ(latched_count(0), 1193 - 596);
  EXPECT_FALSE(pit.output(0));
  expire();
  EXPECT_EQ(irq0.rising_edges, 1u);
  EXPECT_TRUE(irq0.level) << "mode 0 OUT stays high after terminal count";
  EXPECT_EQ(deadline(), std::nullopt);
  now = start + ns_of_ticks(1193 + 1000);
  EXPECT_EQ(latched_count(0), 65536 - 1000) << "the counter wraps and keeps counting";
}

TEST_F(I8254Test, Mode0FirstByteStopsTheCount) {
  program(kCh0, 0x30, 1000);
  now += 100'000;
  outb(io, kControl, 0x30);
  outb(io, kCh0, 0x10);
  EXPECT_EQ(deadline(), std::nullopt);
  outb(io, kCh0, 0x00);
  EXPECT_EQ(deadline(), now + ns_of_ticks(16));
}

TEST_F(I8254Test, Mode2RaisesIrq0EveryPeriod) {
  uint64_t start = now;
  program(kCh0, 0x34, 11932);  // Linux's LATCH for HZ=100
  EXPECT_TRUE(irq0.level);
  for (uint64_t k = 1; k <= 5; ++k) {
    EXPECT_EQ(deadline(), start + ns_of_ticks(k * 11932)) << k;
    expire();
    EXPECT_EQ(irq0.rising_edges, k + 1) << "one edge per period, after programming's";
  }
  now = start + ns_of_ticks(5 * 11932 + 100);
  EXPECT_EQ(latched_count(0), 11932 - 100);
  EXPECT_TRUE(pit.output(0));
  now = start + ns_of_ticks(6 * 11932 - 1);
  EXPECT_FALSE(pit.output(0)) << "low for the clock the count is 1";
}

TEST_F(I8254Test, Mode3IsASquareWave) {
  uint64_t start = now;
  program(kCh0, 0x36, 1000);
  now = start + ns_of_ticks(499);
  EXPECT_TRUE(pit.output(0));
  EXPECT_EQ(latched_count(0), 1000 - 2 * 499);
  now = start + ns_of_ticks(500);
  EXPECT_FALSE(pit.output(0));
  EXPECT_EQ(latched_count(0), 1000);
  now = start + ns_of_ticks(999);
  EXPECT_FALSE(pit.output(0));
  EXPECT_EQ(deadline(), start + ns_of_ticks(1000));
  expire();
  EXPECT_TRUE(pit.output(0));
  EXPECT_EQ(deadline(), start + ns_of_ticks(2000));
}

TEST_F(I8254Test, Mode4StrobesOnceAfterTheCount) {
  uint64_t start = now;
  program(kCh0, 0x38, 100);
  EXPECT_TRUE(pit.output(0));
  now = start + ns_of_ticks(100);
  EXPECT_FALSE(pit.output(0));
  EXPECT_EQ(deadline(), start + ns_of_ticks(101));
  unsigned edges = irq0.rising_edges;
  expire();
  EXPECT_EQ(irq0.rising_edges, edges + 1);
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(I8254Test, CountZeroMeans65536) {
  uint64_t start = now;
  program(kCh0, 0x34, 0);
  EXPECT_EQ(deadline(), start + ns_of_ticks(65536));
  now = start + ns_of_ticks(1);
  EXPECT_EQ(latched_count(0), 65535);
}

TEST_F(I8254Test, LateTimerGivesOneInterruptAndTheNextFutureDeadline) {
  uint64_t start = now;
  program(kCh0, 0x34, 1193);
  unsigned edges = irq0.rising_edges;
  now = start + ns_of_ticks(3 * 1193 + 10);
  pit.timer_expired();
  EXPECT_EQ(irq0.rising_edges, edges + 1);
  EXPECT_EQ(deadline(), start + ns_of_ticks(4 * 1193));
}

TEST_F(I8254Test, EarlyTimerOnlyRearms) {
  program(kCh0, 0x30, 1193);
  std::optional<uint64_t> armed = deadline();
  now = *armed - 1;
  pit.timer_expired();
  EXPECT_FALSE(irq0.level);
  EXPECT_EQ(deadline(), armed);
}

TEST_F(I8254Test, PeriodicInterruptsAreLimitedTo5kHz) {
  uint64_t start = now;
  program(kCh0, 0x34, 2);
  EXPECT_EQ(deadline(), start + ns_of_ticks(2));
  expire();
  uint64_t fired = now;
  EXPECT_GE(*deadline(), fired + I8254::kMinPeriodNs);
  EXPECT_LT(*deadline(), fired + I8254::kMinPeriodNs + ns_of_ticks(2) + 1);
  now = start + ns_of_ticks(1001);
  EXPECT_EQ(latched_count(0), 1) << "counts are not slowed down";
}

TEST_F(I8254Test, CounterLatchHoldsTheValueUntilRead) {
  uint64_t start = now;
  program(kCh1, 0x74, 50000);
  now = start + ns_of_ticks(1000);
  outb(io, kControl, 0x40);
  now = start + ns_of_ticks(2000);
  outb(io, kControl, 0x40);  // ignored: the first latch is not read yet
  EXPECT_EQ(read_count(kCh1), 49000);
  EXPECT_EQ(read_count(kCh1), 48000) << "unlatched reads follow the counter";
}

TEST_F(I8254Test, ReadBackLatchesStatusThenCount) {
  uint64_t start = now;
  program(kCh0, 0x34, 5000);
  now = start + ns_of_ticks(1234);
  outb(io, kControl, 0xc2);  // count and status of channel 0
  now += 1'000'000;
  EXPECT_EQ(inb(io, kCh0), 0xb4);  // OUT high, RW 3, mode 2, binary
  EXPECT_EQ(read_count(kCh0), 5000 - 1234);
}

TEST_F(I8254Test, StatusShowsNullCountUntilTheCountIsWritten) {
  outb(io, kControl, 0xb6);  // channel 2, mode 3
  outb(io, kControl, 0xe8);  // read-back status of channel 2
  EXPECT_EQ(inb(io, kCh2), 0xf6);
  outb(io, kCh2, 0x00);
  outb(io, kCh2, 0x10);
  outb(io, kControl, 0xe8);
  EXPECT_EQ(inb(io, kCh2), 0xb6) << "gate 2 is low: waiting, OUT high, count loaded";
}

TEST_F(I8254Test, ModeBits6And7AreModes2And3) {
  uint64_t start = now;
  program(kCh0, 0x3c, 1000);  // mode bits 110 = mode 2
  EXPECT_EQ(deadline(), start + ns_of_ticks(1000));
  outb(io, kControl, 0xe2);
  EXPECT_EQ(inb(io, kCh0), 0xbc) << "status keeps the bits as written";
}

TEST_F(I8254Test, LobyteAndHibyteOnlyAccess) {
  uint64_t start = now;
  outb(io, kControl, 0x50);  // channel 1, LSB only, mode 0
  outb(io, kCh1, 200);
  now = start + ns_of_ticks(50);
  EXPECT_EQ(inb(io, kCh1), 150);
  EXPECT_EQ(inb(io, kCh1), 150);
  outb(io, kControl, 0x60);  // channel 1, MSB only, mode 0
  outb(io, kCh1, 0x02);      // count 0x200
  now += ns_of_ticks(0x100);
  EXPECT_EQ(inb(io, kCh1), 0x01);
}

TEST_F(I8254Test, BcdCounts) {
  uint64_t start = now;
  program(kCh1, 0x71, 0x1000);  // mode 0, BCD 1000
  now = start + ns_of_ticks(1);
  EXPECT_EQ(latched_count(1), 0x0999);
  now = start + ns_of_ticks(1001);
  EXPECT_EQ(latched_count(1), 0x9999) << "wraps within four decimal digits";
  program(kCh1, 0x75, 0);  // mode 2, BCD 0 = 10000
  now += ns_of_ticks(1);
  EXPECT_EQ(latched_count(1), 0x9999);
}

TEST_F(I8254Test, GateLowPausesMode0) {
  uint64_t start = now;
  pit.set_gate(2, true);
  program(kCh2, 0xb0, 1000);
  now = start + ns_of_ticks(300);
  pit.set_gate(2, false);
  now = start + ns_of_ticks(800);
  EXPECT_EQ(latched_count(2), 700);
  pit.set_gate(2, true);
  now += ns_of_ticks(100);
  EXPECT_EQ(latched_count(2), 600);
}

TEST_F(I8254Test, Mode1IsAOneShotTriggeredByTheGate) {
  program(kCh2, 0xb2, 500);
  EXPECT_TRUE(pit.output(2));
  now += ns_of_ticks(1000);
  EXPECT_TRUE(pit.output(2)) << "no trigger yet";
  pit.set_gate(2, true);
  uint64_t trigger = now;
  EXPECT_FALSE(pit.output(2));
  now = trigger + ns_of_ticks(499);
  EXPECT_FALSE(pit.output(2));
  now = trigger + ns_of_ticks(500);
  EXPECT_TRUE(pit.output(2));
  pit.set_gate(2, false);
  pit.set_gate(2, true);  // retrigger
  EXPECT_FALSE(pit.output(2));
}

TEST_F(I8254Test, Mode5StrobesAfterTheTrigger) {
  program(kCh2, 0xba, 10);
  pit.set_gate(2, true);
  uint64_t trigger = now;
  now = trigger + ns_of_ticks(10);
  EXPECT_FALSE(pit.output(2));
  now = trigger + ns_of_ticks(11);
  EXPECT_TRUE(pit.output(2));
}

TEST_F(I8254Test, Mode2GateLowHoldsOutHighAndRestartsOnRise) {
  program(kCh2, 0xb4, 100);
  EXPECT_TRUE(pit.output(2));
  pit.set_gate(2, true);
  uint64_t rise = now;
  now = rise + ns_of_ticks(30);
  EXPECT_EQ(latched_count(2), 70);
  pit.set_gate(2, false);
  now = rise + ns_of_ticks(99);
  EXPECT_TRUE(pit.output(2));
  pit.set_gate(2, true);
  now += ns_of_ticks(10);
  EXPECT_EQ(latched_count(2), 90);
}

TEST_F(I8254Test, ResetCancelsTheTimerAndLowersIrq0) {
  program(kCh0, 0x34, 1000);
  pit.set_gate(2, true);
  EXPECT_TRUE(irq0.level);
  pit.reset();
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_FALSE(irq0.level);
  outb(io, kControl, 0xe8);
  EXPECT_EQ(inb(io, kCh2), 0x70) << "channel 2: mode 0 waiting for a count, OUT low";
  program(kCh2, 0xb4, 100);
  EXPECT_TRUE(pit.output(2)) << "gate 2 is low again: mode 2 holds OUT high";
}

TEST_F(I8254Test, ControlPortReadsZeroAndBadChannelsThrow) {
  EXPECT_EQ(inb(io, kControl), 0);
  EXPECT_THROW(pit.output(3), std::out_of_range);
  EXPECT_THROW(pit.set_gate(3, true), std::out_of_range);
}

// Random bytes everywhere, with the clock moving and the VMM honouring the hook: no crash, every
// deadline asked for lies in the future, and IRQ 0 only rises when channel 0 is counting.
TEST_F(I8254Test, HostileWritesKeepDeadlinesInTheFuture) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 100000; ++i) {
    now += random() % 20'000;
    size_t asked = deadlines.size();
    switch (random() % 5) {
      case 0: outb(io, static_cast<uint16_t>(kCh0 + random() % 4), random() & 0xff); break;
      case 1: inb(io, static_cast<uint16_t>(kCh0 + random() % 4)); break;
      case 2: pit.set_gate(2, random() & 1); break;
      default:
        if (deadline() && now >= *deadline()) pit.timer_expired();
        break;
    }
    for (size_t k = asked; k < deadlines.size(); ++k) {
      if (deadlines[k]) {
        ASSERT_GT(*deadlines[k], now) << "at step " << i;
      }
    }
  }
}

TEST_F(I8254Test, UnprogrammedChannel0NeverInterrupts) {
  std::mt19937 random(5);
  for (int i = 0; i < 10000; ++i) {
    now += 1'000'000;
    outb(io, random() % 2 ? kCh1 : kCh2, static_cast<uint8_t>(random()));
    outb(io, kControl, static_cast<uint8_t>(0x40 + random() % 0x80));  // channels 1 and 2
    pit.timer_expired();
  }
  EXPECT_EQ(irq0.calls, 0u);
  EXPECT_EQ(deadlines.size(), 1u);
}

}  // namespace
}  // namespace kagami
