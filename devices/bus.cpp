// Bus: sorted, non-overlapping address ranges; splits or widens accesses to the widths a device
// takes.
#include "kagami/bus.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace kagami {
namespace {

// AccessWidth bits equal the width in bytes (kWidth4 == 4), so a width is its own mask bit.
bool is_access_width(size_t len) {
  return len == 1 || len == 2 || len == 4 || len == 8;
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string describe(const std::string& name, uint64_t base, uint64_t last) {
  return (name.empty() ? std::string("unnamed range") : name) + " [" + hex(base) + ", " +
         hex(last) + "]";
}

// The widest accepted width narrower than len (a power of two), or 0 when there is none.
unsigned widest_below(unsigned widths, size_t len) {
  return std::bit_floor(widths & static_cast<unsigned>(len - 1));
}

// Windows of the narrowest accepted width that cover [offset, offset + len), aligned to that width
// relative to the range start. Empty (first > last) when they would not fit inside the range.
struct Windows {
  uint64_t width;
  uint64_t first;
  uint64_t last;
};

Windows widening_windows(unsigned widths, uint64_t range_size, uint64_t offset, size_t len) {
  uint64_t width = widths & -widths;  // lowest set bit: the narrowest accepted width
  uint64_t first = offset & ~(width - 1);
  uint64_t last = (offset + len - 1) & ~(width - 1);
  if (range_size < width || last > range_size - width) return {width, 1, 0};
  return {width, first, last};
}

// Byte range shared by window [window, window + width) and access [offset, offset + len).
struct Overlap {
  uint64_t begin;
  uint64_t end;
};

Overlap overlap(uint64_t window, uint64_t width, uint64_t offset, size_t len) {
  return {std::max(window, offset), std::min(window + width, offset + len)};
}

bool forward_read(BusDevice& device, unsigned widths, uint64_t range_size, uint64_t offset,
                  std::span<uint8_t> data) {
  size_t len = data.size();
  if (widths & len) {
    device.read(offset, data);
    return true;
  }
  if (unsigned piece = widest_below(widths, len)) {
    for (size_t pos = 0; pos < len; pos += piece)
      device.read(offset + pos, data.subspan(pos, piece));
    return true;
  }
  Windows windows = widening_windows(widths, range_size, offset, len);
  if (windows.first > windows.last) return false;
  uint8_t wide[8];
  for (uint64_t window = windows.first; window <= windows.last; window += windows.width) {
    device.read(window, std::span(wide, windows.width));
    Overlap part = overlap(window, windows.width, offset, len);
    for (uint64_t byte = part.begin; byte < part.end; ++byte)
      data[byte - offset] = wide[byte - window];
  }
  return true;
}

// Widening a write is a read-modify-write of each window: the bytes outside the access keep the
// value the device reports for them.
bool forward_write(BusDevice& device, unsigned widths, uint64_t range_size, uint64_t offset,
                   std::span<const uint8_t> data) {
  size_t len = data.size();
  if (widths & len) {
    device.write(offset, data);
    return true;
  }
  if (unsigned piece = widest_below(widths, len)) {
    for (size_t pos = 0; pos < len; pos += piece)
      device.write(offset + pos, data.subspan(pos, piece));
    return true;
  }
  Windows windows = widening_windows(widths, range_size, offset, len);
  if (windows.first > windows.last) return false;
  uint8_t wide[8];
  for (uint64_t window = windows.first; window <= windows.last; window += windows.width) {
    device.read(window, std::span(wide, windows.width));
    Overlap part = overlap(window, windows.width, offset, len);
    for (uint64_t byte = part.begin; byte < part.end; ++byte)
      wide[byte - window] = data[byte - offset];
    device.write(window, std::span<const uint8_t>(wide, windows.width));
  }
  return true;
}

}  // namespace

Bus::Bus(std::string name) : name_(std::move(name)) {}

void Bus::add(uint64_t base, uint64_t size, BusDevice& device, unsigned widths, std::string name) {
  const std::string what = name_ + " bus: cannot add " + (name.empty() ? "unnamed range" : name);
  if (size == 0) throw std::invalid_argument(what + " at " + hex(base) + ": size is 0");
  if (size - 1 > std::numeric_limits<uint64_t>::max() - base) {
    throw std::invalid_argument(what + " at " + hex(base) + " size " + hex(size) +
                                ": range wraps past the end of the address space");
  }
  uint64_t last = base + (size - 1);
  if ((widths & kAnyWidth) == 0 || (widths & ~unsigned{kAnyWidth}) != 0) {
    throw std::invalid_argument(what + " [" + hex(base) + ", " + hex(last) +
                                "]: access widths mask " + hex(widths) + " is invalid");
  }

  std::unique_lock lock(lock_);
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), base,
                               [](uint64_t addr, const Range& range) { return addr < range.base; });
  auto clash = ranges_.end();
  if (next != ranges_.end() && next->base <= last) clash = next;
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->base + (prev->size - 1) >= base) clash = prev;
  }
  if (clash != ranges_.end()) {
    throw std::invalid_argument(
        name_ + " bus: " + describe(name, base, last) + " overlaps " +
        describe(clash->name, clash->base, clash->base + (clash->size - 1)));
  }
  ranges_.insert(next, Range{base, size, &device, widths, std::move(name)});
}

void Bus::remove(uint64_t base, BusDevice& device) {
  std::unique_lock lock(lock_);
  auto range = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                                [](const Range& r, uint64_t addr) { return r.base < addr; });
  if (range == ranges_.end() || range->base != base || range->device != &device) {
    throw std::invalid_argument(name_ + " bus: cannot remove the range at " + hex(base) +
                                ": no range of that device starts there");
  }
  ranges_.erase(range);
}

// Looked up under the shared lock, then used without it.
Bus::Target Bus::find(uint64_t addr, uint64_t len) const {
  std::shared_lock lock(lock_);
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](uint64_t a, const Range& range) { return a < range.base; });
  if (next == ranges_.begin()) return {};
  const Range& range = *std::prev(next);
  uint64_t offset = addr - range.base;
  if (offset > range.size - 1 || len - 1 > range.size - 1 - offset) return {};
  return {range.base, range.size, range.device, range.widths};
}

// The device is called without the lock held: a device may add or remove ranges from inside an
// access (moving a PCI BAR), and a device's own lock is never taken under the bus lock, so a
// device that calls add() with its lock held cannot deadlock against an access to it.
bool Bus::read(uint64_t addr, std::span<uint8_t> data) {
  if (is_access_width(data.size())) {
    Target target = find(addr, data.size());
    if (target.device &&
        forward_read(*target.device, target.widths, target.size, addr - target.base, data)) {
      return true;
    }
  }
  std::fill(data.begin(), data.end(), uint8_t{0xff});
  unassigned_reads_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) {
  if (is_access_width(data.size())) {
    Target target = find(addr, data.size());
    if (target.device &&
        forward_write(*target.device, target.widths, target.size, addr - target.base, data)) {
      return true;
    }
  }
  unassigned_writes_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

UnassignedStats Bus::unassigned() const {
  return {unassigned_reads_.load(std::memory_order_relaxed),
          unassigned_writes_.load(std::memory_order_relaxed)};
}

}  // namespace kagami
