// Config mechanism #1 and ECAM: latching, enable bit, widths, absent devices, the host bridge.
#include <gtest/gtest.h>

#include <vector>

#include "pci/pci_host_bridge.hpp"
#include "pci/pci_root.hpp"
#include "pci_test_support.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::conf1_read;
using testing::conf1_write;
using testing::config_address;
using testing::ecam_address;

class ConfigAccessTest : public ::testing::Test {
 protected:
  ConfigAccessTest() {
    root.attach();
    root.add_device(3, device);
  }
  Bus io{"io"};
  Bus mmio{"mmio"};
  PciRoot root{io, mmio};
  PciDevice device{{.vendor_id = 0x1af4,
                    .device_id = 0x1041,
                    .class_code = 0x02,
                    .subclass = 0x00,
                    .revision = 0x01,
                    .subsystem_vendor_id = 0x1af4,
                    .subsystem_id = 0x0001},
                   pci::IntxPin::kIntA};
};

TEST_F(ConfigAccessTest, HostBridgeAtZeroThroughBothMechanisms) {
  for (auto read : {+[](Bus&io, Bus&, unsigned reg) { return conf1_read(io, 0, reg, 4); },
                    +[](Bus&, Bus&mmio, unsigned reg) {
                      return bus_read(mmio, ecam_address(0, 0, 0, reg), 4);
                    }}) {
    EXPECT_EQ(read(io, mmio, 0x00), 0x0008'1b36u);  // device << 16 | vendor
    EXPECT_EQ(read(io, mmio, 0x08), 0x0600'0000u);  // class 06:00:00, revision 0
    EXPECT_EQ(read(io, mmio, 0x0c), 0x0000'0000u);  // header type 0: single function
    EXPECT_EQ(read(io, mmio, 0x2c), 0x1100'1af4u);  // subsystem
    EXPECT_EQ(read(io, mmio, 0x3c), 0x0000'0000u);  // no interrupt pin
    for (unsigned bar = 0x10; bar < 0x28; bar += 4) EXPECT_EQ(read(io, mmio, bar), 0u);
  }
}

// Linux's pci_check_type1: a byte to 0xcfb must not latch, the dword must read back.
TEST_F(ConfigAccessTest, OnlyDwordWritesLatchTheAddress) {
  bus_write(io, 0xcf8, 4, config_address(0, 3, 0, 0x08));
  bus_write(io, 0xcfb, 1, 0x01);
  bus_write(io, 0xcf8, 2, 0x0000);
  bus_write(io, 0xcfa, 2, 0x0000);
  bus_write(io, 0xcf8, 1, 0x00);
  EXPECT_EQ(bus_read(io, 0xcf8, 4), config_address(0, 3, 0, 0x08));
  bus_write(io, 0xcf8, 4, 0x8000'0000);
  EXPECT_EQ(bus_read(io, 0xcf8, 4), 0x8000'0000u);
  EXPECT_EQ(bus_read(io, 0xcfa, 2), 0x8000u);
  EXPECT_EQ(bus_read(io, 0xcfb, 1), 0x80u);
}

TEST_F(ConfigAccessTest, AddressRegisterReservedBitsReadZero) {
  bus_write(io, 0xcf8, 4, 0xffff'ffff);
  EXPECT_EQ(bus_read(io, 0xcf8, 4), 0x80ff'fffcu);
  // Bits 27:24 are AMD's extended-register bits elsewhere; here they are ignored.
  bus_write(io, 0xcf8, 4, 0x8f00'0000 | (3u << 11));
  EXPECT_EQ(bus_read(io, 0xcfc, 4), 0x1041'1af4u);
}

TEST_F(ConfigAccessTest, EnableBitClearMeansNoConfigCycle) {
  bus_write(io, 0xcf8, 4, config_address(0, 3, 0, 0x3c) & 0x7fff'ffff);
  EXPECT_EQ(bus_read(io, 0xcfc, 4), 0xffff'ffffu);
  EXPECT_EQ(bus_read(io, 0xcfc, 1), 0xffu);
  bus_write(io, 0xcfc, 1, 0x05);
  EXPECT_EQ(conf1_read(io, 3, 0x3c, 1), 16u + 3);  // still the GSI of slot 3, INTA
}

TEST_F(ConfigAccessTest, PartialWidthsUseThePortsByteOffset) {
  EXPECT_EQ(conf1_read(io, 3, 0x00, 4), 0x1041'1af4u);
  EXPECT_EQ(conf1_read(io, 3, 0x00, 1), 0xf4u);
  EXPECT_EQ(conf1_read(io, 3, 0x01, 1), 0x1au);
  EXPECT_EQ(conf1_read(io, 3, 0x02, 2), 0x1041u);
  EXPECT_EQ(conf1_read(io, 3, 0x03, 1), 0x10u);
  bus_write(io, 0xcf8, 4, config_address(0, 3, 0, 0x00));
  EXPECT_EQ(bus_read(io, 0xcfd, 2), 0x411au);  // unaligned word: bytes 1 and 2
  EXPECT_EQ(conf1_read(io, 3, 0x08, 4), 0x0200'0001u);

  conf1_write(io, 3, 0x3c, 1, 0x0b);
  EXPECT_EQ(conf1_read(io, 3, 0x3c, 4), 0x0000'010bu);  // pin INTA, line written
  conf1_write(io, 3, 0x3e, 2, 0xffff);                  // min_gnt/max_lat: read-only zero
  conf1_write(io, 3, 0x3d, 1, 0x04);                    // the pin is read-only
  EXPECT_EQ(conf1_read(io, 3, 0x3c, 4), 0x0000'010bu);
  conf1_write(io, 3, 0x0c, 4, 0xffff'ffff);  // cache line size is the only writable byte
  EXPECT_EQ(conf1_read(io, 3, 0x0c, 4), 0x0000'00ffu);
}

TEST_F(ConfigAccessTest, EcamReachesTheSameRegisters) {
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0x00), 4), 0x1041'1af4u);
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0x02), 2), 0x1041u);
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0x0b), 1), 0x02u);
  bus_write(mmio, ecam_address(0, 3, 0, 0x04), 2, 0x0006);
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0x00), 8), 0x0000'0006'1041'1af4u);  // 2 dwords
  bus_write(mmio, ecam_address(0, 3, 0, 0x3c), 1, 0x0a);
  EXPECT_EQ(conf1_read(io, 3, 0x3c, 1), 0x0au);
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0x100), 4), 0u);  // no extended capabilities
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0xffc), 4), 0u);
  EXPECT_EQ(bus_read(mmio, ecam_address(0, 3, 0, 0xffe), 4), 0xffff'ffffu);  // crosses functions
  EXPECT_EQ(io.unassigned().reads + mmio.unassigned().reads, 0u);
}

TEST_F(ConfigAccessTest, AbsentFunctionsReadAllOnesAndDropWrites) {
  struct Where {
    unsigned bus, slot, function;
  };
  for (Where where : {Where{0, 4, 0}, Where{0, 31, 0}, Where{0, 3, 1}, Where{0, 0, 7},
                      Where{1, 0, 0}, Where{1, 3, 0}, Where{255, 31, 7}}) {
    SCOPED_TRACE((PciAddress{where.bus, where.slot, where.function}.to_string()));
    for (size_t width : {1, 2, 4}) {
      EXPECT_EQ(conf1_read(io, where.slot, 0, width, where.bus, where.function),
                (uint64_t{1} << (8 * width)) - 1);
      EXPECT_EQ(bus_read(mmio, ecam_address(where.bus, where.slot, where.function, 0x3c), width),
                (uint64_t{1} << (8 * width)) - 1);
    }
    conf1_write(io, where.slot, 0x3c, 4, 0x12345678, where.bus, where.function);
    bus_write(mmio, ecam_address(where.bus, where.slot, where.function, 0x3c), 1, 0x77);
  }
  EXPECT_EQ(conf1_read(io, 3, 0x3c, 1), 16u + 3);
  EXPECT_EQ(conf1_read(io, 0, 0x3c, 1), 0u);
}

class RecordingResetControl : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back(offset);
    data[0] = 0x02;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, data[0]});
  }
  std::vector<uint64_t> reads;
  std::vector<std::pair<uint64_t, uint8_t>> writes;
};

TEST(ConfigAccess, Port0xcf9BytesGoToTheResetControlRegister) {
  Bus io("io"), mmio("mmio");
  PciRoot root(io, mmio);
  RecordingResetControl reset;
  root.attach(&reset);
  bus_write(io, 0xcf9, 1, 0x06);
  EXPECT_EQ(bus_read(io, 0xcf9, 1), 0x02u);
  bus_write(io, 0xcf8, 4, 0x8000'0000);  // the dword is the address register's alone
  bus_write(io, 0xcf8, 2, 0x0600);       // not a byte at 0xcf9
  EXPECT_EQ(bus_read(io, 0xcf8, 4), 0x8000'0000u);
  EXPECT_EQ(reset.writes, (std::vector<std::pair<uint64_t, uint8_t>>{{0, 0x06}}));
  EXPECT_EQ(reset.reads, (std::vector<uint64_t>{0}));
}

TEST(ConfigAccess, Port0xcf9WithoutResetControlIsJustTheAddressRegister) {
  Bus io("io"), mmio("mmio");
  PciRoot root(io, mmio);
  root.attach();
  bus_write(io, 0xcf8, 4, 0x8000'1234 & ~3u);
  bus_write(io, 0xcf9, 1, 0x06);
  EXPECT_EQ(bus_read(io, 0xcf9, 1), 0x12u);
  EXPECT_EQ(bus_read(io, 0xcf8, 4), 0x8000'1234u & ~3u);
}

TEST(ConfigAccess, AttachClaimsThePortsAndTheEcamWindow) {
  Bus io("io"), mmio("mmio");
  PciRoot root(io, mmio);
  root.attach();
  testing::RegisterBlock block;
  EXPECT_THROW(io.add(0xcff, 1, block), std::invalid_argument);
  EXPECT_THROW(io.add(0xcf8, 1, block), std::invalid_argument);
  EXPECT_THROW(mmio.add(0xefff'ffff, 1, block), std::invalid_argument);
  EXPECT_NO_THROW(mmio.add(0xf000'0000, 1, block));
  EXPECT_NO_THROW(mmio.add(0xdfff'ffff, 1, block));
  EXPECT_NO_THROW(io.add(0xd00, 1, block));
  EXPECT_NO_THROW(io.add(0xcf7, 1, block));
}

}  // namespace
}  // namespace kagami
