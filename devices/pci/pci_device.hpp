// A PCI function: its configuration space (type-0 header), its BARs and its INTx pin.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"
#include "pci/pci_irq.hpp"
#include "pci/pci_regs.hpp"

namespace kagami {

// The read-only identity registers of the header.
struct PciIdentity {
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t class_code = 0;  // base class, e.g. 0x06 bridge
  uint8_t subclass = 0;
  uint8_t prog_if = 0;
  uint8_t revision = 0;
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
};

enum class PciBarType { kIo, kMemory32, kMemory64 };

// A region the device decodes through one BAR (a 64-bit one takes two BAR registers). The bus
// passes accesses to `device` with offsets relative to wherever the guest put the BAR, only while
// the command register enables that space and the address is acceptable (see PciRoot).
struct PciBar {
  PciBarType type = PciBarType::kMemory32;
  uint64_t size = 0;  // a power of two: I/O 4..256 bytes, memory from 16 bytes (32-bit: <= 2 GiB)
  BusDevice* device = nullptr;
  unsigned widths = kAnyWidth;  // as Bus::add takes them
  bool prefetchable = false;    // memory BARs only
  std::string name{};           // names the bus range; empty: "pci BB:DD.F bar n"
};

// The device holds its configuration space and a per-byte write mask: a guest write changes only
// the bits the mask allows, at any width and offset, so read-only registers keep their values
// whatever is written, as on hardware. BAR sizing falls out of the masks: a BAR's writable bits
// are the address bits above its size, so writing all ones reads back the size mask with the
// read-only type bits. The expansion ROM BAR, BIST, latency timer, cardbus pointer and the
// extended space (0x100..0xfff) are read-only zero; the status register is read-only (no error
// bits are ever set, so nothing needs write-1-to-clear). Function 0 only: the header type's
// multifunction bit (bit 7) is 0.
//
// Build the device (declare_bar, add_capability) before PciRoot::add_device; they throw
// afterwards. Thread-safe: config accesses come from vCPU threads; set_intx from any thread.
class PciDevice {
 public:
  explicit PciDevice(const PciIdentity& identity, std::optional<pci::IntxPin> pin = std::nullopt);
  virtual ~PciDevice() = default;
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  // Declares BAR `index` (0..5; a 64-bit BAR also takes index + 1, so index <= 4). Throws
  // std::invalid_argument naming the BAR and the reason: bad index or size, index taken, no
  // device, prefetchable I/O, or the device already on a bus.
  void declare_bar(unsigned index, PciBar bar);

  // Appends a capability to the list in 0x40..0xff: ID, next pointer, then `body` (its bytes from
  // offset 2). `writable` is the guest write mask of the body (empty: all read-only; otherwise
  // body.size() bytes). Sets the status register's capabilities bit and links the capability
  // after the previous one. Returns the capability's offset (dword aligned). Throws
  // std::invalid_argument when it does not fit or the device is already on a bus.
  uint8_t add_capability(uint8_t id, std::span<const uint8_t> body,
                         std::span<const uint8_t> writable = {});

  // Guest accesses of any width at any offset; bytes past the 4 KiB space read 0xff and take no
  // writes. Never throw.
  void config_read(uint16_t offset, std::span<uint8_t> data);
  void config_write(uint16_t offset, std::span<const uint8_t> data);

  // The device's INTx request (level-triggered). The pin's IrqLine follows it unless the command
  // register's interrupt-disable bit is set; the status register's interrupt bit shows it either
  // way. A no-op for a device without a pin. The line is driven with the device's lock held, so
  // the IrqLine must not call back into the device.
  void set_intx(bool asserted);

  // A header register of 1, 2 or 4 bytes, little-endian, without the read hook.
  uint32_t config_value(uint16_t offset, size_t width) const;

  // The declared BAR at `index`, or nullptr (none, or the upper half of a 64-bit BAR).
  const PciBar* bar(unsigned index) const;
  // The address the BAR register holds, and the same when the command register enables the
  // BAR's space (nullopt otherwise or when there is no BAR at `index`).
  std::optional<uint64_t> bar_address(unsigned index) const;
  std::optional<uint64_t> decoded_bar_address(unsigned index) const;
  std::optional<pci::IntxPin> intx_pin() const { return pin_; }

  // Called by PciRoot::add_device: after it the device's layout is fixed. `line` may be null
  // (INTx unconnected); `interrupt_line` initialises the Interrupt Line register.
  void connect(IrqLine* line, uint8_t interrupt_line);

  // Saved state: the config space and the INTx request. Loading is in two steps so that a
  // PciRoot can check every device before changing any: loaded_config reads and checks (the
  // read-only bits must be this device's, or it is another device), apply_config then sets it
  // and drives the INTx line to the loaded level. BAR decoding is the PciRoot's to re-derive.
  // Device models with state beyond config space save it themselves.
  struct ConfigState {
    std::vector<uint8_t> config;
    bool intx_requested = false;
  };
  void save_config(StateWriter& out) const;
  ConfigState loaded_config(const StateReader& in) const;
  void apply_config(const ConfigState& state);

 protected:
  // Hooks for device models, called after the access with the device's lock released: a read
  // hook may change the data returned (registers computed on access), a write hook sees the
  // bytes written (as the guest sent them; config_value gives what was kept).
  virtual void after_config_read(uint16_t, std::span<uint8_t>) {}
  virtual void after_config_write(uint16_t, std::span<const uint8_t>) {}

 private:
  void set_bytes(uint16_t offset, uint64_t value, size_t width);
  void set_writable(uint16_t offset, uint64_t mask, size_t width);
  uint64_t bytes_at(uint16_t offset, size_t width) const;
  uint64_t address_in_bar(unsigned index, PciBarType type) const;
  void drive_intx();
  std::string describe(const std::string& part) const;
  void check_not_connected(const std::string& what) const;

  const std::optional<pci::IntxPin> pin_;
  mutable std::mutex mutex_;  // guards config_, the INTx state and connected_
  std::array<uint8_t, pci::kConfigSize> config_{};
  std::array<uint8_t, pci::kConfigSize> writable_{};        // 1 bits: the guest may write that bit
  std::array<std::optional<PciBar>, pci::kBarCount> bars_;  // fixed once connected
  uint8_t last_capability_ = 0;
  uint16_t capabilities_end_ = pci::kHeaderEnd;
  bool connected_ = false;
  IrqLine* intx_line_ = nullptr;
  bool intx_requested_ = false;
  bool intx_level_ = false;
};

}  // namespace kagami
