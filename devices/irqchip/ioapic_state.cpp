// IOAPIC saved state: ID, IOREGSEL, redirection entries with remote IRR, and the pin levels.
#include <string>

#include "ioapic.hpp"
#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint64_t kDeliveryStatus = 1ull << 12;
constexpr uint64_t kRemoteIrr = 1ull << 14;
constexpr uint64_t kLevelTriggered = 1ull << 15;
constexpr uint8_t kMaxId = 0x0f;

std::string entry_name(unsigned pin) {
  return "redir-" + std::to_string(pin);
}

}  // namespace

void Ioapic::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.u8("id", id_);
  out.u8("ioregsel", ioregsel_);
  out.u32("levels", levels_);
  for (unsigned n = 0; n < kPins; ++n) out.u64(entry_name(n), entries_[n]);
}

// Delivery is instantaneous here, so delivery status is never set, and remote IRR only ever
// is on a level entry.
void Ioapic::load_state(const StateReader& in) {
  using state_fields::require;
  auto id = static_cast<uint8_t>(in.u32_max("id", kMaxId));
  uint8_t ioregsel = in.u8("ioregsel");
  uint32_t levels = in.u32_max("levels", (1u << kPins) - 1);
  std::array<uint64_t, kPins> entries;
  for (unsigned n = 0; n < kPins; ++n) {
    std::string name = entry_name(n);
    entries[n] = in.u64(name);
    require(!(entries[n] & kDeliveryStatus), in, name, "delivery status is set");
    require(!(entries[n] & kRemoteIrr) || (entries[n] & kLevelTriggered), in, name,
            "remote IRR is set on an edge-triggered entry");
  }
  std::lock_guard lock(mutex_);
  id_ = id;
  ioregsel_ = ioregsel;
  levels_ = levels;
  for (unsigned n = 0; n < kPins; ++n) set_entry(n, entries[n]);
}

}  // namespace kagami
