/* fw_cfg: QEMU's firmware configuration interface (selector 0x510, data 0x511): signature, ID,
 * CPU counts, RAM size, the file directory, and etc/e820 against the multiboot memory map. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define KEY_SIGNATURE 0x00
#define KEY_ID 0x01
#define KEY_RAM_SIZE 0x03
#define KEY_NB_CPUS 0x05
#define KEY_MAX_CPUS 0x0f
#define KEY_FILE_DIR 0x19
#define FIRST_FILE_KEY 0x20
#define ID_TRADITIONAL 0x1
#define MAX_FILES 256
#define FILE_NAME_SIZE 56
#define E820_ENTRY_SIZE 20
#define MAX_E820 32
#define MIB (1ul << 20)
#define GIB (1ul << 30)

struct fw_file {
  uint32_t size;
  uint16_t key;
  char name[FILE_NAME_SIZE];
};

static struct fw_file files[MAX_FILES];
static uint32_t file_count;
static struct memory_region e820[MAX_E820];
static size_t e820_count;

static void fw_select(uint16_t key) {
  outw(FW_CFG_SELECTOR, key);
}

static void fw_read(void* buf, size_t len) {
  uint8_t* p = buf;
  while (len--) *p++ = inb(FW_CFG_DATA);
}

static uint64_t fw_read_le(uint16_t key, size_t bytes) {
  uint8_t b[8] = {0};
  fw_select(key);
  fw_read(b, bytes);
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

static uint64_t le(const uint8_t* b, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

static uint32_t be(const uint8_t* b, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; i++) v = v << 8 | b[i];
  return v;
}

static void check_identity(void) {
  char signature[5] = {0};
  fw_select(KEY_SIGNATURE);
  fw_read(signature, 4);
  printf("  signature \"%s\"\n", signature);
  report("signature is \"QEMU\"", memcmp(signature, "QEMU", 4) == 0);
  uint32_t id = (uint32_t)fw_read_le(KEY_ID, 4);
  printf("  id %#x\n", id);
  report("ID has the traditional interface bit", id & ID_TRADITIONAL);
}

static void check_cpus(void) {
  uint64_t expected = 1;
  cmdline_u64("cpus", &expected);
  uint64_t cpus = fw_read_le(KEY_NB_CPUS, 2), max_cpus = fw_read_le(KEY_MAX_CPUS, 2);
  printf("  CPUs %lu, max CPUs %lu\n", cpus, max_cpus);
  reportf(cpus == expected, "CPU count is %lu", expected);
  report("max CPUs >= CPU count", max_cpus >= cpus);
}

static size_t strnlen_bounded(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n]) n++;
  return n;
}

/* Directory: be32 count, then {be32 size, be16 key, be16 reserved, char name[56]}. */
static bool read_directory(void) {
  uint8_t count[4];
  fw_select(KEY_FILE_DIR);
  fw_read(count, 4);
  file_count = be(count, 4);
  printf("  %u files\n", file_count);
  if (file_count == 0 || file_count > MAX_FILES) return false;
  bool ok = true;
  for (uint32_t i = 0; i < file_count; i++) {
    uint8_t entry[8 + FILE_NAME_SIZE];
    fw_read(entry, sizeof(entry));
    struct fw_file* f = &files[i];
    f->size = be(entry, 4);
    f->key = (uint16_t)be(entry + 4, 2);
    memcpy(f->name, entry + 8, FILE_NAME_SIZE);
    bool terminated = strnlen_bounded(f->name, FILE_NAME_SIZE) < FILE_NAME_SIZE;
    if (!terminated) f->name[FILE_NAME_SIZE - 1] = '\0';
    printf("    %#06x %6u %s\n", f->key, f->size, f->name);
    ok = ok && terminated && f->name[0] && f->key >= FIRST_FILE_KEY;
  }
  return ok;
}

static const struct fw_file* find_file(const char* name) {
  for (uint32_t i = 0; i < file_count; i++)
    if (strcmp(files[i].name, name) == 0) return &files[i];
  return NULL;
}

static bool keys_unique(void) {
  for (uint32_t i = 0; i < file_count; i++)
    for (uint32_t j = i + 1; j < file_count; j++)
      if (files[i].key == files[j].key) return false;
  return true;
}

/* etc/e820: {le64 address, le64 length, le32 type} per entry, packed. */
static bool read_e820(const struct fw_file* f) {
  if (f->size == 0 || f->size % E820_ENTRY_SIZE || f->size / E820_ENTRY_SIZE > MAX_E820)
    return false;
  fw_select(f->key);
  e820_count = f->size / E820_ENTRY_SIZE;
  for (size_t i = 0; i < e820_count; i++) {
    uint8_t entry[E820_ENTRY_SIZE];
    fw_read(entry, sizeof(entry));
    e820[i] = (struct memory_region){le(entry, 8), le(entry + 8, 8), (uint32_t)le(entry + 16, 4)};
    printf("    %#014lx-%#014lx type %u\n", e820[i].base, e820[i].base + e820[i].length - 1,
           e820[i].type);
  }
  return true;
}

static bool inside_e820_ram(uint64_t start, uint64_t end) {
  for (size_t i = 0; i < e820_count; i++)
    if (e820[i].type == MEMORY_RAM && e820[i].base <= start && end <= e820[i].base + e820[i].length)
      return true;
  return false;
}

/* Bytes of [start, end) that the multiboot map lists with the given type (any type if 0). */
static uint64_t multiboot_bytes(uint64_t start, uint64_t end, uint32_t type) {
  const struct boot_info* info = boot_info();
  uint64_t total = 0;
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    if (type && r->type != type) continue;
    uint64_t lo = r->base > start ? r->base : start;
    uint64_t hi = r->base + r->length < end ? r->base + r->length : end;
    if (lo < hi) total += hi - lo;
  }
  return total;
}

/* How the three views of RAM relate, on QEMU and on kagami alike:
 * - QEMU's etc/e820 lists RAM below 4 GiB as one entry from 0 (SeaBIOS carves the legacy
 *   holes out later); kagami's lists the holes below 1 MiB already. Both agree that the RAM
 *   size (key 0x03) is the top of RAM below 4 GiB plus all RAM above 4 GiB.
 * - The multiboot map comes from the firmware (QEMU: SeaBIOS's E820, which also reserves
 *   128 KiB at the top of low RAM for its tables) or from the VMM (kagami: the same map as
 *   etc/e820). Firmware may reclassify RAM, never invent it: every multiboot RAM byte is
 *   etc/e820 RAM, every etc/e820 RAM byte from 1 MiB up is still in the multiboot map (with
 *   less than 1 MiB of it reclassified), and RAM above 4 GiB is identical. */
static void check_ram(uint64_t ram_size) {
  uint64_t low_top = 0, high = 0, above_1m = 0, above_1m_ram = 0, above_1m_listed = 0;
  for (size_t i = 0; i < e820_count; i++) {
    const struct memory_region* r = &e820[i];
    if (r->type != MEMORY_RAM) continue;
    uint64_t end = r->base + r->length;
    if (r->base >= 4 * GIB)
      high += r->length;
    else if (end > low_top)
      low_top = end;
    uint64_t lo = r->base > MIB ? r->base : MIB;
    if (lo < end) {
      above_1m += end - lo;
      above_1m_ram += multiboot_bytes(lo, end, MEMORY_RAM);
      above_1m_listed += multiboot_bytes(lo, end, 0);
    }
  }
  printf("  RAM size %#lx; etc/e820: low RAM top %#lx, %#lx above 4 GiB\n", ram_size, low_top,
         high);
  report("RAM size = top of etc/e820 RAM below 4 GiB + etc/e820 RAM above 4 GiB",
         ram_size == low_top + high);

  const struct boot_info* info = boot_info();
  bool contained = info->region_count > 0;
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    if (r->type == MEMORY_RAM && !inside_e820_ram(r->base, r->base + r->length)) {
      printf("  multiboot RAM %#lx-%#lx is not etc/e820 RAM\n", r->base, r->base + r->length - 1);
      contained = false;
    }
  }
  report("every multiboot RAM region is etc/e820 RAM", contained);
  printf("  etc/e820 RAM from 1 MiB: %lu KiB; multiboot lists %lu KiB of it, %lu KiB as RAM\n",
         above_1m >> 10, above_1m_listed >> 10, above_1m_ram >> 10);
  report("etc/e820 RAM from 1 MiB up is all in the multiboot map, under 1 MiB of it not RAM",
         above_1m_listed == above_1m && above_1m - above_1m_ram < MIB);
  report("RAM above 4 GiB is the same in both maps",
         multiboot_bytes(4 * GIB, ~0ul, MEMORY_RAM) == high);
}

void guest_main(void) {
  check_identity();
  check_cpus();
  uint64_t ram_size = fw_read_le(KEY_RAM_SIZE, 8);
  printf("  RAM size %lu MiB\n", ram_size / MIB);

  bool directory_ok = read_directory();
  report("file directory parses (count sane, names non-empty and NUL-terminated, keys >= 0x20)",
         directory_ok);
  report("file keys are unique", keys_unique());
  const struct fw_file* e820_file = find_file("etc/e820");
  report("etc/e820 is in the directory", e820_file != NULL);
  if (!e820_file) return;
  bool e820_ok = read_e820(e820_file);
  report("etc/e820 is a whole number of 20-byte entries", e820_ok);
  if (e820_ok) check_ram(ram_size);
}
