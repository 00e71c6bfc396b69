// The DSDT of the kagami PC machine: PCI host bridge, motherboard resources, legacy devices, \_S5.
#pragma once

#include <cstdint>
#include <vector>

#include "tables.hpp"

namespace kagami::acpi {

// The AML body of the DSDT (everything after the 36-byte table header).
std::vector<uint8_t> dsdt_aml(const AcpiConfig& config);

// The complete DSDT table, header and checksum included.
std::vector<uint8_t> build_dsdt(const AcpiConfig& config);

}  // namespace kagami::acpi
