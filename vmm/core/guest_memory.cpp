// Guest RAM: its backing (memfd or anonymous), the PC memory layout, bounds-checked access.
#include "kagami/guest_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace kagami {
namespace {

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

std::string size_text(uint64_t bytes) {
  return bytes % (1 << 20) ? std::to_string(bytes) + " bytes" : mib(bytes);
}

}  // namespace

GuestMemory::GuestMemory(uint64_t size, Backing backing) : size_(size), backing_(backing) {
  if (size < kMinSize || size > kMaxSize)
    throw std::runtime_error("guest memory " + size_text(size) + " is out of range (" +
                             mib(kMinSize) + " to " + mib(kMaxSize) + ")");
  if (size % 4096)
    throw std::runtime_error("guest memory " + size_text(size) + " is not a multiple of 4 KiB");

  if (backing_ == Backing::kAuto)
    backing_ = shmem_huge_pages_enabled() ? Backing::kMemfd : Backing::kAnonymous;
  if (backing_ == Backing::kMemfd)
    map_memfd();
  else
    map_anonymous();
  advise();

  uint64_t low = size < kPciHoleStart ? size : kPciHoleStart;
  regions_.push_back({0, low, 0});
  if (size > low) regions_.push_back({kPciHoleEnd, size - low, low});
}

void GuestMemory::advise() {
  // Guest RAM is large and sparse: keep it out of core dumps.
  madvise(base_, size_, MADV_DONTDUMP);
  // Huge pages where the host gives them: KVM and kagami.ko then map the guest with 2 MiB
  // nested-page-table leaves, one fault per 2 MiB instead of per 4 KiB.
  madvise(base_, size_, MADV_HUGEPAGE);
}

bool GuestMemory::shmem_huge_pages_enabled() {
  // The active choice is the bracketed word, e.g. "always within_size advise [never] deny force".
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  std::string word;
  while (file >> word)
    if (word.front() == '[') return word != "[never]" && word != "[deny]";
  return false;
}

// At `fixed` (MAP_FIXED, replacing what is mapped there) when given, else anywhere.
void GuestMemory::map_memfd(uint8_t* fixed) {
  fd_ = memfd_create("kagami-guest-ram", MFD_CLOEXEC);
  if (fd_ < 0)
    throw std::runtime_error(std::string("cannot create guest memory: memfd_create: ") +
                             strerror(errno));
  if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot provide " + mib(size_) +
                             " of guest memory: ftruncate: " + strerror(err));
  }
  // MAP_NORESERVE: RAM is backed lazily, as the guest touches it.
  void* p = mmap(fixed, size_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_NORESERVE | (fixed ? MAP_FIXED : 0), fd_, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot map " + mib(size_) + " of guest memory: " + strerror(err));
  }
  base_ = static_cast<uint8_t*>(p);
}

// Private anonymous memory, 2 MiB-aligned so that transparent huge pages line up with the
// guest's 2 MiB-aligned physical ranges (low RAM at 0, high RAM at 4 GiB from offset 3 GiB).
void GuestMemory::map_anonymous() {
  constexpr uint64_t kHuge = 2ull << 20;
  void* p = mmap(nullptr, size_ + kHuge, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("cannot map " + mib(size_) + " of guest memory: " + strerror(errno));
  auto start = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
  if (aligned > start) munmap(p, aligned - start);
  uintptr_t tail = aligned + size_;
  if (start + size_ + kHuge > tail)
    munmap(reinterpret_cast<void*>(tail), start + size_ + kHuge - tail);
  base_ = reinterpret_cast<uint8_t*>(aligned);
}

GuestMemory::~GuestMemory() {
  if (base_) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
}

uint8_t* GuestMemory::host_address(uint64_t gpa, uint64_t len) const {
  for (const RamRegion& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && len <= r.size - (gpa - r.gpa))
      return base_ + r.offset + (gpa - r.gpa);
  }
  return nullptr;
}

bool GuestMemory::write(uint64_t gpa, std::span<const uint8_t> data) {
  uint8_t* dst = host_address(gpa, data.size());
  if (!dst) return false;
  if (!data.empty()) std::memcpy(dst, data.data(), data.size());
  // After the copy: a page collected between a mark and the copy would go without it.
  mark_dirty(gpa, data.size());
  return true;
}

bool GuestMemory::read(uint64_t gpa, std::span<uint8_t> data) const {
  const uint8_t* src = host_address(gpa, data.size());
  if (!src) return false;
  if (!data.empty()) std::memcpy(data.data(), src, data.size());
  return true;
}

}  // namespace kagami
