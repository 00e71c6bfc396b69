// 8254 PIT at ports 0x40-0x43: three counters at 1.193182 MHz, channel 0's OUT on ISA IRQ 0.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "irqchip/pit_channel.hpp"
#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Ports: 0x40-0x42 the counters' data, 0x43 the control word (counter select, RW mode, mode,
// BCD; RW = 00 latches the count; select = 11 is the read-back command). The control port reads
// 0, as in QEMU. Counter behaviour is described in pit_channel.hpp.
//
// Time comes only from the injected clock (ns, monotonic). The model never waits: whenever
// channel 0's next rising OUT edge changes, it calls the timer hook with the absolute clock time
// at which the VMM must call timer_expired() (nullopt: no interrupt is coming, cancel the
// timer). timer_expired() at or after that time raises IRQ 0 (a low-to-high edge on the line)
// and asks for the next deadline; called early, it only re-asks for the same deadline. When the
// VMM is late by several periods the guest gets one interrupt, not a burst (the guest's clock
// does not count PIT interrupts: Linux uses the TSC or kvm-clock). Periodic modes raise IRQ 0
// at most once per kMinPeriodNs (200 us, as KVM's in-kernel PIT), so a guest asking for a
// 1-clock period cannot make the VMM spin; counts read back are unaffected.
//
// The IRQ 0 line follows OUT when the guest programs channel 0 and at each deadline; the
// one-clock low pulses of modes 2 and 4, and mode 3's low half, are folded into the edge made
// at the deadline.
//
// Threads: one mutex guards the counters; IRQ 0 and the timer hook are called with it held, so
// the hook must not call back into the I8254 (it only arms a timer, e.g. a timerfd).
class I8254 final : public BusDevice, public Stateful {
 public:
  using Clock = std::function<uint64_t()>;
  using TimerHook = std::function<void(std::optional<uint64_t> deadline_ns)>;
  static constexpr uint16_t kDefaultBase = 0x40;
  static constexpr unsigned kChannels = 3;
  static constexpr uint64_t kFrequencyHz = irqchip::PitChannel::kFrequencyHz;
  static constexpr uint64_t kMinPeriodNs = 200'000;

  // CLOCK_MONOTONIC in ns (std::chrono::steady_clock), the clock a timerfd can be armed on.
  static uint64_t monotonic_ns();

  // At reset every counter waits for a mode and count (the state before a BIOS programs the
  // chip is undefined, and kagami boots without one), so nothing is armed yet.
  I8254(IrqLine& irq0, TimerHook timer_hook, Clock now_ns = monotonic_ns);
  I8254(const I8254&) = delete;
  I8254& operator=(const I8254&) = delete;

  // Back to the reset state (for a guest reboot): every counter waits for a mode and count,
  // channel 2's gate is low, the timer is cancelled and IRQ 0 falls.
  void reset();

  // Joins the port bus at [0x40, 0x44), byte-wide. Inline so that this library does not
  // depend on kagami_devices, which links it.
  void attach(Bus& io) { io.add(kDefaultBase, 4, *this, kWidth1, "pit"); }

  // The VMM's timer armed through the hook fired.
  void timer_expired();

  // The gate input of a channel (port 0x61 drives channel 2's; 0 and 1 are wired high) and
  // the OUT pin of a channel now. Throw std::out_of_range for channels other than 0..2.
  void set_gate(unsigned channel, bool level);
  bool output(unsigned channel) const;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the three counters (times relative to the moment of saving), IRQ 0's level and
  // the pending deadline, as "due in N ns". A load drives IRQ 0 to the saved level when it
  // differs and re-arms the timer through the timer hook; an interrupt that was due but not yet
  // raised when the state was saved is raised when that timer fires.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  uint8_t read_port(uint64_t port, uint64_t now);
  void write_port(uint64_t port, uint8_t value, uint64_t now);
  void write_control(uint8_t value, uint64_t now);
  void fire_if_due(uint64_t now);
  void channel0_changed(uint64_t now);
  static void check_channel(unsigned channel);

  IrqLine& irq0_;
  const TimerHook timer_hook_;
  const Clock now_;

  mutable std::mutex mutex_;  // guards everything below
  std::array<irqchip::PitChannel, kChannels> channels_{
      irqchip::PitChannel(true), irqchip::PitChannel(true), irqchip::PitChannel(false)};
  std::optional<uint64_t> deadline_;  // as last given to the timer hook
  bool irq0_level_ = false;
};

}  // namespace kagami
