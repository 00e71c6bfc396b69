// Reading and checking a bzImage's setup header (private to the Linux loader).
#pragma once

#include <cstdint>
#include <span>

#include "linux_boot_params.hpp"

namespace kagami::linux_boot {

// A bzImage whose header passed every check that does not depend on guest RAM.
struct BzImage {
  SetupHeader header;         // as in the file
  uint64_t header_end;        // file offset where the setup header ends (0x202 + byte 0x201)
  uint64_t kernel_offset;     // file offset of the protected-mode kernel
  uint64_t kernel_file_size;  // syssize * 16 bytes from there
  bool relocatable;
};

// True when the file has the boot sector signature and the "HdrS" magic.
bool has_setup_header_magic(std::span<const uint8_t> image);

// Checks the setup header: magic, protocol version (2.12 and later), 64-bit entry point,
// LOADED_HIGH, setup sectors and syssize against the file size, init_size, kernel_alignment.
// Throws BootError with the reason alone (the caller prefixes the file name).
BzImage parse_bzimage(std::span<const uint8_t> image);

}  // namespace kagami::linux_boot
