/* Descriptor tables: TSS (ring-0 stack for traps from ring 3), IDT, and the trap dispatcher. */
#include "io.h"
#include "runtime.h"

#define TSS_SELECTOR 0x28
#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate */
#define VECTOR_UD 6

struct tss64 {
  uint32_t reserved0;
  uint64_t rsp0, rsp1, rsp2;
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
  /* One bit per port, all clear: ring 3 may use every port. The byte after the bitmap must
   * be all ones (SDM 19.5.2). */
  uint8_t io_permission[65536 / 8 + 1];
} __attribute__((packed));

struct idt_gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
} __attribute__((packed));

struct descriptor_pointer {
  uint16_t limit;
  uint64_t base;
} __attribute__((packed));

extern char trap_stubs[];
extern char cpl3_exit[];
void cpl3_finish(uint64_t value) __attribute__((noreturn));
void trap_dispatch(struct trap_frame* frame);
extern uint64_t gdt_tss_descriptor[2];

struct tss64 kernel_tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler handlers[256];

static void set_gate(uint8_t vector, const void* target, uint8_t type_attr) {
  uint64_t offset = (uint64_t)target;
  idt[vector] = (struct idt_gate){
      .offset_low = (uint16_t)offset,
      .selector = KERNEL_CS,
      .ist = 0,
      .type_attr = type_attr,
      .offset_mid = (uint16_t)(offset >> 16),
      .offset_high = (uint32_t)(offset >> 32),
      .reserved = 0,
  };
}

static void load_tss(void) {
  uint64_t base = (uint64_t)&kernel_tss;
  uint64_t limit = sizeof(kernel_tss) - 1;
  kernel_tss.iomap_base = offsetof(struct tss64, io_permission);
  kernel_tss.io_permission[sizeof(kernel_tss.io_permission) - 1] = 0xff;
  gdt_tss_descriptor[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                          (0x89ull << 40) /* present, available 64-bit TSS */ |
                          (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
  gdt_tss_descriptor[1] = base >> 32;
  __asm__ volatile("ltr %w0" : : "r"(TSS_SELECTOR));
}

static void lidt(void) {
  struct descriptor_pointer pointer = {sizeof(idt) - 1, (uint64_t)idt};
  __asm__ volatile("lidt %0" : : "m"(pointer));
}

static void load_idt(void) {
  for (int v = 0; v < 256; v++) set_gate((uint8_t)v, trap_stubs + 16 * v, GATE_INTERRUPT);
  lidt();
}

void cpu_init(void) {
  load_tss();
  load_idt();
}

/* An AP (smp.c) shares the BSP's IDT; it never goes to ring 3, so it needs no TSS. */
void cpu_init_ap(void) {
  lidt();
}

void set_trap_handler(uint8_t vector, trap_handler handler) {
  handlers[vector] = handler;
}

void trap_dispatch(struct trap_frame* frame) {
  /* The end of a run_at_cpl3 call (see traps.S), not an error. */
  if (frame->vector == VECTOR_UD && frame->rip == (uint64_t)cpl3_exit && (frame->cs & 3) == 3)
    cpl3_finish(frame->rdi);
  trap_handler handler = handlers[frame->vector & 0xff];
  if (handler && handler(frame)) return;
  printf("unexpected exception %lu at RIP %#lx error code %#lx (CS %#lx, RSP %#lx, CR2 %#lx)\n",
         frame->vector, frame->rip, frame->error_code, frame->cs, frame->rsp, read_cr2());
  exit(EXIT_UNEXPECTED_TRAP);
}
