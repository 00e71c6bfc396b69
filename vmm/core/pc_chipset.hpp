// The chipset around the interrupt controllers: the PCI root with its INTx lines, the ACPI PM
// block and reset register, and the ACPI tables that describe them (docs/machine.md).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "acpi/acpi_pm.hpp"
#include "acpi/reset_control.hpp"
#include "core/device_state.hpp"
#include "irqchip/ioapic.hpp"
#include "irqchip/shared_irq_line.hpp"
#include "kagami/bus.hpp"
#include "kagami/guest_memory.hpp"
#include "pci/pci_root.hpp"

namespace kagami {

class PcInterrupts;

class PcChipset {
 public:
  // The RSDP's guest-physical address (the ACPI tables fill the BIOS area from there).
  static constexpr uint64_t kRsdpAddress = 0xf0000;

  // Builds the devices, joins them to the buses and writes the ACPI tables for `cpus` vCPUs into
  // guest memory. power_off and reset are called from vCPU threads.
  PcChipset(GuestMemory& memory, Bus& io, Bus& mmio, PcInterrupts& interrupts, unsigned cpus,
            std::function<void()> power_off, std::function<void()> reset);
  PcChipset(const PcChipset&) = delete;
  PcChipset& operator=(const PcChipset&) = delete;

  PciRoot& pci() { return *pci_; }
  // After every PCI device is added, before the vCPUs run: addresses for every BAR.
  void assign_pci_resources();
  // The state nodes of the PCI root (with its devices), the ACPI PM block and the reset register.
  void add_devices(std::vector<NamedDevice>& out) const;
  // The fixed-feature power button: the guest shuts down when it handles it.
  void press_power_button() { pm_->press_power_button(); }

 private:
  // PCI INTx lines are level, active low, and shared: one per GSI 16..19.
  struct IntxLine {
    explicit IntxLine(IrqLine& pin) : active_low(pin), shared(active_low) {}
    ActiveLowIrqLine active_low;
    SharedIrqLine shared;
  };

  std::array<std::unique_ptr<IntxLine>, 4> intx_;
  std::unique_ptr<ResetControl> reset_;
  std::unique_ptr<AcpiPm> pm_;
  std::unique_ptr<PciRoot> pci_;
};

}  // namespace kagami
