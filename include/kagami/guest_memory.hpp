// Guest RAM: one memfd mapped shared, laid out as a PC's memory map.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kagami {

// A contiguous piece of guest RAM: guest-physical [gpa, gpa + size) is stored at
// [offset, offset + size) of the memfd (and of the host mapping).
struct RamRegion {
  uint64_t gpa;
  uint64_t size;
  uint64_t offset;
};

// Guest RAM as a PC lays it out: low RAM from 0 up to the 32-bit PCI hole
// (kPciHoleStart..4 GiB, left for MMIO), the rest ("high RAM") from 4 GiB up.
// It is only backed by host memory once touched, and asks for transparent huge
// pages. Backing: a memfd mapped MAP_SHARED (it can be handed to another
// process) when the host gives shared memory huge pages; otherwise private
// anonymous memory, which gets them by default on Debian (shmem_enabled is
// "never" there, and 4 KiB pages cost one nested page fault each: ~27,000
// exits for a Linux boot instead of ~2,000).
class GuestMemory {
 public:
  static constexpr uint64_t kPciHoleStart = 0xC000'0000;  // 3 GiB
  static constexpr uint64_t kPciHoleEnd = 0x1'0000'0000;  // 4 GiB
  static constexpr uint64_t kMinSize = 2ull << 20;        // 2 MiB
  static constexpr uint64_t kMaxSize = 1ull << 40;        // 1 TiB

  // Throws std::runtime_error naming the size and the reason when the size is
  // out of range, not a multiple of 4 KiB, or the host cannot provide it.
  enum class Backing { kAuto, kMemfd, kAnonymous };
  explicit GuestMemory(uint64_t size, Backing backing = Backing::kAuto);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t size() const { return size_; }
  int fd() const { return fd_; }  // the memfd, or -1 for anonymous memory
  uint8_t* host_base() const { return base_; }
  std::span<const RamRegion> regions() const { return regions_; }

  // Host address of guest-physical [gpa, gpa + len), or nullptr when that range
  // is not wholly inside one RAM region.
  uint8_t* host_address(uint64_t gpa, uint64_t len) const;

  // Copy to/from guest RAM; false (nothing copied) when the range is not RAM. A write marks
  // its pages dirty while dirty tracking is on.
  bool write(uint64_t gpa, std::span<const uint8_t> data);
  bool read(uint64_t gpa, std::span<uint8_t> data) const;

  // Dirty tracking of the VMM's own writes (the hypervisor tracks the guest's), for live
  // migration. Pages are numbered over the host mapping (RamRegion::offset / 4096 + page in the
  // region). Code that writes guest RAM through host_address() calls mark_dirty() after the
  // write; write() does it itself. Thread-safe.
  void start_dirty_tracking();
  void stop_dirty_tracking();
  bool dirty_tracking() const { return tracking_.load(std::memory_order_acquire); }
  void mark_dirty(uint64_t gpa, uint64_t len);
  // ORs the pages marked since the last call into `bitmap` (size() / 4096 bits, grown to that
  // when shorter) and forgets them.
  void take_dirty(std::vector<uint64_t>& bitmap);

  // Local migration: maps `memfd` (a duplicate is kept; the caller keeps its own) with
  // MAP_SHARED | MAP_FIXED over the current mapping, so host_base() stays. Throws
  // std::runtime_error, the mapping unchanged, when it is not exactly size() bytes or cannot be
  // mapped. The old memory is freed.
  void adopt(int memfd);
  bool adopted() const { return adopted_; }
  // Every byte back to zero: the pages are dropped (MADV_DONTNEED / punched out of the memfd).
  // Adopted memory is not cleared (another process owns it): fresh memory of this object's
  // original backing is mapped in its place. Throws std::runtime_error when that fails.
  void discard();

 private:
  static bool shmem_huge_pages_enabled();
  void map_memfd(uint8_t* fixed = nullptr);
  void map_anonymous();
  void map_anonymous_fixed();
  void advise();

  uint64_t size_;
  Backing backing_;
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  bool adopted_ = false;
  std::vector<RamRegion> regions_;
  // Allocated by the first start_dirty_tracking() and kept until destruction, so a writer that
  // saw tracking on never touches freed memory.
  std::atomic<bool> tracking_{false};
  std::unique_ptr<std::atomic<uint64_t>[]> dirty_;
};

}  // namespace kagami
