/* pio_mmio: port and MMIO accesses of every width to the pc-testdev (QEMU's
 * hw/misc/pc-testdev.c, kagami --testdev), and reads of unassigned ports and MMIO. */
#include "runtime/io.h"
#include "runtime/runtime.h"

/* 0xe0..0xe3: one 32-bit register, accessed at (port & 3). 0xe8..0xeb: the same register,
 * with every access split into byte accesses. */
#define TESTDEV_PORT 0xe0
#define TESTDEV_BYTE_PORT 0xe8
/* 64 KiB of little-endian scratch memory. */
#define TESTDEV_MMIO 0xff000000ul
#define TESTDEV_MMIO_SIZE 0x10000ul

#define UNASSIGNED_PORT 0x3000
#define UNASSIGNED_MMIO 0xfe000000ul

static uint64_t width_mask(unsigned width) {
  return width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
}

static uint32_t port_read(uint16_t port, unsigned width) {
  switch (width) {
    case 1: return inb(port);
    case 2: return inw(port);
    default: return inl(port);
  }
}

static void port_write(uint16_t port, unsigned width, uint32_t value) {
  switch (width) {
    case 1: outb(port, (uint8_t)value); break;
    case 2: outw(port, (uint16_t)value); break;
    default: outl(port, value); break;
  }
}

/* What pc-testdev does with a write of `width` bytes at byte `offset` of its register. */
static uint32_t merge(uint32_t reg, unsigned offset, unsigned width, uint32_t value) {
  uint32_t mask = (uint32_t)(width_mask(width) << (8 * offset));
  return (reg & ~mask) | ((value << (8 * offset)) & mask);
}

/* Only naturally aligned accesses: QEMU's memory core refuses unaligned ones on this device
 * (its ops leave valid.unaligned false), and a real PC device would not decode them either. */
static bool register_reads_as(uint32_t expected) {
  const uint16_t windows[] = {TESTDEV_PORT, TESTDEV_BYTE_PORT};
  for (unsigned w = 0; w < 2; w++)
    for (unsigned width = 1; width <= 4; width *= 2)
      for (unsigned offset = 0; offset < 4; offset += width) {
        uint32_t got = port_read((uint16_t)(windows[w] + offset), width);
        uint32_t want = (uint32_t)((expected >> (8 * offset)) & width_mask(width));
        if (got != want) {
          printf("  port %#x width %u: read %#x, want %#x\n", windows[w] + offset, width, got,
                 want);
          return false;
        }
      }
  return true;
}

static void test_port_window(uint16_t window) {
  for (unsigned width = 1; width <= 4; width *= 2) {
    uint32_t model = 0x8badf00d;
    outl(TESTDEV_PORT, model);
    bool ok = register_reads_as(model);
    for (unsigned offset = 0; offset < 4 && ok; offset += width) {
      uint32_t value = 0x9e3779b9u * (width * 4 + offset + 1);
      port_write((uint16_t)(window + offset), width, value);
      model = merge(model, offset, width, value);
      ok = register_reads_as(model);
    }
    reportf(ok, "port %#x: %u-byte writes at each aligned offset merge into the register", window,
            width);
  }
}

static uint64_t mmio_read(uint64_t addr, unsigned width) {
  switch (width) {
    case 1: return mmio_read8(addr);
    case 2: return mmio_read16(addr);
    case 4: return mmio_read32(addr);
    default: return mmio_read64(addr);
  }
}

static void mmio_write(uint64_t addr, unsigned width, uint64_t value) {
  switch (width) {
    case 1: mmio_write8(addr, (uint8_t)value); break;
    case 2: mmio_write16(addr, (uint16_t)value); break;
    case 4: mmio_write32(addr, (uint32_t)value); break;
    default: mmio_write64(addr, value); break;
  }
}

/* 32 bytes of scratch memory at `offset` against a shadow copy, little-endian. */
#define AREA 32
static uint8_t shadow[AREA];

static void shadow_write(unsigned at, unsigned width, uint64_t value) {
  for (unsigned i = 0; i < width; i++) shadow[at + i] = (uint8_t)(value >> (8 * i));
}

static uint64_t shadow_read(unsigned at, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = 0; i < width; i++) value |= (uint64_t)shadow[at + i] << (8 * i);
  return value;
}

static bool area_reads_as_shadow(uint64_t base) {
  for (unsigned width = 1; width <= 8; width *= 2)
    for (unsigned at = 0; at < AREA; at += width) {
      uint64_t got = mmio_read(base + at, width), want = shadow_read(at, width);
      if (got != want) {
        printf("  MMIO %#lx width %u: read %#lx, want %#lx\n", base + at, width, got, want);
        return false;
      }
    }
  return true;
}

static void test_mmio_area(uint64_t offset) {
  uint64_t base = TESTDEV_MMIO + offset;
  for (unsigned at = 0; at < AREA; at += 8) {
    uint64_t value = 0x0123456789abcdefull ^ (offset + at);
    mmio_write64(base + at, value);
    shadow_write(at, 8, value);
  }
  bool ok = area_reads_as_shadow(base);
  for (unsigned width = 1; width <= 8 && ok; width *= 2)
    for (unsigned at = width; at < AREA && ok; at += 3 * width) {
      uint64_t value = 0xfedcba9876543210ull * (at + width) & width_mask(width);
      mmio_write(base + at, width, value);
      shadow_write(at, width, value);
      ok = area_reads_as_shadow(base);
    }
  reportf(ok, "MMIO %#lx: 1/2/4/8-byte writes and reads agree with a little-endian model", base);
}

static void test_unassigned_port(void) {
  outb(UNASSIGNED_PORT, 0x12);
  outl(UNASSIGNED_PORT, 0x12345678);
  uint32_t b = inb(UNASSIGNED_PORT), w = inw(UNASSIGNED_PORT), l = inl(UNASSIGNED_PORT);
  printf("  port %#x reads %#x / %#x / %#x\n", UNASSIGNED_PORT, b, w, l);
  reportf(b == 0xff && w == 0xffff && l == 0xffffffff,
          "unassigned port %#x reads all ones at every width, writes dropped", UNASSIGNED_PORT);
}

/* A real PC (master abort) and kagami read all ones from unassigned MMIO; QEMU 7.2 (TCG)
 * reads 0 there (its unassigned_mem_ops). So: every width reads back the same uniform value,
 * all ones or (QEMU only, told by the runner's vmm=qemu) all zeros, never what was written. */
static void test_unassigned_mmio(void) {
  char vmm[16] = "";
  cmdline_value("vmm", vmm, sizeof(vmm));
  bool zeros_allowed = strcmp(vmm, "qemu") == 0;
  mmio_write32(UNASSIGNED_MMIO, 0x12345678);
  bool ones = true, zeros = true;
  for (unsigned width = 1; width <= 8; width *= 2) {
    uint64_t value = mmio_read(UNASSIGNED_MMIO, width);
    printf("  MMIO %#lx width %u reads %#lx\n", UNASSIGNED_MMIO, width, value);
    ones = ones && value == width_mask(width);
    zeros = zeros && value == 0;
  }
  if (zeros_allowed)
    reportf(ones || zeros,
            "unassigned MMIO %#lx reads all ones or (QEMU) all zeros, writes dropped",
            UNASSIGNED_MMIO);
  else
    reportf(ones, "unassigned MMIO %#lx reads all ones at every width, writes dropped",
            UNASSIGNED_MMIO);
}

void guest_main(void) {
  test_port_window(TESTDEV_PORT);
  test_port_window(TESTDEV_BYTE_PORT);
  test_mmio_area(0);
  test_mmio_area(0x7ff0);
  test_mmio_area(TESTDEV_MMIO_SIZE - AREA);
  test_unassigned_port();
  test_unassigned_mmio();
}
