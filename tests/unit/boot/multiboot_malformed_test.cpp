// Multiboot loading of malformed kernels: every one is refused with a message naming the reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guest_reader.hpp"
#include "multiboot.hpp"
#include "test_images.hpp"

namespace kagami::test {
namespace {

#define EXPECT_MENTIONS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: " << (message)

// The message load_multiboot throws for this image; a test failure when it loads.
std::string load_error(const std::vector<uint8_t>& image,
                       const std::vector<BootModule>& modules = {},
                       uint64_t memory_size = 16 * kMiB, const std::string& cmdline = "") {
  GuestMemory memory(memory_size);
  try {
    load_multiboot(memory, "bad.elf", image, cmdline, modules);
  } catch (const BootError& error) {
    std::string message = error.what();
    EXPECT_EQ(message.rfind("bad.elf: ", 0), 0u) << "message does not name the file: " << message;
    return message;
  }
  ADD_FAILURE() << "the image was loaded";
  return "";
}

TestElf good_elf(bool is_64bit = false) {
  TestElf spec;
  spec.is_64bit = is_64bit;
  spec.entry = 0x100010;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  return spec;
}

// Adds a second, plain data segment to the good kernel.
std::vector<uint8_t> elf_with_segment(TestSegment segment, bool is_64bit = false) {
  TestElf spec = good_elf(is_64bit);
  spec.segments.push_back(std::move(segment));
  return build_elf(spec);
}

// Field offsets inside Elf32_Ehdr / Elf32_Phdr, to corrupt a built image.
constexpr size_t kElf32Machine = 18, kElf32Type = 16, kElf32Phnum = 44;
constexpr size_t kPhdr32Offset = 4, kPhdr32Filesz = 16, kPhdr32Memsz = 20;

// Header search.

TEST(MultibootMalformed, NoHeader) {
  EXPECT_MENTIONS(load_error(pattern(0x3000, 0)), "no multiboot header");
}

TEST(MultibootMalformed, HeaderPastTheFirst8KiB) {
  TestElf spec = good_elf();
  spec.data_offset = 8192 - 48;  // the first offset QEMU no longer scans
  std::vector<uint8_t> image = build_elf(spec);
  EXPECT_FALSE(is_multiboot(image));
  EXPECT_MENTIONS(load_error(image), "too far into the file");
}

TEST(MultibootMalformed, BadChecksum) {
  std::vector<uint8_t> image = build_elf(good_elf());
  image[0x200 + 8] ^= 1;
  EXPECT_MENTIONS(load_error(image), "bad checksum");
}

TEST(MultibootMalformed, HeaderTruncatedByTheEndOfTheFile) {
  std::vector<uint8_t> image(0x100, 0);
  poke<uint32_t>(image, 0xFC, 0x1BADB002);  // magic, then nothing
  EXPECT_MENTIONS(load_error(image), "truncated");
}

TEST(MultibootMalformed, KludgeHeaderWithoutItsAddressFields) {
  std::vector<uint8_t> image = pattern(0x20, 0);
  std::vector<uint8_t> header = multiboot_header(kKludgeFlag);
  image.insert(image.end(), header.begin(), header.end());
  image.resize(image.size() + 8);  // 20 of the 32 bytes
  EXPECT_MENTIONS(load_error(image), "truncated: its address fields");
}

TEST(MultibootMalformed, UnsupportedRequiredFeature) {
  TestElf spec = good_elf();
  spec.segments[0].bytes = kernel_text(0x100, 1u << 3);
  EXPECT_MENTIONS(load_error(build_elf(spec)), "requires features kagami does not support");
}

TEST(MultibootMalformed, NeitherElfNorKludge) {
  std::vector<uint8_t> image = pattern(0x100, 0);
  std::vector<uint8_t> header = multiboot_header(0);
  image.insert(image.end(), header.begin(), header.end());
  EXPECT_MENTIONS(load_error(image), "neither an ELF executable nor an a.out kludge image");
}

// ELF headers.

TEST(MultibootMalformed, TruncatedElf32Header) {
  std::vector<uint8_t> image = build_elf(good_elf());
  image.resize(16);
  std::vector<uint8_t> header = multiboot_header(0);  // overlays e_type.. in a 40-byte file
  image.insert(image.end(), header.begin(), header.end());
  image.resize(40);
  EXPECT_MENTIONS(load_error(image), "truncated ELF header");
}

TEST(MultibootMalformed, TruncatedElf64Header) {
  std::vector<uint8_t> image = build_elf(good_elf(true));
  image.resize(16);
  std::vector<uint8_t> header = multiboot_header(0);
  image.insert(image.end(), header.begin(), header.end());
  image.resize(60);
  EXPECT_MENTIONS(load_error(image), "truncated ELF header");
}

TEST(MultibootMalformed, TruncatedProgramHeaderTable) {
  std::vector<uint8_t> image = build_elf(good_elf());
  poke<uint16_t>(image, kElf32Phnum, 200);
  EXPECT_MENTIONS(load_error(image), "truncated program header table");
}

TEST(MultibootMalformed, WrongMachine) {
  std::vector<uint8_t> image = build_elf(good_elf());
  poke<uint16_t>(image, kElf32Machine, EM_ARM);
  EXPECT_MENTIONS(load_error(image), "is not i386");
}

TEST(MultibootMalformed, NotAnExecutable) {
  std::vector<uint8_t> image = build_elf(good_elf());
  poke<uint16_t>(image, kElf32Type, ET_DYN);
  EXPECT_MENTIONS(load_error(image), "not an executable");
}

TEST(MultibootMalformed, BigEndianElf) {
  std::vector<uint8_t> image = build_elf(good_elf());
  image[EI_DATA] = ELFDATA2MSB;
  EXPECT_MENTIONS(load_error(image), "not little-endian");
}

TEST(MultibootMalformed, NoLoadableSegments) {
  TestElf spec = good_elf();
  spec.segments[0].type = PT_NOTE;
  EXPECT_MENTIONS(load_error(build_elf(spec)), "no loadable segments");
}

// Segments.

TEST(MultibootMalformed, SegmentBeyondTheEndOfTheFile) {
  std::vector<uint8_t> image = build_elf(good_elf());
  poke<uint32_t>(image, phdr_offset(good_elf(), 0) + kPhdr32Offset, image.size() - 0x10);
  EXPECT_MENTIONS(load_error(image), "extend beyond the end of the file");
}

TEST(MultibootMalformed, FileSizeLargerThanMemorySize) {
  std::vector<uint8_t> image = build_elf(good_elf());
  poke<uint32_t>(image, phdr_offset(good_elf(), 0) + kPhdr32Memsz, 0x10);
  EXPECT_MENTIONS(load_error(image), "exceeds its memory size");
}

TEST(MultibootMalformed, SegmentBeyondTheEndOfRam) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0x2000000, pattern(16, 0)})),
                  "beyond the end of guest RAM");
  EXPECT_MENTIONS(load_error(elf_with_segment({0xFF8000, pattern(16, 0), 0x10000})),
                  "beyond the end of guest RAM");
}

TEST(MultibootMalformed, SegmentInThePciHole) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0xC0000000, pattern(16, 0)})), "PCI hole");
  // With 4 GiB of RAM, low RAM ends where the hole starts.
  EXPECT_MENTIONS(load_error(elf_with_segment({0xBFFFF000, pattern(16, 0), 0x2000}), {}, 4 * kGiB),
                  "PCI hole");
}

TEST(MultibootMalformed, SegmentInTheLegacyHoles) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0xA0000, pattern(16, 0)})), "legacy area");
  EXPECT_MENTIONS(load_error(elf_with_segment({0x9F000, pattern(16, 0), 0x1000})), "legacy area");
}

TEST(MultibootMalformed, SegmentAboveFourGib) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0x100000000, pattern(16, 0)}, true)), "above 4 GiB");
}

TEST(MultibootMalformed, Elf64EntryPointAboveFourGib) {
  TestElf spec = good_elf(true);
  spec.entry = 0x100100000;
  EXPECT_MENTIONS(load_error(build_elf(spec)), "entry point 0x100100000 is outside");
}

TEST(MultibootMalformed, OverlappingSegments) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0x1000F0, pattern(16, 0)})),
                  "program header 0 [0x100000, 0x100100) overlaps program header 1");
}

TEST(MultibootMalformed, SegmentWrappingAround32Bits) {
  EXPECT_MENTIONS(load_error(elf_with_segment({0xFFFFF000, pattern(16, 0), 0x2000})),
                  "wraps around");
}

TEST(MultibootMalformed, AbsurdSizes) {
  const size_t phdr1 = phdr_offset(good_elf(), 1);
  std::vector<uint8_t> image = elf_with_segment({0x200000, pattern(16, 0)});
  poke<uint32_t>(image, phdr1 + kPhdr32Filesz, 0xFFFFFFFF);
  poke<uint32_t>(image, phdr1 + kPhdr32Memsz, 0xFFFFFFFF);
  EXPECT_MENTIONS(load_error(image), "extend beyond the end of the file");

  image = elf_with_segment({0x200000, pattern(16, 0), 0xFFFFFFFF});
  EXPECT_MENTIONS(load_error(image), "wraps around");

  image = elf_with_segment({0, pattern(16, 0), 0xFFFFFFFF});
  EXPECT_MENTIONS(load_error(image), "beyond the end of guest RAM");

  image = elf_with_segment({0x200000, pattern(16, 0), 0xFFFFFFFFFFFFF000}, true);
  EXPECT_MENTIONS(load_error(image), "larger than 4 GiB");
}

TEST(MultibootMalformed, EntryPointOutsideTheLoadedImage) {
  TestElf spec = good_elf();
  spec.entry = 0x200000;
  EXPECT_MENTIONS(load_error(build_elf(spec)), "entry point 0x200000 is outside");
}

// a.out kludge.

TEST(MultibootMalformed, KludgeLoadEndBelowLoadAddr) {
  TestKludge spec;
  spec.load_end_addr = 0xFFF00;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "load_end_addr 0xfff00 is below load_addr");
}

TEST(MultibootMalformed, KludgeHeaderAddrBelowLoadAddr) {
  TestKludge spec;
  spec.header_addr_delta = -0x80;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "header_addr 0xfffc0 is below load_addr");
}

TEST(MultibootMalformed, KludgeImageStartingBeforeTheFile) {
  TestKludge spec;
  spec.header_addr_delta = 0x100;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "the image would start before the file");
}

TEST(MultibootMalformed, KludgeLoadEndBeyondTheFile) {
  TestKludge spec;
  spec.load_end_addr = 0x110000;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "beyond the end of the file");
}

TEST(MultibootMalformed, KludgeBssEndBelowLoadEnd) {
  TestKludge spec;
  spec.load_end_addr = 0x100200;
  spec.bss_end_addr = 0x100100;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "bss_end_addr 0x100100 is below");
}

TEST(MultibootMalformed, KludgeBeyondThe32BitAddressSpace) {
  TestKludge spec;
  spec.load_addr = 0xFFFFFF00;
  spec.entry_addr = 0xFFFFFF00;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "does not fit in the 32-bit address space");
}

TEST(MultibootMalformed, KludgeEntryOutsideTheLoadedImage) {
  TestKludge spec;
  spec.entry_addr = 0x200000;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "entry point 0x200000 is outside");
}

TEST(MultibootMalformed, KludgeImageOutsideRam) {
  TestKludge spec;
  spec.load_addr = 0x3000000;
  spec.entry_addr = 0x3000000;
  EXPECT_MENTIONS(load_error(build_kludge(spec)), "beyond the end of guest RAM");
}

// Fitting in RAM.

TEST(MultibootMalformed, ModulesThatDoNotFitInRam) {
  const std::vector<BootModule> modules = {{"small", pattern(16, 0)},
                                           {"big.img", std::vector<uint8_t>(20 * kMiB)}};
  EXPECT_MENTIONS(load_error(build_elf(good_elf()), modules),
                  "module 2 ('big.img', 20971520 bytes) does not fit in guest RAM");
}

TEST(MultibootMalformed, KernelFillingRamLeavesNoRoomForTheBootInformation) {
  TestElf spec = good_elf();
  spec.segments[0].memsz = 15 * kMiB;  // up to the end of 16 MiB
  EXPECT_MENTIONS(load_error(build_elf(spec)), "the multiboot information");
}

TEST(MultibootMalformed, CommandLineWithANulByte) {
  EXPECT_MENTIONS(load_error(build_elf(good_elf()), {}, 16 * kMiB, std::string("a\0b", 3)),
                  "NUL byte");
}

TEST(MultibootMalformed, NothingIsWrittenWhenTheLoadFails) {
  GuestMemory memory(16 * kMiB);
  fill_guest(memory, 0x100000, 0x2000, 0xAA);
  const std::vector<BootModule> modules = {{"big.img", std::vector<uint8_t>(20 * kMiB)}};
  EXPECT_THROW(load_multiboot(memory, "bad.elf", build_elf(good_elf()), "", modules), BootError);
  EXPECT_TRUE(guest_range_is(memory, 0x100000, 0x2000, 0xAA));
}

}  // namespace
}  // namespace kagami::test
