/* Multiboot v1 information: copied into the image at boot (the loader left it in RAM that the
 * tests may overwrite), then served from here. */
#include "runtime.h"

#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MEMORY_MAP (1u << 6)
#define MAX_REGIONS 64
#define MAX_CMDLINE 1024

/* Offsets into struct multiboot_info and its memory-map entries (multiboot spec 3.3). */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MMAP_SIZE 0 /* size of the rest of the entry, not counting this field */
#define MMAP_BASE 4
#define MMAP_LENGTH 12
#define MMAP_TYPE 20

static struct boot_info info;
static struct memory_region regions[MAX_REGIONS];
static char cmdline[MAX_CMDLINE];

static uint32_t read32(uint64_t addr) {
  return *(const volatile uint32_t*)addr;
}
static uint64_t read64(uint64_t addr) {
  return read32(addr) | (uint64_t)read32(addr + 4) << 32;
}

static void copy_memory_map(uint32_t addr, uint32_t length) {
  uint64_t entry = addr, end = (uint64_t)addr + length;
  while (entry + 24 <= end && info.region_count < MAX_REGIONS) {
    regions[info.region_count++] = (struct memory_region){
        .base = read64(entry + MMAP_BASE),
        .length = read64(entry + MMAP_LENGTH),
        .type = read32(entry + MMAP_TYPE),
    };
    uint32_t size = read32(entry + MMAP_SIZE);
    if (size < 20) break; /* malformed: would not advance past the entry */
    entry += size + 4;
  }
  if (entry + 24 <= end) printf("warning: memory map has more than %d entries\n", MAX_REGIONS);
}

void boot_info_init(uint32_t magic, uint32_t info_addr) {
  info.magic = magic;
  info.cmdline = cmdline;
  info.regions = regions;
  if (magic != MULTIBOOT_BOOTLOADER_MAGIC || info_addr == 0) return;
  info.flags = read32(info_addr + MBI_FLAGS);
  if (info.flags & MB_INFO_MEMORY) {
    info.mem_lower_kib = read32(info_addr + MBI_MEM_LOWER);
    info.mem_upper_kib = read32(info_addr + MBI_MEM_UPPER);
  }
  if (info.flags & MB_INFO_CMDLINE) {
    const char* src = (const char*)(uint64_t)read32(info_addr + MBI_CMDLINE);
    for (size_t i = 0; i + 1 < MAX_CMDLINE && src[i]; i++) cmdline[i] = src[i];
  }
  if (info.flags & MB_INFO_MEMORY_MAP)
    copy_memory_map(read32(info_addr + MBI_MMAP_ADDR), read32(info_addr + MBI_MMAP_LENGTH));
}

const struct boot_info* boot_info(void) {
  return &info;
}

uint64_t ram_top(void) {
  uint64_t top = 0;
  for (size_t i = 0; i < info.region_count; i++)
    if (regions[i].type == MEMORY_RAM && regions[i].base + regions[i].length > top)
      top = regions[i].base + regions[i].length;
  return top;
}

bool cmdline_value(const char* key, char* buf, size_t size) {
  size_t key_len = strlen(key);
  for (const char* p = cmdline; *p;) {
    while (*p == ' ') p++;
    const char* word = p;
    while (*p && *p != ' ') p++;
    if ((size_t)(p - word) > key_len && !strncmp(word, key, key_len) && word[key_len] == '=') {
      size_t n = 0;
      for (const char* v = word + key_len + 1; v < p && n + 1 < size; v++) buf[n++] = *v;
      buf[n] = '\0';
      return true;
    }
  }
  return false;
}

bool cmdline_u64(const char* key, uint64_t* value) {
  char text[32];
  return cmdline_value(key, text, sizeof(text)) && parse_u64(text, value);
}
