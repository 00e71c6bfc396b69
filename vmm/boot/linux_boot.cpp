// Linux x86 boot protocol loader: check the bzImage, place kernel and initrd, fill the zero page.
#include "linux_boot.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "boot_format.hpp"
#include "linux_boot_cpu_state.hpp"
#include "linux_boot_image.hpp"
#include "linux_boot_params.hpp"

namespace kagami {
namespace {

using boot_format::hex;
using boot_format::range;
using linux_boot::BootParams;
using linux_boot::BzImage;

constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t k4GiB = 0x1'0000'0000;
constexpr uint16_t kAcpiRsdpVersion = 0x020e;  // protocol 2.14: boot_params.acpi_rsdp_addr

// A RAM range [start, end) below 4 GiB, from the memory map.
struct RamRange {
  uint64_t start;
  uint64_t end;
};

// The map's RAM entries clipped to [floor, 4 GiB), in address order.
std::vector<RamRange> ram_below_4g(std::span<const E820Entry> map, uint64_t floor) {
  std::vector<RamRange> ranges;
  for (const E820Entry& e : map) {
    if (e.type != kE820Ram || e.size == 0 || e.addr >= k4GiB) continue;
    const uint64_t start = std::max(e.addr, floor);
    const uint64_t end = e.size > k4GiB - e.addr ? k4GiB : e.addr + e.size;
    if (start < end) ranges.push_back({start, end});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const RamRange& a, const RamRange& b) { return a.start < b.start; });
  return ranges;
}

uint64_t ram_end_below_4g(std::span<const E820Entry> map) {
  uint64_t end = 0;
  for (const RamRange& r : ram_below_4g(map, 0)) end = std::max(end, r.end);
  return end;
}

bool fits(uint64_t start, uint64_t size, const RamRange& r) {
  return start >= r.start && start <= r.end && size <= r.end - start;
}

// The lowest `align`-aligned start >= `from` where `size` bytes of RAM below 4 GiB are free.
std::optional<uint64_t> lowest_fit(const std::vector<RamRange>& ram, uint64_t from, uint64_t size,
                                   uint64_t align) {
  for (const RamRange& r : ram) {
    const uint64_t lower = std::max(from, r.start);
    if (lower >= r.end) continue;
    const uint64_t start = (lower + align - 1) & ~(align - 1);  // lower < 4 GiB: cannot wrap
    if (fits(start, size, r)) return start;
  }
  return std::nullopt;
}

uint64_t place_kernel(const BzImage& bz, std::span<const E820Entry> map) {
  const uint64_t pref = bz.header.pref_address;
  const uint64_t size = bz.header.init_size;
  const std::vector<RamRange> ram = ram_below_4g(map, kHighMemoryStart);
  if (!bz.relocatable) {
    if (pref < kHighMemoryStart)
      throw BootError("the kernel is not relocatable and its pref_address " + hex(pref) +
                      " is below 1 MiB, where the boot structures live");
    for (const RamRange& r : ram)
      if (fits(pref, size, r)) return pref;
    throw BootError("kernel does not fit in RAM: it is not relocatable and needs init_size " +
                    hex(size) + " bytes at pref_address " + hex(pref) +
                    "; guest RAM below 4 GiB ends at " + hex(ram_end_below_4g(map)));
  }
  const uint64_t from = std::max(pref, kHighMemoryStart);
  if (std::optional<uint64_t> start = lowest_fit(ram, from, size, bz.header.kernel_alignment))
    return *start;
  throw BootError("kernel does not fit in RAM: it needs init_size " + hex(size) +
                  " bytes aligned to " + hex(bz.header.kernel_alignment) + " at or above " +
                  hex(from) + "; guest RAM below 4 GiB ends at " + hex(ram_end_below_4g(map)));
}

// The highest page-aligned start in [lower, upper) for `size` bytes, if there is room.
std::optional<uint64_t> highest_fit(uint64_t lower, uint64_t upper, uint64_t size) {
  if (upper <= lower || size > upper - lower) return std::nullopt;
  const uint64_t start = (upper - size) & ~(kPageSize - 1);
  if (start < lower) return std::nullopt;
  return start;
}

// As high as possible below min(initrd_addr_max + 1, end of RAM below 4 GiB), at or above
// 1 MiB, outside the kernel's [kernel, kernel + init_size).
uint64_t place_initrd(const BzImage& bz, uint64_t kernel, uint64_t size,
                      std::span<const E820Entry> map, const std::string& initrd_name) {
  const uint64_t limit = uint64_t{bz.header.initrd_addr_max} + 1;
  const uint64_t kernel_end = kernel + bz.header.init_size;
  std::vector<RamRange> ram = ram_below_4g(map, kHighMemoryStart);
  for (auto r = ram.rbegin(); r != ram.rend(); ++r) {
    const uint64_t top = std::min(r->end, limit);
    // The part above the kernel first, then the part below it.
    if (std::optional<uint64_t> s = highest_fit(std::max(r->start, kernel_end), top, size))
      return *s;
    if (std::optional<uint64_t> s = highest_fit(r->start, std::min(top, kernel), size)) return *s;
  }
  throw BootError(initrd_name + " does not fit: " + hex(size) +
                  " bytes, page-aligned, at or above 1 MiB below " +
                  hex(std::min(limit, ram_end_below_4g(map))) + " (initrd_addr_max " +
                  hex(bz.header.initrd_addr_max) + ", end of RAM below 4 GiB " +
                  hex(ram_end_below_4g(map)) + ") outside the kernel " +
                  range(kernel, bz.header.init_size));
}

void check_cmdline(const BzImage& bz, const std::string& cmdline) {
  if (cmdline.find('\0') != std::string::npos)
    throw BootError("the kernel command line contains a NUL byte");
  if (cmdline.size() > bz.header.cmdline_size)
    throw BootError("command line too long: " + std::to_string(cmdline.size()) +
                    " bytes, the kernel accepts at most " + std::to_string(bz.header.cmdline_size) +
                    " (cmdline_size)");
  if (cmdline.size() >= kLinuxCmdlineAreaSize)
    throw BootError("command line too long: " + std::to_string(cmdline.size()) +
                    " bytes, kagami passes at most " + std::to_string(kLinuxCmdlineAreaSize - 1));
}

void check_map(std::span<const E820Entry> map) {
  if (map.size() > linux_boot::kZeroPageE820Entries)
    throw BootError("the memory map has " + std::to_string(map.size()) +
                    " entries, the zero page holds at most " +
                    std::to_string(linux_boot::kZeroPageE820Entries));
}

// What goes where: every range the loader writes, decided and checked before any write.
struct Placement {
  uint64_t kernel_addr;
  uint64_t initrd_addr;
};

BootParams build_zero_page(std::span<const uint8_t> image, const BzImage& bz,
                           const Placement& place, uint64_t initrd_size,
                           std::span<const E820Entry> map, uint64_t acpi_rsdp_addr) {
  BootParams params{};
  auto* raw = reinterpret_cast<uint8_t*>(&params);
  std::memcpy(raw + linux_boot::kSetupHeaderOffset, image.data() + linux_boot::kSetupHeaderOffset,
              bz.header_end - linux_boot::kSetupHeaderOffset);
  linux_boot::SetupHeader& hdr = params.hdr;
  hdr.type_of_loader = linux_boot::kTypeOfLoaderUndefined;
  hdr.loadflags &= static_cast<uint8_t>(~linux_boot::kCanUseHeap);
  hdr.heap_end_ptr = 0;
  hdr.code32_start = static_cast<uint32_t>(place.kernel_addr);
  hdr.cmd_line_ptr = static_cast<uint32_t>(kLinuxCmdlineAddr);
  params.ext_cmd_line_ptr = static_cast<uint32_t>(kLinuxCmdlineAddr >> 32);
  hdr.ramdisk_image = static_cast<uint32_t>(place.initrd_addr);
  params.ext_ramdisk_image = static_cast<uint32_t>(place.initrd_addr >> 32);
  hdr.ramdisk_size = static_cast<uint32_t>(initrd_size);
  params.ext_ramdisk_size = static_cast<uint32_t>(initrd_size >> 32);
  hdr.setup_data = 0;  // the file's value would send the kernel walking a list that is not there
  hdr.hardware_subarch = 0;  // X86_SUBARCH_PC
  hdr.hardware_subarch_data = 0;
  if (bz.header.version >= kAcpiRsdpVersion) params.acpi_rsdp_addr = acpi_rsdp_addr;
  params.e820_entries = static_cast<uint8_t>(map.size());
  for (size_t i = 0; i < map.size(); ++i)
    params.e820_table[i] = {map[i].addr, map[i].size, map[i].type};
  return params;
}

// The fixed low-memory structures must be RAM in the map (and in guest memory).
void check_low_memory(const GuestMemory& memory, std::span<const E820Entry> map) {
  const std::vector<RamRange> ram = ram_below_4g(map, 0);
  const RamRange low_structures{kLinuxGdtAddr, kLinuxCmdlineAddr + kLinuxCmdlineAreaSize};
  for (const RamRange& r : ram)
    if (fits(low_structures.start, low_structures.end - low_structures.start, r) &&
        memory.host_address(low_structures.start, low_structures.end - low_structures.start))
      return;
  throw BootError("the boot structures " +
                  range(low_structures.start, low_structures.end - low_structures.start) +
                  " are not RAM in the memory map");
}

void write_guest(GuestMemory& memory, uint64_t gpa, std::span<const uint8_t> bytes) {
  if (!memory.write(gpa, bytes)) throw BootError(range(gpa, bytes.size()) + " is not guest RAM");
}

LinuxEntry load(GuestMemory& memory, std::span<const uint8_t> image,
                std::span<const uint8_t> initrd, const std::string& cmdline,
                std::span<const E820Entry> map, uint64_t acpi_rsdp_addr,
                const std::string& initrd_name) {
  const BzImage bz = linux_boot::parse_bzimage(image);
  check_cmdline(bz, cmdline);
  check_map(map);
  check_low_memory(memory, map);
  Placement place{};
  place.kernel_addr = place_kernel(bz, map);
  if (!initrd.empty())
    place.initrd_addr = place_initrd(bz, place.kernel_addr, initrd.size(), map, initrd_name);
  // The map may claim RAM that guest memory does not have: check every range before writing.
  const std::span<const uint8_t> kernel = image.subspan(bz.kernel_offset, bz.kernel_file_size);
  if (!memory.host_address(place.kernel_addr, bz.header.init_size) ||
      (!initrd.empty() && !memory.host_address(place.initrd_addr, initrd.size())))
    throw BootError("the memory map claims RAM that guest memory does not have: the kernel " +
                    range(place.kernel_addr, bz.header.init_size) + " or the initrd " +
                    range(place.initrd_addr, initrd.size()) + " would be outside it");

  const BootParams params = build_zero_page(image, bz, place, initrd.size(), map, acpi_rsdp_addr);
  const auto* params_bytes = reinterpret_cast<const uint8_t*>(&params);
  std::vector<uint8_t> cmdline_bytes(cmdline.begin(), cmdline.end());
  cmdline_bytes.push_back(0);

  // Everything is checked: only now touch guest RAM.
  write_guest(memory, kLinuxGdtAddr, linux_boot_gdt());
  write_guest(memory, kLinuxPageTablesAddr, linux_identity_page_tables(kLinuxPageTablesAddr));
  write_guest(memory, kLinuxZeroPageAddr, {params_bytes, sizeof(params)});
  write_guest(memory, kLinuxCmdlineAddr, cmdline_bytes);
  write_guest(memory, place.kernel_addr, kernel);
  if (!initrd.empty()) write_guest(memory, place.initrd_addr, initrd);

  LinuxEntry entry{};
  entry.entry = place.kernel_addr + linux_boot::kEntry64Offset;
  entry.zero_page_addr = kLinuxZeroPageAddr;
  entry.stack_top = kLinuxStackTop;
  entry.page_table_root = kLinuxPageTablesAddr;
  entry.gdt_base = kLinuxGdtAddr;
  entry.gdt_limit = static_cast<uint16_t>(linux_boot_gdt().size() - 1);
  entry.kernel_addr = place.kernel_addr;
  entry.kernel_size = bz.header.init_size;
  entry.cmdline_addr = kLinuxCmdlineAddr;
  entry.initrd_addr = place.initrd_addr;
  entry.initrd_size = initrd.size();
  return entry;
}

}  // namespace

bool is_bzimage(std::span<const uint8_t> image) {
  return linux_boot::has_setup_header_magic(image);
}

LinuxEntry load_linux(GuestMemory& memory, const std::string& image_name,
                      std::span<const uint8_t> image, std::span<const uint8_t> initrd,
                      const std::string& cmdline, std::span<const E820Entry> map,
                      uint64_t acpi_rsdp_addr, const std::string& initrd_name) {
  try {
    return load(memory, image, initrd, cmdline, map, acpi_rsdp_addr, initrd_name);
  } catch (const BootError& error) {
    throw BootError(image_name + ": " + error.what());
  }
}

}  // namespace kagami
