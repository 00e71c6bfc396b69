// BAR assignment: natural alignment, largest first, windows that overflow, and the end result.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "pci/pci_bar_allocator.hpp"
#include "pci/pci_root.hpp"
#include "pci_test_support.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::conf1_read;
using testing::RegisterBlock;

std::string place_error(std::vector<PciBarRequest> requests, pci::Window window) {
  try {
    place_pci_bars(requests, window, "test");
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "";
}

TEST(PlacePciBars, LargestFirstNaturallyAligned) {
  std::vector<PciBarRequest> requests{
      {1, 0, 0x1000}, {1, 1, 0x10'0000}, {2, 0, 0x4000}, {2, 2, 0x10}, {3, 0, 0x10'0000}};
  std::vector<uint64_t> addresses =
      place_pci_bars(requests, {0xc000'0000, 0xe000'0000}, "32-bit pci memory");
  EXPECT_EQ(addresses, (std::vector<uint64_t>{0xc020'4000, 0xc000'0000, 0xc020'0000, 0xc020'5000,
                                              0xc010'0000}));
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(addresses[i] % requests[i].size, 0u);
}

TEST(PlacePciBars, AlignsPastAnUnalignedWindowBase) {
  std::vector<uint64_t> addresses =
      place_pci_bars({{{1, 0, 0x100}, {1, 1, 0x4}}}, {0x1010, 0x10000}, "pci i/o");
  EXPECT_EQ(addresses, (std::vector<uint64_t>{0x1100, 0x1200}));
}

TEST(PlacePciBars, FillsAWindowExactlyAndNoFurther) {
  pci::Window window{0xc000'0000, 0xe000'0000};
  EXPECT_EQ(place_error({{1, 0, 0x1000'0000}, {2, 0, 0x1000'0000}}, window), "");
  EXPECT_EQ(place_error({{1, 0, 0x1000'0000}, {2, 0, 0x1000'0000}, {3, 1, 0x10}}, window),
            "pci: cannot assign bar 1 of 00:03.0 (size 0x10): the test window "
            "[0xc0000000, 0xdfffffff] is full");
  EXPECT_EQ(place_error({{4, 0, 0x4000'0000}}, window),
            "pci: cannot assign bar 0 of 00:04.0 (size 0x40000000): the test window "
            "[0xc0000000, 0xdfffffff] is full");
}

TEST(PlacePciBars, NeverWrapsAtTheTopOfTheAddressSpace) {
  pci::Window top{0xffff'ffff'ffff'0000, 0xffff'ffff'ffff'ffff};
  EXPECT_NE(place_error({{1, 0, 0x8000}, {1, 2, 0x8000}}, top), "");  // needs one byte more
  EXPECT_NE(place_error({{1, 0, uint64_t{1} << 63}}, top), "");
  EXPECT_EQ(place_error({{1, 0, 0x8000}}, top), "");
  EXPECT_EQ(place_error({}, top), "");
}

TEST(PlacePciBars, RefusesSizesThatAreNotPowersOfTwo) {
  EXPECT_THROW(place_pci_bars({{{1, 0, 0x3000}}}, {0xc000'0000, 0xe000'0000}, "x"),
               std::invalid_argument);
  EXPECT_THROW(place_pci_bars({{{1, 0, 0}}}, {0xc000'0000, 0xe000'0000}, "x"),
               std::invalid_argument);
}

class AssignPciBarsTest : public ::testing::Test {
 protected:
  AssignPciBarsTest() { root.attach(); }
  Bus io{"io"};
  Bus mmio{"mmio"};
  PciRoot root{io, mmio};
  RegisterBlock block{0x10'0000};
};

TEST_F(AssignPciBarsTest, EveryBarDecodesWhereItsRegisterSays) {
  PciDevice net{{.vendor_id = 0x1af4, .device_id = 0x1041}, pci::IntxPin::kIntA};
  net.declare_bar(0, {.type = PciBarType::kIo, .size = 0x20, .device = &block});
  net.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &block});
  net.declare_bar(
      4, {.type = PciBarType::kMemory64, .size = 0x4000, .device = &block, .prefetchable = true});
  PciDevice blk{{.vendor_id = 0x1af4, .device_id = 0x1042}};
  blk.declare_bar(2, {.type = PciBarType::kMemory32, .size = 0x10'0000, .device = &block});
  PciDevice quiet{{.vendor_id = 0x1af4, .device_id = 0x1043}};  // no BARs: command untouched
  root.add_device(1, net);
  root.add_device(2, blk);
  root.add_device(3, quiet);
  assign_pci_bars(root);

  EXPECT_EQ(conf1_read(io, 1, 0x10, 4), 0x1001u);
  EXPECT_EQ(conf1_read(io, 1, 0x14, 4), 0xc010'0000u);
  EXPECT_EQ(conf1_read(io, 1, 0x20, 4), 0x0000'000cu);
  EXPECT_EQ(conf1_read(io, 1, 0x24, 4), 0x40u);
  EXPECT_EQ(conf1_read(io, 2, 0x18, 4), 0xc000'0000u);
  EXPECT_EQ(conf1_read(io, 1, 0x04, 2), pci::kCommandIo | pci::kCommandMemory);
  EXPECT_EQ(conf1_read(io, 2, 0x04, 2), pci::kCommandMemory);
  EXPECT_EQ(conf1_read(io, 3, 0x04, 2), 0u);
  EXPECT_EQ(conf1_read(io, 0, 0x04, 2), 0u);
  EXPECT_EQ(root.bar_mapping(1, 0), 0x1000u);
  EXPECT_EQ(root.bar_mapping(1, 1), 0xc010'0000u);
  EXPECT_EQ(root.bar_mapping(1, 4), 0x40'0000'0000u);
  EXPECT_EQ(root.bar_mapping(2, 2), 0xc000'0000u);
  EXPECT_EQ(bus_read(io, 0x1003, 1), 0x03u);
  EXPECT_EQ(bus_read(mmio, 0x40'0000'0007, 1), 0x07u);
  EXPECT_EQ(root.stats().refused_bar_mappings, 0u);
}

TEST_F(AssignPciBarsTest, RefusesCleanlyWhenTheWindowIsFull) {
  PciDevice big{{.vendor_id = 0x1af4, .device_id = 0x1050}};
  big.declare_bar(0, {.type = PciBarType::kMemory32, .size = 1ull << 30, .device = &block});
  root.add_device(4, big);
  try {
    assign_pci_bars(root);
    ADD_FAILURE() << "a 1 GiB bar fit in the 512 MiB window";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(),
                 "pci: cannot assign bar 0 of 00:04.0 (size 0x40000000): the 32-bit pci memory "
                 "window [0xc0000000, 0xdfffffff] is full");
  }
  EXPECT_EQ(conf1_read(io, 4, 0x04, 2), 0u);  // nothing was half-assigned
}

TEST_F(AssignPciBarsTest, RefusesWhenSomethingElseSitsInTheWindow) {
  RegisterBlock squatter{0x1000};
  mmio.add(0xc000'0000, 0x1000, squatter, kAnyWidth, "squatter");
  PciDevice device{{.vendor_id = 0x1af4, .device_id = 0x1051}};
  device.declare_bar(0, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &block});
  root.add_device(7, device);
  try {
    assign_pci_bars(root);
    ADD_FAILURE() << "a bar was placed over another range";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(),
                 "pci: cannot decode bar 0 of 00:07.0 (size 0x1000) at 0xc0000000: pci 00:07.0 "
                 "bar 0 at 0xc0000000 not decoded: mmio bus: pci 00:07.0 bar 0 [0xc0000000, "
                 "0xc0000fff] overlaps squatter [0xc0000000, 0xc0000fff]");
  }
}

}  // namespace
}  // namespace kagami
