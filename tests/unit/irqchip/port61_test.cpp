// Port 0x61 and PIT channel 2: gate, OUT in bit 5, refresh toggle, Linux's TSC calibration loops.
#include "irqchip/port61.hpp"

#include <gtest/gtest.h>

#include <random>

#include "bus_access.hpp"
#include "fakes.hpp"
#include "irqchip/i8254.hpp"

namespace kagami {
namespace {

constexpr uint16_t kPort61 = 0x61, kCh2 = 0x42, kControl = 0x43;
constexpr uint64_t kPitTickRate = 1193182;

// A guest whose every port access costs kAccessNs of the fake clock (a VM exit), with a TSC
// running at kTscHz on the same clock.
class Port61Test : public ::testing::Test {
 protected:
  static constexpr uint64_t kAccessNs = 1000;
  static constexpr uint64_t kTscHz = 3'000'000'000;

  Port61Test() {
    pit.attach(io);
    port61.attach(io);
  }

  uint8_t inb(uint16_t port) {
    now += kAccessNs;
    return testing::inb(io, port);
  }
  void outb(uint8_t value, uint16_t port) {  // Linux's argument order
    now += kAccessNs;
    testing::outb(io, port, value);
  }
  uint64_t get_cycles() const { return now * (kTscHz / 1'000'000'000); }

  // arch/x86/kernel/tsc.c, Linux 6.1.
  bool pit_verify_msb(uint8_t val) {
    inb(0x42);
    return inb(0x42) == val;
  }
  bool pit_expect_msb(uint8_t val, uint64_t* tscp, uint64_t* deltap) {
    int count;
    uint64_t tsc = 0, prev_tsc = 0;
    for (count = 0; count < 50000; count++) {
      if (!pit_verify_msb(val)) break;
      prev_tsc = tsc;
      tsc = get_cycles();
    }
    *deltap = get_cycles() - prev_tsc;
    *tscp = tsc;
    return count > 5;
  }
  uint64_t quick_pit_calibrate() {
    constexpr uint64_t kMaxIterations = 50 * kPitTickRate / 1000 / 256;
    uint64_t tsc, delta, d1, d2;
    outb((inb(0x61) & ~0x02) | 0x01, 0x61);
    outb(0xb0, 0x43);
    outb(0xff, 0x42);
    outb(0xff, 0x42);
    pit_verify_msb(0);
    if (pit_expect_msb(0xff, &tsc, &d1)) {
      for (uint64_t i = 1; i <= kMaxIterations; i++) {
        if (!pit_expect_msb(static_cast<uint8_t>(0xff - i), &delta, &d2)) break;
        delta -= tsc;
        if (i == 1 && d1 + d2 >= (delta * kMaxIterations) >> 11) return 0;
        if (d1 + d2 >= delta >> 11) continue;
        if (!pit_verify_msb(static_cast<uint8_t>(0xfe - i))) break;
        return delta * kPitTickRate / (i * 256 * 1000);
      }
    }
    return 0;
  }
  // pit_calibrate_tsc's PIT part: mode 0 for 10 ms, counting polls of bit 5.
  uint64_t pit_calibrate_polls(uint16_t latch) {
    outb((inb(0x61) & ~0x02) | 0x01, 0x61);
    outb(0xb0, 0x43);
    outb(latch & 0xff, 0x42);
    outb(latch >> 8, 0x42);
    uint64_t polls = 0;
    while ((inb(0x61) & 0x20) == 0 && polls < 1'000'000) ++polls;
    return polls;
  }

  Bus io{"io"};
  uint64_t now = 5'000'000'000;
  testing::RecordingLine irq0;
  I8254 pit{irq0, [](std::optional<uint64_t>) {}, [this] { return now; }};
  Port61 port61{pit};
};

TEST_F(Port61Test, GateAndSpeakerBitsReadBack) {
  outb(0x03, kPort61);
  EXPECT_EQ(inb(kPort61) & 0x0f, 0x03);
  outb(0xff, kPort61);
  EXPECT_EQ(inb(kPort61) & 0xcf, 0x0f) << "bits 6 and 7 never report NMI sources";
  outb(0x00, kPort61);
  EXPECT_EQ(inb(kPort61) & 0x0f, 0x00);
}

TEST_F(Port61Test, RefreshBitTogglesOnEveryRead) {
  uint8_t first = inb(kPort61) & 0x10;
  uint8_t second = inb(kPort61) & 0x10;
  uint8_t third = inb(kPort61) & 0x10;
  EXPECT_NE(first, second);
  EXPECT_EQ(first, third);
}

TEST_F(Port61Test, Bit5IsChannel2OutInMode0) {
  outb(0x01, kPort61);
  outb(0xb0, kControl);
  outb(100, kCh2);
  outb(0, kCh2);
  uint64_t loaded = now;
  EXPECT_EQ(testing::inb(io, kPort61) & 0x20, 0);
  now = loaded + (99 * 1'000'000'000ull) / kPitTickRate;
  EXPECT_EQ(testing::inb(io, kPort61) & 0x20, 0);
  now = loaded + (101 * 1'000'000'000ull) / kPitTickRate;
  EXPECT_EQ(testing::inb(io, kPort61) & 0x20, 0x20);
}

TEST_F(Port61Test, Bit5FollowsASquareWaveInMode3) {
  outb(0xb6, kControl);
  outb(0x00, kCh2);
  outb(0x10, kCh2);  // 4096 clocks, 3.4 ms
  outb(0x01, kPort61);
  uint64_t rise = now;
  int transitions = 0;
  bool last = true;
  for (uint64_t t = rise; t < rise + 10'000'000; t += 10'000) {
    now = t;
    bool high = testing::inb(io, kPort61) & 0x20;
    if (high != last) ++transitions;
    last = high;
  }
  EXPECT_EQ(transitions, 5);  // 10 ms is 2.9 periods of high and low halves
}

TEST_F(Port61Test, QuickPitCalibrateMeasuresTheTsc) {
  uint64_t khz = quick_pit_calibrate();
  ASSERT_NE(khz, 0u) << "Linux would print \"Fast TSC calibration failed\"";
  // Linux accepts 500 ppm of measurement error; the model's own error must be far below that
  // (a PIT at 1.193 MHz instead of 1.193182 MHz would be 150 ppm off).
  EXPECT_NEAR(static_cast<double>(khz), kTscHz / 1000.0, kTscHz / 1000.0 * 100e-6);
}

TEST_F(Port61Test, PitCalibrateTscPollsBit5For10Ms) {
  uint64_t start = now;
  uint64_t polls = pit_calibrate_polls(static_cast<uint16_t>(kPitTickRate / 100));
  EXPECT_GT(polls, 1000u) << "Linux rejects fewer than CAL_PIT_LOOPS polls";
  EXPECT_NEAR(static_cast<double>(now - start), 10e6, 10e3);
}

TEST_F(Port61Test, HostileWritesAndReadsNeverCrash) {
  std::mt19937 random(9);
  for (int i = 0; i < 20000; ++i) {
    uint16_t port = random() % 2 ? kPort61 : static_cast<uint16_t>(0x40 + random() % 4);
    if (random() % 2) {
      outb(static_cast<uint8_t>(random()), port);
    } else {
      EXPECT_EQ(inb(kPort61) & 0xc0, 0);
    }
  }
}

}  // namespace
}  // namespace kagami
