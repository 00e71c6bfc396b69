// Builder of small synthetic bzImages for the Linux loader tests: valid by default, then mutated.
#pragma once

#include <cstdint>
#include <vector>

#include "test_images.hpp"

namespace kagami::test {

// File offsets of the setup header fields the tests set or corrupt (Documentation/x86/boot.rst).
namespace bz {
inline constexpr size_t kSetupSects = 0x1f1, kRootFlags = 0x1f2, kSyssize = 0x1f4, kVidMode = 0x1fa,
                        kBootFlag = 0x1fe, kJump = 0x200, kHeader = 0x202, kVersion = 0x206,
                        kKernelVersion = 0x20e, kTypeOfLoader = 0x210, kLoadflags = 0x211,
                        kCode32Start = 0x214, kRamdiskImage = 0x218, kRamdiskSize = 0x21c,
                        kHeapEndPtr = 0x224, kCmdLinePtr = 0x228, kInitrdAddrMax = 0x22c,
                        kKernelAlignment = 0x230, kRelocatable = 0x234, kMinAlignment = 0x235,
                        kXloadflags = 0x236, kCmdlineSize = 0x238, kHardwareSubarch = 0x23c,
                        kSetupData = 0x250, kPrefAddress = 0x258, kInitSize = 0x260,
                        kHandoverOffset = 0x264, kKernelInfoOffset = 0x268;
// Zero page offsets outside the setup header.
inline constexpr size_t kAcpiRsdpAddr = 0x070, kExtRamdiskImage = 0x0c0, kExtRamdiskSize = 0x0c4,
                        kExtCmdLinePtr = 0x0c8, kE820Entries = 0x1e8, kE820Table = 0x2d0;
inline constexpr uint8_t kLoadedHigh = 0x01, kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x1, kXlfCanBeLoadedAbove4G = 0x2;
}  // namespace bz

struct TestBzImage {
  uint8_t setup_sects = 4;
  uint8_t jump_displacement = 0x6a;  // header ends at 0x26c, as in protocol 2.15
  uint16_t version = 0x020f;
  uint8_t loadflags = bz::kLoadedHigh;
  uint16_t xloadflags = bz::kXlfKernel64 | bz::kXlfCanBeLoadedAbove4G;
  uint8_t relocatable = 1;
  uint32_t kernel_alignment = 0x200000;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x800000;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint32_t cmdline_size = 0x7ff;
  size_t kernel_size = 0x3000;  // protected-mode kernel bytes, a multiple of 16 (syssize * 16)
  size_t trailing_size = 0;     // bytes after the kernel that syssize does not count (a signature)
};

inline size_t setup_size(const TestBzImage& spec) {
  return (size_t{spec.setup_sects ? spec.setup_sects : uint8_t{4}} + 1) * 512;
}

// The setup sectors are pattern bytes (so a header copied too far shows), with the header on top;
// the protected-mode kernel is another pattern.
inline std::vector<uint8_t> build_bzimage(const TestBzImage& spec) {
  std::vector<uint8_t> image = pattern(setup_size(spec), 0x21);
  poke<uint8_t>(image, bz::kSetupSects, spec.setup_sects);
  poke<uint16_t>(image, bz::kRootFlags, 1);
  poke<uint32_t>(image, bz::kSyssize, static_cast<uint32_t>(spec.kernel_size / 16));
  poke<uint16_t>(image, bz::kVidMode, 0xffff);
  poke<uint16_t>(image, bz::kBootFlag, 0xaa55);
  poke<uint8_t>(image, bz::kJump, 0xeb);
  poke<uint8_t>(image, bz::kJump + 1, spec.jump_displacement);
  poke<uint32_t>(image, bz::kHeader, 0x53726448);  // "HdrS"
  poke<uint16_t>(image, bz::kVersion, spec.version);
  poke<uint16_t>(image, bz::kKernelVersion, 0x1234);
  poke<uint8_t>(image, bz::kTypeOfLoader, 0);
  poke<uint8_t>(image, bz::kLoadflags, spec.loadflags);
  poke<uint32_t>(image, bz::kCode32Start, 0x100000);
  poke<uint32_t>(image, bz::kRamdiskImage, 0);
  poke<uint32_t>(image, bz::kRamdiskSize, 0);
  poke<uint16_t>(image, bz::kHeapEndPtr, 0);
  poke<uint32_t>(image, bz::kCmdLinePtr, 0);
  poke<uint32_t>(image, bz::kInitrdAddrMax, spec.initrd_addr_max);
  poke<uint32_t>(image, bz::kKernelAlignment, spec.kernel_alignment);
  poke<uint8_t>(image, bz::kRelocatable, spec.relocatable);
  poke<uint8_t>(image, bz::kMinAlignment, 21);
  poke<uint16_t>(image, bz::kXloadflags, spec.xloadflags);
  poke<uint32_t>(image, bz::kCmdlineSize, spec.cmdline_size);
  poke<uint32_t>(image, bz::kHardwareSubarch, 0);
  poke<uint64_t>(image, bz::kSetupData, 0);
  poke<uint64_t>(image, bz::kPrefAddress, spec.pref_address);
  poke<uint32_t>(image, bz::kInitSize, spec.init_size);
  poke<uint32_t>(image, bz::kHandoverOffset, 0x190);
  poke<uint32_t>(image, bz::kKernelInfoOffset, 0x1000);
  std::vector<uint8_t> kernel = pattern(spec.kernel_size + spec.trailing_size, 0x5a);
  image.insert(image.end(), kernel.begin(), kernel.end());
  return image;
}

}  // namespace kagami::test
