// Guest RAM page helpers for migration: zero checks, memfd holes, zeroing without allocating.
#pragma once

#include <cstdint>

#include "kagami/guest_memory.hpp"

namespace kagami {

inline uint64_t page_count(const GuestMemory& memory) {
  return memory.size() / 4096;
}
inline uint8_t* page_address(const GuestMemory& memory, uint64_t page) {
  return memory.host_base() + page * 4096;
}

bool page_is_zero(const uint8_t* page);

// The first page at or after `page` that may hold data: for a memfd the next one the file backs
// (SEEK_DATA; the pages before are holes, zeros never touched); otherwise `page` itself.
uint64_t next_data_page(const GuestMemory& memory, uint64_t page);
// The first page at or after `page` that is a memfd hole, or the end of RAM.
uint64_t next_hole_page(const GuestMemory& memory, uint64_t page);

// Makes [first, first + count) read as zeros without allocating memory for pages that read as
// zeros already; runs of 2 MiB or more are given back (memfd hole, dropped anonymous pages).
void zero_pages(GuestMemory& memory, uint64_t first, uint64_t count);

}  // namespace kagami
