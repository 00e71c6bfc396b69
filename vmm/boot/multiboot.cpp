// Multiboot v1 loader: find the header, lay the kernel out, check everything, then copy it in.
#include "multiboot.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "boot_format.hpp"
#include "e820.hpp"
#include "elf.hpp"
#include "kagami/le_bytes.hpp"
#include "multiboot_info.hpp"

namespace kagami {
namespace {

using boot_format::hex;
using boot_format::range;

constexpr uint64_t k4GiB = 0x1'0000'0000;

// QEMU looks for the magic at 4-byte steps while a full 48-byte header (including the video
// mode fields) still ends within 8 KiB; the spec only says the header lies in the first 8 KiB.
constexpr uint64_t kFullHeaderSize = 48;
constexpr uint64_t kHeaderSearchEnd = 8192 - kFullHeaderSize;
constexpr uint64_t kMinimalHeaderSize = 12;  // magic, flags, checksum
constexpr uint64_t kAddressHeaderSize = 32;  // ... header_addr, load_addr, load_end, bss_end, entry

constexpr uint32_t kHeaderPageAlignModules = 1u << 0;  // always done
constexpr uint32_t kHeaderWantsMemoryInfo = 1u << 1;   // always given
constexpr uint32_t kHeaderWantsVideoMode = 1u << 2;    // QEMU ignores it and stays in text mode
constexpr uint32_t kHeaderHasAddressFields = 1u << 16;
// Bits 0-15 are requirements: a loader that does not understand one must refuse the kernel.
constexpr uint32_t kHeaderRequirementBits = 0xffff;
constexpr uint32_t kHeaderSupportedRequirements =
    kHeaderPageAlignModules | kHeaderWantsMemoryInfo | kHeaderWantsVideoMode;

// A piece of the kernel: file bytes [file_offset, +file_size) copied to guest-physical gpa, the
// rest of mem_size zeroed (BSS).
struct LoadSegment {
  std::string name;  // for error messages
  uint64_t file_offset;
  uint64_t file_size;
  uint64_t gpa;
  uint64_t mem_size;
};

struct KernelLayout {
  std::vector<LoadSegment> segments;
  uint64_t entry;
};

struct MultibootHeader {
  uint64_t offset;
  uint32_t flags;
};

uint32_t read32(std::span<const uint8_t> image, uint64_t offset) {
  return static_cast<uint32_t>(load_le(image.subspan(offset, 4)));
}

uint32_t checksum_sum(std::span<const uint8_t> image, uint64_t offset) {
  return read32(image, offset) + read32(image, offset + 4) + read32(image, offset + 8);
}

std::optional<MultibootHeader> find_header(std::span<const uint8_t> image) {
  for (uint64_t off = 0; off < kHeaderSearchEnd && off + kMinimalHeaderSize <= image.size();
       off += 4) {
    if (read32(image, off) == kMultibootHeaderMagic && checksum_sum(image, off) == 0)
      return MultibootHeader{off, read32(image, off + 4)};
  }
  return std::nullopt;
}

// Why find_header found nothing. Only runs on the error path, so it may scan the whole file.
std::string explain_missing_header(std::span<const uint8_t> image) {
  for (uint64_t off = 0; off + 4 <= image.size(); off += 4) {
    if (read32(image, off) != kMultibootHeaderMagic) continue;
    bool complete = off + kMinimalHeaderSize <= image.size();
    if (off >= kHeaderSearchEnd) {
      if (!complete || checksum_sum(image, off) != 0) continue;  // stray magic in the data
      return "multiboot header at offset " + hex(off) +
             " is too far into the file: it must start within the first " +
             std::to_string(kHeaderSearchEnd) + " bytes (8 KiB less the 48-byte header)";
    }
    if (!complete)
      return "multiboot header at offset " + hex(off) + " is truncated by the end of the file";
    return "multiboot header at offset " + hex(off) +
           " has a bad checksum: magic + flags + checksum is " + hex(checksum_sum(image, off)) +
           ", not 0";
  }
  return "not a multiboot kernel: no multiboot header (magic 0x1badb002) in the first 8 KiB";
}

void check_requirements(uint32_t flags) {
  uint32_t unsupported = flags & kHeaderRequirementBits & ~kHeaderSupportedRequirements;
  if (unsupported)
    throw BootError("the multiboot header requires features kagami does not support (flag bits " +
                    hex(unsupported) + " of " + hex(flags) + ")");
}

// Header flag bit 16: the header says where the image goes (QEMU's checks, in QEMU's order).
KernelLayout layout_from_address_fields(std::span<const uint8_t> image, uint64_t header_offset) {
  if (header_offset + kAddressHeaderSize > image.size())
    throw BootError("multiboot header at offset " + hex(header_offset) +
                    " is truncated: its address fields need " + std::to_string(kAddressHeaderSize) +
                    " bytes, the file ends at " + hex(image.size()));
  const uint32_t header_addr = read32(image, header_offset + 12);
  const uint32_t load_addr = read32(image, header_offset + 16);
  const uint32_t load_end_addr = read32(image, header_offset + 20);
  const uint32_t bss_end_addr = read32(image, header_offset + 24);
  const uint32_t entry_addr = read32(image, header_offset + 28);

  if (header_addr < load_addr)
    throw BootError("a.out kludge: header_addr " + hex(header_addr) + " is below load_addr " +
                    hex(load_addr));
  const uint64_t header_delta = header_addr - load_addr;
  if (header_delta > header_offset)
    throw BootError("a.out kludge: header_addr - load_addr (" + hex(header_delta) +
                    ") is larger than the header's file offset " + hex(header_offset) +
                    ": the image would start before the file");
  const uint64_t text_offset = header_offset - header_delta;

  uint64_t load_size = image.size() - text_offset;  // load_end_addr 0: the rest of the file
  if (load_end_addr != 0) {
    if (load_end_addr < load_addr)
      throw BootError("a.out kludge: load_end_addr " + hex(load_end_addr) + " is below load_addr " +
                      hex(load_addr));
    load_size = load_end_addr - load_addr;
    if (load_size > image.size() - text_offset)
      throw BootError("a.out kludge: load_end_addr " + hex(load_end_addr) +
                      " needs the file up to offset " + hex(text_offset + load_size) +
                      ", beyond the end of the file (" + std::to_string(image.size()) + " bytes)");
  }
  if (load_addr + load_size > k4GiB - 1)
    throw BootError("a.out kludge: the image (" + hex(load_size) + " bytes at " + hex(load_addr) +
                    ") does not fit in the 32-bit address space");
  uint64_t mem_size = load_size;  // bss_end_addr 0: no BSS
  if (bss_end_addr != 0) {
    if (bss_end_addr < load_addr + load_size)
      throw BootError("a.out kludge: bss_end_addr " + hex(bss_end_addr) +
                      " is below the end of the loaded image " + hex(load_addr + load_size));
    mem_size = bss_end_addr - load_addr;
  }
  if (mem_size == 0) throw BootError("a.out kludge: the image is empty");
  return {{{"the a.out kludge image", text_offset, load_size, load_addr, mem_size}}, entry_addr};
}

KernelLayout layout_from_elf(std::span<const uint8_t> image) {
  if (!has_elf_magic(image))
    throw BootError(
        "neither an ELF executable nor an a.out kludge image (the multiboot header does not set "
        "flag bit 16 and the file has no ELF magic)");
  const ElfExecutable elf = parse_elf_executable(image);
  KernelLayout layout{{}, elf.entry};
  for (const ElfSegment& s : elf.load_segments) {
    if (s.memsz == 0 && s.filesz == 0) continue;  // QEMU skips empty segments too
    layout.segments.push_back(
        {"program header " + std::to_string(s.index), s.offset, s.filesz, s.paddr, s.memsz});
    // As QEMU (and GRUB): a kernel linked at a virtual address other than its load address is
    // entered at the physical address of its entry point.
    if (s.vaddr != s.paddr && (s.flags & PF_X) && elf.entry >= s.vaddr &&
        elf.entry - s.vaddr < s.filesz)
      layout.entry = elf.entry - s.vaddr + s.paddr;
  }
  if (layout.segments.empty()) throw BootError("the ELF file has no loadable segments");
  return layout;
}

// Why guest-physical [gpa, gpa + size), below 4 GiB, is not inside one RAM entry of the map;
// nothing when it is.
std::optional<std::string> outside_ram_reason(uint64_t gpa, uint64_t size,
                                              std::span<const E820Entry> map) {
  uint64_t low_ram_end = 0;
  for (const E820Entry& entry : map) {
    if (entry.type != kE820Ram || entry.addr >= k4GiB) continue;
    if (gpa >= entry.addr && gpa + size <= entry.end()) return std::nullopt;
    low_ram_end = std::max(low_ram_end, entry.end());
  }
  const uint64_t end = gpa + size;
  const uint64_t pci_hole = GuestMemory::kPciHoleStart;
  if (end > low_ram_end) {
    if (end > pci_hole && (gpa >= pci_hole || low_ram_end == pci_hole))
      return "lies in the PCI hole " + range(pci_hole, k4GiB - pci_hole) + " (MMIO, not RAM)";
    return "extends beyond the end of guest RAM below 4 GiB at " + hex(low_ram_end);
  }
  return "overlaps the reserved legacy area " + range(kEbdaStart, kHighMemoryStart - kEbdaStart) +
         " (EBDA, VGA and BIOS)";
}

void check_segment(const LoadSegment& s, uint64_t image_size, std::span<const E820Entry> map) {
  if (s.file_size > s.mem_size)
    throw BootError(s.name + ": its file size " + hex(s.file_size) + " exceeds its memory size " +
                    hex(s.mem_size));
  if (s.file_size > 0 && (s.file_offset > image_size || s.file_size > image_size - s.file_offset))
    throw BootError(s.name + ": its " + hex(s.file_size) + " bytes at file offset " +
                    hex(s.file_offset) + " extend beyond the end of the file (" +
                    std::to_string(image_size) + " bytes)");
  if (s.mem_size > k4GiB)
    throw BootError(s.name + ": its size " + hex(s.mem_size) + " is larger than 4 GiB");
  if (s.gpa >= k4GiB)
    throw BootError(s.name + ": its address " + hex(s.gpa) +
                    " is above 4 GiB, out of reach of a kernel entered with paging off");
  if (s.mem_size > k4GiB - s.gpa)
    throw BootError(s.name + ": " + hex(s.mem_size) + " bytes at " + hex(s.gpa) +
                    " run past 4 GiB (the range wraps around the 32-bit address space)");
  if (std::optional<std::string> reason = outside_ram_reason(s.gpa, s.mem_size, map))
    throw BootError(s.name + " " + range(s.gpa, s.mem_size) + " " + *reason);
}

void check_no_overlap(std::vector<LoadSegment> segments) {
  std::sort(segments.begin(), segments.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.gpa < b.gpa; });
  for (size_t i = 1; i < segments.size(); ++i) {
    const LoadSegment& low = segments[i - 1];
    const LoadSegment& high = segments[i];
    if (high.gpa < low.gpa + low.mem_size)
      throw BootError(low.name + " " + range(low.gpa, low.mem_size) + " overlaps " + high.name +
                      " " + range(high.gpa, high.mem_size));
  }
}

void check_entry(const KernelLayout& kernel) {
  for (const LoadSegment& s : kernel.segments)
    if (kernel.entry >= s.gpa && kernel.entry - s.gpa < s.mem_size) return;
  throw BootError("entry point " + hex(kernel.entry) + " is outside the loaded image");
}

void check_strings(const std::string& cmdline, std::span<const BootModule> modules) {
  if (cmdline.find('\0') != std::string::npos)
    throw BootError("the kernel command line contains a NUL byte");
  for (size_t i = 0; i < modules.size(); ++i)
    if (modules[i].cmdline.find('\0') != std::string::npos)
      throw BootError("the command line of module " + std::to_string(i + 1) +
                      " contains a NUL byte");
}

void copy_to_guest(GuestMemory& memory, uint64_t gpa, std::span<const uint8_t> bytes) {
  // Every range was checked against the memory map, which lies inside GuestMemory's regions.
  if (!memory.write(gpa, bytes))
    throw BootError("internal error: " + range(gpa, bytes.size()) + " is not guest RAM");
}

void copy_kernel(GuestMemory& memory, std::span<const uint8_t> image, const KernelLayout& kernel) {
  for (const LoadSegment& s : kernel.segments) {
    copy_to_guest(memory, s.gpa, image.subspan(s.file_offset, s.file_size));
    const uint64_t bss_size = s.mem_size - s.file_size;
    uint8_t* bss = memory.host_address(s.gpa + s.file_size, bss_size);
    if (!bss) throw BootError("internal error: BSS of " + s.name + " is not guest RAM");
    std::memset(bss, 0, bss_size);
  }
}

MultibootEntry load(GuestMemory& memory, std::span<const uint8_t> image,
                    const std::string& kernel_cmdline, std::span<const BootModule> modules) {
  const std::optional<MultibootHeader> header = find_header(image);
  if (!header) throw BootError(explain_missing_header(image));
  check_requirements(header->flags);
  const KernelLayout kernel = (header->flags & kHeaderHasAddressFields)
                                  ? layout_from_address_fields(image, header->offset)
                                  : layout_from_elf(image);
  const std::vector<E820Entry> map = pc_memory_map(memory);
  uint64_t kernel_end = 0;
  for (const LoadSegment& s : kernel.segments) {
    check_segment(s, image.size(), map);
    kernel_end = std::max(kernel_end, s.gpa + s.mem_size);
  }
  check_no_overlap(kernel.segments);
  check_entry(kernel);
  check_strings(kernel_cmdline, modules);
  const BootInfoPlacement info = place_boot_info(kernel_end, kernel_cmdline, modules, map);

  // Everything is checked: only now touch guest RAM.
  copy_kernel(memory, image, kernel);
  copy_to_guest(memory, info.info_addr, info.info_block);
  for (size_t i = 0; i < modules.size(); ++i)
    copy_to_guest(memory, info.module_addrs[i], modules[i].data);
  return {static_cast<uint32_t>(kernel.entry), static_cast<uint32_t>(info.info_addr)};
}

}  // namespace

bool is_multiboot(std::span<const uint8_t> image) {
  return find_header(image).has_value();
}

MultibootEntry load_multiboot(GuestMemory& memory, const std::string& image_name,
                              std::span<const uint8_t> image, const std::string& cmdline,
                              std::span<const BootModule> modules) {
  try {
    return load(memory, image, image_name + " " + cmdline, modules);
  } catch (const BootError& error) {
    throw BootError(image_name + ": " + error.what());
  }
}

}  // namespace kagami
