// Reading and checking a bzImage's setup header: everything that depends on the file alone.
#include "linux_boot_image.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "boot_error.hpp"
#include "boot_format.hpp"
#include "kagami/le_bytes.hpp"

namespace kagami::linux_boot {
namespace {

using boot_format::hex;

// The 64-bit entry point needs xloadflags, which protocol 2.12 (Linux 3.8) introduced.
constexpr uint16_t kMinimumVersion = 0x020c;
// The header ends no further than the zero page's padding after it (edd_mbr_sig_buffer follows).
constexpr uint64_t kHeaderCopyLimit = 0x290;

std::string version_text(uint16_t version) {
  return std::to_string(version >> 8) + "." + std::to_string(version & 0xff);
}

uint64_t read_le(std::span<const uint8_t> image, uint64_t offset, int size) {
  return load_le(image.subspan(offset, size));
}

void check_magic(std::span<const uint8_t> image) {
  if (image.size() < kJumpTargetBase + 4)
    throw BootError("not a bzImage: the file is only " + std::to_string(image.size()) +
                    " bytes, too short for a setup header");
  if (read_le(image, 0x1fe, 2) != kBootFlag)
    throw BootError("not a bzImage: no boot sector signature 0xaa55 at offset 0x1fe");
  if (read_le(image, 0x202, 4) != kHeaderMagic)
    throw BootError("not a bzImage: no \"HdrS\" setup header magic at offset 0x202");
}

void check_version(std::span<const uint8_t> image) {
  if (image.size() < 0x208)
    throw BootError("truncated: the file ends inside the setup header at offset " +
                    hex(image.size()));
  const uint16_t version = static_cast<uint16_t>(read_le(image, 0x206, 2));
  if (version < kMinimumVersion)
    throw BootError("boot protocol " + version_text(version) +
                    " is too old: kagami enters the kernel at its 64-bit entry point, which needs "
                    "protocol 2.12 (Linux 3.8) or later");
}

// The boot sector and the setup sectors: the protected-mode kernel starts after them.
uint64_t setup_size(std::span<const uint8_t> image) {
  uint64_t sectors = image[kSetupHeaderOffset];
  if (sectors == 0) sectors = kDefaultSetupSects;
  const uint64_t size = (sectors + 1) * kSectorSize;
  if (size > image.size())
    throw BootError("truncated: setup_sects says " + std::to_string(sectors) + " setup sectors (" +
                    hex(size) + " bytes with the boot sector), the file has " + hex(image.size()) +
                    " bytes");
  return size;
}

void check_flags(const SetupHeader& header) {
  if (!(header.xloadflags & kXlfKernel64))
    throw BootError("not 64-bit capable: xloadflags " + hex(header.xloadflags) +
                    " lacks XLF_KERNEL_64, the kernel has no 64-bit entry point");
  if (!(header.loadflags & kLoadedHigh))
    throw BootError("loadflags " + hex(header.loadflags) +
                    " lacks LOADED_HIGH: a zImage loaded at 0x10000 is not supported");
}

uint64_t kernel_file_size(const SetupHeader& header, uint64_t kernel_offset, uint64_t file_size) {
  if (header.syssize == 0) throw BootError("syssize is 0: the image has no protected-mode kernel");
  const uint64_t size = uint64_t{header.syssize} * 16;
  if (size > file_size - kernel_offset)
    throw BootError("truncated: syssize says the protected-mode kernel is " + hex(size) +
                    " bytes from offset " + hex(kernel_offset) + ", the file has only " +
                    hex(file_size - kernel_offset) + " bytes there");
  if (header.init_size < size)
    throw BootError("init_size " + hex(header.init_size) +
                    " is smaller than the protected-mode kernel (" + hex(size) + " bytes)");
  return size;
}

void check_alignment(const SetupHeader& header) {
  const uint32_t align = header.kernel_alignment;
  if (align == 0 || (align & (align - 1)) != 0)
    throw BootError("kernel_alignment " + hex(align) +
                    " of a relocatable kernel is not a power of two");
}

}  // namespace

bool has_setup_header_magic(std::span<const uint8_t> image) {
  return image.size() >= kJumpTargetBase + 4 && read_le(image, 0x1fe, 2) == kBootFlag &&
         read_le(image, 0x202, 4) == kHeaderMagic;
}

BzImage parse_bzimage(std::span<const uint8_t> image) {
  check_magic(image);
  check_version(image);
  // At least 2 sectors, so the whole SetupHeader (up to 0x26c) is inside the file from here on.
  const uint64_t kernel_offset = setup_size(image);
  BzImage bz{};
  std::memcpy(&bz.header, image.data() + kSetupHeaderOffset, sizeof(SetupHeader));
  check_flags(bz.header);
  bz.kernel_offset = kernel_offset;
  bz.kernel_file_size = kernel_file_size(bz.header, kernel_offset, image.size());
  bz.relocatable = bz.header.relocatable_kernel != 0;
  if (bz.relocatable) check_alignment(bz.header);
  bz.header_end = std::min(kJumpTargetBase + image[kJumpDisplacementOffset], kHeaderCopyLimit);
  return bz;
}

}  // namespace kagami::linux_boot
