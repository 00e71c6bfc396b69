// ISA fan-out: each ISA IRQ reaches the PIC input and the IOAPIC pin the MADT promises.
#include "irqchip/isa_irq.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bus_access.hpp"
#include "fakes.hpp"
#include "irqchip/i8254.hpp"
#include "irqchip/port61.hpp"

namespace kagami {
namespace {

using testing::bus_write;
using testing::inb;
using testing::outb;

class IsaIrqTest : public ::testing::Test {
 protected:
  IsaIrqTest() {
    pic.attach(io);
    ioapic.attach(mmio);
    // PIC: vectors 0x30/0x38, all unmasked. IOAPIC: every pin unmasked, edge, vector 0x40 + pin.
    for (uint8_t value : {0x11, 0x30, 0x04, 0x01, 0x00})
      outb(io, value == 0x11 ? 0x20 : 0x21, value);
    for (uint8_t value : {0x11, 0x38, 0x02, 0x01, 0x00})
      outb(io, value == 0x11 ? 0xa0 : 0xa1, value);
    for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) {
      bus_write(mmio, 0xfec00000, 4, 0x10 + 2 * pin);
      bus_write(mmio, 0xfec00010, 4, 0x40 + pin);
    }
  }

  Bus io{"io"};
  Bus mmio{"mmio"};
  testing::RecordingMsiSink msi;
  I8259Pair pic;
  Ioapic ioapic{msi};
  IsaIrqRouter isa{pic, ioapic};
};

TEST_F(IsaIrqTest, Irq0GoesToIoapicPin2) {
  isa.irq(0).set_level(true);
  ASSERT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(msi.messages[0].data & 0xff, 0x42u);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  EXPECT_EQ(IsaIrqRouter::gsi_of(0), 2u);
}

TEST_F(IsaIrqTest, OtherIrqsAreIdentity) {
  for (unsigned irq : {1u, 3u, 4u, 8u, 9u, 12u, 14u, 15u}) {
    msi.messages.clear();
    isa.irq(irq).pulse();
    ASSERT_EQ(msi.messages.size(), 1u) << irq;
    EXPECT_EQ(msi.messages[0].data & 0xff, 0x40 + irq) << irq;
    EXPECT_EQ(IsaIrqRouter::gsi_of(irq), irq);
  }
}

TEST_F(IsaIrqTest, Irq2GoesNowhere) {
  isa.irq(2).set_level(true);
  EXPECT_TRUE(msi.messages.empty());
  EXPECT_FALSE(pic.output());
}

TEST_F(IsaIrqTest, LevelSciReachesBothControllers) {
  outb(io, 0x4d1, 0x02);  // IRQ 9 level on the PIC
  bus_write(mmio, 0xfec00000, 4, 0x10 + 2 * 9);
  bus_write(mmio, 0xfec00010, 4, 0x8000 | 0x49);
  isa.irq(9).set_level(true);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(pic.acknowledge(), 0x39);
  isa.irq(9).set_level(false);
  outb(io, 0xa0, 0x20);
  outb(io, 0x20, 0x20);
  EXPECT_FALSE(pic.output());
  bus_write(mmio, 0xfec00040, 4, 0x49);
  EXPECT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(ioapic.redirection_entry(9) & (1u << 14), 0u);
}

TEST_F(IsaIrqTest, PitTicksReachIoapicPin2AndPicIrq0) {
  uint64_t now = 0;
  std::optional<uint64_t> deadline;
  I8254 pit(
      isa.irq(0), [&](std::optional<uint64_t> at) { deadline = at; }, [&] { return now; });
  pit.attach(io);
  outb(io, 0x43, 0x34);
  outb(io, 0x40, 0x9c);
  outb(io, 0x40, 0x2e);  // 11932: 10 ms
  msi.messages.clear();
  for (int tick = 0; tick < 3; ++tick) {
    ASSERT_TRUE(deadline);
    now = *deadline;
    pit.timer_expired();
    EXPECT_EQ(pic.acknowledge(), 0x30);
    outb(io, 0x20, 0x20);
  }
  ASSERT_EQ(msi.messages.size(), 3u);
  EXPECT_EQ(msi.messages[2].data & 0xff, 0x42u);
}

// vCPU threads, a device thread and the VMM's timer thread all at once: no deadlock, no race
// the sanitizers can see. Lock order: port 0x61 -> PIT -> PIC or IOAPIC -> MSI sink.
TEST_F(IsaIrqTest, ConcurrentUseDoesNotDeadlock) {
  std::atomic<uint64_t> now{0};
  I8254 pit(
      isa.irq(0), [](std::optional<uint64_t>) {}, [&] { return now.load(); });
  Port61 port61(pit);
  pit.attach(io);
  port61.attach(io);
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      now += 5000;
      pit.timer_expired();
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      outb(io, 0x43, 0x34);
      outb(io, 0x40, 0x10);
      outb(io, 0x40, 0x00);
      outb(io, 0x61, i & 1);
      inb(io, 0x61);
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      isa.irq(4).pulse();
      isa.irq(9).set_level(i & 1);
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < kIterations; ++i) {
      pic.acknowledge();
      outb(io, 0x20, 0x20);
      outb(io, 0xa0, 0x20);
      ioapic.end_of_interrupt(0x49);
      bus_write(mmio, 0xfec00000, 4, 0x10 + 2 * 9);
      bus_write(mmio, 0xfec00010, 4, (i & 1 ? 0x8000 : 0) | 0x49);
    }
  });
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(msi.messages.empty());
}

TEST_F(IsaIrqTest, IrqsOutOfRangeThrow) {
  EXPECT_THROW(isa.irq(16), std::out_of_range);
}

}  // namespace
}  // namespace kagami
