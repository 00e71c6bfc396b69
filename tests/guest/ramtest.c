/* ramtest: every byte of guest RAM in the memory map (except the guest image) written and
 * verified with an address-dependent pattern and its inverse, the loops running at CPL3. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define MIB (1ul << 20)
#define GIB (1ul << 30)
#define MAX_SPANS 80

struct span {
  uint64_t start, end; /* 8-byte aligned */
};

/* Shared with ring 3 (all memory is user-accessible). */
struct ram_pass {
  const struct span* spans;
  size_t span_count;
  uint64_t invert;
  uint64_t errors, first_bad_address, first_bad_value;
};

static struct span spans[MAX_SPANS];
static size_t span_count;

/* Distinct for every 8-byte word (an odd multiplier is a bijection), so a word that aliases
 * another one reads back the other's pattern. */
static inline uint64_t pattern(uint64_t address) {
  return address * 0x9E3779B97F4A7C15ull;
}

static uint64_t write_pass(void* arg) {
  const struct ram_pass* pass = arg;
  for (size_t i = 0; i < pass->span_count; i++)
    for (uint64_t a = pass->spans[i].start; a < pass->spans[i].end; a += 8)
      *(uint64_t*)a = pattern(a) ^ pass->invert;
  return read_cs() & 3;
}

static uint64_t verify_pass(void* arg) {
  struct ram_pass* pass = arg;
  for (size_t i = 0; i < pass->span_count; i++)
    for (uint64_t a = pass->spans[i].start; a < pass->spans[i].end; a += 8) {
      uint64_t value = *(const uint64_t*)a;
      if (value == (pattern(a) ^ pass->invert)) continue;
      if (pass->errors++ == 0) {
        pass->first_bad_address = a;
        pass->first_bad_value = value;
      }
    }
  return read_cs() & 3;
}

static void add_span(uint64_t start, uint64_t end) {
  start = (start + 7) & ~7ull;
  end &= ~7ull;
  if (start >= end) return;
  if (span_count == MAX_SPANS) {
    printf("  too many RAM spans; %#lx-%#lx not tested\n", start, end);
    return;
  }
  spans[span_count++] = (struct span){start, end};
}

/* RAM regions clipped to the identity map, with the guest image cut out. */
static void collect_spans(void) {
  const struct boot_info* info = boot_info();
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    if (r->type != MEMORY_RAM) continue;
    uint64_t start = r->base, end = r->base + r->length;
    if (end > mapped_limit()) end = mapped_limit();
    if (start < image_start() && end > image_end()) {
      add_span(start, image_start());
      add_span(image_end(), end);
    } else if (end <= image_start() || start >= image_end()) {
      add_span(start, end);
    } else if (start < image_start()) {
      add_span(start, image_start());
    } else if (end > image_end()) {
      add_span(image_end(), end);
    }
  }
}

static void run_pass(const char* name, uint64_t invert, uint64_t tested_mib) {
  struct ram_pass pass = {.spans = spans, .span_count = span_count, .invert = invert};
  uint64_t write_cpl = run_at_cpl3(write_pass, &pass);
  uint64_t verify_cpl = run_at_cpl3(verify_pass, &pass);
  if (pass.errors)
    printf("  %lu bad words, first at %#lx: read %#lx, want %#lx\n", pass.errors,
           pass.first_bad_address, pass.first_bad_value, pattern(pass.first_bad_address) ^ invert);
  reportf(pass.errors == 0 && write_cpl == 3 && verify_cpl == 3,
          "%s pattern written and verified at CPL3 over %lu MiB", name, tested_mib);
}

void guest_main(void) {
  collect_spans();
  uint64_t total = 0, high = 0;
  for (size_t i = 0; i < span_count; i++) {
    uint64_t size = spans[i].end - spans[i].start;
    printf("  testing %#014lx-%#014lx (%lu KiB)\n", spans[i].start, spans[i].end - 1, size >> 10);
    total += size;
    if (spans[i].start >= 4 * GIB) high += size;
  }
  printf("testing %lu MiB of RAM in %zu spans (%lu MiB above 4 GiB); image %#lx-%#lx skipped\n",
         total / MIB, span_count, high / MIB, image_start(), image_end() - 1);

  report("memory map has RAM outside the guest image", total > 0);
  reportf(ram_top() <= mapped_limit(), "all RAM (up to %#lx) is mapped", ram_top());
  run_pass("address", 0, total / MIB);
  run_pass("inverted address", ~0ull, total / MIB);
  if (ram_top() > 4 * GIB)
    reportf(high > 0 && high / MIB == (ram_top() - 4 * GIB) / MIB,
            "RAM above 4 GiB tested (%lu MiB)", high / MIB);
  printf("RAM test done: %lu MiB tested\n", total / MIB);
}
