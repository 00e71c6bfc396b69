// What the CMOS RTC tests on fake clocks share: register indexes, time units, a level-recording
// IRQ line, and the guest's view of CMOS through ports 0x70/0x71.
#pragma once

#include <cstdint>

#include "bus_access.hpp"
#include "kagami/bus.hpp"
#include "kagami/irq.hpp"

namespace kagami::testing {

// Register indexes and time units, for `using namespace testing::cmos`.
namespace cmos {
inline constexpr uint8_t kSec = 0x00, kSecAlarm = 0x01, kMin = 0x02, kMinAlarm = 0x03, kHour = 0x04,
                         kHourAlarm = 0x05, kDay = 0x07, kMonth = 0x08, kYear = 0x09, kRegA = 0x0a,
                         kRegB = 0x0b, kRegC = 0x0c, kCentury = 0x32;
inline constexpr uint64_t kSecond = 1'000'000'000, kMs = 1'000'000;
}  // namespace cmos

// A level input, as the IOAPIC's or PIC's IRQ 8 pin sees it.
class LevelLine final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    if (asserted && !level) ++rising_edges;
    level = asserted;
  }
  bool level = false;
  unsigned rising_edges = 0;
};

// The I/O bus an RTC is attached to, and CMOS read and written through it as a guest does.
struct CmosPorts {
  uint8_t cmos(uint8_t index) {
    outb(io, 0x70, index);
    return inb(io, 0x71);
  }
  void set_cmos(uint8_t index, uint8_t value) {
    outb(io, 0x70, index);
    outb(io, 0x71, value);
  }

  Bus io{"io"};
};

}  // namespace kagami::testing
