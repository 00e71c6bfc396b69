// The PC memory map of guest RAM and its fw_cfg "etc/e820" encoding.
#include "e820.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "guest_reader.hpp"

namespace kagami::test {
namespace {

TEST(E820, SmallGuestHasTheLegacyHolesOneRamRangeAboveOneMibAndTheEcamWindow) {
  GuestMemory memory(16 * kMiB);
  const std::vector<E820Entry> expected = {{0, 0x9fc00, kE820Ram},
                                           {0x9fc00, 0x400, kE820Reserved},
                                           {0xf0000, 0x10000, kE820Reserved},
                                           {0x100000, 15 * kMiB, kE820Ram},
                                           {0xe0000000, 0x10000000, kE820Reserved}};
  EXPECT_EQ(pc_memory_map(memory), expected);
}

TEST(E820, SmallestGuest) {
  GuestMemory memory(GuestMemory::kMinSize);
  const std::vector<E820Entry> map = pc_memory_map(memory);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map[3], (E820Entry{0x100000, kMiB, kE820Ram}));
}

TEST(E820, LargeGuestHasLowRamUpToThePciHoleAndHighRamFromFourGib) {
  GuestMemory memory(5 * kGiB);
  const std::vector<E820Entry> map = pc_memory_map(memory);
  ASSERT_EQ(map.size(), 6u);
  EXPECT_EQ(map[3], (E820Entry{0x100000, 3 * kGiB - kMiB, kE820Ram}));
  EXPECT_EQ(map[4], (E820Entry{0xe0000000, 0x10000000, kE820Reserved}));
  EXPECT_EQ(map[5], (E820Entry{4 * kGiB, 2 * kGiB, kE820Ram}));
}

TEST(E820, FwCfgFileIsPackedLittleEndianTwentyByteEntries) {
  const std::vector<E820Entry> map = {{0x1122334455667788, 0x0102030405060708, 2},
                                      {4 * kGiB, kGiB, 1}};
  const std::vector<uint8_t> bytes = e820_fw_cfg_bytes(map);
  const std::vector<uint8_t> expected = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // address
                                         0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // length
                                         0x02, 0x00, 0x00, 0x00,                          // type
                                         0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  //
                                         0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,  //
                                         0x01, 0x00, 0x00, 0x00};
  EXPECT_EQ(bytes, expected);
}

TEST(E820, FwCfgFileOfGuestMemoryDescribesTheSameMap) {
  GuestMemory memory(16 * kMiB);
  const std::vector<uint8_t> bytes = e820_fw_cfg_bytes(memory);
  EXPECT_EQ(bytes, e820_fw_cfg_bytes(pc_memory_map(memory)));
  EXPECT_EQ(bytes.size(), 5u * 20);
}

}  // namespace
}  // namespace kagami::test
