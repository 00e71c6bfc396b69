// PciDevice: masked config-space writes, BAR declaration and sizing, capabilities, INTx.
#include "pci/pci_device.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <stdexcept>

#include "kagami/le_bytes.hpp"

namespace kagami {
namespace {

// The address bits of a BAR register pair, type bits excluded.
uint64_t bar_address_mask(PciBarType type) {
  switch (type) {
    case PciBarType::kIo: return 0xfffc;  // a 16-bit decoder: bits 31:16 are hardwired to 0
    case PciBarType::kMemory32: return 0xffff'fff0;
    case PciBarType::kMemory64: return ~uint64_t{0xf};
  }
  return 0;
}

uint32_t bar_type_bits(const PciBar& bar) {
  switch (bar.type) {
    case PciBarType::kIo: return pci::kBarIo;
    case PciBarType::kMemory32: return bar.prefetchable ? pci::kBarPrefetchable : 0;
    case PciBarType::kMemory64:
      return pci::kBarMemory64 | (bar.prefetchable ? pci::kBarPrefetchable : 0);
  }
  return 0;
}

void check_bar(const std::string& what, unsigned index, const PciBar& bar) {
  bool wide = bar.type == PciBarType::kMemory64;
  if (index >= pci::kBarCount || (wide && index + 1 >= pci::kBarCount)) {
    throw std::invalid_argument(what + ": index out of range" +
                                (wide ? std::string(" for a 64-bit bar") : std::string()));
  }
  if (!std::has_single_bit(bar.size))
    throw std::invalid_argument(what + ": size is not a power of two");
  if (bar.type == PciBarType::kIo && (bar.size < 4 || bar.size > 256))
    throw std::invalid_argument(what + ": i/o size must be 4..256 bytes");
  if (bar.type != PciBarType::kIo && bar.size < 16)
    throw std::invalid_argument(what + ": memory size must be at least 16 bytes");
  if (bar.type == PciBarType::kMemory32 && bar.size > (uint64_t{1} << 31))
    throw std::invalid_argument(what + ": a 32-bit bar cannot be larger than 2 GiB");
  if (bar.type == PciBarType::kIo && bar.prefetchable)
    throw std::invalid_argument(what + ": an i/o bar cannot be prefetchable");
  if (bar.device == nullptr) throw std::invalid_argument(what + ": no device serves it");
}

}  // namespace

PciDevice::PciDevice(const PciIdentity& id, std::optional<pci::IntxPin> pin) : pin_(pin) {
  set_bytes(pci::kVendorId, id.vendor_id, 2);
  set_bytes(pci::kDeviceId, id.device_id, 2);
  set_bytes(pci::kRevisionId, id.revision, 1);
  set_bytes(pci::kClassCode, id.prog_if | (id.subclass << 8) | (id.class_code << 16), 3);
  set_bytes(pci::kHeaderType, pci::kHeaderTypeNormal, 1);
  set_bytes(pci::kSubsystemVendorId, id.subsystem_vendor_id, 2);
  set_bytes(pci::kSubsystemId, id.subsystem_id, 2);
  if (pin_) set_bytes(pci::kInterruptPin, static_cast<unsigned>(*pin_) + 1, 1);

  set_writable(
      pci::kCommand,
      pci::kCommandIo | pci::kCommandMemory | pci::kCommandBusMaster | pci::kCommandIntxDisable, 2);
  set_writable(pci::kCacheLineSize, 0xff, 1);
  set_writable(pci::kInterruptLine, 0xff, 1);
}

std::string PciDevice::describe(const std::string& part) const {
  char ids[16];
  std::snprintf(ids, sizeof(ids), "%04x:%04x", static_cast<unsigned>(bytes_at(pci::kVendorId, 2)),
                static_cast<unsigned>(bytes_at(pci::kDeviceId, 2)));
  return "pci device " + std::string(ids) + " " + part;
}

void PciDevice::check_not_connected(const std::string& what) const {
  if (connected_) throw std::invalid_argument(what + ": the device is already on a pci bus");
}

// The identity registers never change after construction, so describe() reads them unlocked.
void PciDevice::declare_bar(unsigned index, PciBar bar) {
  const std::string what = describe("bar " + std::to_string(index));
  check_bar(what, index, bar);
  std::lock_guard lock(mutex_);
  check_not_connected(what);
  bool wide = bar.type == PciBarType::kMemory64;
  if (bars_[index] || (wide && bars_[index + 1]) ||
      (index > 0 && bars_[index - 1] && bars_[index - 1]->type == PciBarType::kMemory64)) {
    throw std::invalid_argument(what + ": already declared");
  }
  uint64_t writable = bar_address_mask(bar.type) & ~(bar.size - 1);
  set_bytes(pci::bar_offset(index), bar_type_bits(bar), 4);
  set_writable(pci::bar_offset(index), writable, 4);
  if (wide) {
    set_bytes(pci::bar_offset(index + 1), 0, 4);
    set_writable(pci::bar_offset(index + 1), writable >> 32, 4);
  }
  bars_[index] = std::move(bar);
}

uint8_t PciDevice::add_capability(uint8_t id, std::span<const uint8_t> body,
                                  std::span<const uint8_t> writable) {
  const std::string what = describe("capability " + std::to_string(id));
  if (!writable.empty() && writable.size() != body.size())
    throw std::invalid_argument(what + ": write mask and body differ in size");
  std::lock_guard lock(mutex_);
  check_not_connected(what);
  uint16_t offset = capabilities_end_;
  if (body.size() + 2 > size_t{pci::kConventionalConfigSize} - offset)
    throw std::invalid_argument(what + ": no room left in the capability area");
  set_bytes(offset, id, 1);
  set_bytes(offset + 1, 0, 1);
  std::copy(body.begin(), body.end(), config_.begin() + offset + 2);
  std::copy(writable.begin(), writable.end(), writable_.begin() + offset + 2);
  if (last_capability_ == 0) {
    set_bytes(pci::kCapabilitiesPointer, offset, 1);
    set_bytes(pci::kStatus, bytes_at(pci::kStatus, 2) | pci::kStatusCapabilities, 2);
  } else {
    set_bytes(last_capability_ + 1, offset, 1);
  }
  last_capability_ = static_cast<uint8_t>(offset);
  capabilities_end_ = static_cast<uint16_t>((offset + 2 + body.size() + 3) & ~size_t{3});
  return last_capability_;
}

void PciDevice::connect(IrqLine* line, uint8_t interrupt_line) {
  std::lock_guard lock(mutex_);
  check_not_connected(describe("connect"));
  connected_ = true;
  intx_line_ = pin_ ? line : nullptr;
  set_bytes(pci::kInterruptLine, interrupt_line, 1);
}

void PciDevice::config_read(uint16_t offset, std::span<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = offset + i < pci::kConfigSize ? config_[offset + i] : uint8_t{0xff};
  }
  after_config_read(offset, data);
}

void PciDevice::config_write(uint16_t offset, std::span<const uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size() && offset + i < pci::kConfigSize; ++i) {
      uint8_t& byte = config_[offset + i];
      uint8_t mask = writable_[offset + i];
      byte = static_cast<uint8_t>((byte & ~mask) | (data[i] & mask));
    }
    if (offset <= pci::kCommand + 1 && offset + data.size() > pci::kCommand + 1) drive_intx();
  }
  after_config_write(offset, data);
}

void PciDevice::set_intx(bool asserted) {
  std::lock_guard lock(mutex_);
  if (!pin_) return;
  intx_requested_ = asserted;
  drive_intx();
}

// Status bit 3 shows the request; the line carries it unless interrupt-disable is set.
void PciDevice::drive_intx() {
  uint16_t status = static_cast<uint16_t>(bytes_at(pci::kStatus, 2) & ~pci::kStatusInterrupt);
  set_bytes(pci::kStatus, status | (intx_requested_ ? pci::kStatusInterrupt : 0), 2);
  bool level = intx_requested_ && !(bytes_at(pci::kCommand, 2) & pci::kCommandIntxDisable);
  if (level == intx_level_) return;
  intx_level_ = level;
  if (intx_line_) intx_line_->set_level(level);
}

uint32_t PciDevice::config_value(uint16_t offset, size_t width) const {
  std::lock_guard lock(mutex_);
  uint32_t value = 0;
  for (size_t i = width; i-- > 0;)
    value = (value << 8) | (offset + i < pci::kConfigSize ? config_[offset + i] : 0xffu);
  return value;
}

const PciBar* PciDevice::bar(unsigned index) const {
  return index < pci::kBarCount && bars_[index] ? &*bars_[index] : nullptr;
}

std::optional<uint64_t> PciDevice::bar_address(unsigned index) const {
  const PciBar* declared = bar(index);
  if (!declared) return std::nullopt;
  std::lock_guard lock(mutex_);
  return address_in_bar(index, declared->type);
}

std::optional<uint64_t> PciDevice::decoded_bar_address(unsigned index) const {
  const PciBar* declared = bar(index);
  if (!declared) return std::nullopt;
  uint16_t enable = declared->type == PciBarType::kIo ? pci::kCommandIo : pci::kCommandMemory;
  std::lock_guard lock(mutex_);
  if (!(bytes_at(pci::kCommand, 2) & enable)) return std::nullopt;
  return address_in_bar(index, declared->type);
}

uint64_t PciDevice::address_in_bar(unsigned index, PciBarType type) const {
  size_t width = type == PciBarType::kMemory64 ? 8 : 4;
  return bytes_at(pci::bar_offset(index), width) & bar_address_mask(type);
}

void PciDevice::set_bytes(uint16_t offset, uint64_t value, size_t width) {
  store_le(std::span(config_).subspan(offset, width), value);
}

void PciDevice::set_writable(uint16_t offset, uint64_t mask, size_t width) {
  store_le(std::span(writable_).subspan(offset, width), mask);
}

uint64_t PciDevice::bytes_at(uint16_t offset, size_t width) const {
  return load_le(std::span(config_).subspan(offset, width));
}

}  // namespace kagami
