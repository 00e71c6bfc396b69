// ACPI PM and reset control saved state: PM1, GPE0, the SCI and the PM timer continue on a
// machine whose monotonic clock reads differently; malformed states are refused.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "acpi/acpi_pm.hpp"
#include "acpi/reset_control.hpp"
#include "bus_access.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using namespace std::chrono_literals;
using testing::bus_read;
using testing::bus_write;

constexpr uint16_t kPm1Status = 0x600, kPm1Enable = 0x602, kPm1Control = 0x604, kTimer = 0x608,
                   kGpe0Status = 0x620, kGpe0Enable = 0x622;

class Line final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    level = asserted;
    ++calls;
  }
  bool level = false;
  int calls = 0;
};

struct Pm {
  explicit Pm(std::chrono::nanoseconds start) : now(start) { pm.attach(io); }
  Bus io{"io"};
  Line sci;
  int power_offs = 0;
  std::chrono::nanoseconds now;
  AcpiPm pm{sci, [this] { ++power_offs; }, [this] { return now; }};
};

// 5 s of timer (bit 23 changed several times, TMR_STS cleared once), the power button pressed
// with PWRBTN_EN (SCI up), GPE 3 raised but not enabled, SLP_TYP 5 written without SLP_EN.
void drive(Pm& p) {
  p.now += 3s;
  bus_write(p.io, kPm1Status, 2, AcpiPm::kTmrSts);
  p.now += 2s + 123456ns;
  bus_write(p.io, kPm1Enable, 2, AcpiPm::kPwrbtnEn | AcpiPm::kTmrEn);
  p.pm.press_power_button();
  p.pm.raise_gpe(3);
  bus_write(p.io, kGpe0Enable, 2, 0x0010);
  bus_write(p.io, kPm1Control, 2, 5u << 10);
}

std::vector<uint64_t> continue_with(Pm& p) {
  std::vector<uint64_t> seen;
  for (int round = 0; round < 3; ++round) {
    for (uint16_t port : {kPm1Status, kPm1Enable, kPm1Control, kTimer, kGpe0Status, kGpe0Enable})
      seen.push_back(bus_read(p.io, port, port == kTimer ? 4 : 2));
    seen.push_back(p.sci.level);
    p.now += 1700ms;
  }
  bus_write(p.io, kPm1Status, 2, AcpiPm::kPwrbtnSts | AcpiPm::kTmrSts);
  seen.push_back(p.sci.level);
  p.now += 2400ms;
  seen.push_back(bus_read(p.io, kPm1Status, 2));
  seen.push_back(p.sci.level);
  bus_write(p.io, kGpe0Enable, 2, 0x0008);
  seen.push_back(p.sci.level);
  bus_write(p.io, kPm1Control, 2, (5u << 10) | (1u << 13));
  seen.push_back(p.power_offs);
  return seen;
}

TEST(AcpiPmStateTest, ContinuesIdenticallyOnAnotherClock) {
  Pm original(1000s);
  drive(original);
  testing::StateNode tree = testing::save(original.pm);
  uint32_t saved_timer = original.pm.timer();
  Pm copy(7s + 5ns);
  testing::load(copy.pm, tree);
  EXPECT_TRUE(copy.sci.level) << "the SCI is raised again";
  EXPECT_EQ(copy.pm.timer(), saved_timer);
  EXPECT_TRUE(testing::save(copy.pm) == tree);
  EXPECT_EQ(continue_with(copy), continue_with(original));

  Pm young(1s);  // a clock younger than the timer's 5 s: its zero was before the clock's
  testing::load(young.pm, tree);
  EXPECT_EQ(young.pm.timer(), saved_timer);
  EXPECT_TRUE(testing::save(young.pm) == tree);
}

TEST(AcpiPmStateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Pm original(1000s);
  drive(original);
  testing::StateNode tree = testing::save(original.pm);
  Pm target(50s);
  bus_write(target.io, kGpe0Enable, 2, 0x0100);
  using namespace testing;
  expect_refused(target.pm, tree, without("", "pm1-enable"), "pm1-enable");
  expect_refused(target.pm, tree, resized("", "timer-ns", 4), "timer-ns");
  expect_refused(target.pm, tree, set_u32("", "pm1-status", AcpiPm::kTmrSts), "pm1-status");
  expect_refused(target.pm, tree, set_u32("", "pm1-enable", 0x0002), "pm1-enable");
  expect_refused(target.pm, tree, set_u32("", "pm1-control", 1u << 13), "pm1-control");
  expect_refused(target.pm, tree, set_u32("", "gpe0-status", 0x10000), "gpe0-status");
  expect_refused(target.pm, tree, set_u64("", "timer-ns", ~0ull), "timer-ns");
  expect_refused(target.pm, tree, set_u64("", "timer-epoch", 100), "timer-epoch");
  EXPECT_EQ(bus_read(target.io, kGpe0Enable, 2), 0x0100u);
  EXPECT_FALSE(target.sci.level);
  EXPECT_EQ(target.sci.calls, 0);
}

TEST(ResetControlStateTest, KeepsItsValueAndNeverResetsOnLoad) {
  int resets = 0;
  ResetControl original([&] { ++resets; });
  uint8_t two = 0x02;
  original.write(0, std::span(&two, 1));
  testing::StateNode tree = testing::save(original);
  ResetControl copy([&] { ++resets; });
  testing::load(copy, tree);
  EXPECT_EQ(copy.value(), 0x02);
  tree.set_u32("value", 0x06);
  testing::load(copy, tree);
  EXPECT_EQ(copy.value(), 0x06);
  EXPECT_EQ(resets, 0);
  testing::expect_refused(copy, tree, testing::set_u32("", "value", 0x106), "value");
  testing::expect_refused(copy, tree, testing::without("", "value"), "value");
}

}  // namespace
}  // namespace kagami
