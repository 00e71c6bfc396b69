// ACPI PM registers: write-1-to-clear status, enables, the PM timer, soft-off and the SCI level.
#include "acpi_pm.hpp"

#include <utility>

#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint16_t kPm1EnableBits = AcpiPm::kTmrEn | AcpiPm::kGblEn | AcpiPm::kPwrbtnEn |
                                    AcpiPm::kSlpbtnEn | AcpiPm::kRtcEn | AcpiPm::kPciexpWakeDis;
// The enable bits that gate an SCI (PCIEXP_WAKE_DIS disables a wake event instead).
constexpr uint16_t kPm1SciBits =
    AcpiPm::kTmrEn | AcpiPm::kGblEn | AcpiPm::kPwrbtnEn | AcpiPm::kSlpbtnEn | AcpiPm::kRtcEn;
// PM1 control bits that read back as written; SCI_EN reads 1 regardless.
constexpr uint16_t kPm1ControlKept = AcpiPm::kBmRld | AcpiPm::kSlpTypMask;

constexpr unsigned kTimerStatusShift = 23;  // TMR_STS: bit 23 of the timer changed
constexpr unsigned kGpeCount = 16;

uint64_t block_size(bool is_control) {
  return is_control ? 2 : 4;
}

}  // namespace

std::chrono::nanoseconds AcpiPm::monotonic() {
  return std::chrono::steady_clock::now().time_since_epoch();
}

AcpiPm::AcpiPm(IrqLine& sci, std::function<void()> on_power_off, Clock clock, Ports ports,
               uint8_t s5_sleep_type)
    : sci_(sci),
      on_power_off_(std::move(on_power_off)),
      clock_(std::move(clock)),
      ports_(ports),
      s5_sleep_type_(s5_sleep_type),
      start_(clock_()) {}

void AcpiPm::attach(Bus& io) {
  io.add(ports_.pm1a_event, 4, pm1_event_, kAnyWidth, "acpi pm1a_evt");
  io.add(ports_.pm1a_control, 2, pm1_control_, kAnyWidth, "acpi pm1a_cnt");
  io.add(ports_.pm_timer, 4, timer_, kAnyWidth, "acpi pm_tmr");
  io.add(ports_.gpe0, 4, gpe0_, kAnyWidth, "acpi gpe0");
}

void AcpiPm::press_power_button() {
  std::lock_guard lock(mutex_);
  pm1_status_ |= kPwrbtnSts;
  update_sci();
}

bool AcpiPm::power_button_enabled() const {
  std::lock_guard lock(mutex_);
  return pm1_enable_ & kPwrbtnEn;
}

void AcpiPm::raise_gpe(unsigned gpe) {
  if (gpe >= kGpeCount) return;
  std::lock_guard lock(mutex_);
  gpe0_status_ |= static_cast<uint16_t>(1u << gpe);
  update_sci();
}

bool AcpiPm::sci_asserted() const {
  std::lock_guard lock(mutex_);
  return sci_level_;
}

uint32_t AcpiPm::timer() const {
  std::lock_guard lock(mutex_);
  return static_cast<uint32_t>(ticks() & kTimerMask);
}

void AcpiPm::Block::read(uint64_t offset, std::span<uint8_t> data) {
  pm_.read_block(kind_, offset, data);
}

void AcpiPm::Block::write(uint64_t offset, std::span<const uint8_t> data) {
  pm_.write_block(kind_, offset, data);
}

// Bytes outside the block (the bus never sends them) read as all ones, like unassigned ports.
void AcpiPm::read_block(BlockKind kind, uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint32_t image = block_image(kind);
  uint64_t size = block_size(kind == BlockKind::kPm1Control);
  for (size_t i = 0; i < data.size(); ++i) {
    uint64_t at = offset + i;
    data[i] = at < size ? static_cast<uint8_t>(image >> (8 * at)) : 0xff;
  }
  update_sci();  // the timer may have set TMR_STS since the last access
}

void AcpiPm::write_block(BlockKind kind, uint64_t offset, std::span<const uint8_t> data) {
  uint32_t value = 0, mask = 0;
  uint64_t size = block_size(kind == BlockKind::kPm1Control);
  for (size_t i = 0; i < data.size(); ++i) {
    uint64_t at = offset + i;
    if (at >= size) continue;
    value |= uint32_t{data[i]} << (8 * at);
    mask |= uint32_t{0xff} << (8 * at);
  }
  bool power_off;
  {
    std::lock_guard lock(mutex_);
    power_off = apply_write(kind, value, mask);
    update_sci();
  }
  if (power_off && on_power_off_) on_power_off_();
}

uint32_t AcpiPm::block_image(BlockKind kind) const {
  switch (kind) {
    case BlockKind::kPm1Event: return pm1_status() | uint32_t{pm1_enable_} << 16;
    case BlockKind::kPm1Control: return pm1_control_value_ | kSciEn;
    case BlockKind::kTimer: return static_cast<uint32_t>(ticks() & kTimerMask);
    case BlockKind::kGpe0: return gpe0_status_ | uint32_t{gpe0_enable_} << 16;
  }
  return 0;
}

bool AcpiPm::apply_write(BlockKind kind, uint32_t value, uint32_t mask) {
  uint16_t low = static_cast<uint16_t>(value & mask), low_mask = static_cast<uint16_t>(mask);
  uint16_t high = static_cast<uint16_t>((value & mask) >> 16);
  uint16_t high_mask = static_cast<uint16_t>(mask >> 16);
  switch (kind) {
    case BlockKind::kPm1Event:
      if (low & kTmrSts) timer_epoch_ = ticks() >> kTimerStatusShift;
      pm1_status_ &= static_cast<uint16_t>(~low);
      pm1_enable_ = static_cast<uint16_t>((pm1_enable_ & ~high_mask) | (high & kPm1EnableBits));
      return false;
    case BlockKind::kPm1Control: return write_control(low, low_mask);
    case BlockKind::kTimer: return false;  // read-only
    case BlockKind::kGpe0:
      gpe0_status_ &= static_cast<uint16_t>(~low);
      gpe0_enable_ = static_cast<uint16_t>((gpe0_enable_ & ~high_mask) | high);
      return false;
  }
  return false;
}

// SLP_EN starts the transition to the sleep state in SLP_TYP (as written by the same access);
// only soft-off exists on this machine, so other types are ignored. SLP_EN reads back 0.
bool AcpiPm::write_control(uint16_t value, uint16_t mask) {
  uint16_t kept_mask = mask & kPm1ControlKept;
  pm1_control_value_ =
      static_cast<uint16_t>((pm1_control_value_ & ~kept_mask) | (value & kept_mask));
  if (!(value & kSlpEn)) return false;
  unsigned sleep_type = (pm1_control_value_ & kSlpTypMask) >> kSlpTypShift;
  return sleep_type == s5_sleep_type_;
}

// Ticks of the 3.579545 MHz clock since the device was made. A clock that goes backwards (a
// test's fake clock, never steady_clock) holds the timer rather than wrapping it.
uint64_t AcpiPm::ticks() const {
  auto elapsed = clock_() - start_;
  if (elapsed.count() <= 0) return 0;
  unsigned __int128 scaled = static_cast<unsigned __int128>(elapsed.count()) * kTimerHz;
  return static_cast<uint64_t>(scaled / 1'000'000'000);
}

uint16_t AcpiPm::pm1_status() const {
  bool timer_carry = (ticks() >> kTimerStatusShift) != timer_epoch_;
  return pm1_status_ | (timer_carry ? kTmrSts : 0);
}

void AcpiPm::update_sci() {
  bool level = (pm1_status() & pm1_enable_ & kPm1SciBits) || (gpe0_status_ & gpe0_enable_);
  if (level == sci_level_) return;
  sci_level_ = level;
  sci_.set_level(level);
}

namespace {

// 2^62 ns is 146 years: far beyond any uptime, far from overflowing.
constexpr uint64_t kMaxElapsedNs = uint64_t{1} << 62;
constexpr uint16_t kComputedStatus = AcpiPm::kTmrSts;

}  // namespace

void AcpiPm::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  auto elapsed = (clock_() - start_).count();
  out.u16("pm1-status", pm1_status_);
  out.u16("pm1-enable", pm1_enable_);
  out.u16("pm1-control", pm1_control_value_);
  out.u64("timer-ns", elapsed > 0 ? static_cast<uint64_t>(elapsed) : 0);
  out.u64("timer-epoch", timer_epoch_);
  out.u16("gpe0-status", gpe0_status_);
  out.u16("gpe0-enable", gpe0_enable_);
}

void AcpiPm::load_state(const StateReader& in) {
  using state_fields::require;
  uint16_t pm1_status = in.u16("pm1-status");
  require(!(pm1_status & kComputedStatus), in, "pm1-status", "TMR_STS is computed, not kept");
  uint16_t pm1_enable = in.u16("pm1-enable");
  require(!(pm1_enable & ~kPm1EnableBits), in, "pm1-enable", "bits that are not enables");
  uint16_t pm1_control = in.u16("pm1-control");
  require(!(pm1_control & ~kPm1ControlKept), in, "pm1-control", "bits that read back 0");
  uint64_t elapsed = state_fields::u64_max(in, "timer-ns", kMaxElapsedNs);
  uint64_t elapsed_ticks =
      static_cast<uint64_t>(static_cast<unsigned __int128>(elapsed) * kTimerHz / 1'000'000'000);
  uint64_t epoch = state_fields::u64_max(in, "timer-epoch", elapsed_ticks >> kTimerStatusShift);
  uint16_t gpe0_status = in.u16("gpe0-status");
  uint16_t gpe0_enable = in.u16("gpe0-enable");

  std::lock_guard lock(mutex_);
  start_ = clock_() - std::chrono::nanoseconds(elapsed);
  pm1_status_ = pm1_status;
  pm1_enable_ = pm1_enable;
  pm1_control_value_ = pm1_control;
  timer_epoch_ = epoch;
  gpe0_status_ = gpe0_status;
  gpe0_enable_ = gpe0_enable;
  update_sci();
}

}  // namespace kagami
