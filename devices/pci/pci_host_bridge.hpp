// The host bridge at 00:00.0: the function that tells the guest a PCI bus exists.
#pragma once

#include "pci/pci_device.hpp"

namespace kagami {

// Red Hat's "QEMU PCIe host bridge" IDs (1b36:0008, used by QEMU's generic ECAM host "gpex"),
// class 06:00:00 (host bridge), revision 0, subsystem 1af4:1100 (QEMU's default subsystem).
// Linux has no driver for it and needs none: the class code satisfies its config-mechanism sanity
// check (a host bridge or VGA device on bus 0), and the bus's resources come from ACPI. No BARs,
// no interrupt pin.
class PciHostBridge final : public PciDevice {
 public:
  static constexpr uint16_t kVendorId = 0x1b36;
  static constexpr uint16_t kDeviceId = 0x0008;
  static constexpr uint8_t kClass = 0x06;
  static constexpr uint8_t kSubclass = 0x00;
  static constexpr uint16_t kSubsystemVendorId = 0x1af4;
  static constexpr uint16_t kSubsystemId = 0x1100;

  PciHostBridge()
      : PciDevice({.vendor_id = kVendorId,
                   .device_id = kDeviceId,
                   .class_code = kClass,
                   .subclass = kSubclass,
                   .subsystem_vendor_id = kSubsystemVendorId,
                   .subsystem_id = kSubsystemId}) {}
};

}  // namespace kagami
