// Guest RAM for live migration: dirty tracking of the VMM's writes, adopting the source's memfd,
// and discarding what an incoming migration wrote.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kagami/guest_memory.hpp"

namespace kagami {
namespace {

constexpr uint64_t kPage = 4096;

std::string error_text(const char* what) {
  return std::string(what) + ": " + strerror(errno);
}

}  // namespace

void GuestMemory::start_dirty_tracking() {
  const uint64_t words = (size_ / kPage + 63) / 64;
  if (!dirty_) dirty_ = std::make_unique<std::atomic<uint64_t>[]>(words);
  for (uint64_t i = 0; i < words; i++) dirty_[i].store(0, std::memory_order_relaxed);
  tracking_.store(true, std::memory_order_release);
}

void GuestMemory::stop_dirty_tracking() {
  tracking_.store(false, std::memory_order_release);
}

void GuestMemory::mark_dirty(uint64_t gpa, uint64_t len) {
  if (len == 0 || !dirty_tracking()) return;
  const uint8_t* host = host_address(gpa, len);
  if (!host) return;
  const uint64_t offset = static_cast<uint64_t>(host - base_);
  for (uint64_t page = offset / kPage; page <= (offset + len - 1) / kPage; page++)
    dirty_[page / 64].fetch_or(1ull << (page % 64), std::memory_order_relaxed);
}

void GuestMemory::take_dirty(std::vector<uint64_t>& bitmap) {
  const uint64_t words = (size_ / kPage + 63) / 64;
  if (bitmap.size() < words) bitmap.resize(words);
  if (!dirty_) return;
  for (uint64_t i = 0; i < words; i++)
    bitmap[i] |= dirty_[i].exchange(0, std::memory_order_acq_rel);
}

void GuestMemory::adopt(int memfd) {
  struct stat st {};
  if (fstat(memfd, &st) != 0)
    throw std::runtime_error("adopting guest memory: " + error_text("fstat"));
  if (static_cast<uint64_t>(st.st_size) != size_)
    throw std::runtime_error("adopting guest memory: the memfd holds " +
                             std::to_string(st.st_size) + " bytes, this machine has " +
                             std::to_string(size_));
  int fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("adopting guest memory: " + error_text("dup"));
  void* p =
      mmap(base_, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    std::string why = error_text("mmap");
    close(fd);
    throw std::runtime_error("adopting guest memory: " + why);
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  adopted_ = true;
  advise();
}

void GuestMemory::discard() {
  if (adopted_) {
    // Never clear the source's RAM: let it go and map fresh memory in its place.
    close(fd_);
    fd_ = -1;
    adopted_ = false;
    if (backing_ == Backing::kMemfd)
      map_memfd(base_);
    else
      map_anonymous_fixed();
    advise();
    return;
  }
  if (fd_ >= 0) {
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size_)) !=
        0)
      throw std::runtime_error("discarding guest memory: " + error_text("fallocate"));
    return;
  }
  if (madvise(base_, size_, MADV_DONTNEED) != 0)
    throw std::runtime_error("discarding guest memory: " + error_text("madvise"));
}

void GuestMemory::map_anonymous_fixed() {
  void* p = mmap(base_, size_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("replacing guest memory: " + error_text("mmap"));
}

}  // namespace kagami
