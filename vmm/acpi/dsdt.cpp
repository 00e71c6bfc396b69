// DSDT: \_SB.PCI0 (resources, _PRT), \_SB.MBRD (ECAM reservation), COM1, RTC, keyboard, \_S5.
#include "dsdt.hpp"

#include "aml.hpp"
#include "sdt.hpp"

namespace kagami::acpi {
namespace {

using aml::Bytes;

constexpr uint8_t kDsdtRevision = 2;  // 2 and up: AML integers are 64-bit
constexpr unsigned kPciSlots = 32, kPciPins = 4;
constexpr uint32_t kEcamSize = 256u << 20;  // 1 MiB per bus, buses 0..255
constexpr uint16_t kPciConfigPort = 0xcf8;

// The host bridge decodes every bus, consumes the configuration ports 0xcf8..0xcff and forwards
// the rest of the I/O space and both MMIO windows to PCI. The 64-bit window is "cacheable", not
// "prefetchable", so that Linux may place non-prefetchable 64-bit BARs in it too.
Bytes pci_host_bridge_resources(const AcpiConfig& config) {
  return aml::resource_template({
      aml::word_bus_number(0x00, 0xff),
      aml::io(kPciConfigPort, kPciConfigPort, 0x01, 0x08),
      aml::word_io(0x0000, kPciConfigPort - 1),
      aml::word_io(kPciConfigPort + 8, 0xffff),
      aml::dword_memory(config.pci_mmio32_first, config.pci_mmio32_last, aml::Cache::kNonCacheable),
      aml::qword_memory(config.pci_mmio64_first, config.pci_mmio64_last, aml::Cache::kCacheable),
  });
}

// Every slot's INTA..INTD straight to an IOAPIC pin (source 0 = "the last field is a GSI"),
// rotated by slot so that single-function devices spread over the four lines, as on QEMU.
Bytes pci_routing_table(const AcpiConfig& config) {
  std::vector<Bytes> entries;
  for (unsigned slot = 0; slot < kPciSlots; ++slot) {
    for (unsigned pin = 0; pin < kPciPins; ++pin) {
      uint64_t address = uint64_t{slot} << 16 | 0xffff;  // any function of the slot
      entries.push_back(aml::package({aml::integer(address), aml::integer(pin), aml::integer(0),
                                      aml::integer(config.pci_first_gsi + (slot + pin) % 4)}));
    }
  }
  return aml::package(entries);
}

Bytes pci_host_bridge(const AcpiConfig& config) {
  std::vector<Bytes> terms{
      aml::name("_HID", aml::eisa_id("PNP0A08")),  // PCI Express
      aml::name("_CID", aml::eisa_id("PNP0A03")),  // PCI
      aml::name("_SEG", aml::integer(0)),
      aml::name("_BBN", aml::integer(0)),
      aml::name("_UID", aml::integer(0)),
      aml::name("_CRS", pci_host_bridge_resources(config)),
      aml::name("_PRT", pci_routing_table(config)),
  };
  return aml::device("PCI0", terms);
}

// Linux uses the MCFG's ECAM area only when firmware reserves it, in the E820 map or in the
// _CRS of a motherboard-resources device (arch/x86/pci/mmconfig-shared.c); this is the latter.
Bytes motherboard_resources(const AcpiConfig& config) {
  auto ecam_base = static_cast<uint32_t>(config.ecam_base);
  std::vector<Bytes> terms{
      aml::name("_HID", aml::eisa_id("PNP0C02")),
      aml::name("_UID", aml::integer(0)),
      aml::name("_CRS", aml::resource_template({aml::memory32_fixed(ecam_base, kEcamSize, true)})),
  };
  return aml::device("MBRD", terms);
}

Bytes isa_device(const char* path, const char* hid, std::vector<Bytes> terms) {
  terms.insert(terms.begin(), aml::name("_HID", aml::eisa_id(hid)));
  return aml::device(path, terms);
}

Bytes com1(const AcpiConfig& config) {
  const uint8_t irqs[] = {config.com1_irq};
  return isa_device("COM1", "PNP0501",  // 16550A-compatible UART
                    {aml::name("_UID", aml::integer(1)),
                     aml::name("_CRS", aml::resource_template({
                                           aml::io(config.com1_port, config.com1_port, 0x01, 8),
                                           aml::irq_no_flags(irqs),
                                       }))});
}

Bytes rtc(const AcpiConfig& config) {
  const uint8_t irqs[] = {config.rtc_irq};
  return isa_device("RTC", "PNP0B00",  // AT real-time clock
                    {aml::name("_CRS", aml::resource_template({
                                           aml::io(config.rtc_port, config.rtc_port, 0x01, 2),
                                           aml::irq_no_flags(irqs),
                                       }))});
}

Bytes keyboard(const AcpiConfig& config) {
  const uint8_t irqs[] = {config.keyboard_irq};
  uint16_t data = config.i8042_data_port, command = config.i8042_command_port;
  return isa_device("KBD", "PNP0303",  // IBM enhanced keyboard on the i8042
                    {aml::name("_CRS", aml::resource_template({
                                           aml::io(data, data, 0x01, 1),
                                           aml::io(command, command, 0x01, 1),
                                           aml::irq_no_flags(irqs),
                                       }))});
}

// Sleep type values for PM1a_CNT.SLP_TYP and PM1b_CNT.SLP_TYP, then two reserved words.
Bytes soft_off_package(const AcpiConfig& config) {
  return aml::name("\\_S5_", aml::package({aml::integer(config.s5_sleep_type),
                                           aml::integer(config.s5_sleep_type), aml::integer(0),
                                           aml::integer(0)}));
}

}  // namespace

std::vector<uint8_t> dsdt_aml(const AcpiConfig& config) {
  Bytes body = aml::scope("\\_SB_", {
                                        pci_host_bridge(config),
                                        motherboard_resources(config),
                                        com1(config),
                                        rtc(config),
                                        keyboard(config),
                                    });
  Bytes s5 = soft_off_package(config);
  body.insert(body.end(), s5.begin(), s5.end());
  return body;
}

std::vector<uint8_t> build_dsdt(const AcpiConfig& config) {
  SdtWriter dsdt("DSDT", kDsdtRevision);
  dsdt.append(dsdt_aml(config));
  return dsdt.finish();
}

}  // namespace kagami::acpi
