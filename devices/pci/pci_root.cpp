// PciRoot: bus 0's slots, config dispatch, and keeping decoded BARs on the port and memory buses.
#include "pci/pci_root.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "pci/pci_irq.hpp"

namespace kagami {
namespace {

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

bool overlaps(uint16_t offset, size_t length, uint16_t begin, uint16_t end) {
  return offset < end && offset + length > begin;
}

// True when the config write may change what a BAR decodes: the command register or a BAR.
bool touches_decoding(uint16_t offset, size_t length) {
  return overlaps(offset, length, pci::kCommand, pci::kCommand + 2) ||
         overlaps(offset, length, pci::kBar0, pci::bar_offset(pci::kBarCount));
}

// A BAR that is unassigned (0, as QEMU never maps it) or being sized (a BAR register holding all
// ones) is not a placement worth reporting.
bool is_placeholder(const PciBar& bar, uint64_t address) {
  uint64_t ones = address | (bar.size - 1);
  switch (bar.type) {
    case PciBarType::kIo: return address == 0 || ones == 0xffff;
    case PciBarType::kMemory32: return address == 0 || ones == 0xffff'ffff;
    case PciBarType::kMemory64:
      return address == 0 || (ones >> 32) == 0xffff'ffff ||
             (bar.size < (uint64_t{1} << 32) && (ones & 0xffff'ffff) == 0xffff'ffff);
  }
  return false;
}

}  // namespace

std::string PciAddress::to_string() const {
  char text[16];
  std::snprintf(text, sizeof(text), "%02x:%02x.%x", bus & 0xff, slot & 0x1f, function & 7);
  return text;
}

PciRoot::PciRoot(Bus& io, Bus& mmio, IntxLines intx_lines, pci::Windows windows)
    : io_(io), mmio_(mmio), intx_lines_(std::move(intx_lines)), windows_(windows) {
  host_bridge_.connect(nullptr, 0);
  slots_[0] = &host_bridge_;
}

void PciRoot::attach(BusDevice* reset_control) {
  reset_control_ = reset_control;
  io_.add(pci::kConfigAddressPort, 4, address_port_, kWidth1 | kWidth2 | kWidth4,
          "pci config address");
  io_.add(pci::kConfigDataPort, 4, data_port_, kWidth1 | kWidth2 | kWidth4, "pci config data");
  mmio_.add(pci::kEcamBase, pci::kEcamSize, ecam_, kWidth1 | kWidth2 | kWidth4, "pci ecam");
}

void PciRoot::add_device(unsigned slot, PciDevice& device) {
  const std::string what = "pci slot " + std::to_string(slot);
  if (slot == 0) throw std::invalid_argument(what + ": reserved for the host bridge");
  if (slot >= pci::kSlots) throw std::invalid_argument(what + ": bus 0 has slots 1..31");
  if (slots_[slot]) throw std::invalid_argument(what + ": already taken");
  uint8_t interrupt_line = 0;
  IrqLine* line = nullptr;
  if (std::optional<pci::IntxPin> pin = device.intx_pin()) {
    unsigned gsi = pci::intx_gsi(slot, *pin);
    interrupt_line = static_cast<uint8_t>(gsi);
    if (intx_lines_) line = intx_lines_(gsi);
  }
  device.connect(line, interrupt_line);
  slots_[slot] = &device;
}

PciDevice* PciRoot::find(PciAddress address) const {
  if (address.bus != 0 || address.function != 0) return nullptr;
  return device(address.slot);
}

void PciRoot::config_read(PciAddress address, uint16_t offset, std::span<uint8_t> data) {
  PciDevice* target = find(address);
  if (!target || offset + data.size() > pci::kConfigSize) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    return;
  }
  target->config_read(offset, data);
}

void PciRoot::config_write(PciAddress address, uint16_t offset, std::span<const uint8_t> data) {
  PciDevice* target = find(address);
  if (!target || offset + data.size() > pci::kConfigSize) return;
  target->config_write(offset, data);
  if (touches_decoding(offset, data.size())) update_bar_mappings();
}

std::optional<uint64_t> PciRoot::bar_mapping(unsigned slot, unsigned index) const {
  if (slot >= pci::kSlots || index >= pci::kBarCount) return std::nullopt;
  std::lock_guard lock(mapping_mutex_);
  return mappings_[slot][index].mapped;
}

PciStats PciRoot::stats() const {
  std::lock_guard lock(mapping_mutex_);
  return stats_;
}

// Two passes, so that BARs trading places never overlap themselves: first every BAR that moved
// or stopped decoding leaves its bus, then every BAR that should decode and does not joins it.
void PciRoot::update_bar_mappings() {
  std::lock_guard lock(mapping_mutex_);
  std::array<std::array<std::optional<uint64_t>, pci::kBarCount>, pci::kSlots> wanted{};
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    if (!slots_[slot]) continue;
    for (unsigned index = 0; index < pci::kBarCount; ++index)
      wanted[slot][index] = slots_[slot]->decoded_bar_address(index);
  }
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    for (unsigned index = 0; index < pci::kBarCount; ++index) {
      BarMapping& mapping = mappings_[slot][index];
      if (!mapping.mapped || mapping.mapped == wanted[slot][index]) continue;
      const PciBar& bar = *slots_[slot]->bar(index);
      try {
        bus_for(bar).remove(*mapping.mapped, *bar.device);
      } catch (const std::invalid_argument&) {
        // Only PciRoot adds and removes BAR ranges, so it is there; were it not, it is gone.
      }
      mapping.mapped.reset();
    }
  }
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    for (unsigned index = 0; index < pci::kBarCount; ++index) {
      BarMapping& mapping = mappings_[slot][index];
      if (!wanted[slot][index]) mapping.refused.reset();
      if (!wanted[slot][index] || mapping.mapped) continue;
      map_bar(slot, index, *slots_[slot]->bar(index), *wanted[slot][index]);
    }
  }
}

void PciRoot::map_bar(unsigned slot, unsigned index, const PciBar& bar, uint64_t address) {
  if (!in_windows(bar, address)) {
    refuse(slot, index, bar, address, "outside the pci windows");
    return;
  }
  std::string name = bar.name.empty() ? "pci " + PciAddress{0, slot, 0}.to_string() + " bar " +
                                            std::to_string(index)
                                      : bar.name;
  try {
    bus_for(bar).add(address, bar.size, *bar.device, bar.widths, std::move(name));
  } catch (const std::invalid_argument& error) {
    refuse(slot, index, bar, address, error.what());
    return;
  }
  mappings_[slot][index] = {address, std::nullopt};
}

void PciRoot::refuse(unsigned slot, unsigned index, const PciBar& bar, uint64_t address,
                     const std::string& reason) {
  BarMapping& mapping = mappings_[slot][index];
  if (mapping.refused == address) return;
  mapping.refused = address;
  if (is_placeholder(bar, address)) return;
  ++stats_.refused_bar_mappings;
  stats_.last_refusal = "pci " + PciAddress{0, slot, 0}.to_string() + " bar " +
                        std::to_string(index) + " at " + hex(address) + " not decoded: " + reason;
}

bool PciRoot::in_windows(const PciBar& bar, uint64_t address) const {
  switch (bar.type) {
    case PciBarType::kIo: return windows_.io.contains(address, bar.size);
    case PciBarType::kMemory32: return windows_.mmio32.contains(address, bar.size);
    case PciBarType::kMemory64:
      return windows_.mmio32.contains(address, bar.size) ||
             windows_.mmio64.contains(address, bar.size);
  }
  return false;
}

}  // namespace kagami
