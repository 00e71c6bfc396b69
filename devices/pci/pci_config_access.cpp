// The guest's two ways into config space: mechanism #1 (ports 0xcf8/0xcfc) and ECAM.
#include <algorithm>

#include "kagami/le_bytes.hpp"
#include "pci/pci_root.hpp"

namespace kagami {
namespace {

constexpr uint32_t kConfigEnable = 1u << 31;
// Enable, bus (23:16), device (15:11), function (10:8), register dword (7:2). Bits 30:24 are
// reserved and bits 1:0 read-only, both reading 0, as on Intel's chipsets.
constexpr uint32_t kConfigAddressBits = 0x80ff'fffc;

PciAddress decode_config_address(uint32_t value) {
  return {(value >> 16) & 0xff, (value >> 11) & 0x1f, (value >> 8) & 0x7};
}

PciAddress decode_ecam_offset(uint64_t offset) {
  return {static_cast<unsigned>(offset >> 20) & 0xff, static_cast<unsigned>(offset >> 15) & 0x1f,
          static_cast<unsigned>(offset >> 12) & 0x7};
}

}  // namespace

void PciRoot::AddressPort::read(uint64_t offset, std::span<uint8_t> data) {
  if (offset == 1 && data.size() == 1 && root_.reset_control_) {
    root_.reset_control_->read(0, data);
    return;
  }
  store_le(data, root_.config_address_.load() >> (8 * offset));
}

// Anything but a dword write at 0xcf8 is not for the address register: it is dropped (or, a byte
// at 0xcf9, it is the reset control register's).
void PciRoot::AddressPort::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset == 0 && data.size() == 4) {
    root_.config_address_.store(static_cast<uint32_t>(load_le(data)) & kConfigAddressBits);
  } else if (offset == 1 && data.size() == 1 && root_.reset_control_) {
    root_.reset_control_->write(0, data);
  }
}

void PciRoot::DataPort::read(uint64_t offset, std::span<uint8_t> data) {
  uint32_t address = root_.config_address_.load();
  if (!(address & kConfigEnable)) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    return;
  }
  root_.config_read(decode_config_address(address),
                    static_cast<uint16_t>((address & 0xfc) + offset), data);
}

void PciRoot::DataPort::write(uint64_t offset, std::span<const uint8_t> data) {
  uint32_t address = root_.config_address_.load();
  if (!(address & kConfigEnable)) return;
  root_.config_write(decode_config_address(address),
                     static_cast<uint16_t>((address & 0xfc) + offset), data);
}

// An access that runs past its function's 4 KiB (only an unaligned one can) is dropped by
// config_read/config_write rather than split between two functions.
void PciRoot::Ecam::read(uint64_t offset, std::span<uint8_t> data) {
  root_.config_read(decode_ecam_offset(offset), static_cast<uint16_t>(offset & 0xfff), data);
}

void PciRoot::Ecam::write(uint64_t offset, std::span<const uint8_t> data) {
  root_.config_write(decode_ecam_offset(offset), static_cast<uint16_t>(offset & 0xfff), data);
}

}  // namespace kagami
