// BAR assignment: largest-first, naturally aligned placement in the host bridge's windows.
#include "pci/pci_bar_allocator.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>

#include "kagami/le_bytes.hpp"
#include "pci/pci_root.hpp"

namespace kagami {
namespace {

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string describe(const PciBarRequest& request) {
  return "bar " + std::to_string(request.index) + " of " +
         PciAddress{0, request.slot, 0}.to_string() + " (size " + hex(request.size) + ")";
}

void write_config(PciRoot& root, unsigned slot, uint16_t offset, uint32_t value, size_t width) {
  uint8_t bytes[4];
  store_le(std::span<uint8_t>(bytes, width), value);
  root.config_write({0, slot, 0}, offset, std::span<const uint8_t>(bytes, width));
}

}  // namespace

std::vector<uint64_t> place_pci_bars(std::span<const PciBarRequest> requests, pci::Window window,
                                     std::string_view window_name) {
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].size > requests[b].size; });
  std::vector<uint64_t> addresses(requests.size());
  uint64_t next = window.base;
  for (size_t i : order) {
    const PciBarRequest& request = requests[i];
    uint64_t size = request.size;
    if (!std::has_single_bit(size))
      throw std::invalid_argument("pci: " + describe(request) + ": size is not a power of two");
    uint64_t address = (next + (size - 1)) & ~(size - 1);
    if (address < next || address < window.base || !window.contains(address, size)) {
      throw std::runtime_error("pci: cannot assign " + describe(request) + ": the " +
                               std::string(window_name) + " window [" + hex(window.base) + ", " +
                               hex(window.end - 1) + "] is full");
    }
    addresses[i] = address;
    next = address + size;
  }
  return addresses;
}

void assign_pci_bars(PciRoot& root) {
  std::vector<PciBarRequest> io, mmio32, mmio64;
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    const PciDevice* device = root.device(slot);
    for (unsigned index = 0; device && index < pci::kBarCount; ++index) {
      const PciBar* bar = device->bar(index);
      if (!bar) continue;
      PciBarRequest request{slot, index, bar->size};
      switch (bar->type) {
        case PciBarType::kIo: io.push_back(request); break;
        case PciBarType::kMemory32: mmio32.push_back(request); break;
        case PciBarType::kMemory64: mmio64.push_back(request); break;
      }
    }
  }
  const pci::Windows& windows = root.windows();
  struct Group {
    std::vector<PciBarRequest>& requests;
    std::vector<uint64_t> addresses;
  };
  Group groups[] = {{io, place_pci_bars(io, windows.io, "pci i/o")},
                    {mmio32, place_pci_bars(mmio32, windows.mmio32, "32-bit pci memory")},
                    {mmio64, place_pci_bars(mmio64, windows.mmio64, "64-bit pci memory")}};

  std::array<uint16_t, pci::kSlots> enables{};
  for (Group& group : groups) {
    for (size_t i = 0; i < group.requests.size(); ++i) {
      const PciBarRequest& request = group.requests[i];
      uint64_t address = group.addresses[i];
      const PciBar& bar = *root.device(request.slot)->bar(request.index);
      write_config(root, request.slot, pci::bar_offset(request.index),
                   static_cast<uint32_t>(address), 4);
      if (bar.type == PciBarType::kMemory64)
        write_config(root, request.slot, pci::bar_offset(request.index + 1),
                     static_cast<uint32_t>(address >> 32), 4);
      enables[request.slot] |= bar.type == PciBarType::kIo ? pci::kCommandIo : pci::kCommandMemory;
    }
  }
  for (unsigned slot = 0; slot < pci::kSlots; ++slot) {
    if (!enables[slot]) continue;
    uint16_t command = static_cast<uint16_t>(root.device(slot)->config_value(pci::kCommand, 2));
    write_config(root, slot, pci::kCommand, command | enables[slot], 2);
  }
  for (const Group& group : groups) {
    for (size_t i = 0; i < group.requests.size(); ++i) {
      const PciBarRequest& request = group.requests[i];
      if (root.bar_mapping(request.slot, request.index) != group.addresses[i]) {
        throw std::runtime_error("pci: cannot decode " + describe(request) + " at " +
                                 hex(group.addresses[i]) + ": " + root.stats().last_refusal);
      }
    }
  }
}

}  // namespace kagami
