// MC146818-style CMOS RTC: index port 0x70 (bit 7 = NMI mask), data port 0x71, 128 bytes, IRQ 8.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Time registers are computed at read time from the host's UTC clock plus the offset the guest
// set, in BCD unless register B bit 2 (DM, binary) is set, in 24-hour form when register B
// bit 1 is set (the default) and otherwise 12-hour with bit 7 = PM. While register B SET (bit 7)
// is 1 the clock is frozen and the guest's writes change the frozen time; clearing SET restarts
// the clock from it. A time register written while the clock runs moves the clock the same way.
// The offset is kept in whole seconds, so the guest's seconds roll over with the host's.
//
// Updates (the time advancing by one second) happen when the host's second rolls over, while
// SET is 0 and the divider (register A bits 6:4) is 010; register A bit 7 (UIP) is 1 in the last
// 244 us before each. Each update sets UF (register C bit 4) and, when the seconds, minutes and
// hours match alarm registers 1, 3 and 5 byte for byte in the current format (0xC0-0xFF match
// anything), AF (bit 5). With the divider at 010, register A bits 3:0 select the periodic rate:
// 0 none, 1 and 2 as 256 and 128 Hz, 3-15 as 32768 >> (rate - 1) Hz; each period sets PF
// (bit 6). The flags rise whether or not their interrupt is enabled. IRQF (bit 7) is
// PF & PIE | AF & AIE | UF & UIE (register B bits 6, 5, 4), and the IRQ line is high exactly
// while IRQF is 1 (a level: the ISA IRQ 8 input). Reading register C returns the flags and
// clears them all, which drops the line. Setting SET clears UIE, as on the MC146818. Register D
// reads 0x80 (valid RAM and time). SQWE and DSE are kept but not acted on; a divider other than
// 010 stops updates, UIP and the periodic flag but not the clock. Everything else, the alarm
// registers included, is plain CMOS RAM. The NMI mask bit is kept but not acted on.
//
// Time comes only from the injected clocks: the wall clock (the time of day) and a monotonic
// clock in ns, the clock of the timer hook. The model never waits: while the line is low and an
// enabled interrupt can come, it calls the timer hook with the monotonic time at which the VMM
// must call timer_expired() (nullopt: none is coming, cancel the timer); called early,
// timer_expired() only asks again for the same time. A timer that fires late by several
// periods gives one interrupt, not a burst. Nothing is armed while the line is high: the next
// interrupt waits for the guest to read register C, so a guest cannot make the VMM spin faster
// than the rate it programmed (at most 8192 Hz) nor while it ignores the interrupt.
//
// Threads: one mutex guards the state; the line and the timer hook are called with it held, so
// the hook must not call back into the CmosRtc (it only arms a timer).
class CmosRtc final : public BusDevice, public Stateful {
 public:
  using Clock = std::function<std::time_t()>;        // UTC, whole seconds since the epoch
  using WallClock = std::function<int64_t()>;        // UTC, ns since the epoch
  using MonotonicClock = std::function<uint64_t()>;  // ns, CLOCK_MONOTONIC-like
  using TimerHook = std::function<void(std::optional<uint64_t> deadline_ns)>;
  static constexpr uint16_t kDefaultBase = 0x70;

  // The host's current UTC time, in seconds and in ns since the epoch.
  static std::time_t realtime();
  static int64_t realtime_ns();
  // CLOCK_MONOTONIC in ns (std::chrono::steady_clock), the clock a timerfd can be armed on.
  static uint64_t monotonic_ns();

  // Without interrupts: the flags in register C still rise for a guest that polls them.
  // The first follows the host's clocks to the ns (UIP included); the second takes all time,
  // the periodic flag's included, from `now` in whole seconds, so UIP never shows.
  CmosRtc();
  explicit CmosRtc(Clock now, uint16_t base = kDefaultBase);
  // With interrupts on `irq` (ISA IRQ 8) and timers through `timer_hook`.
  CmosRtc(IrqLine& irq, TimerHook timer_hook, MonotonicClock monotonic = monotonic_ns,
          WallClock wall = realtime_ns, uint16_t base = kDefaultBase);
  CmosRtc(const CmosRtc&) = delete;
  CmosRtc& operator=(const CmosRtc&) = delete;

  // Joins the port bus at [base, base + 2), byte-wide.
  void attach(Bus& io);

  // The NMI-disable bit of the last index write.
  bool nmi_masked() const;

  // The VMM's timer armed through the hook fired.
  void timer_expired();

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful. The guest clock is saved as its offset from the host's UTC clock, so it goes on
  // with the destination's (NTP-synchronised) clock. The flags are saved caught up with the
  // moment of saving and the periodic divider's phase relative to it, so a periodic interrupt
  // due in 3 ms is due in 3 ms after the load; updates and alarms follow the wall clock. A load
  // sets the IRQ line to the loaded IRQF and re-arms the timer through the timer hook.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  // One sample of both clocks, taken once per access.
  struct Now {
    uint64_t monotonic;
    int64_t wall_ns;
    std::time_t wall_seconds() const;
    uint64_t ns_to_next_second() const;
  };

  // The flags and counters as catch_up would leave them at `now`.
  struct Progress {
    uint8_t flags;
    uint64_t periodic_seen;
    std::time_t last_update;
  };

  CmosRtc(IrqLine* irq, TimerHook timer_hook, MonotonicClock monotonic, WallClock wall,
          uint16_t base);
  Now sample() const;

  uint8_t read_register(uint8_t index, const Now& now);
  void write_register(uint8_t index, uint8_t value, const Now& now);
  void write_register_a(uint8_t value, const Now& now);
  void write_register_b(uint8_t value, const Now& now);
  void write_time_field(uint8_t index, uint8_t value, const Now& now);
  std::tm guest_time(const Now& now) const;
  uint8_t time_register(uint8_t index, const std::tm& time) const;
  uint8_t encode_hours(int hour) const;
  uint8_t encode(int value) const;
  int decode(uint8_t value) const;
  bool update_in_progress(const Now& now) const;

  // Interrupts: the flags catch up with the clocks, then the line and the timer follow them.
  bool updates_running() const;
  uint32_t periodic_ticks() const;
  uint64_t periodic_edges(uint64_t monotonic) const;
  uint64_t periodic_edge_time(uint64_t edge) const;
  void restart_periodic(const Now& now);
  Progress caught_up(const Now& now) const;
  void catch_up(const Now& now);
  bool alarm_due(std::time_t from_host, std::time_t to_host) const;
  std::optional<int> seconds_to_alarm(std::time_t guest_seconds) const;
  bool irqf() const;
  std::optional<uint64_t> next_deadline(const Now& now) const;
  void settle(const Now& now, bool timer_spent);

  const uint16_t base_;
  IrqLine* const irq_;  // null: no interrupts
  const TimerHook timer_hook_;
  const MonotonicClock monotonic_;
  const WallClock wall_;

  mutable std::mutex mutex_;  // guards everything below
  std::array<uint8_t, 128> ram_{};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  std::time_t guest_offset_ = 0;   // guest time minus host time, seconds
  std::optional<std::tm> frozen_;  // the guest's time while SET is 1
  uint8_t flags_ = 0;              // register C's PF, AF, UF
  std::time_t last_update_ = 0;    // the host second the flags have caught up with
  uint64_t periodic_start_ = 0;    // monotonic time of periodic edge 0
  uint64_t periodic_seen_ = 0;     // periodic edges the flags have caught up with
  bool line_level_ = false;
  std::optional<uint64_t> deadline_;  // as last given to the timer hook
};

}  // namespace kagami
