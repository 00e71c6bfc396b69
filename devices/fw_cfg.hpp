// QEMU-compatible fw_cfg (traditional port interface, no DMA): selector 0x510, data 0x511.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kagami/bus.hpp"
#include "kagami/state.hpp"

namespace kagami {

// As in QEMU's docs/specs/fw_cfg.rst and hw/nvram/fw_cfg.c:
// - a 16-bit write at the selector port selects an item and rewinds its offset to 0;
// - a byte read at either port returns the next byte of the selected item, 0 past its end
//   (QEMU's combined port region reads data at both ports);
// - byte writes are data writes, ignored since QEMU 2.4; other widths are refused like QEMU's
//   (reads of them return all ones);
// - selector bit 14 (write channel) is ignored; bit 15 selects the architecture-specific items,
//   of which there are none, so they read as zeros, as do unknown keys.
// Files are kept sorted by name with selector 0x20 + index, the order QEMU gives them.
class FwCfg final : public BusDevice, public Stateful {
 public:
  enum Key : uint16_t {
    kSignature = 0x00,  // "QEMU"
    kId = 0x01,         // le32 feature bits: bit 0 traditional interface (no DMA)
    kRamSize = 0x03,    // le64 total guest RAM in bytes
    kCpuCount = 0x05,   // le16
    kMaxCpus = 0x0f,    // le16
    kFileDir = 0x19,    // be32 count, then {be32 size, be16 select, be16 0, char name[56]}
    kFileFirst = 0x20,
  };
  static constexpr uint16_t kDefaultBase = 0x510;
  static constexpr size_t kMaxNameLength = 55;  // name[56] holds the terminating NUL

  // Throws std::invalid_argument when cpus is 0.
  FwCfg(uint64_t ram_size, uint16_t cpus, uint16_t base = kDefaultBase);

  // Adds a file item (set up before the guest runs). Throws std::invalid_argument naming the
  // file when the name is empty, longer than 55 characters or already present, when the data
  // is larger than 4 GiB - 1, or when all file selectors are taken.
  void add_file(std::string name, std::vector<uint8_t> data);

  // Joins the port bus at [base, base + 2), widths 1 and 2.
  void attach(Bus& io);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the selector and the read offset into the selected item. The items themselves
  // are the machine's (built the same on both ends), not state; a load checks that the offset
  // lies within the selected item here.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  struct File {
    std::string name;
    std::vector<uint8_t> data;
  };
  const std::vector<uint8_t>* item(uint16_t key) const;
  void rebuild_directory();

  const uint16_t base_;
  mutable std::mutex mutex_;  // guards everything below
  std::array<std::vector<uint8_t>, kFileFirst> fixed_items_;
  std::vector<File> files_;  // sorted by name
  uint16_t selector_ = kSignature;
  uint32_t offset_ = 0;
};

}  // namespace kagami
