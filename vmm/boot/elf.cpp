// ELF executables as the multiboot loader sees them: class, entry point and PT_LOAD segments.
#include "elf.hpp"

#include <elf.h>

#include <cstring>
#include <string>

#include "boot_error.hpp"
#include "boot_format.hpp"

namespace kagami {
namespace {

using boot_format::hex;

// memcpy, not a cast: the image buffer has no alignment guarantee. The caller checks bounds.
template <typename T>
T load_struct(std::span<const uint8_t> image, uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(value));
  return value;
}

// One parser for both classes: <elf.h> gives the 32- and 64-bit structures the same field names.
template <typename Ehdr, typename Phdr>
ElfExecutable parse_class(std::span<const uint8_t> image, bool is_64bit) {
  const char* name = is_64bit ? "ELF64" : "ELF32";
  if (image.size() < sizeof(Ehdr))
    throw BootError(std::string("truncated ELF header: the file has ") +
                    std::to_string(image.size()) + " bytes, an " + name + " header needs " +
                    std::to_string(sizeof(Ehdr)));
  const Ehdr header = load_struct<Ehdr>(image, 0);
  if (header.e_type != ET_EXEC)
    throw BootError("ELF type " + std::to_string(header.e_type) +
                    " is not an executable (ET_EXEC = 2)");
  const uint16_t machine = is_64bit ? EM_X86_64 : EM_386;
  if (header.e_machine != machine)
    throw BootError(std::string(name) + " machine " + std::to_string(header.e_machine) +
                    " is not " + (is_64bit ? "x86-64 (EM_X86_64 = 62)" : "i386 (EM_386 = 3)"));
  if (header.e_phnum == 0) throw BootError("the ELF file has no program headers");
  if (header.e_phnum == PN_XNUM)
    throw BootError("the ELF file uses extended program header numbering (e_phnum = PN_XNUM)");
  if (header.e_phentsize != sizeof(Phdr))
    throw BootError("ELF program header entry size " + std::to_string(header.e_phentsize) +
                    " is not " + std::to_string(sizeof(Phdr)));

  const uint64_t table_offset = header.e_phoff;
  const uint64_t table_size = uint64_t{header.e_phnum} * sizeof(Phdr);
  if (table_offset > image.size() || table_size > image.size() - table_offset)
    throw BootError("truncated program header table: " + std::to_string(header.e_phnum) +
                    " entries at offset " + hex(table_offset) + " extend beyond the end of the " +
                    std::to_string(image.size()) + "-byte file");

  ElfExecutable elf{is_64bit, header.e_entry, {}};
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    const Phdr ph = load_struct<Phdr>(image, table_offset + uint64_t{i} * sizeof(Phdr));
    if (ph.p_type != PT_LOAD) continue;
    elf.load_segments.push_back(
        {i, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_flags});
  }
  return elf;
}

}  // namespace

bool has_elf_magic(std::span<const uint8_t> image) {
  return image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

ElfExecutable parse_elf_executable(std::span<const uint8_t> image) {
  if (!has_elf_magic(image)) throw BootError("not an ELF file");
  if (image.size() < EI_NIDENT)
    throw BootError("truncated ELF header: the file has " + std::to_string(image.size()) +
                    " bytes, the ELF identification alone needs " + std::to_string(EI_NIDENT));
  if (image[EI_DATA] != ELFDATA2LSB) throw BootError("the ELF file is not little-endian");
  switch (image[EI_CLASS]) {
    case ELFCLASS32: return parse_class<Elf32_Ehdr, Elf32_Phdr>(image, false);
    case ELFCLASS64: return parse_class<Elf64_Ehdr, Elf64_Phdr>(image, true);
    default: throw BootError("unknown ELF class " + std::to_string(image[EI_CLASS]));
  }
}

}  // namespace kagami
