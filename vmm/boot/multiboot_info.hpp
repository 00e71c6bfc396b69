// The multiboot information block, and where it and the modules go in guest RAM.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "e820.hpp"
#include "multiboot.hpp"

namespace kagami {

// The information block (info structure, module list, memory map, strings) at `info_addr`,
// followed by each module on its own page, at `module_addrs`.
struct BootInfoPlacement {
  uint64_t info_addr = 0;
  std::vector<uint8_t> info_block;
  std::vector<uint64_t> module_addrs;
};

// Places the information block at the first page at or after `first_free` (moving to 1 MiB when
// it does not fit below the EBDA) and builds it. Throws BootError naming what does not fit in
// guest RAM. Nothing is written to guest RAM.
BootInfoPlacement place_boot_info(uint64_t first_free, const std::string& cmdline,
                                  std::span<const BootModule> modules,
                                  std::span<const E820Entry> memory_map);

}  // namespace kagami
