// BAR decoding: the guest moves BARs and toggles enables; the buses follow, bad places are refused.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pci/pci_root.hpp"
#include "pci_test_support.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::conf1_read;
using testing::conf1_write;
using testing::ecam_address;
using testing::RegisterBlock;

constexpr unsigned kSlot = 5;

// A device with an I/O BAR (0), a 32-bit memory BAR (1) and a 64-bit memory BAR (2, 3).
class BarDecodingTest : public ::testing::Test {
 protected:
  BarDecodingTest() {
    device.declare_bar(0, {.type = PciBarType::kIo, .size = 0x20, .device = &io_block});
    device.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &mem_block});
    device.declare_bar(2, {.type = PciBarType::kMemory64,
                           .size = 0x4000,
                           .device = &wide_block,
                           .prefetchable = true,
                           .name = "wide"});
    root.attach();
    root.add_device(kSlot, device);
  }
  void command(uint16_t value) { conf1_write(io, kSlot, 0x04, 2, value); }
  void bar(unsigned index, uint32_t value) { conf1_write(io, kSlot, 0x10 + 4 * index, 4, value); }
  PciStats stats() { return root.stats(); }

  Bus io{"io"};
  Bus mmio{"mmio"};
  PciRoot root{io, mmio};
  RegisterBlock io_block{0x20}, mem_block{0x1000}, wide_block{0x4000};
  PciDevice device{{.vendor_id = 0x1af4, .device_id = 0x1000}};
};

TEST_F(BarDecodingTest, NothingDecodesUntilEnabled) {
  bar(0, 0x1000);
  bar(1, 0xc000'0000);
  EXPECT_EQ(root.bar_mapping(kSlot, 0), std::nullopt);
  EXPECT_EQ(bus_read(io, 0x1004, 1), 0xffu);
  EXPECT_EQ(bus_read(mmio, 0xc000'0004, 4), 0xffff'ffffu);
  EXPECT_EQ(io_block.accesses() + mem_block.accesses(), 0u);
}

TEST_F(BarDecodingTest, EnableBitsGateEachSpace) {
  bar(0, 0x1000);
  bar(1, 0xc000'0000);
  command(pci::kCommandIo);
  EXPECT_EQ(root.bar_mapping(kSlot, 0), 0x1000u);
  EXPECT_EQ(root.bar_mapping(kSlot, 1), std::nullopt);
  EXPECT_EQ(bus_read(io, 0x1004, 1), 0x04u);
  command(pci::kCommandMemory);
  EXPECT_EQ(root.bar_mapping(kSlot, 0), std::nullopt);
  EXPECT_EQ(root.bar_mapping(kSlot, 1), 0xc000'0000u);
  EXPECT_EQ(bus_read(io, 0x1004, 1), 0xffu);
  EXPECT_EQ(bus_read(mmio, 0xc000'0004, 4), 0x0706'0504u);
  command(0);
  EXPECT_EQ(bus_read(mmio, 0xc000'0004, 4), 0xffff'ffffu);
  EXPECT_EQ(stats().refused_bar_mappings, 0u);  // BAR 2 at 0 is unassigned, not refused
}

TEST_F(BarDecodingTest, MovingABarMovesItOnTheBus) {
  bar(1, 0xc000'0000);
  command(pci::kCommandMemory);
  bus_write(mmio, 0xc000'0010, 4, 0xdeadbeef);
  bar(1, 0xc010'0000);
  EXPECT_EQ(root.bar_mapping(kSlot, 1), 0xc010'0000u);
  uint64_t unassigned = mmio.unassigned().reads;
  EXPECT_EQ(bus_read(mmio, 0xc000'0010, 4), 0xffff'ffffu);
  EXPECT_EQ(mmio.unassigned().reads, unassigned + 1);
  EXPECT_EQ(bus_read(mmio, 0xc010'0010, 4), 0xdeadbeefu);
  EXPECT_EQ(bus_read(mmio, 0xc010'0fff, 1), 0xffu);
  EXPECT_EQ(bus_read(mmio, 0xc010'1000, 1), 0xffu);  // one page, no more
}

TEST_F(BarDecodingTest, Bar64InTheHighWindowAndBelow4GiB) {
  command(pci::kCommandMemory);
  bar(3, 0x40);
  bar(2, 0x0000'8000);
  EXPECT_EQ(root.bar_mapping(kSlot, 2), 0x40'0000'8000u);
  EXPECT_EQ(bus_read(mmio, 0x40'0000'8010, 1), 0x10u);
  bar(3, 0);
  bar(2, 0xd000'0000);
  EXPECT_EQ(root.bar_mapping(kSlot, 2), 0xd000'0000u);
  EXPECT_EQ(bus_read(mmio, 0xd000'0011, 1), 0x11u);
  EXPECT_EQ(bus_read(mmio, 0x40'0000'8010, 1), 0xffu);
}

TEST_F(BarDecodingTest, MovingThroughEcamOnTheSameBus) {
  command(pci::kCommandMemory);
  bar(1, 0xc000'0000);
  bus_write(mmio, ecam_address(0, kSlot, 0, 0x14), 4, 0xc020'0000);
  EXPECT_EQ(bus_read(mmio, 0xc020'0008, 1), 0x08u);
  bus_write(mmio, ecam_address(0, kSlot, 0, 0x04), 2, 0);
  EXPECT_EQ(bus_read(mmio, 0xc020'0008, 1), 0xffu);
}

TEST_F(BarDecodingTest, PlacesOutsideTheWindowsAreRefusedAndCounted) {
  command(pci::kCommandIo | pci::kCommandMemory);
  bar(1, 0x1000'0000);  // RAM
  EXPECT_EQ(root.bar_mapping(kSlot, 1), std::nullopt);
  EXPECT_EQ(stats().refused_bar_mappings, 1u);
  EXPECT_EQ(stats().last_refusal,
            "pci 00:05.0 bar 1 at 0x10000000 not decoded: outside the pci windows");
  bar(1, 0x1000'0000);  // the same place again: counted once
  EXPECT_EQ(stats().refused_bar_mappings, 1u);
  bar(1, 0xfec0'0000);  // the IOAPIC
  bar(1, 0xe000'0000);  // ECAM
  bar(1, 0xdfff'f000);  // the last page of the 32-bit window: fine
  EXPECT_EQ(root.bar_mapping(kSlot, 1), 0xdfff'f000u);
  bar(0, 0x3f8);  // COM1, below the I/O window
  EXPECT_EQ(root.bar_mapping(kSlot, 0), std::nullopt);
  bar(0, 0xffe0);
  EXPECT_EQ(root.bar_mapping(kSlot, 0), 0xffe0u);
  bar(3, 0x80);  // past the 64-bit window
  EXPECT_EQ(root.bar_mapping(kSlot, 2), std::nullopt);
  EXPECT_EQ(stats().refused_bar_mappings, 5u);
  EXPECT_EQ(bus_read(io, 0x3f8, 1), 0xffu);
  EXPECT_EQ(bus_read(mmio, 0xfec0'0000, 4), 0xffff'ffffu);
}

TEST_F(BarDecodingTest, SizingWhileDecodingIsRefusedQuietly) {
  command(pci::kCommandIo | pci::kCommandMemory);
  bar(1, 0xc000'0000);
  bar(0, 0x2000);
  for (unsigned index : {0u, 1u, 2u, 3u}) {
    uint32_t saved = static_cast<uint32_t>(conf1_read(io, kSlot, 0x10 + 4 * index, 4));
    bar(index, 0xffff'ffff);
    bar(index, saved);
  }
  EXPECT_EQ(stats().refused_bar_mappings, 0u);
  EXPECT_EQ(root.bar_mapping(kSlot, 1), 0xc000'0000u);
  EXPECT_EQ(root.bar_mapping(kSlot, 0), 0x2000u);
}

TEST(BarDecoding, OverlapIsRefusedThenDecodedOnceTheSpaceIsFree) {
  Bus io("io"), mmio("mmio");
  RegisterBlock first_block{0x1000}, second_block{0x1000};
  PciDevice first{{.vendor_id = 0x1af4, .device_id = 0x1002}};
  PciDevice second{{.vendor_id = 0x1af4, .device_id = 0x1001}};
  first.declare_bar(0, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &first_block});
  second.declare_bar(0, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &second_block});
  PciRoot root(io, mmio);
  root.attach();
  root.add_device(1, first);
  root.add_device(2, second);
  conf1_write(io, 1, 0x10, 4, 0xc000'0000);
  conf1_write(io, 1, 0x04, 2, pci::kCommandMemory);
  conf1_write(io, 2, 0x10, 4, 0xc000'0000);
  conf1_write(io, 2, 0x04, 2, pci::kCommandMemory);
  EXPECT_EQ(root.bar_mapping(2, 0), std::nullopt);
  EXPECT_EQ(root.stats().refused_bar_mappings, 1u);
  EXPECT_EQ(root.stats().last_refusal,
            "pci 00:02.0 bar 0 at 0xc0000000 not decoded: mmio bus: pci 00:02.0 bar 0 "
            "[0xc0000000, 0xc0000fff] overlaps pci 00:01.0 bar 0 [0xc0000000, 0xc0000fff]");
  EXPECT_EQ(bus_read(mmio, 0xc000'0000, 4), 0x0302'0100u);
  EXPECT_EQ(second_block.accesses(), 0u);

  conf1_write(io, 1, 0x10, 4, 0xc000'1000);  // the first moves away; the second now decodes
  EXPECT_EQ(root.bar_mapping(1, 0), 0xc000'1000u);
  EXPECT_EQ(root.bar_mapping(2, 0), 0xc000'0000u);
  EXPECT_EQ(bus_read(mmio, 0xc000'0000, 1), 0x00u);
  EXPECT_EQ(second_block.accesses(), 1u);
  EXPECT_EQ(first_block.accesses(), 1u);
}

TEST_F(BarDecodingTest, TwoBarsOfOneDeviceTradePlaces) {
  PciDevice twin{{.vendor_id = 0x1af4, .device_id = 0x1003}};
  RegisterBlock a{0x1000}, b{0x1000};
  twin.declare_bar(0, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &a});
  twin.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &b});
  root.add_device(6, twin);
  conf1_write(io, 6, 0x10, 4, 0xc000'0000);
  conf1_write(io, 6, 0x14, 4, 0xc000'1000);
  conf1_write(io, 6, 0x04, 2, pci::kCommandMemory);
  // Disable decoding, swap, enable: as Linux reassigns.
  conf1_write(io, 6, 0x04, 2, 0);
  conf1_write(io, 6, 0x10, 4, 0xc000'1000);
  conf1_write(io, 6, 0x14, 4, 0xc000'0000);
  conf1_write(io, 6, 0x04, 2, pci::kCommandMemory);
  EXPECT_EQ(root.bar_mapping(6, 0), 0xc000'1000u);
  EXPECT_EQ(root.bar_mapping(6, 1), 0xc000'0000u);
  bus_read(mmio, 0xc000'1000, 1);
  EXPECT_EQ(a.accesses(), 1u);
  EXPECT_EQ(b.accesses(), 0u);
  // And with decoding on, a direct swap: the overlap in between resolves at the second write.
  conf1_write(io, 6, 0x10, 4, 0xc000'0000);
  conf1_write(io, 6, 0x14, 4, 0xc000'1000);
  EXPECT_EQ(root.bar_mapping(6, 0), 0xc000'0000u);
  EXPECT_EQ(root.bar_mapping(6, 1), 0xc000'1000u);
}

TEST_F(BarDecodingTest, AccessesRaceWithMoves) {
  bar(1, 0xc000'0000);
  command(pci::kCommandMemory);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (uint64_t base : {0xc000'0000ull, 0xc001'0000ull}) {
          uint64_t value = bus_read(mmio, base + 4, 4);
          if (value != 0x0706'0504u && value != 0xffff'ffffu) ++wrong;
        }
      }
    });
  }
  for (int i = 0; i < 5000; ++i) {
    bar(1, i % 2 ? 0xc000'0000 : 0xc001'0000);
    if (i % 7 == 0) command(i % 2 ? pci::kCommandMemory : 0);
  }
  stop = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(stats().refused_bar_mappings, 0u);
}

}  // namespace
}  // namespace kagami
