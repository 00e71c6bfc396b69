// 8254 and port 0x61 saved state on fake clocks: counters, latches, gates and channel 0's
// timer continue on a machine whose monotonic clock is younger; malformed states are refused.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "bus_access.hpp"
#include "fakes.hpp"
#include "irqchip/i8254.hpp"
#include "irqchip/port61.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr uint16_t kCh0 = 0x40, kCh1 = 0x41, kCh2 = 0x42, kControl = 0x43, kPort61 = 0x61;
constexpr uint64_t kSecond = 1'000'000'000;

struct Pit {
  explicit Pit(uint64_t start) : now(start) {
    pit.attach(io);
    port61.attach(io);
  }
  std::optional<uint64_t> due_in() const {
    if (!deadlines.back()) return std::nullopt;
    return *deadlines.back() > now ? *deadlines.back() - now : 0;
  }
  // Fires the timer at each deadline for `ns`; returns the IRQ 0 edges seen.
  unsigned run_for(uint64_t ns) {
    unsigned before = irq0.rising_edges;
    uint64_t end = now + ns;
    while (deadlines.back() && *deadlines.back() <= end) {
      now = std::max(now, *deadlines.back());
      pit.timer_expired();
    }
    now = end;
    return irq0.rising_edges - before;
  }

  Bus io{"io"};
  uint64_t now;
  testing::RecordingLine irq0;
  std::vector<std::optional<uint64_t>> deadlines{std::nullopt};
  I8254 pit{irq0, [this](std::optional<uint64_t> at) { deadlines.push_back(at); },
            [this] { return now; }};
  Port61 port61{pit};
};

// Channel 0 periodic (mode 2, 1 ms); channel 1 mode 3 BCD with a count latched and half read;
// channel 2 one-shot (mode 1) triggered through port 0x61's gate. 40 s of running, then 300 us
// into a period.
void drive(Pit& p) {
  outb(p.io, kControl, 0x34);
  outb(p.io, kCh0, 0xa9);
  outb(p.io, kCh0, 0x04);  // 1193
  outb(p.io, kControl, 0x77);
  outb(p.io, kCh1, 0x00);
  outb(p.io, kCh1, 0x50);  // 5000 in BCD
  outb(p.io, kControl, 0xb2);
  outb(p.io, kCh2, 0x00);
  outb(p.io, kCh2, 0xc0);
  outb(p.io, kPort61, 0x03);
  p.run_for(40 * kSecond);
  p.now += 300'000;
  outb(p.io, kControl, 0x40);  // latch channel 1
  inb(p.io, kCh1);
  outb(p.io, kControl, 0xe8);  // read-back: status of channel 2
}

std::vector<int> continue_with(Pit& p) {
  std::vector<int> seen;
  for (int round = 0; round < 4; ++round) {
    for (uint16_t port : {kCh0, kCh0, kCh1, kCh1, kCh2, kCh2, kPort61})
      seen.push_back(inb(p.io, port));
    seen.push_back(static_cast<int>(p.run_for(3'333'333)));
    seen.push_back(p.irq0.level);
  }
  outb(p.io, kPort61, 0x00);  // channel 2's gate falls
  outb(p.io, kControl, 0x30);
  outb(p.io, kCh0, 0x10);
  outb(p.io, kCh0, 0x00);  // one-shot of 16 clocks
  seen.push_back(static_cast<int>(p.run_for(kSecond)));
  seen.push_back(inb(p.io, kPort61));
  return seen;
}

TEST(PitStateTest, ContinuesIdenticallyOnAYoungerClock) {
  Pit original(100 * kSecond);
  drive(original);

  Pit copy(2 * kSecond + 777);  // younger than the 40 s the counters have been running
  testing::copy_state(original.pit, copy.pit);
  testing::copy_state(original.port61, copy.port61);
  EXPECT_EQ(copy.irq0.level, original.irq0.level);
  EXPECT_EQ(copy.due_in(), original.due_in()) << "the timer is re-armed, relative to now";
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(PitStateTest, AnInterruptDueAtTheSaveIsRaisedAfterTheLoad) {
  Pit original(100 * kSecond);
  outb(original.io, kControl, 0x30);
  outb(original.io, kCh0, 0x00);
  outb(original.io, kCh0, 0x10);  // 4096 clocks, about 3.4 ms
  original.now += 10'000'000;     // due, but the VMM's timer has not run yet
  Pit copy(5 * kSecond);
  testing::copy_state(original.pit, copy.pit);
  EXPECT_EQ(copy.due_in(), 0u);
  EXPECT_EQ(copy.run_for(1), 1u);
  EXPECT_TRUE(copy.irq0.level);
}

TEST(PitStateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Pit original(100 * kSecond);
  drive(original);
  testing::StateNode tree = testing::save(original.pit);
  Pit target(3 * kSecond);
  outb(target.io, kControl, 0x34);
  outb(target.io, kCh0, 0x00);
  outb(target.io, kCh0, 0x10);
  target.deadlines.clear();
  target.deadlines.push_back(std::nullopt);
  using namespace testing;
  expect_each_refused(target.pit, tree,
                      {{without("channel-1", "reload"), "channel-1/reload"},
                       {without_node("channel-2"), "channel-2"},
                       {set_u32("channel-0", "mode", 8), "mode"},
                       {set_u32("channel-0", "rw", 0), "rw"},
                       {set_u32("channel-0", "reload", 0), "reload"},
                       {set_u32("channel-0", "reload", 65537), "reload"},
                       {set_u32("channel-1", "reload", 20000), "reload"},  // BCD
                       {set_u32("channel-2", "phase", 3), "phase"},
                       {set_u32("channel-1", "latch-next", 2), "latch-next"},
                       {resized("channel-1", "latch", 3), "latch"},
                       {set_u64("", "deadline-ns", 2 * kSecond), "deadline-ns"},
                       {set_u64("channel-0", "since-start-ns", ~0ull), "since-start-ns"}});
  EXPECT_EQ(target.deadlines.size(), 1u) << "no timer was armed by a refused load";
  EXPECT_EQ(inb(target.io, kCh0), 0x00);

  testing::StateNode port61_tree = testing::save(original.port61);
  expect_each_refused(
      target.port61, port61_tree,
      {{set_u32("", "written", 0x10), "written"}, {without("", "refresh"), "refresh"}});
}

}  // namespace
}  // namespace kagami
