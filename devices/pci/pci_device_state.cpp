// PciDevice saved state: the configuration space, checked against this device's read-only bits.
#include <cstdio>

#include "pci/pci_device.hpp"
#include "state_fields.hpp"

namespace kagami {

void PciDevice::save_config(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.bytes("config", config_);
  out.flag("intx-requested", intx_requested_);
}

// The status register's interrupt bit is read-only to the guest but follows the INTx request,
// so it is the one read-only bit allowed to differ.
PciDevice::ConfigState PciDevice::loaded_config(const StateReader& in) const {
  ConfigState state;
  state.config.resize(pci::kConfigSize);
  in.bytes("config", state.config);
  state.intx_requested = in.flag("intx-requested");
  state_fields::require(pin_ || !state.intx_requested, in, "intx-requested",
                        "set on a device without an interrupt pin");
  std::lock_guard lock(mutex_);
  for (uint16_t offset = 0; offset < pci::kConfigSize; ++offset) {
    uint8_t fixed = static_cast<uint8_t>(~writable_[offset]);
    if (offset == pci::kStatus) fixed &= static_cast<uint8_t>(~pci::kStatusInterrupt);
    if (((state.config[offset] ^ config_[offset]) & fixed) == 0) continue;
    char what[96];
    std::snprintf(what, sizeof(what),
                  "read-only bits of byte 0x%03x differ: 0x%02x saved, 0x%02x here", offset,
                  state.config[offset], config_[offset]);
    state_fields::fail(in, "config", describe(what));
  }
  return state;
}

void PciDevice::apply_config(const ConfigState& state) {
  std::lock_guard lock(mutex_);
  std::copy(state.config.begin(), state.config.end(), config_.begin());
  intx_requested_ = state.intx_requested;
  drive_intx();
}

}  // namespace kagami
