// IOAPIC: indirect register window, redirection entries, edge/level delivery as MSIs, EOI.
#include "ioapic.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "kagami/le_bytes.hpp"
#include "line_array.hpp"

namespace kagami {
namespace {

constexpr uint64_t kIoregsel = 0x00, kIowin = 0x10, kEoiRegister = 0x40;
constexpr uint8_t kRegId = 0x00, kRegVer = 0x01, kRegArb = 0x02, kRegRedirBase = 0x10;

constexpr uint64_t kVectorMask = 0xff;
constexpr unsigned kDeliveryModeShift = 8;
constexpr uint64_t kDestLogical = 1ull << 11;
constexpr uint64_t kDeliveryStatus = 1ull << 12;
constexpr uint64_t kActiveLow = 1ull << 13;
constexpr uint64_t kRemoteIrr = 1ull << 14;
constexpr uint64_t kLevelTriggered = 1ull << 15;
constexpr uint64_t kMasked = 1ull << 16;
constexpr uint64_t kReadOnlyBits = kRemoteIrr | kDeliveryStatus;
constexpr unsigned kDestinationShift = 48;  // bits 63:56 destination, 55:48 extended (QEMU)

constexpr uint32_t kIdShift = 24, kIdMask = 0x0f;
constexpr uint32_t kMaxEntryShift = 16;

constexpr uint64_t kMsiBase = 0xfee00000;
constexpr unsigned kMsiDestShift = 4, kMsiRedirectionHint = 1u << 3, kMsiDestLogical = 1u << 2;
constexpr uint32_t kMsiAssert = 1u << 14, kMsiLevel = 1u << 15;

enum DeliveryMode : unsigned { kFixed = 0, kLowestPriority = 1, kReserved3 = 3, kReserved6 = 6 };

unsigned delivery_mode(uint64_t entry) {
  return (entry >> kDeliveryModeShift) & 7;
}

// The local APIC refuses vectors 0-15 for fixed and lowest-priority interrupts (it sets the
// illegal-vector error instead), and modes 3 and 6 are reserved: nothing would be delivered.
bool deliverable(uint64_t entry) {
  unsigned mode = delivery_mode(entry);
  if (mode == kReserved3 || mode == kReserved6) return false;
  if (mode == kFixed || mode == kLowestPriority) return (entry & kVectorMask) >= 16;
  return true;
}

}  // namespace

Ioapic::Ioapic(MsiSink& msi, uint64_t base)
    : base_(base), msi_(msi), pins_(irqchip::make_lines<Pin, kPins>(*this)) {
  entries_.fill(kMasked);
}

void Ioapic::reset() {
  std::lock_guard lock(mutex_);
  ioregsel_ = 0;
  id_ = 0;
  for (unsigned n = 0; n < kPins; ++n) set_entry(n, kMasked);
}

IrqLine& Ioapic::pin(unsigned n) {
  check_pin(n);
  return pins_[n];
}

void Ioapic::check_pin(unsigned n) {
  if (n >= kPins) throw std::out_of_range("ioapic pin " + std::to_string(n) + " does not exist");
}

IoapicRoute Ioapic::route(unsigned pin) const {
  check_pin(pin);
  std::lock_guard lock(mutex_);
  return route_locked(pin);
}

uint64_t Ioapic::redirection_entry(unsigned pin) const {
  check_pin(pin);
  std::lock_guard lock(mutex_);
  return entries_[pin];
}

void Ioapic::set_route_listener(RouteListener listener) {
  std::lock_guard lock(mutex_);
  route_listener_ = std::move(listener);
}

IoapicRoute Ioapic::route_locked(unsigned n) const {
  uint64_t entry = entries_[n];
  IoapicRoute route;
  route.address = kMsiBase | ((entry >> kDestinationShift) & 0xffff) << kMsiDestShift;
  if (entry & kDestLogical) route.address |= kMsiDestLogical;
  if (delivery_mode(entry) == kLowestPriority) route.address |= kMsiRedirectionHint;
  route.data = static_cast<uint32_t>(entry & kVectorMask) | delivery_mode(entry) << 8 | kMsiAssert;
  if (entry & kLevelTriggered) route.data |= kMsiLevel;
  route.masked = entry & kMasked;
  return route;
}

bool Ioapic::asserted(unsigned n) const {
  bool high = levels_ & (1u << n);
  return (entries_[n] & kActiveLow) ? !high : high;
}

void Ioapic::deliver(unsigned n) {
  if (!deliverable(entries_[n])) return;
  if (entries_[n] & kLevelTriggered) entries_[n] |= kRemoteIrr;
  IoapicRoute route = route_locked(n);
  msi_.signal_msi(route.address, route.data);
}

// A level entry delivers whenever its input is asserted, unmasked and not already in service.
void Ioapic::service_level(unsigned n) {
  uint64_t entry = entries_[n];
  if (!(entry & kLevelTriggered) || (entry & (kMasked | kRemoteIrr))) return;
  if (asserted(n)) deliver(n);
}

void Ioapic::set_pin_level(unsigned n, bool level) {
  std::lock_guard lock(mutex_);
  bool was_asserted = asserted(n);
  if (level) {
    levels_ |= 1u << n;
  } else {
    levels_ &= ~(1u << n);
  }
  if (entries_[n] & kLevelTriggered) {
    service_level(n);
  } else if (!was_asserted && asserted(n) && !(entries_[n] & kMasked)) {
    deliver(n);
  }
}

void Ioapic::end_of_interrupt(uint8_t vector) {
  std::lock_guard lock(mutex_);
  end_of_interrupt_locked(vector);
}

void Ioapic::end_of_interrupt_locked(uint8_t vector) {
  for (unsigned n = 0; n < kPins; ++n) {
    uint64_t entry = entries_[n];
    if ((entry & kVectorMask) != vector || !(entry & kLevelTriggered)) continue;
    if (!(entry & kRemoteIrr)) continue;
    entries_[n] &= ~kRemoteIrr;
    service_level(n);
  }
}

void Ioapic::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint64_t value = 0;
  switch (offset & 0xff) {
    case kIoregsel: value = ioregsel_; break;
    case kIowin:
      if (data.size() == 4) value = read_register(ioregsel_);
      break;
  }
  store_le(data, value);
}

void Ioapic::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint64_t value = load_le(data);
  switch (offset & 0xff) {
    case kIoregsel: ioregsel_ = static_cast<uint8_t>(value); break;
    case kIowin:
      if (data.size() == 4) write_register(ioregsel_, static_cast<uint32_t>(value));
      break;
    case kEoiRegister:
      if (data.size() == 4) end_of_interrupt_locked(static_cast<uint8_t>(value));
      break;
  }
}

uint32_t Ioapic::read_register(uint8_t index) const {
  switch (index) {
    case kRegId:
    case kRegArb: return uint32_t{id_} << kIdShift;
    case kRegVer: return kVersion | (kPins - 1) << kMaxEntryShift;
  }
  unsigned n = (index - kRegRedirBase) / 2u;
  if (index < kRegRedirBase || n >= kPins) return 0;
  return static_cast<uint32_t>(entries_[n] >> ((index & 1) ? 32 : 0));
}

void Ioapic::write_register(uint8_t index, uint32_t value) {
  if (index == kRegId) {
    id_ = (value >> kIdShift) & kIdMask;
    return;
  }
  unsigned n = (index - kRegRedirBase) / 2u;
  if (index < kRegRedirBase || n >= kPins) return;  // VER, ARB and unknown: read-only
  write_entry_half(n, index & 1, value);
}

// Remote IRR only means something for level entries: turning an entry to edge clears it, which
// is how Linux EOIs IOAPICs without an EOI register (and QEMU does the same on every version).
void Ioapic::write_entry_half(unsigned n, bool high, uint32_t value) {
  uint64_t old_entry = entries_[n];
  uint64_t entry = high ? (old_entry & 0xffffffffull) | uint64_t{value} << 32
                        : (old_entry & ~0xffffffffull) | value;
  entry = (entry & ~kReadOnlyBits) | (old_entry & kReadOnlyBits);
  if (!(entry & kLevelTriggered)) entry &= ~kRemoteIrr;
  set_entry(n, entry);
  service_level(n);
}

void Ioapic::set_entry(unsigned n, uint64_t entry) {
  IoapicRoute old_route = route_locked(n);
  entries_[n] = entry;
  IoapicRoute new_route = route_locked(n);
  if (route_listener_ && (new_route.address != old_route.address ||
                          new_route.data != old_route.data || new_route.masked != old_route.masked))
    route_listener_(n, new_route);
}

}  // namespace kagami
