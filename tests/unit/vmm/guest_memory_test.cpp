// Tests of GuestMemory: the PC layout around the PCI hole and bounds-checked access.
#include "kagami/guest_memory.hpp"

#include <gtest/gtest.h>

namespace kagami {
namespace {

TEST(GuestMemory, SmallGuestIsOneLowRegion) {
  GuestMemory mem(64ull << 20);
  ASSERT_EQ(mem.regions().size(), 1u);
  EXPECT_EQ(mem.regions()[0].gpa, 0u);
  EXPECT_EQ(mem.regions()[0].size, 64ull << 20);
}

TEST(GuestMemory, MemfdBackingHasAnFdAnonymousHasNone) {
  GuestMemory shared(8ull << 20, GuestMemory::Backing::kMemfd);
  EXPECT_GE(shared.fd(), 0);
  GuestMemory anonymous(8ull << 20, GuestMemory::Backing::kAnonymous);
  EXPECT_EQ(anonymous.fd(), -1);
  // 2 MiB-aligned, so that huge pages line up with the guest's 2 MiB ranges.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(anonymous.host_base()) % (2u << 20), 0u);
  for (GuestMemory* m : {&shared, &anonymous}) {
    const uint8_t in[3] = {1, 2, 3};
    uint8_t out[3] = {};
    ASSERT_TRUE(m->write((8ull << 20) - 3, in));
    ASSERT_TRUE(m->read((8ull << 20) - 3, out));
    EXPECT_EQ(out[2], 3);
  }
}

TEST(GuestMemory, LargeGuestSkipsThePciHole) {
  GuestMemory mem(5ull << 30);  // sparse: nothing is touched
  ASSERT_EQ(mem.regions().size(), 2u);
  EXPECT_EQ(mem.regions()[0].size, GuestMemory::kPciHoleStart);
  EXPECT_EQ(mem.regions()[1].gpa, GuestMemory::kPciHoleEnd);
  EXPECT_EQ(mem.regions()[1].size, (5ull << 30) - GuestMemory::kPciHoleStart);
  EXPECT_EQ(mem.regions()[1].offset, GuestMemory::kPciHoleStart);
  EXPECT_EQ(mem.host_address(GuestMemory::kPciHoleStart, 1), nullptr);
  EXPECT_EQ(mem.host_address(GuestMemory::kPciHoleEnd - 1, 1), nullptr);
  EXPECT_EQ(mem.host_address(GuestMemory::kPciHoleEnd, 1),
            mem.host_base() + GuestMemory::kPciHoleStart);
}

TEST(GuestMemory, ReadWriteRoundTripAndBounds) {
  GuestMemory mem(4ull << 20);
  const uint8_t data[4] = {1, 2, 3, 4};
  EXPECT_TRUE(mem.write(0x1000, data));
  uint8_t back[4] = {};
  EXPECT_TRUE(mem.read(0x1000, back));
  EXPECT_EQ(0, memcmp(data, back, 4));
  EXPECT_TRUE(mem.write((4ull << 20) - 4, data));
  EXPECT_FALSE(mem.write((4ull << 20) - 3, data));  // straddles the end
  EXPECT_FALSE(mem.read(~0ull - 1, back));          // would wrap
  EXPECT_EQ(mem.host_address(0, (4ull << 20) + 1), nullptr);
}

TEST(GuestMemory, RefusesBadSizes) {
  EXPECT_THROW(GuestMemory(0), std::runtime_error);
  EXPECT_THROW(GuestMemory(1ull << 20), std::runtime_error);         // below the minimum
  EXPECT_THROW(GuestMemory((64ull << 20) + 1), std::runtime_error);  // not 4 KiB granular
  EXPECT_THROW(GuestMemory(2ull << 40), std::runtime_error);         // above the maximum
}

}  // namespace
}  // namespace kagami
