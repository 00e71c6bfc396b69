// Multiboot loading of well-formed ELF32, ELF64 and a.out-kludge kernels, and the boot information.
#include "multiboot.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "guest_reader.hpp"
#include "test_images.hpp"

namespace kagami::test {
namespace {

// Offsets in the multiboot information structure.
constexpr uint64_t kFlags = 0, kMemLower = 4, kMemUpper = 8, kCmdline = 16, kModsCount = 20,
                   kModsAddr = 24, kMmapLength = 44, kMmapAddr = 48, kBootLoaderName = 64;
constexpr uint32_t kExpectedInfoFlags = 0x1 | 0x4 | 0x8 | 0x40 | 0x200;  // no boot device

MultibootEntry load(GuestMemory& memory, const std::vector<uint8_t>& image,
                    const std::vector<BootModule>& modules = {}, const std::string& cmdline = "") {
  return load_multiboot(memory, "kernel.elf", image, cmdline, modules);
}

TEST(MultibootElf32, LoadsSegmentsAtPhysicalAddressesAndZeroesBss) {
  GuestMemory memory(16 * kMiB);
  fill_guest(memory, 0x100000, 0x4000, 0xAA);  // stale content the loader must clear
  TestElf spec;
  spec.entry = 0x100010;
  spec.segments = {{0x100000, kernel_text(0x300)}, {0x102000, pattern(0x20, 3), 0x1000}};
  MultibootEntry entry = load(memory, build_elf(spec));

  EXPECT_EQ(entry.entry, 0x100010u);
  EXPECT_EQ(guest_bytes(memory, 0x100000, 0x300), spec.segments[0].bytes);
  EXPECT_EQ(guest_bytes(memory, 0x102000, 0x20), spec.segments[1].bytes);
  EXPECT_TRUE(guest_range_is(memory, 0x102020, 0x1000 - 0x20, 0));
  EXPECT_EQ(entry.info_addr, 0x103000u) << "info goes on the page after the highest loaded byte";
}

TEST(MultibootElf32, EntryPointIsTranslatedToItsPhysicalAddressAsQemuDoes) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0xC0100010;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  spec.segments[0].vaddr = 0xC0100000;
  EXPECT_EQ(load(memory, build_elf(spec)).entry, 0x100010u);
}

TEST(MultibootElf32, NonLoadAndEmptySegmentsAreIgnored) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100)}, {0x5000000, pattern(8, 1)}, {0x6000000, {}}};
  spec.segments[1].type = PT_NOTE;
  EXPECT_EQ(load(memory, build_elf(spec)).entry, 0x100000u);
}

TEST(MultibootElf32, HeaderAtTheLastOffsetQemuScansIsFound) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.data_offset = 8192 - 48 - 4;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  EXPECT_EQ(load(memory, build_elf(spec)).entry, 0x100000u);
}

TEST(MultibootElf32, PageAlignMemoryInfoAndVideoModeRequirementsAreAccepted) {
  // Bit 2 (video mode) is ignored, as QEMU ignores it.
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100, 0x7)}};
  EXPECT_EQ(load(memory, build_elf(spec)).entry, 0x100000u);
}

TEST(MultibootElf64, KernelBelowFourGibIsAcceptedAsAKagamiExtension) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.is_64bit = true;
  spec.entry = 0xFFFFFFFF80200020;
  spec.segments = {{0x200000, kernel_text(0x200), 0x3000}};
  spec.segments[0].vaddr = 0xFFFFFFFF80200000;
  MultibootEntry entry = load(memory, build_elf(spec));
  EXPECT_EQ(entry.entry, 0x200020u);
  EXPECT_EQ(guest_bytes(memory, 0x200000, 0x200), spec.segments[0].bytes);
  EXPECT_TRUE(guest_range_is(memory, 0x200200, 0x2E00, 0));
  EXPECT_EQ(entry.info_addr, 0x203000u);
}

TEST(MultibootKludge, LoadsTheWholeFileAndZeroesBss) {
  GuestMemory memory(16 * kMiB);
  fill_guest(memory, 0x100000, 0x3000, 0xAA);
  TestKludge spec;
  spec.bss_end_addr = 0x102000;
  std::vector<uint8_t> image = build_kludge(spec);
  MultibootEntry entry = load(memory, image);
  EXPECT_EQ(entry.entry, 0x100080u);
  EXPECT_EQ(guest_bytes(memory, 0x100000, image.size()), image);
  EXPECT_TRUE(guest_range_is(memory, 0x100000 + image.size(), 0x2000 - image.size(), 0));
  EXPECT_EQ(entry.info_addr, 0x102000u);
}

TEST(MultibootKludge, LoadEndAddrLimitsTheBytesLoaded) {
  GuestMemory memory(16 * kMiB);
  fill_guest(memory, 0x100000, 0x1000, 0xAA);
  TestKludge spec;
  spec.load_end_addr = 0x100100;
  std::vector<uint8_t> image = build_kludge(spec);
  load(memory, image);
  EXPECT_EQ(guest_bytes(memory, 0x100000, 0x100),
            std::vector<uint8_t>(image.begin(), image.begin() + 0x100));
  EXPECT_TRUE(guest_range_is(memory, 0x100100, 0xF00, 0xAA)) << "bytes past load_end written";
}

TEST(MultibootKludge, ImageStartsWhereHeaderAddrSaysRelativeToTheHeader) {
  // header_addr - load_addr = 0x40 while the header sits at file offset 0x1040: the image
  // starts at file offset 0x1000.
  GuestMemory memory(16 * kMiB);
  TestKludge spec;
  spec.header_offset = 0x1040;
  spec.header_addr_delta = -0x1000;
  spec.body_size = 0x1400;
  std::vector<uint8_t> image = build_kludge(spec);
  load(memory, image);
  EXPECT_EQ(guest_bytes(memory, 0x100000, 0x400),
            std::vector<uint8_t>(image.begin() + 0x1000, image.end()));
}

TEST(MultibootInfo, HoldsMemorySizesCommandLineMemoryMapAndLoaderName) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  const uint64_t info = load(memory, build_elf(spec), {}, "console=ttyS0").info_addr;

  EXPECT_EQ(info % 4096, 0u);
  EXPECT_EQ(guest_u32(memory, info + kFlags), kExpectedInfoFlags);
  EXPECT_EQ(guest_u32(memory, info + kMemLower), 639u) << "640 KiB less the 1 KiB EBDA";
  EXPECT_EQ(guest_u32(memory, info + kMemUpper), 15u * 1024);
  EXPECT_EQ(guest_string(memory, guest_u32(memory, info + kCmdline)), "kernel.elf console=ttyS0");
  EXPECT_EQ(guest_string(memory, guest_u32(memory, info + kBootLoaderName)), "kagami");
  EXPECT_EQ(guest_u32(memory, info + kModsCount), 0u);

  struct Expected {
    uint64_t addr, size;
    uint32_t type;
  };
  const Expected map[] = {{0, 0x9fc00, 1},
                          {0x9fc00, 0x400, 2},
                          {0xf0000, 0x10000, 2},
                          {0x100000, 15 * kMiB, 1},
                          {0xe0000000, 0x10000000, 2}};
  ASSERT_EQ(guest_u32(memory, info + kMmapLength), 5u * 24);
  const uint64_t mmap = guest_u32(memory, info + kMmapAddr);
  for (size_t i = 0; i < 5; ++i) {
    const uint64_t entry = mmap + i * 24;
    EXPECT_EQ(guest_u32(memory, entry), 20u) << "entry " << i;
    EXPECT_EQ(guest_le(memory, entry + 4, 8), map[i].addr) << "entry " << i;
    EXPECT_EQ(guest_le(memory, entry + 12, 8), map[i].size) << "entry " << i;
    EXPECT_EQ(guest_u32(memory, entry + 20), map[i].type) << "entry " << i;
  }
}

TEST(MultibootInfo, MemoryMapIncludesHighRamAndMemUpperStopsAtThePciHole) {
  GuestMemory memory(4 * kGiB + 64 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  const uint64_t info = load(memory, build_elf(spec)).info_addr;
  EXPECT_EQ(guest_u32(memory, info + kMemUpper), (3 * kGiB - kMiB) / 1024);
  ASSERT_EQ(guest_u32(memory, info + kMmapLength), 6u * 24);
  const uint64_t high = guest_u32(memory, info + kMmapAddr) + 5 * 24;
  EXPECT_EQ(guest_le(memory, high + 4, 8), 4 * kGiB);
  EXPECT_EQ(guest_le(memory, high + 12, 8), kGiB + 64 * kMiB);
  EXPECT_EQ(guest_u32(memory, high + 20), 1u);
}

TEST(MultibootInfo, ModulesArePageAlignedAfterTheInfoWithTheirCommandLines) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  const std::vector<BootModule> modules = {{"initrd.img root=/dev/x", pattern(5000, 9)},
                                           {"second", {1, 2, 3}}};
  const uint64_t info = load(memory, build_elf(spec), modules).info_addr;

  ASSERT_EQ(guest_u32(memory, info + kModsCount), 2u);
  const uint64_t list = guest_u32(memory, info + kModsAddr);
  uint64_t previous_end = info;
  for (size_t i = 0; i < modules.size(); ++i) {
    const uint32_t start = guest_u32(memory, list + 16 * i);
    const uint32_t end = guest_u32(memory, list + 16 * i + 4);
    EXPECT_EQ(start % 4096, 0u) << "module " << i;
    EXPECT_GT(start, previous_end) << "module " << i;
    EXPECT_EQ(end - start, modules[i].data.size()) << "module " << i;
    EXPECT_EQ(guest_bytes(memory, start, end - start), modules[i].data) << "module " << i;
    EXPECT_EQ(guest_string(memory, guest_u32(memory, list + 16 * i + 8)), modules[i].cmdline);
    EXPECT_EQ(guest_u32(memory, list + 16 * i + 12), 0u);
    previous_end = end;
  }
}

TEST(MultibootInfo, GoesRightAfterALowKernelWhenItFitsBelowTheEbda) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x10000;
  spec.segments = {{0x10000, kernel_text(0x100), 0x8F000}};  // ends at 0x9f000
  EXPECT_EQ(load(memory, build_elf(spec)).info_addr, 0x9f000u);
}

TEST(MultibootInfo, MovesToOneMibWhenModulesDoNotFitBelowTheEbda) {
  GuestMemory memory(16 * kMiB);
  TestElf spec;
  spec.entry = 0x10000;
  spec.segments = {{0x10000, kernel_text(0x100), 0x8F000}};
  const std::vector<BootModule> modules = {{"mod", pattern(0x1000, 1)}};
  const uint64_t info = load(memory, build_elf(spec), modules).info_addr;
  EXPECT_EQ(info, 0x100000u);
  const uint64_t list = guest_u32(memory, info + kModsAddr);
  EXPECT_EQ(guest_u32(memory, list), 0x101000u);
  EXPECT_EQ(guest_bytes(memory, 0x101000, 0x1000), modules[0].data);
}

TEST(Multiboot, IsMultibootRecognisesImagesWithAValidHeader) {
  TestElf spec;
  spec.entry = 0x100000;
  spec.segments = {{0x100000, kernel_text(0x100)}};
  EXPECT_TRUE(is_multiboot(build_elf(spec)));
  EXPECT_TRUE(is_multiboot(build_kludge({})));
  EXPECT_FALSE(is_multiboot(pattern(0x4000, 0)));
  EXPECT_FALSE(is_multiboot({}));
}

}  // namespace
}  // namespace kagami::test
