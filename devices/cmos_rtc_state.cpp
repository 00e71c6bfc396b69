// CMOS RTC saved state: CMOS bytes, the guest clock as an offset, flags and the divider phase.
#include <array>
#include <ctime>

#include "cmos_rtc.hpp"
#include "state_fields.hpp"

namespace kagami {
using state_fields::require;

namespace {

// As in cmos_rtc.cpp: register A and B's indices, UIP (never stored), SET, and register C's
// flags.
constexpr uint8_t kRegA = 0x0a, kRegB = 0x0b, kRegAUip = 0x80, kRegBSet = 0x80, kFlags = 0x70;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
// Guest time can be set to any year a CMOS byte can say (up to 255 centuries): 2^42 s is about
// 139,000 years, so any offset a guest can make fits and garbage does not.
constexpr int64_t kMaxOffset = int64_t{1} << 42;

// The fields of the frozen time, as write_time_field can leave them: decoded CMOS bytes (up to
// 255, minus 1 for day of week and month), not necessarily a valid date.
struct TmField {
  const char* name;
  int std::tm::*member;
  int64_t min;
  int64_t max;
};
constexpr std::array<TmField, 7> kTmFields{{
    {"sec", &std::tm::tm_sec, -1, 255},
    {"min", &std::tm::tm_min, -1, 255},
    {"hour", &std::tm::tm_hour, -1, 255},
    {"wday", &std::tm::tm_wday, -1, 255},
    {"mday", &std::tm::tm_mday, -1, 255},
    {"mon", &std::tm::tm_mon, -1, 255},
    {"year", &std::tm::tm_year, -1900, 255 * 100 + 99 - 1900},
}};

}  // namespace

void CmosRtc::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  Now now = sample();
  Progress progress = caught_up(now);
  out.bytes("cmos", ram_);
  out.u8("index", index_);
  out.flag("nmi-masked", nmi_masked_);
  state_fields::put_i64(out, "offset-s", guest_offset_);
  out.u8("flags", progress.flags);
  uint64_t since = now.monotonic > periodic_start_ ? now.monotonic - periodic_start_ : 0;
  // Whole seconds are whole periods of every rate (32768 ticks), so only the rest matters.
  out.u64("periodic-phase-ns", since % kNsPerSecond);
  if (frozen_) {
    out.begin_node("frozen-time");
    for (const TmField& field : kTmFields)
      state_fields::put_i64(out, field.name, (*frozen_).*field.member);
    out.end_node();
  }
}

void CmosRtc::load_state(const StateReader& in) {
  std::array<uint8_t, 128> ram;
  in.bytes("cmos", ram);
  require(!(ram[kRegA] & kRegAUip), in, "cmos", "register A has UIP set");
  auto index = static_cast<uint8_t>(in.u32_max("index", 0x7f));
  bool nmi_masked = in.flag("nmi-masked");
  int64_t offset = state_fields::i64_in(in, "offset-s", -kMaxOffset, kMaxOffset);
  auto flags = static_cast<uint8_t>(in.u32_max("flags", kFlags));
  require(!(flags & ~kFlags), in, "flags", "bits other than PF, AF and UF");
  uint64_t phase = state_fields::u64_max(in, "periodic-phase-ns", kNsPerSecond - 1);
  bool set = ram[kRegB] & kRegBSet;
  require(in.has_node("frozen-time") == set, in, "frozen-time",
          set ? "missing while register B has SET" : "present while register B has SET clear");
  std::optional<std::tm> frozen;
  if (set) {
    std::unique_ptr<StateReader> node = in.node("frozen-time");
    frozen.emplace();
    for (const TmField& field : kTmFields)
      (*frozen).*field.member =
          static_cast<int>(state_fields::i64_in(*node, field.name, field.min, field.max));
  }

  std::lock_guard lock(mutex_);
  Now now = sample();
  ram_ = ram;
  index_ = index;
  nmi_masked_ = nmi_masked;
  guest_offset_ = offset;
  frozen_ = frozen;
  flags_ = flags;
  last_update_ = now.wall_seconds();
  // A monotonic clock younger than a second cannot hold the phase; only a test's clock is.
  periodic_start_ = now.monotonic >= phase ? now.monotonic - phase : 0;
  periodic_seen_ = periodic_ticks() ? periodic_edges(now.monotonic) : 0;
  settle(now, true);
}

}  // namespace kagami
