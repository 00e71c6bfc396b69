// ELF executables as the multiboot loader sees them: class, entry point and PT_LOAD segments.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kagami {

// One PT_LOAD program header, widened to 64 bits whatever the ELF class.
struct ElfSegment {
  unsigned index;  // position in the program header table, for error messages
  uint64_t offset;
  uint64_t vaddr;
  uint64_t paddr;
  uint64_t filesz;
  uint64_t memsz;
  uint32_t flags;  // PF_X, PF_W, PF_R
};

struct ElfExecutable {
  bool is_64bit;
  uint64_t entry;  // e_entry: a virtual address
  std::vector<ElfSegment> load_segments;
};

// True when the image starts with the ELF magic bytes.
bool has_elf_magic(std::span<const uint8_t> image);

// Parses the ELF header and program header table of a little-endian x86 executable (ET_EXEC):
// ELFCLASS32 with EM_386, or ELFCLASS64 with EM_X86_64. Throws BootError with the reason alone
// (the caller prefixes the file name) when a header is truncated, malformed or for another machine.
// Segment contents are not checked here: the loader checks them against the file and guest RAM.
ElfExecutable parse_elf_executable(std::span<const uint8_t> image);

}  // namespace kagami
