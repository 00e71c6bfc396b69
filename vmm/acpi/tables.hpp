// ACPI tables of the kagami PC machine: RSDP, XSDT, FADT, FACS, DSDT, MADT and MCFG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kagami::acpi {

// The I/O ports of the ACPI PM register blocks (devices/acpi/pm.hpp models them).
struct PmPorts {
  uint16_t pm1a_event = 0x600;    // 4 bytes: PM1 status, PM1 enable
  uint16_t pm1a_control = 0x604;  // 2 bytes
  uint16_t pm_timer = 0x608;      // 4 bytes, 24-bit timer
  uint16_t gpe0 = 0x620;          // 4 bytes: GPE0 status, GPE0 enable
};

// What the tables describe. The defaults are kagami's machine model (docs/machine.md).
struct AcpiConfig {
  unsigned cpus = 1;  // 1..255: xAPIC IDs 0..254 (0xff is the broadcast ID)

  uint32_t lapic_address = 0xfee00000;
  uint8_t ioapic_id = 0;
  uint32_t ioapic_address = 0xfec00000;
  uint8_t ioapic_pins = 24;

  uint64_t ecam_base = 0xe0000000;  // PCIe ECAM for buses 0..255, 256 MiB
  uint32_t pci_mmio32_first = 0xc0000000;
  uint32_t pci_mmio32_last = 0xdfffffff;
  uint64_t pci_mmio64_first = 0x40'0000'0000;
  uint64_t pci_mmio64_last = 0x7f'ffff'ffff;
  uint8_t pci_first_gsi = 16;  // INTx of slot S pin P -> GSI first + (S + P) % 4

  PmPorts pm;
  uint8_t sci_irq = 9;  // ISA IRQ = GSI; level, active high
  uint8_t s5_sleep_type = 5;
  uint16_t reset_port = 0xcf9;
  uint8_t reset_value = 0x06;
  uint8_t cmos_century = 0x32;  // CMOS index of the century byte

  uint16_t com1_port = 0x3f8;
  uint8_t com1_irq = 4;
  uint16_t rtc_port = 0x70;
  uint8_t rtc_irq = 8;
  uint16_t i8042_data_port = 0x60;
  uint16_t i8042_command_port = 0x64;
  uint8_t keyboard_irq = 1;
};

// Where the tables go: the BIOS area below 1 MiB, which the E820 map reports as reserved. The
// RSDP is at its start, so the legacy scan of 0xe0000..0xfffff finds it.
inline constexpr uint64_t kAcpiRegionBase = 0xf0000;
inline constexpr uint64_t kAcpiRegionSize = 0x10000;

struct TableLocation {
  std::string signature;  // "RSD PTR " for the RSDP
  uint64_t address;       // guest-physical
  uint32_t length;
};

struct AcpiTables {
  uint64_t base;               // guest-physical address of bytes[0]
  std::vector<uint8_t> bytes;  // every table, laid out for base; copy to guest memory there
  uint64_t rsdp_address;       // for boot_params.acpi_rsdp_addr
  std::vector<TableLocation> tables;
};

// Builds every table with absolute guest-physical pointers for a region at base. Throws
// std::invalid_argument for a config the tables cannot express (0 or more than 255 CPUs, an
// empty window, a base not 16-byte aligned or a region above 4 GiB) and std::runtime_error
// when the tables do not fit in size bytes.
AcpiTables build_tables(const AcpiConfig& config, uint64_t base = kAcpiRegionBase,
                        uint64_t size = kAcpiRegionSize);

}  // namespace kagami::acpi
