// PCI bus 0 behind kagami's host bridge: config mechanism #1, ECAM, and BAR decoding on the buses.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"
#include "pci/pci_device.hpp"
#include "pci/pci_host_bridge.hpp"
#include "pci/pci_layout.hpp"

namespace kagami {

// Bus, device (slot) and function of a config-space access.
struct PciAddress {
  unsigned bus = 0;
  unsigned slot = 0;
  unsigned function = 0;

  std::string to_string() const;  // "BB:DD.F" in hex, as lspci prints it
};

struct PciStats {
  uint64_t refused_bar_mappings = 0;  // BAR placements not decoded (see PciRoot)
  std::string last_refusal;           // the latest of them, for a verbose report
};

// Bus 0 with 32 slots, function 0 of each; the host bridge at 00:00.0. Config space is reached
// through mechanism #1 (ports 0xcf8/0xcfc) and through ECAM; accesses to absent functions (other
// buses, functions 1..7, empty slots) read all ones and drop writes.
//
// Decoding: whenever a config write touches a command register or a BAR, every BAR's wanted
// address (the BAR's value while the command register enables its space) is compared with where
// it is on the port or memory bus, and moved with Bus::remove/add. A placement is refused, left
// undecoded and counted in stats() (never thrown at the vCPU) when it is not wholly inside one of
// the windows (I/O BARs: the I/O window; 32-bit memory BARs: the 32-bit window; 64-bit ones:
// either memory window), which keeps BARs off RAM, the IOAPIC, the LAPICs and ECAM, or when it
// overlaps another range on the bus. Refused BARs are retried on later updates, so a BAR that
// overlapped one that has since moved away starts decoding. Address 0 (unassigned) and a BAR
// register holding all ones (being sized) are refused without being counted.
//
// Thread-safe once built: add_device and attach before the vCPUs run.
class PciRoot final : public Stateful {
 public:
  // Resolves an IOAPIC input (GSI) to its IrqLine, for the devices' INTx pins. May return null.
  using IntxLines = std::function<IrqLine*(unsigned gsi)>;

  PciRoot(Bus& io, Bus& mmio, IntxLines intx_lines = {}, pci::Windows windows = {});
  PciRoot(const PciRoot&) = delete;
  PciRoot& operator=(const PciRoot&) = delete;

  // Joins the buses: ports 0xcf8..0xcfb (address) and 0xcfc..0xcff (data) on `io`, ECAM on
  // `mmio`. Port 0xcf9 is also the chipset's reset control register: it shares the address
  // register's dword (a dword access must reach one device), so byte accesses to 0xcf9 are passed
  // to `reset_control` (offset 0) when given. Throws as Bus::add does.
  void attach(BusDevice* reset_control = nullptr);

  // Puts `device` in slot 1..31 (slot 0 is the host bridge), fixes its layout, wires its INTx pin
  // P to GSI pci::intx_gsi(slot, P) (also written to its Interrupt Line register). Throws
  // std::invalid_argument naming the slot when it is out of range or taken.
  void add_device(unsigned slot, PciDevice& device);

  // A config access as both mechanisms decode it; offset + data.size() <= 4096.
  void config_read(PciAddress address, uint16_t offset, std::span<uint8_t> data);
  void config_write(PciAddress address, uint16_t offset, std::span<const uint8_t> data);

  PciDevice* device(unsigned slot) const { return slot < pci::kSlots ? slots_[slot] : nullptr; }
  const pci::Windows& windows() const { return windows_; }
  // Where BAR `index` of the device in `slot` is decoded on its bus now, if it is.
  std::optional<uint64_t> bar_mapping(unsigned slot, unsigned index) const;
  PciStats stats() const;

  // Stateful: the config address register and, for each populated slot ("slot-N"), its
  // device's config space. A load checks every slot first (the same slots must be populated,
  // with the same devices), then sets them and re-derives every BAR's decoding on the buses.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  // Port 0xcf8: the latched address. Only a dword write at 0xcf8 latches, as on Intel chipsets
  // (and what Linux's type-1 probe checks by writing a byte to 0xcfb first).
  class AddressPort final : public BusDevice {
   public:
    explicit AddressPort(PciRoot& root) : root_(root) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    PciRoot& root_;
  };
  // Ports 0xcfc..0xcff: the register the address selects, at byte offset (port & 3).
  class DataPort final : public BusDevice {
   public:
    explicit DataPort(PciRoot& root) : root_(root) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    PciRoot& root_;
  };
  // ECAM: offset = bus << 20 | slot << 15 | function << 12 | register.
  class Ecam final : public BusDevice {
   public:
    explicit Ecam(PciRoot& root) : root_(root) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    PciRoot& root_;
  };

  // Where a BAR is on its bus, and the address last refused (so a refusal is counted once).
  struct BarMapping {
    std::optional<uint64_t> mapped;
    std::optional<uint64_t> refused;
  };

  PciDevice* find(PciAddress address) const;
  void update_bar_mappings();
  void map_bar(unsigned slot, unsigned index, const PciBar& bar, uint64_t address);
  void refuse(unsigned slot, unsigned index, const PciBar& bar, uint64_t address,
              const std::string& reason);
  bool in_windows(const PciBar& bar, uint64_t address) const;
  Bus& bus_for(const PciBar& bar) { return bar.type == PciBarType::kIo ? io_ : mmio_; }

  Bus& io_;
  Bus& mmio_;
  const IntxLines intx_lines_;
  const pci::Windows windows_;
  PciHostBridge host_bridge_;
  std::array<PciDevice*, pci::kSlots> slots_{};  // written only before the guest runs
  std::atomic<uint32_t> config_address_{0};
  BusDevice* reset_control_ = nullptr;
  AddressPort address_port_{*this};
  DataPort data_port_{*this};
  Ecam ecam_{*this};

  mutable std::mutex mapping_mutex_;  // guards mappings_ and stats_; taken before device locks
  std::array<std::array<BarMapping, pci::kBarCount>, pci::kSlots> mappings_{};
  PciStats stats_;
};

}  // namespace kagami
