// The PC memory map (E820) of kagami's guest RAM layout, for multiboot and for fw_cfg "etc/e820".
#include "e820.hpp"

#include <algorithm>

#include "kagami/le_bytes.hpp"

namespace kagami {
namespace {}  // namespace

std::vector<E820Entry> pc_memory_map(const GuestMemory& memory) {
  std::vector<E820Entry> map;
  for (const RamRegion& region : memory.regions()) {
    if (region.gpa != 0) {
      map.push_back({region.gpa, region.size, kE820Ram});
      continue;
    }
    // Low RAM: carve out the legacy holes. GuestMemory guarantees at least 2 MiB, so low RAM
    // always reaches past 1 MiB; the clamps only keep a smaller layout self-consistent.
    uint64_t low_end = region.size;
    map.push_back({0, std::min(low_end, kEbdaStart), kE820Ram});
    map.push_back({kEbdaStart, kVgaStart - kEbdaStart, kE820Reserved});
    map.push_back({kBiosAreaStart, kHighMemoryStart - kBiosAreaStart, kE820Reserved});
    if (low_end > kHighMemoryStart)
      map.push_back({kHighMemoryStart, low_end - kHighMemoryStart, kE820Ram});
  }
  map.push_back({kPciEcamStart, kPciEcamSize, kE820Reserved});
  std::sort(map.begin(), map.end(),
            [](const E820Entry& a, const E820Entry& b) { return a.addr < b.addr; });
  return map;
}

std::vector<uint8_t> e820_fw_cfg_bytes(std::span<const E820Entry> map) {
  std::vector<uint8_t> out;
  out.reserve(map.size() * 20);
  for (const E820Entry& entry : map) {
    append_le(out, entry.addr, 8);
    append_le(out, entry.size, 8);
    append_le(out, entry.type, 4);
  }
  return out;
}

std::vector<uint8_t> e820_fw_cfg_bytes(const GuestMemory& memory) {
  return e820_fw_cfg_bytes(pc_memory_map(memory));
}

}  // namespace kagami
