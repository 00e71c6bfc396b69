// Address-range buses (port I/O and MMIO) that vCPU exits are dispatched to.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

namespace kagami {

// A device (or one register block of a device) that answers accesses on a bus.
// Offsets are relative to the start of the range the device was added at.
// data.size() is the access width in bytes; the bus only ever passes widths
// the device declared when it was added (see Bus::add).
// Devices are called from vCPU threads, possibly several at once: a device
// with state guards it itself.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// Bit mask of access widths a device accepts: bit n set = 2^n bytes.
enum AccessWidth : unsigned {
  kWidth1 = 1u << 0,
  kWidth2 = 1u << 1,
  kWidth4 = 1u << 2,
  kWidth8 = 1u << 3,
  kAnyWidth = kWidth1 | kWidth2 | kWidth4 | kWidth8,
};

// Counts of accesses that hit no device (reads return all ones, writes are dropped).
struct UnassignedStats {
  uint64_t reads = 0;
  uint64_t writes = 0;
};

class Bus {
 public:
  explicit Bus(std::string name);
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Adds [base, base + size). Throws std::invalid_argument, naming both ranges,
  // when it overlaps a range already on the bus, when size is 0 or the range
  // wraps, or when widths is empty. The device must outlive the bus.
  void add(uint64_t base, uint64_t size, BusDevice& device, unsigned widths = kAnyWidth,
           std::string name = {});

  // Removes the range that starts at base and is served by device (a PCI BAR that the guest
  // moves or stops decoding). Throws std::invalid_argument, naming the address, when there is
  // no such range. Accesses that looked the range up before the removal may still be running
  // in the device when remove returns; accesses that start afterwards do not reach it.
  // add and remove may be called from inside a device's read or write (a config-space write
  // that moves a BAR arrives as a bus access itself).
  void remove(uint64_t base, BusDevice& device);

  // An access of data.size() bytes (1, 2, 4 or 8) at addr. An access whose width
  // the device does not accept is split into the widest accepted smaller accesses
  // (little-endian), or, when the device accepts nothing narrower, widened to the
  // narrowest accepted width and the bytes extracted/merged. An access that is
  // not wholly inside one device's range, or hits no device, is unassigned:
  // reads fill data with 0xff, writes are dropped, and both are counted.
  // Returns false for an unassigned access.
  bool read(uint64_t addr, std::span<uint8_t> data);
  bool write(uint64_t addr, std::span<const uint8_t> data);

  const std::string& name() const { return name_; }
  UnassignedStats unassigned() const;

 private:
  struct Range {
    uint64_t base;
    uint64_t size;
    BusDevice* device;
    unsigned widths;
    std::string name;
  };
  // What an access needs of a range, copied out so that the device is called without the lock.
  struct Target {
    uint64_t base = 0;
    uint64_t size = 0;
    BusDevice* device = nullptr;
    unsigned widths = 0;
  };
  Target find(uint64_t addr, uint64_t len) const;

  std::string name_;
  mutable std::shared_mutex lock_;  // guards ranges_ (written by add and remove)
  std::vector<Range> ranges_;       // sorted by base, never overlapping
  std::atomic<uint64_t> unassigned_reads_{0};
  std::atomic<uint64_t> unassigned_writes_{0};
};

}  // namespace kagami
