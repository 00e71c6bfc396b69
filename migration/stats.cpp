// The guest RAM checksum printed for tests (KAGAMI_MIGRATION_CHECKSUM=1).
#include "stats.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ram_pages.hpp"

namespace kagami {
namespace {

// splitmix64's finalizer: every input bit affects every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

// A sum over the non-zero words of mix(position, value): order-free, so holes can be skipped.
uint64_t ram_checksum(const GuestMemory& memory) {
  uint64_t sum = 0;
  uint64_t pages = page_count(memory);
  for (uint64_t page = next_data_page(memory, 0); page < pages;) {
    uint64_t end = next_hole_page(memory, page);
    const uint8_t* base = page_address(memory, 0);
    for (uint64_t word = page * 512; word < end * 512; word++) {
      uint64_t value;
      std::memcpy(&value, base + word * 8, 8);
      if (value) sum += mix(value ^ mix(word + 1));
    }
    page = next_data_page(memory, end);
  }
  return sum;
}

void print_checksum_if_asked(const GuestMemory& memory) {
  const char* flag = std::getenv("KAGAMI_MIGRATION_CHECKSUM");
  if (!flag || std::strcmp(flag, "1") != 0) return;
  std::fprintf(stderr, "kagami: migration: guest RAM checksum 0x%016llx\n",
               static_cast<unsigned long long>(ram_checksum(memory)));
}

}  // namespace kagami
