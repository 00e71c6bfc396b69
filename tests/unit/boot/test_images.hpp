// Builders of small multiboot kernel images (ELF32, ELF64, a.out kludge) for the loader tests.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kagami::test {

inline constexpr uint32_t kKludgeFlag = 1u << 16;

// The 12-byte multiboot header (magic, flags, checksum) with a correct checksum.
inline std::vector<uint8_t> multiboot_header(uint32_t flags) {
  std::vector<uint8_t> bytes(12);
  uint32_t fields[3] = {0x1BADB002, flags, 0u - 0x1BADB002 - flags};
  std::memcpy(bytes.data(), fields, sizeof(fields));
  return bytes;
}

// Recognisable content: byte i is (seed + i * 7) mod 256, never all zero.
inline std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7 + 1);
  return bytes;
}

template <typename T>
void poke(std::vector<uint8_t>& image, size_t offset, T value) {
  if (image.size() < offset + sizeof(T)) image.resize(offset + sizeof(T));
  std::memcpy(image.data() + offset, &value, sizeof(T));
}

struct TestSegment {
  uint64_t paddr;
  std::vector<uint8_t> bytes;  // file content
  uint64_t memsz = 0;          // 0: same as bytes.size()
  uint64_t vaddr = ~0ull;      // ~0: same as paddr
  uint32_t flags = PF_R | PF_W | PF_X;
  uint32_t type = PT_LOAD;
};

struct TestElf {
  bool is_64bit = false;
  uint64_t entry = 0;
  std::vector<TestSegment> segments;
  uint64_t data_offset = 0x200;  // file offset of the first segment's bytes
};

// Where each program header lives in the built image, to corrupt it in malformed-input tests.
inline size_t phdr_offset(const TestElf& elf, size_t index) {
  return elf.is_64bit ? sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr)
                      : sizeof(Elf32_Ehdr) + index * sizeof(Elf32_Phdr);
}

template <typename Ehdr, typename Phdr>
std::vector<uint8_t> build_elf_class(const TestElf& spec, uint8_t elf_class, uint16_t machine) {
  std::vector<uint8_t> image(spec.data_offset, 0);
  Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = elf_class;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = machine;
  header.e_version = EV_CURRENT;
  header.e_entry = spec.entry;
  header.e_phoff = sizeof(Ehdr);
  header.e_ehsize = sizeof(Ehdr);
  header.e_phentsize = sizeof(Phdr);
  header.e_phnum = static_cast<uint16_t>(spec.segments.size());
  poke(image, 0, header);
  for (size_t i = 0; i < spec.segments.size(); ++i) {
    const TestSegment& s = spec.segments[i];
    Phdr ph{};
    ph.p_type = s.type;
    ph.p_flags = s.flags;
    ph.p_offset = image.size();
    ph.p_paddr = s.paddr;
    ph.p_vaddr = s.vaddr == ~0ull ? s.paddr : s.vaddr;
    ph.p_filesz = s.bytes.size();
    ph.p_memsz = s.memsz ? s.memsz : s.bytes.size();
    ph.p_align = 4;
    poke(image, sizeof(Ehdr) + i * sizeof(Phdr), ph);
    image.insert(image.end(), s.bytes.begin(), s.bytes.end());
    image.resize((image.size() + 3) & ~size_t{3});
  }
  return image;
}

inline std::vector<uint8_t> build_elf(const TestElf& spec) {
  return spec.is_64bit ? build_elf_class<Elf64_Ehdr, Elf64_Phdr>(spec, ELFCLASS64, EM_X86_64)
                       : build_elf_class<Elf32_Ehdr, Elf32_Phdr>(spec, ELFCLASS32, EM_386);
}

// Kernel text starting with a multiboot header, then code-like bytes.
inline std::vector<uint8_t> kernel_text(size_t size, uint32_t header_flags = 0) {
  std::vector<uint8_t> text = multiboot_header(header_flags);
  std::vector<uint8_t> rest = pattern(size - text.size(), 0x40);
  text.insert(text.end(), rest.begin(), rest.end());
  return text;
}

// An a.out-kludge image: `body` bytes from file offset 0, loaded at load_addr, with the header
// at file offset header_offset (so header_addr = load_addr + header_offset).
struct TestKludge {
  uint32_t load_addr = 0x100000;
  uint32_t header_offset = 0x40;
  uint32_t load_end_addr = 0;  // 0: whole file
  uint32_t bss_end_addr = 0;   // 0: no BSS
  uint32_t entry_addr = 0x100080;
  size_t body_size = 0x400;
  uint32_t extra_flags = 0;
  int64_t header_addr_delta = 0;  // added to header_addr, to break it
};

inline std::vector<uint8_t> build_kludge(const TestKludge& spec) {
  std::vector<uint8_t> image = pattern(spec.body_size, 0x11);
  std::vector<uint8_t> header = multiboot_header(kKludgeFlag | spec.extra_flags);
  std::memcpy(image.data() + spec.header_offset, header.data(), header.size());
  uint32_t header_addr =
      static_cast<uint32_t>(spec.load_addr + spec.header_offset + spec.header_addr_delta);
  uint32_t fields[5] = {header_addr, spec.load_addr, spec.load_end_addr, spec.bss_end_addr,
                        spec.entry_addr};
  std::memcpy(image.data() + spec.header_offset + 12, fields, sizeof(fields));
  return image;
}

}  // namespace kagami::test
