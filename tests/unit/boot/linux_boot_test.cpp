// Linux bzImage loading of well-formed images: kernel, initrd, command line and the zero page.
#include "linux_boot.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bzimage_builder.hpp"
#include "e820.hpp"
#include "guest_reader.hpp"

namespace kagami::test {
namespace {

constexpr uint64_t kZeroPage = 0x7000;  // where the loader documents the zero page

uint64_t zero_page(const GuestMemory& memory, size_t offset, int size) {
  return guest_le(memory, kZeroPage + offset, size);
}

LinuxEntry load(GuestMemory& memory, const std::vector<uint8_t>& image,
                const std::vector<uint8_t>& initrd = {}, const std::string& cmdline = "",
                uint64_t rsdp = 0xf0000) {
  return load_linux(memory, "bzImage", image, initrd, cmdline, pc_memory_map(memory), rsdp);
}

TEST(LinuxBoot, IsBzImageAcceptsTheBuilderImage) {
  EXPECT_TRUE(is_bzimage(build_bzimage({})));
}

TEST(LinuxBoot, KernelGoesToPrefAddressAndIsEnteredAt0x200) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.trailing_size = 0x40;  // e.g. a signature: not part of syssize, not loaded
  std::vector<uint8_t> image = build_bzimage(spec);
  LinuxEntry entry = load(memory, image);

  EXPECT_EQ(entry.kernel_addr, 0x1000000u);
  EXPECT_EQ(entry.kernel_size, spec.init_size);
  EXPECT_EQ(entry.entry, 0x1000200u);
  const size_t setup = setup_size(spec);
  std::vector<uint8_t> kernel(image.begin() + setup, image.begin() + setup + spec.kernel_size);
  EXPECT_EQ(guest_bytes(memory, 0x1000000, spec.kernel_size), kernel);
  EXPECT_TRUE(guest_range_is(memory, 0x1000000 + spec.kernel_size, 0x40, 0));
}

TEST(LinuxBoot, ZeroSetupSectsMeansFourSetupSectors) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.setup_sects = 0;
  std::vector<uint8_t> image = build_bzimage(spec);
  load(memory, image);
  EXPECT_EQ(guest_bytes(memory, 0x1000000, 16),
            std::vector<uint8_t>(image.begin() + 5 * 512, image.begin() + 5 * 512 + 16));
}

TEST(LinuxBoot, ZeroPageCarriesTheSetupHeaderAndTheLoaderFields) {
  GuestMemory memory(64 * kMiB);
  fill_guest(memory, kZeroPage, 0x1000, 0xcc);  // stale content the loader must clear
  std::vector<uint8_t> image = build_bzimage({});
  poke<uint8_t>(image, bz::kLoadflags, bz::kLoadedHigh | bz::kCanUseHeap);
  poke<uint64_t>(image, bz::kSetupData, 0x123456);  // the file's own value: never passed on
  poke<uint32_t>(image, bz::kHardwareSubarch, 2);   // X86_SUBARCH_XEN: not what we are
  LinuxEntry entry = load(memory, image);

  EXPECT_EQ(entry.zero_page_addr, kZeroPage);
  // Copied from the file, byte for byte, where the loader has nothing to say.
  EXPECT_EQ(zero_page(memory, bz::kVersion, 2), 0x020fu);
  EXPECT_EQ(zero_page(memory, bz::kKernelVersion, 2), 0x1234u);
  EXPECT_EQ(zero_page(memory, bz::kVidMode, 2), 0xffffu);
  EXPECT_EQ(zero_page(memory, bz::kBootFlag, 2), 0xaa55u);
  EXPECT_EQ(zero_page(memory, bz::kHeader, 4), 0x53726448u);
  EXPECT_EQ(zero_page(memory, bz::kSyssize, 4), 0x3000u / 16);
  EXPECT_EQ(zero_page(memory, bz::kInitSize, 4), 0x800000u);
  EXPECT_EQ(zero_page(memory, bz::kPrefAddress, 8), 0x1000000u);
  EXPECT_EQ(zero_page(memory, bz::kKernelInfoOffset, 4), 0x1000u);
  // Written by the loader.
  EXPECT_EQ(zero_page(memory, bz::kTypeOfLoader, 1), 0xffu);
  EXPECT_EQ(zero_page(memory, bz::kLoadflags, 1), bz::kLoadedHigh) << "no real-mode heap";
  EXPECT_EQ(zero_page(memory, bz::kCode32Start, 4), 0x1000000u);
  EXPECT_EQ(zero_page(memory, bz::kSetupData, 8), 0u);
  EXPECT_EQ(zero_page(memory, bz::kHardwareSubarch, 4), 0u);
  // Nothing outside the header and the loader's fields: the sentinel and padding stay zero.
  EXPECT_TRUE(guest_range_is(memory, kZeroPage, 0x70, 0));
  EXPECT_TRUE(guest_range_is(memory, kZeroPage + 0x1e9, 0x1f1 - 0x1e9, 0));
  EXPECT_TRUE(guest_range_is(memory, kZeroPage + 0x26c, 0x2d0 - 0x26c, 0));
}

TEST(LinuxBoot, HeaderCopyStopsWhereTheJumpLands) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.jump_displacement = 0x66;  // a protocol 2.12 header ends at 0x268
  load(memory, build_bzimage(spec));
  EXPECT_EQ(zero_page(memory, bz::kHandoverOffset, 4), 0x190u);
  EXPECT_EQ(zero_page(memory, bz::kKernelInfoOffset, 4), 0u) << "setup code, not header";
}

TEST(LinuxBoot, E820TableIsTheGivenMap) {
  GuestMemory memory(64 * kMiB);
  load(memory, build_bzimage({}));
  std::vector<E820Entry> map = pc_memory_map(memory);
  ASSERT_EQ(zero_page(memory, bz::kE820Entries, 1), map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const size_t offset = bz::kE820Table + i * 20;
    EXPECT_EQ(zero_page(memory, offset, 8), map[i].addr) << i;
    EXPECT_EQ(zero_page(memory, offset + 8, 8), map[i].size) << i;
    EXPECT_EQ(zero_page(memory, offset + 16, 4), map[i].type) << i;
  }
  EXPECT_TRUE(guest_range_is(memory, kZeroPage + bz::kE820Table + map.size() * 20, 20, 0));
}

TEST(LinuxBoot, CommandLineIsPassedAtItsAddress) {
  GuestMemory memory(64 * kMiB);
  LinuxEntry entry = load(memory, build_bzimage({}), {}, "console=ttyS0 quiet");
  EXPECT_EQ(entry.cmdline_addr, 0x20000u);
  EXPECT_EQ(zero_page(memory, bz::kCmdLinePtr, 4), 0x20000u);
  EXPECT_EQ(zero_page(memory, bz::kExtCmdLinePtr, 4), 0u);
  EXPECT_EQ(guest_string(memory, 0x20000), "console=ttyS0 quiet");
}

TEST(LinuxBoot, CommandLineOfExactlyCmdlineSizeIsAccepted) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.cmdline_size = 12;
  load(memory, build_bzimage(spec), {}, "root=/dev/vd");
  EXPECT_EQ(guest_string(memory, 0x20000), "root=/dev/vd");
}

TEST(LinuxBoot, EmptyCommandLineIsAnEmptyString) {
  GuestMemory memory(64 * kMiB);
  fill_guest(memory, 0x20000, 16, 'x');
  load(memory, build_bzimage({}));
  EXPECT_EQ(guest_string(memory, 0x20000), "");
}

TEST(LinuxBoot, InitrdGoesAsHighAsPossibleOnAPageBoundary) {
  GuestMemory memory(64 * kMiB);
  std::vector<uint8_t> initrd = pattern(0x2345, 9);
  LinuxEntry entry = load(memory, build_bzimage({}), initrd);
  EXPECT_EQ(entry.initrd_addr, (64 * kMiB - 0x2345) & ~0xfffull);
  EXPECT_EQ(entry.initrd_size, 0x2345u);
  EXPECT_EQ(zero_page(memory, bz::kRamdiskImage, 4), entry.initrd_addr);
  EXPECT_EQ(zero_page(memory, bz::kRamdiskSize, 4), 0x2345u);
  EXPECT_EQ(zero_page(memory, bz::kExtRamdiskImage, 4), 0u);
  EXPECT_EQ(zero_page(memory, bz::kExtRamdiskSize, 4), 0u);
  EXPECT_EQ(guest_bytes(memory, entry.initrd_addr, initrd.size()), initrd);
}

TEST(LinuxBoot, InitrdStaysBelowInitrdAddrMax) {
  GuestMemory memory(2048 * kMiB);
  TestBzImage spec;
  spec.initrd_addr_max = 0x37ffffff;  // the old default: the last byte the initrd may use
  std::vector<uint8_t> initrd = pattern(0x1800, 2);
  LinuxEntry entry = load(memory, build_bzimage(spec), initrd);
  EXPECT_EQ(entry.initrd_addr, 0x38000000u - 0x2000);
  EXPECT_LE(entry.initrd_addr + initrd.size() - 1, 0x37ffffffu);
}

TEST(LinuxBoot, InitrdStaysBelowThePciHoleWithHighRam) {
  GuestMemory memory(5 * kGiB);  // 3 GiB low, 2 GiB from 4 GiB
  TestBzImage spec;
  spec.initrd_addr_max = 0xffffffff;
  LinuxEntry entry = load(memory, build_bzimage(spec), pattern(0x1000, 3));
  EXPECT_EQ(entry.initrd_addr, 3 * kGiB - 0x1000);
}

TEST(LinuxBoot, InitrdMovesBelowTheKernelWhenItDoesNotFitAbove) {
  GuestMemory memory(32 * kMiB);  // kernel [16 MiB, 24 MiB): 8 MiB above, 15 MiB below
  std::vector<uint8_t> initrd(9 * kMiB, 0x77);
  LinuxEntry entry = load(memory, build_bzimage({}), initrd);
  EXPECT_EQ(entry.initrd_addr, 7 * kMiB);
  EXPECT_LE(entry.initrd_addr + initrd.size(), entry.kernel_addr);
}

TEST(LinuxBoot, InitrdNeverOverlapsTheKernelsInitSize) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.init_size = 40 * kMiB;  // [16 MiB, 56 MiB)
  LinuxEntry entry = load(memory, build_bzimage(spec), std::vector<uint8_t>(8 * kMiB + 1, 1));
  EXPECT_TRUE(entry.initrd_addr + entry.initrd_size <= entry.kernel_addr ||
              entry.initrd_addr >= entry.kernel_addr + entry.kernel_size)
      << "initrd at " << entry.initrd_addr;
  EXPECT_EQ(entry.initrd_addr % 0x1000, 0u);
}

TEST(LinuxBoot, NoInitrdMeansZeroRamdiskFields) {
  GuestMemory memory(64 * kMiB);
  LinuxEntry entry = load(memory, build_bzimage({}));
  EXPECT_EQ(entry.initrd_addr, 0u);
  EXPECT_EQ(zero_page(memory, bz::kRamdiskImage, 4), 0u);
  EXPECT_EQ(zero_page(memory, bz::kRamdiskSize, 4), 0u);
}

TEST(LinuxBoot, AcpiRsdpAddressFromProtocol214On) {
  GuestMemory memory(64 * kMiB);
  load(memory, build_bzimage({}), {}, "", 0xf0000);
  EXPECT_EQ(zero_page(memory, bz::kAcpiRsdpAddr, 8), 0xf0000u);

  GuestMemory old_memory(64 * kMiB);
  TestBzImage spec;
  spec.version = 0x020d;  // 2.13 has no such field
  load(old_memory, build_bzimage(spec), {}, "", 0xf0000);
  EXPECT_EQ(guest_le(old_memory, kZeroPage + bz::kAcpiRsdpAddr, 8), 0u);
}

TEST(LinuxBoot, RelocatableKernelAlignsAnUnalignedPrefAddressUp) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.pref_address = 0x1100000;
  EXPECT_EQ(load(memory, build_bzimage(spec)).kernel_addr, 0x1200000u);
}

TEST(LinuxBoot, RelocatableKernelWithPrefAddressInTheLegacyHoleMovesAbove1MiB) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.pref_address = 0xa0000;  // VGA window: not RAM
  LinuxEntry entry = load(memory, build_bzimage(spec));
  EXPECT_EQ(entry.kernel_addr, 0x200000u) << "the first 2 MiB-aligned address at or above 1 MiB";
  EXPECT_EQ(entry.entry, 0x200200u);
}

TEST(LinuxBoot, RelocatableKernelWithPrefAddressZeroStaysAbove1MiB) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.pref_address = 0;  // hostile: over the zero page and page tables
  spec.init_size = 0x10000;
  spec.kernel_alignment = 0x1000;
  EXPECT_EQ(load(memory, build_bzimage(spec)).kernel_addr, 0x100000u);
}

TEST(LinuxBoot, NonRelocatableKernelGoesExactlyToPrefAddress) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.relocatable = 0;
  spec.kernel_alignment = 0;  // irrelevant without relocation
  spec.pref_address = 0x1100000;
  EXPECT_EQ(load(memory, build_bzimage(spec)).kernel_addr, 0x1100000u);
}

TEST(LinuxBoot, KernelFillingRamToTheLastByteFits) {
  GuestMemory memory(64 * kMiB);
  TestBzImage spec;
  spec.init_size = 48 * kMiB;  // [16 MiB, 64 MiB): all of it
  EXPECT_EQ(load(memory, build_bzimage(spec)).kernel_addr, 16 * kMiB);
}

TEST(LinuxBoot, LoadsIntoUntouchedLowStructuresOnly) {
  GuestMemory memory(64 * kMiB);
  fill_guest(memory, 0x30000, 0x9fc00 - 0x30000, 0xaa);
  LinuxEntry entry = load(memory, build_bzimage({}), pattern(0x1000, 1), "quiet");
  EXPECT_TRUE(guest_range_is(memory, 0x30000, 0x9fc00 - 0x30000, 0xaa));
  for (uint64_t addr : {entry.zero_page_addr, entry.cmdline_addr, entry.gdt_base,
                        entry.page_table_root, entry.stack_top - 1})
    EXPECT_LT(addr, 0x9fc00u);
}

}  // namespace
}  // namespace kagami::test
