// MC146818-style CMOS RTC: index port 0x70 (bit 7 = NMI mask), data port 0x71, 128 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "kagami/bus.hpp"

namespace kagami {

// Time registers are computed at read time from the host's UTC clock plus the offset the guest
// set, in BCD unless register B bit 2 (binary) is set, in 24-hour form when register B bit 1
// is set (the default) and otherwise 12-hour with bit 7 = PM. While register B SET (bit 7) is
// 1 the clock is frozen and the guest's writes change the frozen time; clearing SET restarts
// the clock from it. A time register written while the clock runs moves the clock the same way.
// Register A bit 7 (UIP) is set in the last 244 us of each second of the host's real clock,
// when the divider runs (bits 6..4 = 010) and SET is clear. Register C reads 0 (no interrupts
// are generated yet), register D reads 0x80 (valid RAM and time). Everything else, including
// the alarm registers, is plain CMOS RAM. The NMI mask bit is kept but not acted on.
class CmosRtc final : public BusDevice {
 public:
  using Clock = std::function<std::time_t()>;
  static constexpr uint16_t kDefaultBase = 0x70;

  // The host's current UTC time, in seconds since the epoch.
  static std::time_t realtime();

  explicit CmosRtc(Clock now = realtime, uint16_t base = kDefaultBase);

  // Joins the port bus at [base, base + 2), byte-wide.
  void attach(Bus& io);

  // The NMI-disable bit of the last index write.
  bool nmi_masked() const;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint8_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint8_t value);
  void write_register_b(uint8_t value);
  void write_time_field(uint8_t index, uint8_t value);
  std::tm guest_time() const;
  uint8_t time_register(uint8_t index, const std::tm& time) const;
  uint8_t encode(int value) const;
  int decode(uint8_t value) const;
  bool update_in_progress() const;

  const uint16_t base_;
  const Clock now_;
  mutable std::mutex mutex_;  // guards everything below
  std::array<uint8_t, 128> ram_{};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  std::time_t guest_offset_ = 0;   // guest time minus host time, seconds
  std::optional<std::tm> frozen_;  // the guest's time while SET is 1
};

}  // namespace kagami
