// The chipset around the interrupt controllers: PCI root, ACPI PM block, reset, ACPI tables.
#include "core/pc_chipset.hpp"

#include <stdexcept>

#include "acpi/tables.hpp"
#include "core/pc_interrupts.hpp"
#include "pci/pci_bar_allocator.hpp"

namespace kagami {

namespace {
constexpr unsigned kFirstIntxGsi = 16;
}  // namespace

PcChipset::PcChipset(GuestMemory& memory, Bus& io, Bus& mmio, PcInterrupts& interrupts,
                     unsigned cpus, std::function<void()> power_off, std::function<void()> reset) {
  for (unsigned i = 0; i < intx_.size(); i++)
    intx_[i] = std::make_unique<IntxLine>(interrupts.ioapic_pin(kFirstIntxGsi + i));
  reset_ = std::make_unique<ResetControl>(std::move(reset));
  // The SCI on the ISA IRQ, so that the 8259 sees it too before the guest takes the IOAPIC.
  pm_ = std::make_unique<AcpiPm>(interrupts.isa_irq(9), std::move(power_off));
  pm_->attach(io);
  pci_ = std::make_unique<PciRoot>(io, mmio, [this](unsigned gsi) -> IrqLine* {
    if (gsi < kFirstIntxGsi || gsi >= kFirstIntxGsi + intx_.size()) return nullptr;
    return &intx_[gsi - kFirstIntxGsi]->shared.add_source();
  });
  pci_->attach(reset_.get());

  acpi::AcpiConfig config;
  config.cpus = cpus;
  acpi::AcpiTables tables = acpi::build_tables(config, kRsdpAddress);
  if (tables.rsdp_address != kRsdpAddress || !memory.write(tables.base, tables.bytes))
    throw std::runtime_error("acpi tables: cannot place them at the RSDP address in guest RAM");
}

void PcChipset::add_devices(std::vector<NamedDevice>& out) const {
  out.push_back({"pci", pci_.get()});
  out.push_back({"acpi-pm", pm_.get()});
  out.push_back({"reset@cf9", reset_.get()});
}

void PcChipset::assign_pci_resources() {
  assign_pci_bars(*pci_);
}

}  // namespace kagami
