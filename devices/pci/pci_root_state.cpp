// PciRoot saved state: the config address register and every device's config space.
#include <string>
#include <vector>

#include "pci/pci_root.hpp"
#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint32_t kConfigAddressBits = 0x80ff'fffc;  // as pci_config_access.cpp keeps them

std::string slot_node(unsigned slot) {
  return "slot-" + std::to_string(slot);
}

}  // namespace

void PciRoot::save_state(StateWriter& out) const {
  out.u32("config-address", config_address_.load());
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    if (!slots_[slot]) continue;
    out.begin_node(slot_node(slot));
    slots_[slot]->save_config(out);
    out.end_node();
  }
}

void PciRoot::load_state(const StateReader& in) {
  uint32_t address = in.u32("config-address");
  state_fields::require(!(address & ~kConfigAddressBits), in, "config-address",
                        "reserved or read-only bits are set");
  std::vector<std::pair<PciDevice*, PciDevice::ConfigState>> loaded;
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    std::string name = slot_node(slot);
    bool saved = in.has_node(name);
    if (saved != (slots_[slot] != nullptr))
      state_fields::fail(in, name,
                         saved ? "saved, but the slot is empty here"
                               : "missing, but a device is in the slot here");
    if (saved) loaded.emplace_back(slots_[slot], slots_[slot]->loaded_config(*in.node(name)));
  }
  for (auto& [device, state] : loaded) device->apply_config(state);
  config_address_.store(address);
  update_bar_mappings();
}

}  // namespace kagami
