// The multiboot information block, and where it and the modules go in guest RAM.
#include "multiboot_info.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "boot_format.hpp"
#include "kagami/le_bytes.hpp"

namespace kagami {
namespace {

using boot_format::hex;

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t k4GiB = 0x1'0000'0000;

// Field offsets of the multiboot information structure (Multiboot 0.6.96, section 3.3).
constexpr uint64_t kInfoFlags = 0;
constexpr uint64_t kInfoMemLower = 4;
constexpr uint64_t kInfoMemUpper = 8;
constexpr uint64_t kInfoCmdline = 16;
constexpr uint64_t kInfoModsCount = 20;
constexpr uint64_t kInfoModsAddr = 24;
constexpr uint64_t kInfoMmapLength = 44;
constexpr uint64_t kInfoMmapAddr = 48;
constexpr uint64_t kInfoBootLoaderName = 64;
constexpr uint64_t kInfoSize = 88;

constexpr uint32_t kInfoHasMemory = 1u << 0;
constexpr uint32_t kInfoHasCmdline = 1u << 2;
constexpr uint32_t kInfoHasModules = 1u << 3;
constexpr uint32_t kInfoHasMemoryMap = 1u << 6;
constexpr uint32_t kInfoHasBootLoaderName = 1u << 9;

constexpr uint64_t kModuleEntrySize = 16;  // mod_start, mod_end, string, reserved
constexpr uint64_t kMmapEntrySize = 24;    // size (not counting itself: 20), base, length, type
constexpr char kBootLoaderName[] = "kagami";

uint64_t page_align(uint64_t value) {
  return (value + kPageSize - 1) & ~(kPageSize - 1);
}

// Offsets inside the block: info structure, module list, memory map, then the strings.
struct BlockLayout {
  uint64_t modules;
  uint64_t memory_map;
  uint64_t strings;
  uint64_t size;
};

BlockLayout block_layout(const std::string& cmdline, std::span<const BootModule> modules,
                         std::span<const E820Entry> memory_map) {
  BlockLayout layout{};
  layout.modules = kInfoSize;
  layout.memory_map = layout.modules + kModuleEntrySize * modules.size();
  layout.strings = layout.memory_map + kMmapEntrySize * memory_map.size();
  layout.size = layout.strings + cmdline.size() + 1 + sizeof(kBootLoaderName);
  for (const BootModule& module : modules) layout.size += module.cmdline.size() + 1;
  return layout;
}

// The RAM entry below 4 GiB that contains `addr`: everything placed from `addr` on must stay in it.
const E820Entry* ram_entry_at(std::span<const E820Entry> map, uint64_t addr) {
  for (const E820Entry& entry : map)
    if (entry.type == kE820Ram && entry.addr < k4GiB && addr >= entry.addr && addr < entry.end())
      return &entry;
  return nullptr;
}

std::string module_label(size_t index, const BootModule& module) {
  return "module " + std::to_string(index + 1) + " ('" + module.cmdline + "', " +
         std::to_string(module.data.size()) + " bytes)";
}

// Places the block at `base` and the modules after it; the reason when something does not fit.
std::optional<std::string> try_place(uint64_t base, uint64_t block_size,
                                     std::span<const BootModule> modules,
                                     std::span<const E820Entry> map, BootInfoPlacement& out) {
  const E820Entry* ram = ram_entry_at(map, base);
  if (!ram || block_size > ram->end() - base)
    return "the multiboot information (" + std::to_string(block_size) +
           " bytes) does not fit in guest RAM after the kernel: it would start at " + hex(base) +
           " and RAM there ends at " + hex(ram ? ram->end() : base);
  out.info_addr = base;
  out.module_addrs.clear();
  uint64_t next = page_align(base + block_size);
  for (size_t i = 0; i < modules.size(); ++i) {
    uint64_t size = modules[i].data.size();
    if (next > ram->end() || size > ram->end() - next)
      return module_label(i, modules[i]) + " does not fit in guest RAM: it would start at " +
             hex(next) + " and RAM there ends at " + hex(ram->end());
    out.module_addrs.push_back(next);
    next = page_align(next + size);
  }
  return std::nullopt;
}

// mem_lower: the conventional memory below the EBDA. mem_upper: RAM contiguous from 1 MiB up to
// the first hole, as the spec defines it and as QEMU's multiboot option ROM computes it.
uint32_t lower_memory_kib(std::span<const E820Entry> map) {
  const E820Entry* ram = ram_entry_at(map, 0);
  return ram ? static_cast<uint32_t>(ram->size / 1024) : 0;
}

uint32_t upper_memory_kib(std::span<const E820Entry> map) {
  uint64_t end = kHighMemoryStart;
  while (end < k4GiB) {
    const E820Entry* ram = ram_entry_at(map, end);
    if (!ram) break;
    end = std::min(ram->end(), k4GiB);
  }
  return static_cast<uint32_t>((end - kHighMemoryStart) / 1024);
}

void put(std::vector<uint8_t>& block, uint64_t offset, uint64_t value, int bytes) {
  store_le(std::span(block).subspan(offset, bytes), value);
}

// Copies a NUL-terminated string into the block and returns its guest address.
uint64_t put_string(std::vector<uint8_t>& block, uint64_t& offset, uint64_t block_addr,
                    const std::string& text) {
  std::memcpy(block.data() + offset, text.c_str(), text.size() + 1);
  uint64_t addr = block_addr + offset;
  offset += text.size() + 1;
  return addr;
}

std::vector<uint8_t> build_block(const BlockLayout& layout, const BootInfoPlacement& placement,
                                 const std::string& cmdline, std::span<const BootModule> modules,
                                 std::span<const E820Entry> map) {
  std::vector<uint8_t> block(layout.size, 0);
  const uint64_t base = placement.info_addr;
  uint64_t strings = layout.strings;
  put(block, kInfoFlags,
      kInfoHasMemory | kInfoHasCmdline | kInfoHasModules | kInfoHasMemoryMap |
          kInfoHasBootLoaderName,
      4);
  put(block, kInfoMemLower, lower_memory_kib(map), 4);
  put(block, kInfoMemUpper, upper_memory_kib(map), 4);
  put(block, kInfoCmdline, put_string(block, strings, base, cmdline), 4);
  put(block, kInfoModsCount, modules.size(), 4);
  put(block, kInfoModsAddr, base + layout.modules, 4);
  for (size_t i = 0; i < modules.size(); ++i) {
    uint64_t entry = layout.modules + i * kModuleEntrySize;
    put(block, entry + 0, placement.module_addrs[i], 4);
    put(block, entry + 4, placement.module_addrs[i] + modules[i].data.size(), 4);
    put(block, entry + 8, put_string(block, strings, base, modules[i].cmdline), 4);
  }
  put(block, kInfoMmapLength, map.size() * kMmapEntrySize, 4);
  put(block, kInfoMmapAddr, base + layout.memory_map, 4);
  for (size_t i = 0; i < map.size(); ++i) {
    uint64_t entry = layout.memory_map + i * kMmapEntrySize;
    put(block, entry + 0, kMmapEntrySize - 4, 4);
    put(block, entry + 4, map[i].addr, 8);
    put(block, entry + 12, map[i].size, 8);
    put(block, entry + 20, map[i].type, 4);
  }
  put(block, kInfoBootLoaderName, put_string(block, strings, base, kBootLoaderName), 4);
  return block;
}

}  // namespace

BootInfoPlacement place_boot_info(uint64_t first_free, const std::string& cmdline,
                                  std::span<const BootModule> modules,
                                  std::span<const E820Entry> memory_map) {
  const BlockLayout layout = block_layout(cmdline, modules, memory_map);
  BootInfoPlacement placement;
  uint64_t base = page_align(first_free);
  std::optional<std::string> failure = try_place(base, layout.size, modules, memory_map, placement);
  // A kernel loaded below 640 KiB leaves little room before the EBDA; above 1 MiB nothing is
  // loaded yet, so retry there.
  if (failure && base < kHighMemoryStart)
    failure = try_place(kHighMemoryStart, layout.size, modules, memory_map, placement);
  if (failure) throw BootError(*failure);
  placement.info_block = build_block(layout, placement, cmdline, modules, memory_map);
  return placement;
}

}  // namespace kagami
