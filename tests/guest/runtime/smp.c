/* AP start-up with INIT-SIPI-SIPI: one AP at a time, each on a stack of its own. */
#include "apic.h"
#include "io.h"

#define TRAMPOLINE_BASE 0x8000
#define AP_STACK_SIZE 16384
#define INIT_DELAY_CYCLES 30000000ull /* ~10 ms, the SDM's wait after INIT */
#define SIPI_DELAY_CYCLES 1000000ull  /* ~300 us, above the SDM's 200 us between SIPIs */

extern char ap_trampoline[], ap_trampoline_end[];
void ap_main(void);
void cpu_init_ap(void);

/* Read by the trampoline and ap_main() for the AP being started (one at a time). */
uint64_t ap_boot_stack;
static void (*volatile ap_fn)(unsigned index);
static volatile unsigned ap_index;
static volatile unsigned cpus_online = 1;
static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

void ap_main(void) {
  unsigned index = ap_index;
  void (*fn)(unsigned) = ap_fn;
  cpu_init_ap();
  apic_write(APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
  __atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
  fn(index);
}

static void delay(uint64_t cycles) {
  uint64_t start = rdtsc();
  while (rdtsc() - start < cycles) cpu_relax();
}

static bool wait_online(unsigned count, uint64_t cycles) {
  uint64_t start = rdtsc();
  while (cpus_online < count && rdtsc() - start < cycles) cpu_relax();
  return cpus_online >= count;
}

unsigned smp_start_aps(unsigned cpus, void (*fn)(unsigned index)) {
  if (cpus > MAX_CPUS) cpus = MAX_CPUS;
  memcpy((void*)TRAMPOLINE_BASE, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
  ap_fn = fn;
  for (unsigned i = 1; i < cpus; i++) {
    unsigned before = cpus_online;
    ap_index = i;
    ap_boot_stack = (uint64_t)&ap_stacks[i][AP_STACK_SIZE];
    apic_send_ipi(i, ICR_INIT | ICR_ASSERT);
    delay(INIT_DELAY_CYCLES);
    for (int sipi = 0; sipi < 2 && cpus_online == before; sipi++) {
      apic_send_ipi(i, ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE_BASE >> 12));
      wait_online(before + 1, SIPI_DELAY_CYCLES);
    }
    if (!wait_online(before + 1, WAIT_EVENT_CYCLES)) {
      printf("smp: AP %u did not come online\n", i);
      break;
    }
  }
  return cpus_online;
}
