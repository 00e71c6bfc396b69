/* The identity map: boot.S maps 0..4 GiB; here page directories from the bss pool extend it
 * over RAM above 4 GiB, so every byte of guest RAM is reachable. */
#include "io.h"
#include "runtime.h"

#define GIB (1ull << 30)
#define PAGE_2M (1ull << 21)
#define PDE_RAM (PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_LARGE)
#define PDPTE_TABLE (PTE_PRESENT | PTE_WRITE | PTE_USER)

extern uint64_t boot_pdpt[512];
extern uint64_t high_pd_pool[][512];
extern const uint32_t high_pd_pool_pages;
extern char __image_start[], __image_end[];

static uint64_t limit = 4 * GIB;

/* One 512-entry loop per GiB: cheap even where ring 0 is interpreted. */
void paging_init(void) {
  uint64_t top = ram_top();
  uint64_t max = (4 + (uint64_t)high_pd_pool_pages) * GIB;
  if (top > max) {
    printf("warning: RAM up to %#lx, but only %#lx can be mapped\n", top, max);
    top = max;
  }
  for (uint64_t gib = 4; gib * GIB < top; gib++) {
    uint64_t* pd = high_pd_pool[gib - 4];
    for (uint64_t i = 0; i < 512; i++) pd[i] = (gib * GIB + i * PAGE_2M) | PDE_RAM;
    boot_pdpt[gib] = (uint64_t)pd | PDPTE_TABLE;
    limit = (gib + 1) * GIB;
  }
  write_cr3(read_cr3());
}

uint64_t mapped_limit(void) {
  return limit;
}

uint64_t* pde_for(uint64_t addr) {
  uint64_t pdpte = boot_pdpt[addr / GIB];
  uint64_t* pd = (uint64_t*)(pdpte & ~0xfffull);
  return &pd[(addr / PAGE_2M) % 512];
}

uint64_t image_start(void) {
  return (uint64_t)__image_start;
}
uint64_t image_end(void) {
  return (uint64_t)__image_end;
}
