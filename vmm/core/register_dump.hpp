// Human-readable vCPU register dumps for fatal exits.
#pragma once

#include <string>

#include "kagami/hypervisor.hpp"

namespace kagami {

// All general, segment, control and descriptor-table registers of a stopped vCPU,
// laid out like QEMU's "info registers". Never throws: a register set that cannot
// be read is reported as such.
std::string format_registers(const Vcpu& vcpu);

}  // namespace kagami
