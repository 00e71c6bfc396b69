// ACPI tables: FADT, FACS, MADT, MCFG, XSDT and RSDP (ACPI 6.3), laid out in one guest region.
#include "tables.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dsdt.hpp"
#include "kagami/le_bytes.hpp"
#include "sdt.hpp"

namespace kagami::acpi {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr unsigned kMaxCpus = 255;  // xAPIC IDs 0..254; 0xff means "all"

// FADT (ACPI 6.3 section 5.2.9): version 6.3, 276 bytes.
constexpr uint8_t kFadtRevision = 6, kFadtMinorRevision = 3;
constexpr size_t kFadtSize = 276;
constexpr uint8_t kPm1EventLength = 4, kPm1ControlLength = 2, kPmTimerLength = 4, kGpe0Length = 4;
constexpr uint16_t kC2LatencyNone = 101, kC3LatencyNone = 1001;  // above the limits: no C2/C3
constexpr uint16_t kBootArchLegacyDevices = 1u << 0, kBootArch8042 = 1u << 1,
                   kBootArchNoVga = 1u << 2;
constexpr uint32_t kFlagWbinvd = 1u << 0, kFlagProcC1 = 1u << 2, kFlagSlpButton = 1u << 5,
                   kFlagResetRegSup = 1u << 10;
constexpr uint8_t kAccessByte = 1;

// FACS (section 5.2.10): 64 bytes, 64-byte aligned, no checksum.
constexpr size_t kFacsSize = 64, kFacsAlignment = 64;
constexpr uint8_t kFacsVersion = 2;

// MADT (section 5.2.12).
constexpr uint8_t kMadtRevision = 5;
constexpr uint32_t kMadtPcatCompat = 1u << 0;
constexpr uint8_t kMadtLocalApic = 0, kMadtIoApic = 1, kMadtSourceOverride = 2,
                  kMadtLocalApicNmi = 4;
constexpr uint32_t kLocalApicEnabled = 1u << 0;
constexpr uint16_t kMpsConforming = 0x0, kMpsActiveHigh = 0x1, kMpsLevel = 0xc;
constexpr uint8_t kAllProcessors = 0xff, kLint1 = 1;
constexpr uint8_t kIsaBus = 0, kPitIrq = 0, kPitGsi = 2;

// MCFG (PCI Firmware Specification 3.2, section 4.1.2).
constexpr uint8_t kMcfgRevision = 1;

// RSDP (section 5.2.5.3): revision 2, 36 bytes, 16-byte aligned.
constexpr uint8_t kRsdpRevision = 2;
constexpr size_t kRsdpSize = 36, kRsdpV1Size = 20;
constexpr size_t kTableAlignment = 16;

constexpr uint8_t kXsdtRevision = 1;

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

void validate(const AcpiConfig& config, uint64_t base, uint64_t size) {
  auto fail = [](const std::string& why) { throw std::invalid_argument("acpi tables: " + why); };
  if (config.cpus == 0 || config.cpus > kMaxCpus) {
    fail(std::to_string(config.cpus) + " cpus is outside 1.." + std::to_string(kMaxCpus));
  }
  if (config.pci_mmio32_first > config.pci_mmio32_last ||
      config.pci_mmio64_first > config.pci_mmio64_last) {
    fail("empty pci mmio window");
  }
  if (config.ecam_base + (uint64_t{256} << 20) > (uint64_t{1} << 32)) {
    fail("ecam base " + hex(config.ecam_base) + " leaves no room below 4 gib");
  }
  if (base % kTableAlignment != 0) fail("base " + hex(base) + " is not 16-byte aligned");
  if (base + size > (uint64_t{1} << 32) || base + size < base) {
    fail("region " + hex(base) + "+" + hex(size) + " is not below 4 gib");
  }
}

// The placement of every table in the region, decided before the tables that point at others
// are built.
struct Layout {
  uint64_t rsdp, facs, dsdt, fadt, madt, mcfg, xsdt, end;
};

Bytes build_fadt(const AcpiConfig& config, const Layout& at) {
  const PmPorts& pm = config.pm;
  SdtWriter fadt("FACP", kFadtRevision);
  fadt.u32(static_cast<uint32_t>(at.facs));  // FIRMWARE_CTRL; X_FIRMWARE_CTRL stays 0
  fadt.u32(static_cast<uint32_t>(at.dsdt));
  fadt.u8(0);  // reserved (was INT_MODEL)
  fadt.u8(0);  // preferred PM profile: unspecified
  fadt.u16(config.sci_irq);
  fadt.u32(0);  // SMI_CMD: none, the machine is always in ACPI mode
  fadt.u8(0);   // ACPI_ENABLE
  fadt.u8(0);   // ACPI_DISABLE
  fadt.u8(0);   // S4BIOS_REQ
  fadt.u8(0);   // PSTATE_CNT
  fadt.u32(pm.pm1a_event);
  fadt.u32(0);  // PM1b_EVT_BLK
  fadt.u32(pm.pm1a_control);
  fadt.u32(0);  // PM1b_CNT_BLK
  fadt.u32(0);  // PM2_CNT_BLK
  fadt.u32(pm.pm_timer);
  fadt.u32(pm.gpe0);
  fadt.u32(0);  // GPE1_BLK
  fadt.u8(kPm1EventLength);
  fadt.u8(kPm1ControlLength);
  fadt.u8(0);  // PM2_CNT_LEN
  fadt.u8(kPmTimerLength);
  fadt.u8(kGpe0Length);
  fadt.u8(0);  // GPE1_BLK_LEN
  fadt.u8(0);  // GPE1_BASE
  fadt.u8(0);  // CST_CNT
  fadt.u16(kC2LatencyNone);
  fadt.u16(kC3LatencyNone);
  fadt.u16(0);  // FLUSH_SIZE
  fadt.u16(0);  // FLUSH_STRIDE
  fadt.u8(0);   // DUTY_OFFSET
  fadt.u8(0);   // DUTY_WIDTH
  fadt.u8(0);   // DAY_ALRM: no day-of-month alarm
  fadt.u8(0);   // MON_ALRM
  fadt.u8(config.cmos_century);
  fadt.u16(kBootArchLegacyDevices | kBootArch8042 | kBootArchNoVga);
  fadt.u8(0);  // reserved
  // PWR_BUTTON clear: the power button is the fixed-feature one (PM1 PWRBTN_STS/EN). SLP_BUTTON
  // set with no sleep button device in the DSDT: there is no sleep button.
  fadt.u32(kFlagWbinvd | kFlagProcC1 | kFlagSlpButton | kFlagResetRegSup);
  fadt.gas(kAddressSpaceIo, 8, kAccessByte, config.reset_port);
  fadt.u8(config.reset_value);
  fadt.u16(0);  // ARM_BOOT_ARCH
  fadt.u8(kFadtMinorRevision);
  fadt.u64(0);  // X_FIRMWARE_CTRL: must be 0 when FIRMWARE_CTRL is set
  fadt.u64(at.dsdt);
  // The X_ blocks repeat the port blocks; ACPICA warns when their widths differ from the _LEN
  // fields. Access size 0 (legacy) lets OSPM split PM1 into its 16-bit halves, as on QEMU.
  fadt.gas(kAddressSpaceIo, kPm1EventLength * 8, 0, pm.pm1a_event);
  fadt.gas(0, 0, 0, 0);  // X_PM1b_EVT_BLK
  fadt.gas(kAddressSpaceIo, kPm1ControlLength * 8, 0, pm.pm1a_control);
  fadt.gas(0, 0, 0, 0);  // X_PM1b_CNT_BLK
  fadt.gas(0, 0, 0, 0);  // X_PM2_CNT_BLK
  fadt.gas(kAddressSpaceIo, kPmTimerLength * 8, 0, pm.pm_timer);
  fadt.gas(kAddressSpaceIo, kGpe0Length * 8, 0, pm.gpe0);
  fadt.gas(0, 0, 0, 0);  // X_GPE1_BLK
  fadt.gas(0, 0, 0, 0);  // SLEEP_CONTROL_REG: hardware-reduced only
  fadt.gas(0, 0, 0, 0);  // SLEEP_STATUS_REG
  fadt.u64(0);           // hypervisor vendor identity
  if (fadt.size() != kFadtSize) throw std::logic_error("acpi: fadt layout is wrong");
  return fadt.finish();
}

Bytes build_facs() {
  Bytes facs(kFacsSize, 0);
  const char signature[] = "FACS";
  for (size_t i = 0; i < 4; ++i) facs[i] = static_cast<uint8_t>(signature[i]);
  facs[4] = kFacsSize;  // length, le32
  facs[32] = kFacsVersion;
  return facs;  // hardware signature, waking vectors, global lock and flags all 0
}

Bytes build_madt(const AcpiConfig& config) {
  SdtWriter madt("APIC", kMadtRevision);
  madt.u32(config.lapic_address);
  madt.u32(kMadtPcatCompat);
  for (unsigned cpu = 0; cpu < config.cpus; ++cpu) {
    madt.u8(kMadtLocalApic);
    madt.u8(8);
    madt.u8(static_cast<uint8_t>(cpu));  // ACPI processor UID
    madt.u8(static_cast<uint8_t>(cpu));  // APIC ID
    madt.u32(kLocalApicEnabled);
  }
  madt.u8(kMadtIoApic);
  madt.u8(12);
  madt.u8(config.ioapic_id);
  madt.u8(0);
  madt.u32(config.ioapic_address);
  madt.u32(0);  // GSI base
  auto source_override = [&](uint8_t irq, uint32_t gsi, uint16_t flags) {
    madt.u8(kMadtSourceOverride);
    madt.u8(10);
    madt.u8(kIsaBus);
    madt.u8(irq);
    madt.u32(gsi);
    madt.u16(flags);
  };
  source_override(kPitIrq, kPitGsi, kMpsConforming);
  source_override(config.sci_irq, config.sci_irq, kMpsActiveHigh | kMpsLevel);
  madt.u8(kMadtLocalApicNmi);
  madt.u8(6);
  madt.u8(kAllProcessors);
  madt.u16(kMpsConforming);
  madt.u8(kLint1);
  return madt.finish();
}

Bytes build_mcfg(const AcpiConfig& config) {
  SdtWriter mcfg("MCFG", kMcfgRevision);
  mcfg.zeros(8);  // reserved
  mcfg.u64(config.ecam_base);
  mcfg.u16(0);    // PCI segment group
  mcfg.u8(0);     // start bus
  mcfg.u8(0xff);  // end bus
  mcfg.u32(0);    // reserved
  return mcfg.finish();
}

Bytes build_xsdt(const std::vector<uint64_t>& entries) {
  SdtWriter xsdt("XSDT", kXsdtRevision);
  for (uint64_t entry : entries) xsdt.u64(entry);
  return xsdt.finish();
}

Bytes build_rsdp(uint64_t xsdt) {
  Bytes rsdp;
  auto le = [&](uint64_t value, size_t size) { append_le(rsdp, value, size); };
  for (char c : std::string_view("RSD PTR ")) rsdp.push_back(static_cast<uint8_t>(c));
  rsdp.push_back(0);  // checksum of the first 20 bytes
  for (char c : kOemId) rsdp.push_back(static_cast<uint8_t>(c));
  rsdp.push_back(kRsdpRevision);
  le(0, 4);  // RsdtAddress: no RSDT, revision 2 OSPMs use the XSDT
  le(kRsdpSize, 4);
  le(xsdt, 8);
  rsdp.push_back(0);  // extended checksum of all 36 bytes
  le(0, 3);           // reserved
  rsdp[8] = checksum_byte(rsdp.data(), kRsdpV1Size);
  rsdp[32] = checksum_byte(rsdp.data(), kRsdpSize);
  return rsdp;
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

AcpiTables build_tables(const AcpiConfig& config, uint64_t base, uint64_t size) {
  validate(config, base, size);
  Bytes facs = build_facs();
  Bytes dsdt = build_dsdt(config);
  Bytes madt = build_madt(config);
  Bytes mcfg = build_mcfg(config);
  constexpr size_t kXsdtEntries = 3;  // FADT, MADT, MCFG

  Layout at{};
  uint64_t cursor = base;
  auto place = [&](size_t table_size, uint64_t alignment) {
    uint64_t address = align_up(cursor, alignment);
    cursor = address + table_size;
    return address;
  };
  at.rsdp = place(kRsdpSize, kTableAlignment);
  at.facs = place(kFacsSize, kFacsAlignment);
  at.dsdt = place(dsdt.size(), kTableAlignment);
  at.fadt = place(kFadtSize, kTableAlignment);
  at.madt = place(madt.size(), kTableAlignment);
  at.mcfg = place(mcfg.size(), kTableAlignment);
  at.xsdt = place(kSdtHeaderSize + 8 * kXsdtEntries, kTableAlignment);
  at.end = cursor;
  if (at.end - base > size) {
    throw std::runtime_error("acpi tables: " + std::to_string(at.end - base) +
                             " bytes do not fit in the " + std::to_string(size) +
                             "-byte region at " + hex(base));
  }

  AcpiTables out{base, Bytes(at.end - base, 0), at.rsdp, {}};
  auto put = [&](const char* signature, uint64_t address, const Bytes& table) {
    std::copy(table.begin(), table.end(), out.bytes.begin() + (address - base));
    out.tables.push_back({signature, address, static_cast<uint32_t>(table.size())});
  };
  put("RSD PTR ", at.rsdp, build_rsdp(at.xsdt));
  put("FACS", at.facs, facs);
  put("DSDT", at.dsdt, dsdt);
  put("FACP", at.fadt, build_fadt(config, at));
  put("APIC", at.madt, madt);
  put("MCFG", at.mcfg, mcfg);
  put("XSDT", at.xsdt, build_xsdt({at.fadt, at.madt, at.mcfg}));
  return out;
}

}  // namespace kagami::acpi
