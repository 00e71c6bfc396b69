/* hello: the runtime works (console, command line, memory map, ring 3) on this platform. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define MIB (1ul << 20)

static const char* region_type_name(uint32_t type) {
  switch (type) {
    case 1: return "RAM";
    case 2: return "reserved";
    case 3: return "ACPI reclaimable";
    case 4: return "ACPI NVS";
    case 5: return "bad";
    default: return "unknown";
  }
}

static void print_memory_map(const struct boot_info* info) {
  printf("memory map (%zu entries):\n", info->region_count);
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    printf("  %#014lx-%#014lx %s\n", r->base, r->base + r->length - 1, region_type_name(r->type));
  }
}

/* RAM must start at 0 (conventional memory) and at 1 MiB (where the image was loaded), and
 * no two entries may overlap. */
static bool memory_map_is_sane(const struct boot_info* info) {
  bool low = false, high = false;
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* a = &info->regions[i];
    if (a->length == 0) return false;
    if (a->type == MEMORY_RAM && a->base == 0) low = true;
    if (a->type == MEMORY_RAM && a->base <= MIB && a->base + a->length > image_end()) high = true;
    for (size_t j = i + 1; j < info->region_count; j++) {
      const struct memory_region* b = &info->regions[j];
      if (a->base < b->base + b->length && b->base < a->base + a->length) return false;
    }
  }
  return low && high;
}

/* mem_upper is the KiB of RAM from 1 MiB to the first hole; the map's RAM at 1 MiB must fit
 * in it (firmware such as SeaBIOS may reserve a little at its top, never add to it). */
static bool mem_upper_matches_map(const struct boot_info* info) {
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    if (r->type != MEMORY_RAM || r->base != MIB) continue;
    uint64_t upper_end = MIB + (uint64_t)info->mem_upper_kib * 1024;
    return r->base + r->length <= upper_end && r->base + r->length + MIB > upper_end;
  }
  return false;
}

static uint64_t current_privilege_level(void* arg) {
  (void)arg;
  return read_cs() & 3;
}

static uint64_t add_one_at_cpl3(void* arg) {
  printf("  (this line printed from ring 3)\n");
  return *(uint64_t*)arg + 1;
}

void guest_main(void) {
  const struct boot_info* info = boot_info();
  printf("Hello from a kagami test guest\n");
  printf("command line: \"%s\"\n", info->cmdline);
  printf("mem_lower %u KiB, mem_upper %u KiB\n", info->mem_lower_kib, info->mem_upper_kib);
  print_memory_map(info);

  report("multiboot magic in EAX", info->magic == MULTIBOOT_BOOTLOADER_MAGIC);
  report("multiboot info has memory sizes, command line and memory map",
         (info->flags & 0x45) == 0x45);
  report("mem_lower is at most 640 KiB", info->mem_lower_kib > 0 && info->mem_lower_kib <= 640);
  report("memory map is sane (RAM at 0 and 1 MiB, no overlaps)", memory_map_is_sane(info));
  report("mem_upper agrees with the memory map", mem_upper_matches_map(info));
  report("command line carries now=", cmdline_value("now", (char[24]){0}, 24));
  report("runs in ring 0", (read_cs() & 3) == 0);
  report("run_at_cpl3 runs at CPL 3", run_at_cpl3(current_privilege_level, NULL) == 3);
  uint64_t value = 41;
  report("run_at_cpl3 returns the value", run_at_cpl3(add_one_at_cpl3, &value) == 42);
  report("back in ring 0 after run_at_cpl3", (read_cs() & 3) == 0);
}
