// 16550A saved state: a UART saved mid-conversation goes on identically in a fresh one, also
// through the FDT state tree; malformed states are refused and change nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus_access.hpp"
#include "serial_16550a.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr uint16_t kBase = 0x3f8;
constexpr uint16_t kThr = kBase, kIer = kBase + 1, kIir = kBase + 2, kFcr = kBase + 2,
                   kLcr = kBase + 3, kMcr = kBase + 4, kLsr = kBase + 5, kMsr = kBase + 6,
                   kScr = kBase + 7;

// A UART on its own bus that records what it sends and the levels of its interrupt line.
struct Uart {
  Uart() {
    serial.attach(io);
    serial.set_irq_callback([this](bool level) { levels.push_back(level); });
    serial.set_rx_space_callback([this] { ++rx_space_calls; });
  }
  bool irq() const { return !levels.empty() && levels.back(); }

  Bus io{"io"};
  std::vector<uint8_t> sent;
  std::vector<bool> levels;
  int rx_space_calls = 0;
  Serial16550a serial{[this](std::span<const uint8_t> bytes) {
    sent.insert(sent.end(), bytes.begin(), bytes.end());
  }};
};

// FIFOs on (trigger 4), every interrupt enabled, a break and two bytes looped back, then
// loopback left (modem deltas) and console input on top; one byte read.
void drive(Uart& uart) {
  outb(uart.io, kLcr, 0x83);
  outb(uart.io, kThr, 0x01);  // divisor 0x0201
  outb(uart.io, kIer, 0x02);
  outb(uart.io, kLcr, 0x03);
  outb(uart.io, kFcr, 0x41);
  outb(uart.io, kIer, 0x0f);
  outb(uart.io, kScr, 0x5a);
  outb(uart.io, kMcr, 0x1f);
  outb(uart.io, kThr, 'a');
  outb(uart.io, kLcr, 0x43);  // break: a zero byte flagged BI
  outb(uart.io, kLcr, 0x03);
  outb(uart.io, kThr, 'b');
  outb(uart.io, kMcr, 0x0b);
  const uint8_t input[] = {'h', 'i'};
  uart.serial.receive(input);
  inb(uart.io, kThr);
}

// What the guest sees next: every register, the FIFO drained, a byte sent, input refused.
std::vector<int> continue_with(Uart& uart) {
  std::vector<int> seen;
  for (int round = 0; round < 2; ++round) {
    for (uint16_t port : {kIir, kLsr, kMsr, kLcr, kMcr, kScr, kIer, kLsr, kIir})
      seen.push_back(inb(uart.io, port));
    for (int i = 0; i < 5; ++i) seen.push_back(inb(uart.io, kThr));
    outb(uart.io, kThr, 'z');
    seen.push_back(uart.irq());
  }
  const uint8_t more[20] = {};
  seen.push_back(static_cast<int>(uart.serial.receive(more)));
  seen.push_back(inb(uart.io, kIir));
  seen.insert(seen.end(), uart.sent.begin(), uart.sent.end());
  return seen;
}

TEST(Serial16550aStateTest, ContinuesIdenticallyInAFreshUart) {
  Uart original;
  drive(original);
  ASSERT_TRUE(original.serial.interrupt_pending());

  Uart copy;
  testing::StateNode tree = testing::copy_state(original.serial, copy.serial);
  EXPECT_EQ(copy.levels, std::vector<bool>{true}) << "the loaded line level is reported once";
  EXPECT_EQ(copy.rx_space_calls, 1) << "the FIFO has room: the console is told";
  EXPECT_TRUE(testing::save(copy.serial) == tree);

  original.sent.clear();
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(Serial16550aStateTest, RoundTripsThroughTheFdtStateTree) {
  Uart original;
  drive(original);
  Uart copy;
  testing::copy_state_through_fdt(original.serial, copy.serial, "serial");
  original.sent.clear();
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(Serial16550aStateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Uart original;
  drive(original);
  testing::StateNode tree = testing::save(original.serial);
  Uart target;
  outb(target.io, kScr, 0x77);
  outb(target.io, kFcr, 0x01);
  using namespace testing;
  expect_each_refused(
      target.serial, tree,
      {{without("", "lcr"), "lcr"},
       {resized("", "divisor", 8), "divisor"},
       {set_u32("", "ier", 0x10), "ier"},
       {set_u32("", "fcr", 0x06), "fcr"},
       {set_u32("", "mcr", 0x20), "mcr"},
       {set_u32("", "overrun", 2), "overrun"},
       {resized("", "rx-fifo", 17), "rx-fifo"},
       {resized("", "rx-errors", 1), "rx-errors"},
       {[](StateNode& t) { t.fields["rx-errors"].assign(t.fields["rx-fifo"].size(), 0x80); },
        "rx-errors"},
       // Without FIFOs the receiver holds one byte.
       {[](StateNode& t) {
          t.set_u32("fcr", 0);
          t.fields["rx-fifo"].resize(2);
          t.fields["rx-errors"].resize(2);
        },
        "rx-fifo"}});
  EXPECT_EQ(inb(target.io, kScr), 0x77);
}

}  // namespace
}  // namespace kagami
