// Guest RAM page helpers: zero test, SEEK_DATA/SEEK_HOLE over the memfd, hole punching.
#include "ram_pages.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace kagami {

bool page_is_zero(const uint8_t* page) {
  uint64_t words[512];
  std::memcpy(words, page, sizeof(words));  // the compiler turns this loop into vector ORs
  uint64_t any = 0;
  for (uint64_t w : words) any |= w;
  return any == 0;
}

namespace {

uint64_t seek_page(const GuestMemory& memory, uint64_t page, int whence) {
  if (memory.fd() < 0 || page >= page_count(memory)) return page;
  off_t at = lseek(memory.fd(), static_cast<off_t>(page * 4096), whence);
  if (at < 0) return whence == SEEK_DATA ? page_count(memory) : page;  // ENXIO: no more data
  return static_cast<uint64_t>(at) / 4096;
}

}  // namespace

uint64_t next_data_page(const GuestMemory& memory, uint64_t page) {
  return seek_page(memory, page, SEEK_DATA);
}

uint64_t next_hole_page(const GuestMemory& memory, uint64_t page) {
  if (memory.fd() < 0) return page_count(memory);
  uint64_t hole = seek_page(memory, page, SEEK_HOLE);
  return hole > page ? hole : page_count(memory);
}

// Large runs give their memory back (a hole in the memfd, dropped anonymous pages). Short ones
// are zeroed in place, and only where not zero already: dropping 4 KiB out of a transparent
// huge page splits it, and the next write there faults in and clears a whole new 2 MiB page.
void zero_pages(GuestMemory& memory, uint64_t first, uint64_t count) {
  constexpr uint64_t kReleaseRun = 512;  // 2 MiB
  uint8_t* start = page_address(memory, first);
  size_t length = count * 4096;
  if (count >= kReleaseRun) {
    bool released =
        memory.fd() >= 0
            ? fallocate(memory.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(first * 4096), static_cast<off_t>(length)) == 0
            : madvise(start, length, MADV_DONTNEED) == 0;
    if (released) return;
  }
  for (uint64_t page = first; page < first + count;) {
    uint64_t data = next_data_page(memory, page);  // memfd holes read as zeros untouched
    if (data > page) {
      page = std::min(data, first + count);
      continue;
    }
    uint8_t* address = page_address(memory, page++);
    if (!page_is_zero(address)) std::memset(address, 0, 4096);
  }
}

}  // namespace kagami
