// Linux bzImage loading of malformed and hostile images: each is refused, naming file and reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bzimage_builder.hpp"
#include "e820.hpp"
#include "guest_reader.hpp"
#include "linux_boot.hpp"

namespace kagami::test {
namespace {

#define EXPECT_MENTIONS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: " << (message)

struct Load {
  std::vector<uint8_t> initrd;
  std::string cmdline = "console=ttyS0";
  uint64_t memory_size = 64 * kMiB;
  std::vector<E820Entry> map;  // empty: pc_memory_map of the memory
};

// The message load_linux throws for this image; a test failure when it loads.
std::string load_error(const std::vector<uint8_t>& image, const Load& load = {}) {
  GuestMemory memory(load.memory_size);
  std::vector<E820Entry> map = load.map.empty() ? pc_memory_map(memory) : load.map;
  try {
    load_linux(memory, "bzImage", image, load.initrd, load.cmdline, map, 0xf0000, "initrd.img");
  } catch (const BootError& error) {
    std::string message = error.what();
    EXPECT_EQ(message.rfind("bzImage: ", 0), 0u) << "message does not name the file: " << message;
    return message;
  }
  ADD_FAILURE() << "the image was loaded";
  return "";
}

std::vector<uint8_t> good_image() {
  return build_bzimage({});
}

// Not a bzImage at all.

TEST(LinuxBootMalformed, RandomBytesAreNotABzImage) {
  std::vector<uint8_t> image = pattern(0x4000, 0);
  EXPECT_FALSE(is_bzimage(image));
  EXPECT_MENTIONS(load_error(image), "not a bzImage");
}

TEST(LinuxBootMalformed, MissingBootSectorSignature) {
  std::vector<uint8_t> image = good_image();
  poke<uint16_t>(image, bz::kBootFlag, 0x55aa);
  EXPECT_FALSE(is_bzimage(image));
  EXPECT_MENTIONS(load_error(image), "no boot sector signature 0xaa55");
}

TEST(LinuxBootMalformed, MissingHdrSMagic) {
  std::vector<uint8_t> image = good_image();
  image[bz::kHeader + 3] = 'Z';
  EXPECT_FALSE(is_bzimage(image));
  EXPECT_MENTIONS(load_error(image), "no \"HdrS\" setup header magic");
}

TEST(LinuxBootMalformed, FileTooShortForAHeader) {
  std::vector<uint8_t> image = good_image();
  image.resize(0x200);
  EXPECT_FALSE(is_bzimage(image));
  EXPECT_MENTIONS(load_error(image), "too short for a setup header");
  EXPECT_MENTIONS(load_error({}), "not a bzImage: the file is only 0 bytes");
}

TEST(LinuxBootMalformed, FileEndingBeforeTheProtocolVersion) {
  std::vector<uint8_t> image = good_image();
  image.resize(bz::kVersion + 1);  // magic complete, version cut in half
  EXPECT_TRUE(is_bzimage(image));
  EXPECT_MENTIONS(load_error(image), "truncated: the file ends inside the setup header");
}

// Protocol and capabilities.

TEST(LinuxBootMalformed, ProtocolOlderThan212IsRefused) {
  TestBzImage spec;
  spec.version = 0x020b;
  std::vector<uint8_t> image = build_bzimage(spec);
  EXPECT_TRUE(is_bzimage(image)) << "a bzImage, just one this loader cannot enter";
  std::string message = load_error(image);
  EXPECT_MENTIONS(message, "boot protocol 2.11 is too old");
  EXPECT_MENTIONS(message, "2.12");
  spec.version = 0x0206;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "boot protocol 2.6 is too old");
}

TEST(LinuxBootMalformed, KernelWithoutA64BitEntryPoint) {
  TestBzImage spec;
  spec.xloadflags = bz::kXlfCanBeLoadedAbove4G;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "not 64-bit capable");
}

TEST(LinuxBootMalformed, ZImageWithoutLoadedHigh) {
  TestBzImage spec;
  spec.loadflags = 0;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "lacks LOADED_HIGH");
}

// Sizes against the file.

TEST(LinuxBootMalformed, HugeSetupSectsRunPastTheFile) {
  std::vector<uint8_t> image = good_image();
  image[bz::kSetupSects] = 0xff;  // 128 KiB of setup in a 15 KiB file
  std::string message = load_error(image);
  EXPECT_MENTIONS(message, "truncated");
  EXPECT_MENTIONS(message, "setup_sects says 255");
}

TEST(LinuxBootMalformed, FileEndingInsideTheSetupSectors) {
  std::vector<uint8_t> image = good_image();
  image.resize(0x300);
  EXPECT_MENTIONS(load_error(image), "truncated: setup_sects says 4");
}

TEST(LinuxBootMalformed, ZeroSetupSectsMeansFourAndIsCheckedAsSuch) {
  TestBzImage spec;
  spec.setup_sects = 0;
  std::vector<uint8_t> image = build_bzimage(spec);
  image.resize(4 * 512);  // less than the 5 sectors setup_sects 0 stands for
  EXPECT_MENTIONS(load_error(image), "setup_sects says 4");
}

TEST(LinuxBootMalformed, SyssizeZero) {
  std::vector<uint8_t> image = good_image();
  poke<uint32_t>(image, bz::kSyssize, 0);
  EXPECT_MENTIONS(load_error(image), "syssize is 0");
}

TEST(LinuxBootMalformed, SyssizeBeyondTheFile) {
  std::vector<uint8_t> image = good_image();
  poke<uint32_t>(image, bz::kSyssize, 0x3000 / 16 + 1);  // one paragraph too many
  EXPECT_MENTIONS(load_error(image), "truncated: syssize says");
  poke<uint32_t>(image, bz::kSyssize, 0xffffffff);  // 64 GiB: must not wrap
  EXPECT_MENTIONS(load_error(image), "truncated: syssize says");
}

TEST(LinuxBootMalformed, InitSizeSmallerThanTheKernel) {
  TestBzImage spec;
  spec.init_size = 0x2000;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "init_size 0x2000 is smaller");
}

TEST(LinuxBootMalformed, KernelAlignmentNotAPowerOfTwo) {
  TestBzImage spec;
  spec.kernel_alignment = 0x300000;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "kernel_alignment 0x300000");
  spec.kernel_alignment = 0;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "is not a power of two");
}

// Kernel placement.

TEST(LinuxBootMalformed, EnormousInitSizeDoesNotFit) {
  TestBzImage spec;
  spec.init_size = 0xffffffff;
  std::string message = load_error(build_bzimage(spec));
  EXPECT_MENTIONS(message, "kernel does not fit in RAM");
  EXPECT_MENTIONS(message, "0xffffffff");
}

TEST(LinuxBootMalformed, InitSizeJustPastTheEndOfRam) {
  TestBzImage spec;
  spec.init_size = 48 * kMiB + 0x1000;  // 16 MiB + this is one page past a 64 MiB guest
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "guest RAM below 4 GiB ends at 0x4000000");
}

TEST(LinuxBootMalformed, PrefAddressNearTheTopOfTheAddressSpace) {
  TestBzImage spec;
  spec.pref_address = 0xffff'ffff'ffff'f000;  // + init_size wraps
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "kernel does not fit in RAM");
  spec.relocatable = 0;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "not relocatable");
}

TEST(LinuxBootMalformed, AlignmentLargerThanRam) {
  TestBzImage spec;
  spec.kernel_alignment = 0x8000'0000;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "aligned to 0x80000000");
}

TEST(LinuxBootMalformed, NonRelocatableKernelBelow1MiB) {
  TestBzImage spec;
  spec.relocatable = 0;
  spec.pref_address = 0x8000;  // over the zero page and page tables
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "below 1 MiB");
}

TEST(LinuxBootMalformed, NonRelocatableKernelPastTheEndOfRam) {
  TestBzImage spec;
  spec.relocatable = 0;
  spec.pref_address = 0x1000000;
  spec.init_size = 60 * kMiB;
  EXPECT_MENTIONS(load_error(build_bzimage(spec)), "not relocatable and needs init_size");
}

// Initrd placement.

TEST(LinuxBootMalformed, InitrdAddrMaxTooLowForTheInitrd) {
  TestBzImage spec;
  spec.initrd_addr_max = 0xfffff;  // below 1 MiB: nowhere to go
  Load load;
  load.initrd = pattern(0x1000, 1);
  std::string message = load_error(build_bzimage(spec), load);
  EXPECT_MENTIONS(message, "initrd.img does not fit");
  EXPECT_MENTIONS(message, "initrd_addr_max 0xfffff");
}

TEST(LinuxBootMalformed, InitrdLargerThanFreeRam) {
  Load load;
  // 64 MiB guest: 40 MiB free above the kernel's [16 MiB, 24 MiB), 15 MiB below it.
  load.initrd = std::vector<uint8_t>(41 * kMiB, 1);
  std::string message = load_error(good_image(), load);
  EXPECT_MENTIONS(message, "initrd.img does not fit: 0x2900000 bytes");
  EXPECT_MENTIONS(message, "outside the kernel [0x1000000, 0x1800000)");
}

TEST(LinuxBootMalformed, InitrdThatWouldOnlyFitOverTheKernel) {
  TestBzImage spec;
  spec.initrd_addr_max = 0x17fffff;  // below the kernel's end: only [1 MiB, 16 MiB) remains
  Load load;
  load.initrd = std::vector<uint8_t>(15 * kMiB + 1, 1);
  EXPECT_MENTIONS(load_error(build_bzimage(spec), load), "does not fit");
}

// Command line and memory map.

TEST(LinuxBootMalformed, CommandLineLongerThanCmdlineSize) {
  TestBzImage spec;
  spec.cmdline_size = 10;
  Load load;
  load.cmdline = "console=tty";  // 11 bytes
  std::string message = load_error(build_bzimage(spec), load);
  EXPECT_MENTIONS(message, "command line too long: 11 bytes");
  EXPECT_MENTIONS(message, "at most 10 (cmdline_size)");
}

TEST(LinuxBootMalformed, CommandLineLongerThanTheBootArea) {
  TestBzImage spec;
  spec.cmdline_size = 0xffffffff;  // the kernel would take anything
  Load load;
  load.cmdline = std::string(kLinuxCmdlineAreaSize, 'x');
  EXPECT_MENTIONS(load_error(build_bzimage(spec), load), "kagami passes at most 65535");
}

TEST(LinuxBootMalformed, CommandLineWithANulByte) {
  Load load;
  load.cmdline = std::string("quiet\0init=/bin/sh", 18);
  EXPECT_MENTIONS(load_error(good_image(), load), "contains a NUL byte");
}

TEST(LinuxBootMalformed, MemoryMapTooLongForTheZeroPage) {
  Load load;
  for (uint64_t i = 0; i < 129; ++i)
    load.map.push_back({i * 0x100000, 0x100000, i == 0 ? kE820Ram : kE820Reserved});
  EXPECT_MENTIONS(load_error(good_image(), load), "129 entries, the zero page holds at most 128");
}

TEST(LinuxBootMalformed, MapClaimingRamTheGuestDoesNotHave) {
  Load load;
  load.memory_size = 16 * kMiB;
  load.map = {{0, 0x9fc00, kE820Ram}, {0x100000, 1024 * kMiB, kE820Ram}};
  EXPECT_MENTIONS(load_error(good_image(), load), "guest memory does not have");
}

TEST(LinuxBootMalformed, MapWithoutLowRamForTheBootStructures) {
  Load load;
  load.map = {{0x100000, 63 * kMiB, kE820Ram}};
  EXPECT_MENTIONS(load_error(good_image(), load), "boot structures");
}

// Nothing is written before everything is checked.

TEST(LinuxBootMalformed, AFailedLoadLeavesGuestRamUntouched) {
  GuestMemory memory(64 * kMiB);
  fill_guest(memory, 0, 2 * kMiB, 0xaa);
  fill_guest(memory, 0x1000000, 0x4000, 0xaa);
  std::vector<uint8_t> initrd(60 * kMiB, 1);  // checked last, after the kernel is placed
  EXPECT_THROW(load_linux(memory, "bzImage", good_image(), initrd, "", pc_memory_map(memory), 0),
               BootError);
  EXPECT_TRUE(guest_range_is(memory, 0, 2 * kMiB, 0xaa));
  EXPECT_TRUE(guest_range_is(memory, 0x1000000, 0x4000, 0xaa));
}

}  // namespace
}  // namespace kagami::test
