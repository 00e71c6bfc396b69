// fw_cfg: fixed items, file directory and files, offsets, bad selectors, refused widths.
#include "fw_cfg.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;
using testing::inb;
using testing::outb;

using Bytes = std::vector<uint8_t>;

class FwCfgTest : public ::testing::Test {
 protected:
  FwCfgTest() { fw_cfg.attach(io); }

  void select(uint16_t key) { bus_write(io, 0x510, 2, key); }
  Bytes read_data(size_t count) {
    Bytes bytes;
    for (size_t i = 0; i < count; ++i) bytes.push_back(inb(io, 0x511));
    return bytes;
  }
  Bytes read_item(uint16_t key, size_t count) {
    select(key);
    return read_data(count);
  }
  static uint64_t be(const Bytes& bytes, size_t at, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value = (value << 8) | bytes[at + i];
    return value;
  }

  Bus io{"io"};
  FwCfg fw_cfg{512ull << 20, 2};
};

TEST_F(FwCfgTest, SignatureIsSelectedAtStart) {
  EXPECT_EQ(read_data(4), (Bytes{'Q', 'E', 'M', 'U'}));
  EXPECT_EQ(read_item(0x0000, 5), (Bytes{'Q', 'E', 'M', 'U', 0}));
}

TEST_F(FwCfgTest, IdSaysTraditionalInterfaceWithoutDma) {
  EXPECT_EQ(read_item(0x0001, 4), (Bytes{1, 0, 0, 0}));
}

TEST_F(FwCfgTest, RamSizeAndCpuCounts) {
  EXPECT_EQ(read_item(0x0003, 8), (Bytes{0, 0, 0, 0x20, 0, 0, 0, 0}));
  EXPECT_EQ(read_item(0x0005, 2), (Bytes{2, 0}));
  EXPECT_EQ(read_item(0x000f, 2), (Bytes{2, 0}));
  FwCfg big(6ull << 30, 0x102);
  Bus other("io");
  big.attach(other);
  bus_write(other, 0x510, 2, 0x0003);
  Bytes ram;
  for (int i = 0; i < 8; ++i) ram.push_back(inb(other, 0x511));
  EXPECT_EQ(ram, (Bytes{0, 0, 0, 0x80, 1, 0, 0, 0}));
  bus_write(other, 0x510, 2, 0x0005);
  EXPECT_EQ(inb(other, 0x511), 0x02);
  EXPECT_EQ(inb(other, 0x511), 0x01);
}

TEST_F(FwCfgTest, EmptyFileDirectory) {
  EXPECT_EQ(read_item(0x0019, 5), (Bytes{0, 0, 0, 0, 0}));
}

TEST_F(FwCfgTest, FileDirectorySortedByNameLikeQemu) {
  Bytes e820(20, 0xee);
  fw_cfg.add_file("opt/kagami/b", {1, 2, 3});
  fw_cfg.add_file("etc/e820", e820);
  fw_cfg.add_file("etc/a", {});
  Bytes dir = read_item(0x0019, 4 + 3 * 64);
  ASSERT_EQ(be(dir, 0, 4), 3u);
  struct Entry {
    uint32_t size;
    uint16_t select;
    std::string name;
  };
  std::vector<Entry> entries;
  for (size_t i = 0; i < 3; ++i) {
    size_t at = 4 + 64 * i;
    EXPECT_EQ(be(dir, at + 6, 2), 0u);  // reserved
    std::string name(reinterpret_cast<const char*>(&dir[at + 8]), 56);
    EXPECT_EQ(name[55], '\0');
    entries.push_back({static_cast<uint32_t>(be(dir, at, 4)),
                       static_cast<uint16_t>(be(dir, at + 4, 2)), name.c_str()});
  }
  EXPECT_EQ(entries[0].name, "etc/a");
  EXPECT_EQ(entries[0].size, 0u);
  EXPECT_EQ(entries[0].select, 0x20);
  EXPECT_EQ(entries[1].name, "etc/e820");
  EXPECT_EQ(entries[1].size, 20u);
  EXPECT_EQ(entries[1].select, 0x21);
  EXPECT_EQ(entries[2].name, "opt/kagami/b");
  EXPECT_EQ(entries[2].size, 3u);
  EXPECT_EQ(entries[2].select, 0x22);

  EXPECT_EQ(read_item(0x21, 20), e820);
  EXPECT_EQ(read_item(0x22, 3), (Bytes{1, 2, 3}));
}

TEST_F(FwCfgTest, ReadsPastTheEndReturnZeroAndSelectionRewinds) {
  fw_cfg.add_file("etc/x", {7, 8});
  EXPECT_EQ(read_item(0x20, 5), (Bytes{7, 8, 0, 0, 0}));
  EXPECT_EQ(read_item(0x20, 1), (Bytes{7}));
  select(0x20);  // reselecting the same key rewinds too
  EXPECT_EQ(read_data(2), (Bytes{7, 8}));
}

TEST_F(FwCfgTest, UnknownAndArchSelectorsReadZeros) {
  EXPECT_EQ(read_item(0x1234, 2), (Bytes{0, 0}));
  EXPECT_EQ(read_item(0x20, 2), (Bytes{0, 0}));  // no file yet
  EXPECT_EQ(read_item(0x8000, 4), (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(read_item(0x4000, 4), (Bytes{'Q', 'E', 'M', 'U'}));  // write-channel bit ignored
}

TEST_F(FwCfgTest, DataWritesAreIgnoredAndBothPortsReadData) {
  select(0x0000);
  outb(io, 0x511, 0x55);  // ignored, as since QEMU 2.4
  outb(io, 0x510, 0x01);  // a byte write is a data write, not a selection
  EXPECT_EQ(inb(io, 0x510), 'Q');
  EXPECT_EQ(inb(io, 0x511), 'E');
}

TEST_F(FwCfgTest, RefusedWidths) {
  select(0x0000);
  EXPECT_EQ(bus_read(io, 0x510, 2), 0xffffu);  // QEMU takes only byte reads
  EXPECT_EQ(bus_read(io, 0x510, 4), 0xffffffffu);
  EXPECT_EQ(io.unassigned().reads, 1u);
  EXPECT_EQ(read_data(1), (Bytes{'Q'}));  // nothing consumed
}

TEST_F(FwCfgTest, AddFileRefusals) {
  fw_cfg.add_file("etc/e820", {});
  EXPECT_THROW(fw_cfg.add_file("etc/e820", {1}), std::invalid_argument);
  EXPECT_THROW(fw_cfg.add_file("", {}), std::invalid_argument);
  EXPECT_THROW(fw_cfg.add_file(std::string(56, 'n'), {}), std::invalid_argument);
  EXPECT_THROW(fw_cfg.add_file(std::string("a\0b", 3), {}), std::invalid_argument);
  try {
    fw_cfg.add_file("etc/e820", {});
    FAIL() << "duplicate accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "fw_cfg: file 'etc/e820': already exists");
  }
  std::string longest(55, 'n');
  fw_cfg.add_file(longest, {9});
  Bytes dir = read_item(0x0019, 4 + 2 * 64);
  EXPECT_EQ(be(dir, 0, 4), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&dir[4 + 64 + 8])), longest);
  EXPECT_THROW(FwCfg(1 << 20, 0), std::invalid_argument);
}

}  // namespace
}  // namespace kagami
