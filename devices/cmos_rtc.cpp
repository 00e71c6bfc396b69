// CMOS RTC: time registers from the host clock, SET-bit updates, CMOS RAM, and its interrupts.
#include "cmos_rtc.hpp"

#include <chrono>
#include <utility>

namespace kagami {
namespace {

constexpr uint8_t kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03,
                  kHours = 0x04, kHoursAlarm = 0x05, kWeekday = 0x06, kDay = 0x07, kMonth = 0x08,
                  kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d,
                  kCentury = 0x32;

constexpr uint8_t kRegAUip = 0x80, kRegADividerMask = 0x70, kRegADividerNormal = 0x20,
                  kRegARateMask = 0x0f;
constexpr uint8_t kRegBSet = 0x80, kRegBUpdateIrq = 0x10, kRegBBinary = 0x04, kRegB24h = 0x02;
// Register C's flags sit at the same bits as their enables in register B.
constexpr uint8_t kRegCIrqf = 0x80, kRegCPeriodic = 0x40, kRegCAlarm = 0x20, kRegCUpdate = 0x10,
                  kRegCFlags = kRegCPeriodic | kRegCAlarm | kRegCUpdate;
constexpr uint8_t kRegDValid = 0x80;
constexpr uint8_t kHoursPm = 0x80;
constexpr uint8_t kAlarmDontCare = 0xc0;

constexpr uint8_t kIndexMask = 0x7f, kIndexNmiMask = 0x80;

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kTimeBaseHz = 32768;
constexpr int kSecondsPerDay = 86400, kMinutesPerDay = 1440;

// The MC146818 raises UIP 244 us before the registers change, and keeps it for the update.
constexpr int64_t kUipWindowNs = 244'000;

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

// The 32.768 kHz time base: whole ticks in `ns`, and the first ns by which `ticks` have passed.
// Split at whole seconds so that neither product overflows.
uint64_t ticks_in(uint64_t ns) {
  uint64_t second = kNsPerSecond;
  return ns / second * kTimeBaseHz + ns % second * kTimeBaseHz / second;
}
uint64_t ns_of_ticks(uint64_t ticks) {
  uint64_t second = kNsPerSecond;
  return ticks / kTimeBaseHz * second +
         (ticks % kTimeBaseHz * second + kTimeBaseHz - 1) / kTimeBaseHz;
}

bool alarm_matches(uint8_t alarm, uint8_t current) {
  return (alarm & kAlarmDontCare) == kAlarmDontCare || alarm == current;
}

}  // namespace

std::time_t CmosRtc::Now::wall_seconds() const {
  std::time_t seconds = wall_ns / kNsPerSecond;
  return wall_ns % kNsPerSecond < 0 ? seconds - 1 : seconds;
}

uint64_t CmosRtc::Now::ns_to_next_second() const {
  int64_t into = wall_ns % kNsPerSecond;
  if (into < 0) into += kNsPerSecond;
  return static_cast<uint64_t>(kNsPerSecond - into);
}

std::time_t CmosRtc::realtime() {
  return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
}

int64_t CmosRtc::realtime_ns() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
}

uint64_t CmosRtc::monotonic_ns() {
  auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

CmosRtc::CmosRtc() : CmosRtc(nullptr, {}, monotonic_ns, realtime_ns, kDefaultBase) {}

// Both clocks come from `now`, so that nothing moves while a test's clock stands still.
CmosRtc::CmosRtc(Clock now, uint16_t base)
    : CmosRtc(
          nullptr, {}, [now] { return static_cast<uint64_t>(now()) * kNsPerSecond; },
          [now] { return static_cast<int64_t>(now()) * kNsPerSecond; }, base) {}

CmosRtc::CmosRtc(IrqLine& irq, TimerHook timer_hook, MonotonicClock monotonic, WallClock wall,
                 uint16_t base)
    : CmosRtc(&irq, std::move(timer_hook), std::move(monotonic), std::move(wall), base) {}

CmosRtc::CmosRtc(IrqLine* irq, TimerHook timer_hook, MonotonicClock monotonic, WallClock wall,
                 uint16_t base)
    : base_(base),
      irq_(irq),
      timer_hook_(std::move(timer_hook)),
      monotonic_(std::move(monotonic)),
      wall_(std::move(wall)) {
  ram_[kRegA] = kRegADividerNormal | 0x06;  // 32.768 kHz time base, 1024 Hz periodic rate
  ram_[kRegB] = kRegB24h;                   // BCD, 24-hour, no interrupts
  Now now = sample();
  last_update_ = now.wall_seconds();
  restart_periodic(now);
}

void CmosRtc::attach(Bus& io) {
  io.add(base_, 2, *this, kWidth1, "cmos rtc");
}

bool CmosRtc::nmi_masked() const {
  std::lock_guard lock(mutex_);
  return nmi_masked_;
}

CmosRtc::Now CmosRtc::sample() const {
  return {monotonic_(), wall_()};
}

void CmosRtc::timer_expired() {
  std::lock_guard lock(mutex_);
  Now now = sample();
  catch_up(now);
  settle(now, true);
}

// The index port is write-only; reading it returns all ones, as in QEMU.
void CmosRtc::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  Now now = sample();
  catch_up(now);
  for (uint8_t& byte : data) byte = offset == 0 ? 0xff : read_register(index_, now);
  settle(now, false);
}

void CmosRtc::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  Now now = sample();
  catch_up(now);  // an event due before this write happened before it
  for (uint8_t value : data) {
    if (offset == 0) {
      index_ = value & kIndexMask;
      nmi_masked_ = value & kIndexNmiMask;
    } else {
      write_register(index_, value, now);
    }
  }
  settle(now, false);
}

uint8_t CmosRtc::read_register(uint8_t index, const Now& now) {
  if (is_time_register(index)) return time_register(index, guest_time(now));
  switch (index) {
    case kRegA: return static_cast<uint8_t>(ram_[kRegA] | (update_in_progress(now) ? kRegAUip : 0));
    case kRegC: {
      auto value = static_cast<uint8_t>(flags_ | (irqf() ? kRegCIrqf : 0));
      flags_ = 0;
      return value;
    }
    case kRegD: return kRegDValid;
    default: return ram_[index];
  }
}

void CmosRtc::write_register(uint8_t index, uint8_t value, const Now& now) {
  if (is_time_register(index)) return write_time_field(index, value, now);
  switch (index) {
    case kRegA: write_register_a(value, now); break;
    case kRegB: write_register_b(value, now); break;
    case kRegC:
    case kRegD: break;  // read-only
    default: ram_[index] = value; break;
  }
}

void CmosRtc::write_register_a(uint8_t value, const Now& now) {
  uint8_t old = ram_[kRegA];
  ram_[kRegA] = value & ~kRegAUip;
  if ((old ^ ram_[kRegA]) & kRegADividerMask) periodic_start_ = now.monotonic;
  if ((old ^ ram_[kRegA]) & (kRegADividerMask | kRegARateMask)) restart_periodic(now);
}

// SET freezes the clock at the current guest time; clearing it restarts the clock from what
// the guest wrote meanwhile. Like the MC146818, setting SET also clears the update interrupt.
void CmosRtc::write_register_b(uint8_t value, const Now& now) {
  bool was_set = ram_[kRegB] & kRegBSet;
  bool set = value & kRegBSet;
  if (set && !was_set) frozen_ = guest_time(now);
  if (!set && was_set) {
    std::tm time = *frozen_;
    guest_offset_ = timegm(&time) - now.wall_seconds();
    frozen_.reset();
  }
  if (set) value &= ~kRegBUpdateIrq;
  ram_[kRegB] = value;
}

void CmosRtc::write_time_field(uint8_t index, uint8_t value, const Now& now) {
  std::tm time = guest_time(now);
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
    guest_offset_ = timegm(&time) - now.wall_seconds();
  }
}

std::tm CmosRtc::guest_time(const Now& now) const {
  if (frozen_) return *frozen_;
  std::time_t seconds = now.wall_seconds() + guest_offset_;
  std::tm time{};
  gmtime_r(&seconds, &time);
  return time;
}

uint8_t CmosRtc::time_register(uint8_t index, const std::tm& time) const {
  int year = time.tm_year + 1900;
  switch (index) {
    case kSeconds: return encode(time.tm_sec);
    case kMinutes: return encode(time.tm_min);
    case kHours: return encode_hours(time.tm_hour);
    case kWeekday: return encode(time.tm_wday + 1);  // Sunday = 1
    case kDay: return encode(time.tm_mday);
    case kMonth: return encode(time.tm_mon + 1);
    case kYear: return encode(year % 100);
    case kCentury: return encode(year / 100);
    default: return 0;
  }
}

uint8_t CmosRtc::encode_hours(int hour) const {
  if (ram_[kRegB] & kRegB24h) return encode(hour);
  return static_cast<uint8_t>(encode(hour % 12 == 0 ? 12 : hour % 12) |
                              (hour >= 12 ? kHoursPm : 0));
}

uint8_t CmosRtc::encode(int value) const {
  if (ram_[kRegB] & kRegBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>((value / 10 % 10) << 4 | value % 10);
}

int CmosRtc::decode(uint8_t value) const {
  if (ram_[kRegB] & kRegBBinary) return value;
  return (value >> 4) * 10 + (value & 0x0f);
}

bool CmosRtc::update_in_progress(const Now& now) const {
  if (!updates_running()) return false;
  return now.ns_to_next_second() <= static_cast<uint64_t>(kUipWindowNs);
}

bool CmosRtc::updates_running() const {
  return !(ram_[kRegB] & kRegBSet) && (ram_[kRegA] & kRegADividerMask) == kRegADividerNormal;
}

// The periodic period in time-base ticks, 0 when there is none. Rates 1 and 2 repeat rates 8
// and 9 (256 and 128 Hz), as the MC146818 datasheet's table has it.
uint32_t CmosRtc::periodic_ticks() const {
  if ((ram_[kRegA] & kRegADividerMask) != kRegADividerNormal) return 0;
  unsigned rate = ram_[kRegA] & kRegARateMask;
  if (rate == 0) return 0;
  if (rate <= 2) rate += 7;
  return 1u << (rate - 1);
}

uint64_t CmosRtc::periodic_edges(uint64_t monotonic) const {
  if (monotonic < periodic_start_) return 0;
  return ticks_in(monotonic - periodic_start_) / periodic_ticks();
}

uint64_t CmosRtc::periodic_edge_time(uint64_t edge) const {
  return periodic_start_ + ns_of_ticks(edge * periodic_ticks());
}

// The divider chain keeps its phase across a change of rate (the rate only picks another tap),
// so only the edges still to come under the new rate count.
void CmosRtc::restart_periodic(const Now& now) {
  periodic_seen_ = periodic_ticks() ? periodic_edges(now.monotonic) : 0;
}

// The flags for the events between the last catch-up and now: one PF however many periods
// passed, one UF however many seconds, and AF if any of those seconds matched the alarm.
CmosRtc::Progress CmosRtc::caught_up(const Now& now) const {
  Progress progress{flags_, periodic_seen_, last_update_};
  if (periodic_ticks()) {
    uint64_t edges = periodic_edges(now.monotonic);
    if (edges > periodic_seen_) {
      progress.flags |= kRegCPeriodic;
      progress.periodic_seen = edges;
    }
  }
  std::time_t second = now.wall_seconds();
  if (second == last_update_) return progress;
  if (updates_running()) {
    progress.flags |= kRegCUpdate;
    if (!(flags_ & kRegCAlarm) && alarm_due(last_update_, second)) progress.flags |= kRegCAlarm;
  }
  progress.last_update = second;
  return progress;
}

void CmosRtc::catch_up(const Now& now) {
  Progress progress = caught_up(now);
  flags_ = progress.flags;
  periodic_seen_ = progress.periodic_seen;
  last_update_ = progress.last_update;
}

// Whether an update in the host seconds (from, to] matched the alarm. A host clock stepped
// back makes one update, of the second it now shows.
bool CmosRtc::alarm_due(std::time_t from, std::time_t to) const {
  if (to < from) from = to - 1;
  std::optional<int> wait = seconds_to_alarm(from + guest_offset_);
  return wait && *wait <= to - from;
}

// The seconds from guest time `guest_seconds` to the next one (1 to 86400 s later) whose
// seconds, minutes and hours registers, in the current format, match the alarm registers.
std::optional<int> CmosRtc::seconds_to_alarm(std::time_t guest_seconds) const {
  std::array<bool, 60> minute_ok{};
  std::array<bool, 24> hour_ok{};
  std::array<int, 61> next_second{};  // the first matching second at or after n; 60: none
  next_second[60] = 60;
  for (int n = 59; n >= 0; --n) {
    next_second[n] = alarm_matches(ram_[kSecondsAlarm], encode(n)) ? n : next_second[n + 1];
    minute_ok[n] = alarm_matches(ram_[kMinutesAlarm], encode(n));
  }
  for (int n = 0; n < 24; ++n) hour_ok[n] = alarm_matches(ram_[kHoursAlarm], encode_hours(n));

  auto of_day =
      static_cast<int>((guest_seconds % kSecondsPerDay + kSecondsPerDay) % kSecondsPerDay);
  int minute = of_day / 60, second = of_day % 60;
  for (int ahead = 0; ahead <= kMinutesPerDay; ++ahead) {
    int candidate = (minute + ahead) % kMinutesPerDay;
    if (!hour_ok[candidate / 60] || !minute_ok[candidate % 60]) continue;
    int match = next_second[ahead == 0 ? second + 1 : 0];
    if (match < 60) return ahead * 60 + match - second;
  }
  return std::nullopt;
}

bool CmosRtc::irqf() const {
  return flags_ & ram_[kRegB] & kRegCFlags;
}

// The monotonic time of the next event that raises IRQF, if IRQF is not already up.
std::optional<uint64_t> CmosRtc::next_deadline(const Now& now) const {
  if (irqf()) return std::nullopt;
  std::optional<uint64_t> deadline;
  auto consider = [&deadline](uint64_t at) {
    if (!deadline || at < *deadline) deadline = at;
  };
  uint8_t enables = ram_[kRegB];
  if ((enables & kRegCPeriodic) && periodic_ticks()) {
    consider(periodic_edge_time(periodic_seen_ + 1));
  }
  if (updates_running()) {
    uint64_t next_update = now.monotonic + now.ns_to_next_second();
    if (enables & kRegCUpdate) {
      consider(next_update);
    } else if (enables & kRegCAlarm) {
      std::optional<int> wait = seconds_to_alarm(now.wall_seconds() + guest_offset_);
      if (wait) consider(next_update + static_cast<uint64_t>(*wait - 1) * kNsPerSecond);
    }
  }
  return deadline;
}

// After any change: the line follows IRQF, and the timer is armed for the next event that
// would raise it. `timer_spent`: the armed timer fired, so even an unchanged deadline is asked
// for again.
void CmosRtc::settle(const Now& now, bool timer_spent) {
  if (!irq_) return;
  bool level = irqf();
  if (level != line_level_) {
    line_level_ = level;
    irq_->set_level(level);
  }
  if (!timer_hook_) return;
  std::optional<uint64_t> deadline = next_deadline(now);
  if (deadline == deadline_ && !(timer_spent && deadline)) return;
  deadline_ = deadline;
  timer_hook_(deadline_);
}

}  // namespace kagami
