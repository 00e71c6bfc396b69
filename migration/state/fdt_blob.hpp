// Internal to kagami_state: the structural checks every blob passes before it is read.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kagami::fdt_blob {

// An 8-byte-aligned copy of `blob` (as libfdt requires), checked: size within
// [header, kMaxStateSize] and equal to the header's total size, magic, fdt_check_full, and
// node and field names unique within each node. Throws StateError.
std::vector<uint64_t> checked_copy(std::span<const uint8_t> blob);

}  // namespace kagami::fdt_blob
