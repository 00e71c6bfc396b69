// DSDT: its AML walks cleanly, and the host bridge, _PRT, devices and \_S5 say what they must.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>

#include "acpi/tables.hpp"
#include "table_reader.hpp"

namespace kagami::acpi {
namespace {

using testing::AmlObject;
using testing::AmlTerm;
using testing::find_named_object;
using testing::find_term;
using testing::le;
using testing::read_resources;
using testing::read_terms;
using Descriptor = std::vector<uint8_t>;

class DsdtTest : public ::testing::Test {
 protected:
  DsdtTest() : tables(build_tables(AcpiConfig{})), dsdt(testing::table(tables, "DSDT")) {}

  std::span<const uint8_t> aml() const { return dsdt.subspan(36); }

  // The term list of \_SB_.<device>.
  std::span<const uint8_t> device_body(const std::string& device) {
    std::vector<AmlTerm> top = read_terms(aml());
    const AmlTerm* sb = find_term(top, "\\_SB_");
    if (!sb) throw std::runtime_error("no \\_SB_ scope");
    std::vector<AmlTerm> devices = read_terms(sb->body);
    const AmlTerm* term = find_term(devices, device);
    if (!term || term->kind != "Device") throw std::runtime_error("no device " + device);
    return term->body;
  }

  std::vector<Descriptor> resources(const std::string& device) {
    std::optional<AmlObject> crs = find_named_object(device_body(device), "_CRS");
    if (!crs || crs->kind != AmlObject::kBuffer) throw std::runtime_error("no _CRS buffer");
    uint8_t total = 0;
    for (uint8_t byte : crs->buffer) total += byte;
    EXPECT_EQ(total, 0) << device << " _CRS end tag checksum";
    return read_resources(crs->buffer);
  }

  uint64_t hid(const std::string& device) {
    std::optional<AmlObject> object = find_named_object(device_body(device), "_HID");
    return object ? object->integer : 0;
  }

  AcpiTables tables;
  std::span<const uint8_t> dsdt;
};

uint32_t eisa(const char* id) {  // "PNP0A08" the long way, independently of aml::eisa_id
  uint32_t vendor = (id[0] - '@') << 10 | (id[1] - '@') << 5 | (id[2] - '@');
  uint32_t product = std::stoul(std::string(id + 3, 4), nullptr, 16);
  uint8_t bytes[4] = {static_cast<uint8_t>(vendor >> 8), static_cast<uint8_t>(vendor),
                      static_cast<uint8_t>(product >> 8), static_cast<uint8_t>(product)};
  return bytes[0] | bytes[1] << 8 | bytes[2] << 16 | uint32_t{bytes[3]} << 24;
}

TEST_F(DsdtTest, TopLevelIsTheSystemBusScopeAndS5) {
  std::vector<AmlTerm> top = read_terms(aml());
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].kind, "Scope");
  EXPECT_EQ(top[0].name, "\\_SB_");
  EXPECT_EQ(top[1].kind, "Name");
  EXPECT_EQ(top[1].name, "\\_S5_");
  std::vector<AmlTerm> devices = read_terms(top[0].body);
  std::vector<std::string> names;
  for (const AmlTerm& term : devices) names.push_back(term.kind + " " + term.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Device PCI0", "Device MBRD", "Device COM1",
                                             "Device RTC_", "Device KBD_"}));
}

TEST_F(DsdtTest, S5PackageSaysSleepType5) {
  std::optional<AmlObject> s5 = find_named_object(aml(), "_S5_");
  ASSERT_TRUE(s5);
  ASSERT_EQ(s5->kind, AmlObject::kPackage);
  ASSERT_EQ(s5->elements.size(), 4u);
  EXPECT_EQ(s5->elements[0].integer, 5u);
  EXPECT_EQ(s5->elements[1].integer, 5u);
  EXPECT_EQ(s5->elements[2].integer, 0u);
  EXPECT_EQ(s5->elements[3].integer, 0u);
}

TEST_F(DsdtTest, PciHostBridgeIdentity) {
  auto body = device_body("PCI0");
  EXPECT_EQ(hid("PCI0"), eisa("PNP0A08"));
  EXPECT_EQ(find_named_object(body, "_CID")->integer, eisa("PNP0A03"));
  for (const char* zero : {"_SEG", "_BBN", "_UID"}) {
    std::optional<AmlObject> object = find_named_object(body, zero);
    ASSERT_TRUE(object) << zero;
    EXPECT_EQ(object->integer, 0u) << zero;
  }
  EXPECT_FALSE(find_named_object(body, "_ADR")) << "_HID and _ADR exclude each other";
  EXPECT_FALSE(find_named_object(body, "_OSC")) << "no _OSC: the platform keeps PCIe features";
}

TEST_F(DsdtTest, PciHostBridgeResources) {
  std::vector<Descriptor> crs = resources("PCI0");
  ASSERT_EQ(crs.size(), 7u);
  // WordBusNumber 0..255
  EXPECT_EQ(crs[0][0], 0x88);
  EXPECT_EQ(crs[0][3], 2);
  EXPECT_EQ(le(crs[0], 8, 2), 0u);
  EXPECT_EQ(le(crs[0], 10, 2), 255u);
  EXPECT_EQ(le(crs[0], 14, 2), 256u);
  // IO 0xcf8, 8 ports, consumed
  EXPECT_EQ(crs[1], (Descriptor{0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08}));
  // WordIO windows 0x0000-0x0cf7 and 0x0d00-0xffff
  for (auto [index, first, last] : {std::tuple{2, 0x0000u, 0x0cf7u}, {3, 0x0d00u, 0xffffu}}) {
    EXPECT_EQ(crs[index][0], 0x88) << index;
    EXPECT_EQ(crs[index][3], 1) << "I/O";
    EXPECT_EQ(le(crs[index], 8, 2), first);
    EXPECT_EQ(le(crs[index], 10, 2), last);
    EXPECT_EQ(le(crs[index], 14, 2), last - first + 1);
  }
  // DWordMemory 0xc0000000-0xdfffffff
  EXPECT_EQ(crs[4][0], 0x87);
  EXPECT_EQ(crs[4][3], 0) << "memory";
  EXPECT_EQ(le(crs[4], 10, 4), 0xc0000000u);
  EXPECT_EQ(le(crs[4], 14, 4), 0xdfffffffu);
  EXPECT_EQ(le(crs[4], 22, 4), 0x20000000u);
  // QWordMemory 256 GiB at 256 GiB, not prefetchable
  EXPECT_EQ(crs[5][0], 0x8a);
  EXPECT_EQ(crs[5][3], 0);
  EXPECT_NE((crs[5][5] >> 1) & 3, 3) << "prefetchable would keep non-prefetchable BARs out";
  EXPECT_EQ(le(crs[5], 14, 8), 0x40'0000'0000u);
  EXPECT_EQ(le(crs[5], 22, 8), 0x7f'ffff'ffffu);
  EXPECT_EQ(le(crs[5], 38, 8), 0x40'0000'0000u);
  EXPECT_EQ(crs[6][0], 0x79);
}

TEST_F(DsdtTest, PrtRoutesEverySlotAndPinToGsi16To19) {
  std::optional<AmlObject> prt = find_named_object(device_body("PCI0"), "_PRT");
  ASSERT_TRUE(prt);
  ASSERT_EQ(prt->elements.size(), 128u);
  for (unsigned slot = 0; slot < 32; ++slot) {
    for (unsigned pin = 0; pin < 4; ++pin) {
      const AmlObject& entry = prt->elements[slot * 4 + pin];
      ASSERT_EQ(entry.elements.size(), 4u);
      EXPECT_EQ(entry.elements[0].integer, uint64_t{slot} << 16 | 0xffff);
      EXPECT_EQ(entry.elements[1].integer, pin);
      EXPECT_EQ(entry.elements[2].kind, AmlObject::kInteger) << "source 0: a GSI";
      EXPECT_EQ(entry.elements[2].integer, 0u);
      EXPECT_EQ(entry.elements[3].integer, 16 + (slot + pin) % 4) << slot << " " << pin;
    }
  }
}

TEST_F(DsdtTest, MotherboardResourcesReserveTheEcamWindow) {
  EXPECT_EQ(hid("MBRD"), eisa("PNP0C02"));
  std::vector<Descriptor> crs = resources("MBRD");
  ASSERT_EQ(crs.size(), 2u);
  EXPECT_EQ(crs[0],
            (Descriptor{0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x10}));
}

TEST_F(DsdtTest, LegacyDevices) {
  EXPECT_EQ(hid("COM1"), eisa("PNP0501"));
  std::vector<Descriptor> com1 = resources("COM1");
  ASSERT_EQ(com1.size(), 3u);
  EXPECT_EQ(com1[0], (Descriptor{0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08}));
  EXPECT_EQ(com1[1], (Descriptor{0x22, 1u << 4, 0x00}));

  EXPECT_EQ(hid("RTC_"), eisa("PNP0B00"));
  std::vector<Descriptor> rtc = resources("RTC_");
  ASSERT_EQ(rtc.size(), 3u);
  EXPECT_EQ(rtc[0], (Descriptor{0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02}));
  EXPECT_EQ(rtc[1], (Descriptor{0x22, 0x00, 0x01})) << "IRQ 8";

  EXPECT_EQ(hid("KBD_"), eisa("PNP0303"));
  std::vector<Descriptor> kbd = resources("KBD_");
  ASSERT_EQ(kbd.size(), 4u);
  EXPECT_EQ(kbd[0], (Descriptor{0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01}));
  EXPECT_EQ(kbd[1], (Descriptor{0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01}));
  EXPECT_EQ(kbd[2], (Descriptor{0x22, 1u << 1, 0x00}));
}

// --- Cross-check with ACPICA's iasl, when installed (Debian: acpica-tools) --------------------

std::string run(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return output;
  char chunk[4096];
  while (size_t got = fread(chunk, 1, sizeof(chunk), pipe)) output.append(chunk, got);
  status = pclose(pipe);
  return output;
}

bool have_iasl() {
  return std::system("command -v iasl >/dev/null 2>&1") == 0;
}

class IaslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_iasl()) GTEST_SKIP() << "iasl not installed (Debian package acpica-tools)";
    dir = std::filesystem::temp_directory_path() /
          ("kagami-acpi-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
  }
  void TearDown() override {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  std::filesystem::path write(const std::string& file, std::span<const uint8_t> bytes) {
    std::filesystem::path path = dir / file;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::filesystem::path dir;
};

// Disassembles the DSDT, then compiles the disassembly again (without iasl's optimizations, which
// would shorten our root-prefixed names): both steps must report no error and no warning, and
// the recompiled AML must be our AML byte for byte, apart from the header's compiler fields and
// checksum, and iasl's zero resource-template checksums.
TEST_F(IaslTest, DsdtDisassemblesAndRecompilesCleanly) {
  AcpiConfig config;
  config.cpus = 4;
  AcpiTables tables = build_tables(config);
  std::filesystem::path aml = write("dsdt.aml", testing::table(tables, "DSDT"));
  int status = -1;
  std::string disassembly = run("cd " + dir.string() + " && iasl -d dsdt.aml", status);
  ASSERT_EQ(status, 0) << disassembly;
  EXPECT_EQ(disassembly.find("Error"), std::string::npos) << disassembly;
  std::string compile = run("cd " + dir.string() + " && iasl -oa -p again dsdt.dsl", status);
  ASSERT_EQ(status, 0) << compile;
  EXPECT_NE(compile.find("0 Errors, 0 Warnings"), std::string::npos) << compile;

  std::ifstream again_file(dir / "again.aml", std::ios::binary);
  std::vector<uint8_t> again((std::istreambuf_iterator<char>(again_file)),
                             std::istreambuf_iterator<char>());
  std::span<const uint8_t> ours = testing::table(tables, "DSDT");
  ASSERT_EQ(again.size(), ours.size());
  for (size_t i = 36; i < ours.size(); ++i) {
    if (again[i] == ours[i]) continue;
    EXPECT_TRUE(ours[i - 1] == 0x79 && again[i] == 0) << "AML differs at offset " << i;
  }
}

// iasl's complaints about a data table (checksum, lengths, unknown subtables), from its output
// and its listing, lower-cased.
std::string iasl_complaints(const std::filesystem::path& dir, const std::string& name) {
  int status = -1;
  std::string output = run("cd " + dir.string() + " && iasl -d " + name + ".dat", status);
  std::ifstream dsl(dir / (name + ".dsl"));
  std::string listing((std::istreambuf_iterator<char>(dsl)), std::istreambuf_iterator<char>());
  std::string all = output + listing;
  if (status != 0) return "iasl exit status " + std::to_string(status) + ": " + output;
  for (char& c : all) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string complaints;
  for (const char* word : {"error", "warning", "invalid", "incorrect", "unknown"}) {
    if (all.find(word) != std::string::npos) complaints += std::string(word) + " ";
  }
  return complaints.empty() ? complaints : complaints + "in:\n" + all;
}

// The data tables decode in iasl's table disassembler without complaints; a table with a bad
// checksum does get one (so the check can fail).
TEST_F(IaslTest, DataTablesDisassembleWithoutComplaints) {
  AcpiConfig config;
  config.cpus = 64;
  AcpiTables tables = build_tables(config);
  for (const char* signature : {"FACP", "APIC", "MCFG", "XSDT"}) {
    write(std::string(signature) + ".dat", testing::table(tables, signature));
    EXPECT_EQ(iasl_complaints(dir, signature), "") << signature;
  }
  std::vector<uint8_t> bad(testing::table(tables, "FACP").begin(),
                           testing::table(tables, "FACP").end());
  bad[9] ^= 0x01;
  write("BAD.dat", bad);
  EXPECT_NE(iasl_complaints(dir, "BAD"), "");
}

}  // namespace
}  // namespace kagami::acpi
