// CMOS RTC: time registers derived from the host clock, SET-bit updates, plain CMOS RAM.
#include "cmos_rtc.hpp"

#include <chrono>
#include <utility>

namespace kagami {
namespace {

constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kWeekday = 0x06, kDay = 0x07,
                  kMonth = 0x08, kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c,
                  kRegD = 0x0d, kCentury = 0x32;

constexpr uint8_t kRegAUip = 0x80, kRegADividerMask = 0x70, kRegADividerNormal = 0x20;
constexpr uint8_t kRegBSet = 0x80, kRegBUpdateIrq = 0x10, kRegBBinary = 0x04, kRegB24h = 0x02;
constexpr uint8_t kRegDValid = 0x80;
constexpr uint8_t kHoursPm = 0x80;

constexpr uint8_t kIndexMask = 0x7f, kIndexNmiMask = 0x80;

// The MC146818 raises UIP 244 us before the registers change, and keeps it for the update.
constexpr std::chrono::microseconds kUipWindow{244};

bool is_time_register(uint8_t index) {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kWeekday:
    case kDay:
    case kMonth:
    case kYear:
    case kCentury: return true;
    default: return false;
  }
}

}  // namespace

std::time_t CmosRtc::realtime() {
  return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
}

CmosRtc::CmosRtc(Clock now, uint16_t base) : base_(base), now_(std::move(now)) {
  ram_[kRegA] = kRegADividerNormal | 0x06;  // 32.768 kHz time base, 1024 Hz periodic rate
  ram_[kRegB] = kRegB24h;                   // BCD, 24-hour, no interrupts
}

void CmosRtc::attach(Bus& io) {
  io.add(base_, 2, *this, kWidth1, "cmos rtc");
}

bool CmosRtc::nmi_masked() const {
  std::lock_guard lock(mutex_);
  return nmi_masked_;
}

// The index port is write-only; reading it returns all ones, as in QEMU.
void CmosRtc::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t& byte : data) byte = offset == 0 ? 0xff : read_register(index_);
}

void CmosRtc::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t value : data) {
    if (offset == 0) {
      index_ = value & kIndexMask;
      nmi_masked_ = value & kIndexNmiMask;
    } else {
      write_register(index_, value);
    }
  }
}

uint8_t CmosRtc::read_register(uint8_t index) const {
  if (is_time_register(index)) return time_register(index, guest_time());
  switch (index) {
    case kRegA: return static_cast<uint8_t>(ram_[kRegA] | (update_in_progress() ? kRegAUip : 0));
    case kRegC: return 0;
    case kRegD: return kRegDValid;
    default: return ram_[index];
  }
}

void CmosRtc::write_register(uint8_t index, uint8_t value) {
  if (is_time_register(index)) return write_time_field(index, value);
  switch (index) {
    case kRegA: ram_[kRegA] = value & ~kRegAUip; break;
    case kRegB: write_register_b(value); break;
    case kRegC:
    case kRegD: break;  // read-only
    default: ram_[index] = value; break;
  }
}

// SET freezes the clock at the current guest time; clearing it restarts the clock from what
// the guest wrote meanwhile. Like the MC146818, setting SET also clears the update interrupt.
void CmosRtc::write_register_b(uint8_t value) {
  bool was_set = ram_[kRegB] & kRegBSet;
  bool set = value & kRegBSet;
  if (set && !was_set) frozen_ = guest_time();
  if (!set && was_set) {
    std::tm time = *frozen_;
    guest_offset_ = timegm(&time) - now_();
    frozen_.reset();
  }
  if (set) value &= ~kRegBUpdateIrq;
  ram_[kRegB] = value;
}

void CmosRtc::write_time_field(uint8_t index, uint8_t value) {
  std::tm time = guest_time();
  int year = time.tm_year + 1900;
  switch (index) {
    case kSeconds: time.tm_sec = decode(value); break;
    case kMinutes: time.tm_min = decode(value); break;
    case kHours:
      if (ram_[kRegB] & kRegB24h) {
        time.tm_hour = decode(value);
      } else {
        time.tm_hour = decode(value & ~kHoursPm) % 12 + ((value & kHoursPm) ? 12 : 0);
      }
      break;
    case kWeekday: time.tm_wday = decode(value) - 1; break;
    case kDay: time.tm_mday = decode(value); break;
    case kMonth: time.tm_mon = decode(value) - 1; break;
    case kYear: time.tm_year = year / 100 * 100 + decode(value) - 1900; break;
    case kCentury: time.tm_year = decode(value) * 100 + year % 100 - 1900; break;
  }
  if (frozen_) {
    *frozen_ = time;
  } else {
    guest_offset_ = timegm(&time) - now_();
  }
}

std::tm CmosRtc::guest_time() const {
  if (frozen_) return *frozen_;
  std::time_t seconds = now_() + guest_offset_;
  std::tm time{};
  gmtime_r(&seconds, &time);
  return time;
}

uint8_t CmosRtc::time_register(uint8_t index, const std::tm& time) const {
  int year = time.tm_year + 1900;
  switch (index) {
    case kSeconds: return encode(time.tm_sec);
    case kMinutes: return encode(time.tm_min);
    case kHours:
      if (ram_[kRegB] & kRegB24h) return encode(time.tm_hour);
      return static_cast<uint8_t>(encode(time.tm_hour % 12 == 0 ? 12 : time.tm_hour % 12) |
                                  (time.tm_hour >= 12 ? kHoursPm : 0));
    case kWeekday: return encode(time.tm_wday + 1);  // Sunday = 1
    case kDay: return encode(time.tm_mday);
    case kMonth: return encode(time.tm_mon + 1);
    case kYear: return encode(year % 100);
    case kCentury: return encode(year / 100);
    default: return 0;
  }
}

uint8_t CmosRtc::encode(int value) const {
  if (ram_[kRegB] & kRegBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>((value / 10 % 10) << 4 | value % 10);
}

int CmosRtc::decode(uint8_t value) const {
  if (ram_[kRegB] & kRegBBinary) return value;
  return (value >> 4) * 10 + (value & 0x0f);
}

bool CmosRtc::update_in_progress() const {
  if (frozen_ || (ram_[kRegA] & kRegADividerMask) != kRegADividerNormal) return false;
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  auto into_second = since_epoch - std::chrono::floor<std::chrono::seconds>(since_epoch);
  return into_second >= std::chrono::seconds(1) - kUipWindow;
}

}  // namespace kagami
