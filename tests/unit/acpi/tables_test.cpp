// ACPI tables: checksums, lengths, signatures, revisions, FADT offsets, MADT entries, layout.
#include "acpi/tables.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "table_reader.hpp"

namespace kagami::acpi {
namespace {

using testing::at;
using testing::le;
using testing::sum;
using testing::table;
using testing::text;

AcpiTables build(unsigned cpus) {
  AcpiConfig config;
  config.cpus = cpus;
  return build_tables(config);
}

TEST(AcpiTables, RsdpAtTheStartOfTheBiosAreaWithBothChecksums) {
  AcpiTables tables = build(4);
  EXPECT_EQ(tables.base, 0xf0000u);
  EXPECT_EQ(tables.rsdp_address, 0xf0000u);
  auto rsdp = at(tables, tables.rsdp_address, 36);
  EXPECT_EQ(text(rsdp, 0, 8), "RSD PTR ");
  EXPECT_EQ(sum(rsdp.first(20)), 0) << "ACPI 1.0 checksum";
  EXPECT_EQ(sum(rsdp), 0) << "extended checksum";
  EXPECT_EQ(text(rsdp, 9, 6), "KAGAMI");
  EXPECT_EQ(rsdp[15], 2) << "revision";
  EXPECT_EQ(le(rsdp, 16, 4), 0u) << "no RSDT";
  EXPECT_EQ(le(rsdp, 20, 4), 36u);
  EXPECT_EQ(text(at(tables, le(rsdp, 24, 8), 4), 0, 4), "XSDT");
  EXPECT_EQ(rsdp[33] | rsdp[34] | rsdp[35], 0) << "reserved";
}

TEST(AcpiTables, EveryTableHasItsSignatureLengthAndAZeroChecksum) {
  AcpiTables tables = build(4);
  std::set<std::string> seen;
  for (const TableLocation& location : tables.tables) {
    seen.insert(location.signature);
    if (location.signature == "RSD PTR " || location.signature == "FACS") continue;
    auto bytes = at(tables, location.address, location.length);
    EXPECT_EQ(text(bytes, 0, 4), location.signature);
    EXPECT_EQ(le(bytes, 4, 4), location.length) << location.signature;
    EXPECT_EQ(sum(bytes), 0) << location.signature;
    EXPECT_EQ(text(bytes, 10, 6), "KAGAMI") << location.signature;
    EXPECT_EQ(text(bytes, 16, 8), "KAGAMIVM") << location.signature;
    EXPECT_EQ(location.address % 16, 0u) << location.signature;
  }
  EXPECT_EQ(seen,
            (std::set<std::string>{"RSD PTR ", "XSDT", "FACP", "FACS", "DSDT", "APIC", "MCFG"}));
}

TEST(AcpiTables, Revisions) {
  AcpiTables tables = build(1);
  EXPECT_EQ(table(tables, "XSDT")[8], 1);
  EXPECT_EQ(table(tables, "FACP")[8], 6);
  EXPECT_EQ(table(tables, "FACP")[131], 3) << "FADT minor version: ACPI 6.3";
  EXPECT_EQ(table(tables, "DSDT")[8], 2) << "64-bit AML integers";
  EXPECT_EQ(table(tables, "APIC")[8], 5);
  EXPECT_EQ(table(tables, "MCFG")[8], 1);
}

TEST(AcpiTables, XsdtPointsAtFadtMadtAndMcfg) {
  AcpiTables tables = build(4);
  auto xsdt = table(tables, "XSDT");
  ASSERT_EQ(xsdt.size(), 36u + 3 * 8);
  std::vector<std::string> signatures;
  for (size_t offset = 36; offset < xsdt.size(); offset += 8) {
    uint64_t address = le(xsdt, offset, 8);
    EXPECT_EQ(address % 8, 0u);
    signatures.push_back(text(at(tables, address, 4), 0, 4));
  }
  EXPECT_EQ(signatures, (std::vector<std::string>{"FACP", "APIC", "MCFG"}));
}

TEST(AcpiTables, FacsIs64ByteAlignedWithVersion2) {
  AcpiTables tables = build(1);
  auto fadt = table(tables, "FACP");
  uint64_t facs_address = le(fadt, 36, 4);
  EXPECT_EQ(facs_address % 64, 0u);
  EXPECT_EQ(le(fadt, 132, 8), 0u) << "X_FIRMWARE_CTRL must be 0 when FIRMWARE_CTRL is set";
  auto facs = at(tables, facs_address, 64);
  EXPECT_EQ(text(facs, 0, 4), "FACS");
  EXPECT_EQ(le(facs, 4, 4), 64u);
  EXPECT_EQ(facs[32], 2);
  EXPECT_EQ(le(facs, 16, 4), 0u) << "global lock free";
}

// Offsets from ACPI 6.3 table 5-34 (FADT format).
TEST(AcpiTables, FadtFieldsAtTheirSpecOffsets) {
  AcpiTables tables = build(2);
  auto fadt = table(tables, "FACP");
  ASSERT_EQ(fadt.size(), 276u);
  uint64_t dsdt = le(fadt, 40, 4);
  EXPECT_EQ(text(at(tables, dsdt, 4), 0, 4), "DSDT");
  EXPECT_EQ(le(fadt, 140, 8), dsdt) << "X_DSDT";
  EXPECT_EQ(le(fadt, 46, 2), 9u) << "SCI_INT";
  EXPECT_EQ(le(fadt, 48, 4), 0u) << "SMI_CMD: always in ACPI mode";
  EXPECT_EQ(le(fadt, 56, 4), 0x600u) << "PM1a_EVT_BLK";
  EXPECT_EQ(le(fadt, 60, 4), 0u) << "PM1b_EVT_BLK";
  EXPECT_EQ(le(fadt, 64, 4), 0x604u) << "PM1a_CNT_BLK";
  EXPECT_EQ(le(fadt, 76, 4), 0x608u) << "PM_TMR_BLK";
  EXPECT_EQ(le(fadt, 80, 4), 0x620u) << "GPE0_BLK";
  EXPECT_EQ(fadt[88], 4) << "PM1_EVT_LEN";
  EXPECT_EQ(fadt[89], 2) << "PM1_CNT_LEN";
  EXPECT_EQ(fadt[91], 4) << "PM_TMR_LEN";
  EXPECT_EQ(fadt[92], 4) << "GPE0_BLK_LEN";
  EXPECT_GT(le(fadt, 96, 2), 100u) << "P_LVL2_LAT: no C2";
  EXPECT_GT(le(fadt, 98, 2), 1000u) << "P_LVL3_LAT: no C3";
  EXPECT_EQ(fadt[108], 0x32) << "CENTURY";
  uint64_t boot_arch = le(fadt, 109, 2);
  EXPECT_EQ(boot_arch & 0x3, 0x3u) << "IAPC_BOOT_ARCH: legacy devices and 8042";
  uint64_t flags = le(fadt, 112, 4);
  EXPECT_TRUE(flags & (1u << 0)) << "WBINVD";
  EXPECT_FALSE(flags & (1u << 4)) << "PWR_BUTTON clear: fixed-feature power button";
  EXPECT_TRUE(flags & (1u << 5)) << "SLP_BUTTON set: no sleep button";
  EXPECT_FALSE(flags & (1u << 8)) << "TMR_VAL_EXT clear: 24-bit timer";
  EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
  EXPECT_FALSE(flags & (1u << 20)) << "not HW_REDUCED_ACPI";
  // RESET_REG: system I/O, 8 bits at 0xcf9; RESET_VALUE 6.
  EXPECT_EQ(fadt[116], 1);
  EXPECT_EQ(fadt[117], 8);
  EXPECT_EQ(le(fadt, 120, 8), 0xcf9u);
  EXPECT_EQ(fadt[128], 6);
}

TEST(AcpiTables, FadtExtendedBlocksRepeatThePortBlocks) {
  AcpiTables tables = build(1);
  auto fadt = table(tables, "FACP");
  struct Gas {
    size_t offset;
    uint8_t bits;
    uint64_t port;
  };
  for (Gas gas :
       {Gas{148, 32, 0x600}, Gas{172, 16, 0x604}, Gas{208, 32, 0x608}, Gas{220, 32, 0x620}}) {
    EXPECT_EQ(fadt[gas.offset], 1) << gas.offset << ": system I/O";
    EXPECT_EQ(fadt[gas.offset + 1], gas.bits) << gas.offset;
    EXPECT_EQ(fadt[gas.offset + 2], 0) << gas.offset;
    EXPECT_EQ(le(fadt, gas.offset + 4, 8), gas.port) << gas.offset;
  }
  for (size_t empty : {160, 184, 196, 232, 244, 256}) {
    EXPECT_EQ(le(fadt, empty + 4, 8), 0u) << empty;
  }
}

TEST(AcpiTables, McfgDescribesEcamForSegment0Buses0To255) {
  AcpiTables tables = build(1);
  auto mcfg = table(tables, "MCFG");
  ASSERT_EQ(mcfg.size(), 60u);
  EXPECT_EQ(le(mcfg, 36, 8), 0u) << "reserved";
  EXPECT_EQ(le(mcfg, 44, 8), 0xe0000000u);
  EXPECT_EQ(le(mcfg, 52, 2), 0u);
  EXPECT_EQ(mcfg[54], 0);
  EXPECT_EQ(mcfg[55], 255);
}

TEST(AcpiTables, EveryTableFitsTheRegionWithoutOverlap) {
  AcpiTables tables = build(255);
  EXPECT_LE(tables.bytes.size(), kAcpiRegionSize);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const TableLocation& location : tables.tables) {
    EXPECT_GE(location.address, tables.base);
    EXPECT_LE(location.address + location.length, tables.base + tables.bytes.size());
    ranges.emplace_back(location.address, location.address + location.length);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
}

TEST(AcpiTables, PointersAreAbsoluteForTheGivenBase) {
  AcpiTables tables = build_tables(AcpiConfig{}, 0xe0000);
  EXPECT_EQ(tables.rsdp_address, 0xe0000u);
  auto rsdp = at(tables, 0xe0000, 36);
  uint64_t xsdt_address = le(rsdp, 24, 8);
  EXPECT_GT(xsdt_address, 0xe0000u);
  EXPECT_LT(xsdt_address, 0xf0000u);
  auto fadt = table(tables, "FACP");
  EXPECT_EQ(text(at(tables, le(fadt, 40, 4), 4), 0, 4), "DSDT");
}

TEST(AcpiTables, RefusesARegionTooSmall) {
  try {
    build_tables(AcpiConfig{}, kAcpiRegionBase, 256);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("do not fit"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("0xf0000"), std::string::npos) << error.what();
  }
}

TEST(AcpiTables, RefusesConfigsItCannotExpress) {
  AcpiConfig config;
  config.cpus = 0;
  EXPECT_THROW(build_tables(config), std::invalid_argument);
  config.cpus = 256;
  EXPECT_THROW(build_tables(config), std::invalid_argument);
  config.cpus = 1;
  EXPECT_THROW(build_tables(config, 0xf0008), std::invalid_argument) << "unaligned";
  EXPECT_THROW(build_tables(config, 0xffff0000, 0x20000), std::invalid_argument) << "above 4 GiB";
  config.pci_mmio32_first = 0xe0000000;
  config.pci_mmio32_last = 0xdfffffff;
  EXPECT_THROW(build_tables(config), std::invalid_argument) << "empty window";
}

// --- MADT ----------------------------------------------------------------------------------

struct MadtEntries {
  std::vector<std::vector<uint8_t>> by_type[16];
};

MadtEntries read_madt(std::span<const uint8_t> madt) {
  MadtEntries entries;
  size_t offset = 44;
  while (offset < madt.size()) {
    uint8_t type = madt[offset], length = madt[offset + 1];
    EXPECT_GE(length, 2) << "entry at " << offset;
    if (length < 2 || offset + length > madt.size()) {
      ADD_FAILURE() << "entry at " << offset << " runs past the table";
      break;
    }
    if (type < 16)
      entries.by_type[type].emplace_back(madt.begin() + offset, madt.begin() + offset + length);
    offset += length;
  }
  EXPECT_EQ(offset, madt.size()) << "entries end exactly at the table's end";
  return entries;
}

class MadtTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(MadtTest, OneEnabledLocalApicPerCpuThenIoapicOverridesAndNmi) {
  unsigned cpus = GetParam();
  AcpiTables tables = build(cpus);
  auto madt = table(tables, "APIC");
  EXPECT_EQ(madt.size(), 44u + 8 * cpus + 12 + 2 * 10 + 6);
  EXPECT_EQ(le(madt, 36, 4), 0xfee00000u) << "local APIC address";
  EXPECT_EQ(le(madt, 40, 4), 1u) << "PCAT_COMPAT";
  MadtEntries entries = read_madt(madt);

  ASSERT_EQ(entries.by_type[0].size(), cpus);
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    const auto& lapic = entries.by_type[0][cpu];
    ASSERT_EQ(lapic.size(), 8u);
    EXPECT_EQ(lapic[2], cpu) << "ACPI processor UID";
    EXPECT_EQ(lapic[3], cpu) << "APIC ID";
    EXPECT_EQ(le(lapic, 4, 4), 1u) << "enabled";
  }

  ASSERT_EQ(entries.by_type[1].size(), 1u);
  const auto& ioapic = entries.by_type[1][0];
  ASSERT_EQ(ioapic.size(), 12u);
  EXPECT_EQ(ioapic[2], 0) << "IOAPIC ID";
  EXPECT_EQ(le(ioapic, 4, 4), 0xfec00000u);
  EXPECT_EQ(le(ioapic, 8, 4), 0u) << "GSI base";

  ASSERT_EQ(entries.by_type[2].size(), 2u);
  const auto& pit = entries.by_type[2][0];
  ASSERT_EQ(pit.size(), 10u);
  EXPECT_EQ(pit[2], 0) << "ISA bus";
  EXPECT_EQ(pit[3], 0) << "IRQ 0";
  EXPECT_EQ(le(pit, 4, 4), 2u) << "-> GSI 2";
  EXPECT_EQ(le(pit, 8, 2), 0u) << "conforms to the bus (edge, high)";
  const auto& sci = entries.by_type[2][1];
  ASSERT_EQ(sci.size(), 10u);
  EXPECT_EQ(sci[3], 9);
  EXPECT_EQ(le(sci, 4, 4), 9u);
  EXPECT_EQ(le(sci, 8, 2), 0x000du) << "level (3 << 2), active high (1)";

  ASSERT_EQ(entries.by_type[4].size(), 1u);
  const auto& nmi = entries.by_type[4][0];
  ASSERT_EQ(nmi.size(), 6u);
  EXPECT_EQ(nmi[2], 0xff) << "all processors";
  EXPECT_EQ(le(nmi, 3, 2), 0u);
  EXPECT_EQ(nmi[5], 1) << "LINT1";
}

INSTANTIATE_TEST_SUITE_P(Cpus, MadtTest, ::testing::Values(1u, 4u, 64u, 255u));

TEST(AcpiTables, NoLocalApicUsesTheBroadcastId) {
  AcpiTables tables = build(255);
  auto madt = table(tables, "APIC");
  MadtEntries entries = read_madt(madt);
  for (const auto& lapic : entries.by_type[0]) EXPECT_NE(lapic[3], 0xff);
}

}  // namespace
}  // namespace kagami::acpi
