// ACPI fixed-hardware PM registers: PM1 event and control, the PM timer, GPE0, and the SCI.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Where the blocks sit on the port bus (the FADT's PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK and
// GPE0_BLK).
struct AcpiPmPorts {
  uint16_t pm1a_event = 0x600;
  uint16_t pm1a_control = 0x604;
  uint16_t pm_timer = 0x608;
  uint16_t gpe0 = 0x620;
};

// The PM register blocks the FADT points at (ACPI 6.3 section 4.8), as a set of port devices:
//
//   PM1a_EVT  4 bytes: PM1 status (16 bits, write 1 to clear) and PM1 enable (16 bits)
//   PM1a_CNT  2 bytes: SCI_EN reads 1 (no SMM, always in ACPI mode), SLP_TYP kept, SLP_EN and
//                      GBL_RLS write-only; SLP_EN with SLP_TYP = the \_S5 value powers off
//   PM_TMR    4 bytes: 24-bit free-running counter at 3.579545 MHz, read-only
//   GPE0      4 bytes: GPE0 status (16 bits, write 1 to clear) and GPE0 enable (16 bits)
//
// Status bits: TMR_STS (bit 0) is set each time bit 23 of the timer changes; PWRBTN_STS (bit 8)
// by press_power_button(); WAK_STS and the rest never (there is no sleep state to wake from).
// Enable bits kept: TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN, PCIEXP_WAKE_DIS.
// The SCI is a level: asserted while any PM1 status bit is set together with its enable bit,
// or any GPE0 status bit with its enable bit. The timer's status is computed when read, so an
// SCI from TMR_EN is only raised at the next access to the PM registers (Linux never sets
// TMR_EN: it reads the timer as a clocksource).
//
// Accesses of any width are accepted at any offset within a block, byte by byte little-endian
// (a write that covers a register partially changes only the bytes it covers).
//
// Threads: one mutex guards the state; the SCI IrqLine is driven with it held (it must not call
// back into this device), the power-off callback is called after it is released, on the vCPU
// thread that wrote SLP_EN.
class AcpiPm final : public Stateful {
 public:
  using Clock = std::function<std::chrono::nanoseconds()>;  // a monotonic time
  static std::chrono::nanoseconds monotonic();

  static constexpr uint64_t kTimerHz = 3'579'545;
  static constexpr uint32_t kTimerMask = 0xffffff;  // 24 bits (FADT TMR_VAL_EXT = 0)

  using Ports = AcpiPmPorts;

  // PM1 status/enable bits.
  static constexpr uint16_t kTmrSts = 1u << 0, kBmSts = 1u << 4, kGblSts = 1u << 5,
                            kPwrbtnSts = 1u << 8, kSlpbtnSts = 1u << 9, kRtcSts = 1u << 10,
                            kPciexpWakeSts = 1u << 14, kWakSts = 1u << 15;
  static constexpr uint16_t kTmrEn = 1u << 0, kGblEn = 1u << 5, kPwrbtnEn = 1u << 8,
                            kSlpbtnEn = 1u << 9, kRtcEn = 1u << 10, kPciexpWakeDis = 1u << 14;
  // PM1 control bits.
  static constexpr uint16_t kSciEn = 1u << 0, kBmRld = 1u << 1, kGblRls = 1u << 2,
                            kSlpTypShift = 10, kSlpTypMask = 7u << kSlpTypShift, kSlpEn = 1u << 13;

  // s5_sleep_type is the SLP_TYP value of the DSDT's \_S5 package.
  AcpiPm(IrqLine& sci, std::function<void()> on_power_off, Clock clock = monotonic,
         Ports ports = {}, uint8_t s5_sleep_type = 5);
  AcpiPm(const AcpiPm&) = delete;
  AcpiPm& operator=(const AcpiPm&) = delete;

  // Joins the port bus: the four blocks at their ports, every width. Throws as Bus::add does.
  void attach(Bus& io);

  // The fixed-feature power button: sets PWRBTN_STS, which raises the SCI if the guest enabled
  // PWRBTN_EN (Linux's button driver does, and then shuts down cleanly).
  void press_power_button();
  bool power_button_enabled() const;

  // Sets GPE0 status bit `gpe` (0..15; others are ignored), for future hotplug events.
  void raise_gpe(unsigned gpe);

  bool sci_asserted() const;
  uint32_t timer() const;  // the PM timer's value now

  // Stateful: PM1 status, enable and control, GPE0, and the PM timer as the time elapsed on it
  // at the moment of saving (the timer goes on from its saved value). A load drives the SCI to
  // the loaded level when it differs.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  enum class BlockKind { kPm1Event, kPm1Control, kTimer, kGpe0 };
  class Block final : public BusDevice {
   public:
    Block(AcpiPm& pm, BlockKind kind) : pm_(pm), kind_(kind) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    AcpiPm& pm_;
    const BlockKind kind_;
  };

  void read_block(BlockKind kind, uint64_t offset, std::span<uint8_t> data);
  void write_block(BlockKind kind, uint64_t offset, std::span<const uint8_t> data);
  uint32_t block_image(BlockKind kind) const;
  // Applies a write of `value` to the bytes of the block selected by `mask`; returns true when
  // it asks for soft-off.
  bool apply_write(BlockKind kind, uint32_t value, uint32_t mask);
  bool write_control(uint16_t value, uint16_t mask);
  uint64_t ticks() const;
  uint16_t pm1_status() const;
  void update_sci();

  IrqLine& sci_;
  const std::function<void()> on_power_off_;
  const Clock clock_;
  const Ports ports_;
  const uint8_t s5_sleep_type_;
  Block pm1_event_{*this, BlockKind::kPm1Event};
  Block pm1_control_{*this, BlockKind::kPm1Control};
  Block timer_{*this, BlockKind::kTimer};
  Block gpe0_{*this, BlockKind::kGpe0};

  mutable std::mutex mutex_;        // guards everything below
  std::chrono::nanoseconds start_;  // when the timer read 0 (moved by a load)
  uint16_t pm1_status_ = 0;         // without TMR_STS, which is computed
  uint16_t pm1_enable_ = 0;
  uint16_t pm1_control_value_ = 0;
  uint64_t timer_epoch_ = 0;  // ticks >> 23 when TMR_STS was last cleared
  uint16_t gpe0_status_ = 0;
  uint16_t gpe0_enable_ = 0;
  bool sci_level_ = false;
};

}  // namespace kagami
