/* ipi: self-IPIs (ICR shorthand, x2APIC SELF_IPI) and IPIs between vCPUs: the APs started with
 * INIT-SIPI-SIPI, a fixed IPI to each that it answers with one back, broadcasts (all but self,
 * all including self), logical (flat) destinations, lowest priority, and NMI (SDM 11.6).
 * run-guest: --cpus 4 */
#include "runtime/apic.h"
#include "runtime/io.h"
#include "runtime/runtime.h"

#define PING_VECTOR 0x50
/* Each AP answers on a vector of its own: answers that arrive together on one vector would
 * merge in the BSP's IRR (one bit per vector), as on hardware. */
#define PONG_VECTOR 0x60
#define SELF_VECTOR 0x52
#define NMI_VECTOR 2
#define LDR_FLAT_DFR 0xffffffffu

static volatile unsigned pings[MAX_CPUS]; /* pings each CPU took, by APIC ID */
static volatile unsigned pongs;           /* answers the BSP took */
static volatile unsigned pongs_from[MAX_CPUS];
static volatile unsigned self_hits;
static volatile unsigned nmis[MAX_CPUS];
static volatile unsigned ap_apic_ids[MAX_CPUS];

/* On an AP: count the ping and answer the BSP. On the BSP: only count (it must get none). */
static bool ping(struct trap_frame* frame) {
  (void)frame;
  unsigned id = apic_id();
  if (id < MAX_CPUS) __atomic_add_fetch(&pings[id], 1, __ATOMIC_SEQ_CST);
  apic_eoi();
  if (id != 0 && id < MAX_CPUS) apic_send_ipi(0, ICR_FIXED | (PONG_VECTOR + id));
  return true;
}

/* An NMI needs no EOI; the AP answers it with a fixed IPI as it does a ping. */
static bool nmi(struct trap_frame* frame) {
  (void)frame;
  unsigned id = apic_id();
  if (id < MAX_CPUS) __atomic_add_fetch(&nmis[id], 1, __ATOMIC_SEQ_CST);
  if (id != 0 && id < MAX_CPUS) apic_send_ipi(0, ICR_FIXED | (PONG_VECTOR + id));
  return true;
}

static bool pong(struct trap_frame* frame) {
  pongs_from[frame->vector - PONG_VECTOR]++;
  pongs++;
  apic_eoi();
  return true;
}

static bool self_ipi(struct trap_frame* frame) {
  (void)frame;
  self_hits++;
  apic_eoi();
  return true;
}

/* Each AP: flat logical ID bit = its index, then sleep until an IPI comes. */
static void ap_idle(unsigned index) {
  ap_apic_ids[index] = apic_id();
  apic_write(APIC_DFR, LDR_FLAT_DFR);
  apic_write(APIC_LDR, (1u << index) << 24);
  for (;;) __asm__ volatile("sti; hlt; cli" : : : "memory");
}

static void reset_counts(void) {
  for (unsigned i = 0; i < MAX_CPUS; i++) pings[i] = pongs_from[i] = nmis[i] = 0;
  pongs = 0;
}

/* Each CPU i in targets took one ping and answered once; nobody else took one. */
static bool only_targets_pinged(unsigned cpus, unsigned targets) {
  bool ok = pings[0] == 0;
  for (unsigned i = 1; i < cpus; i++)
    ok &= pings[i] == ((targets >> i) & 1) && pongs_from[i] == ((targets >> i) & 1);
  if (!ok)
    for (unsigned i = 0; i < cpus; i++)
      printf("  CPU %u took %u pings, answered %u times\n", i, pings[i], pongs_from[i]);
  return ok;
}

static void check_self_ipi(const char* mode) {
  self_hits = 0;
  apic_send_ipi(0, ICR_SELF | ICR_FIXED | SELF_VECTOR);
  bool ok = wait_for_count(&self_hits, 1, WAIT_EVENT_CYCLES);
  reportf(ok, "%s: self-IPI through the ICR shorthand arrives at vector %#x", mode, SELF_VECTOR);
  apic_send_ipi(apic_id(), ICR_FIXED | SELF_VECTOR);
  ok = wait_for_count(&self_hits, 2, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && self_hits == 2, "%s: IPI to the own APIC ID arrives once (%u in all)", mode,
          self_hits);
}

static void check_fixed_each(unsigned cpus, const char* mode) {
  for (unsigned i = 1; i < cpus; i++) {
    reset_counts();
    apic_send_ipi(i, ICR_FIXED | PING_VECTOR);
    bool answered = wait_for_count(&pongs, 1, WAIT_EVENT_CYCLES);
    spin_with_interrupts(QUIET_CYCLES / 4);
    reportf(answered && pongs == 1 && only_targets_pinged(cpus, 1u << i),
            "%s: fixed IPI to APIC ID %u, which answers with an IPI back", mode, i);
  }
}

static void check_broadcast(unsigned cpus) {
  reset_counts();
  apic_send_ipi(0, ICR_ALL_BUT_SELF | ICR_FIXED | PING_VECTOR);
  bool answered = wait_for_count(&pongs, cpus - 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(answered && pongs == cpus - 1 && only_targets_pinged(cpus, ((1u << cpus) - 1) & ~1u),
          "broadcast to all but self reaches each AP once and not the sender (%u answers)", pongs);
}

static void check_broadcast_including_self(unsigned cpus) {
  reset_counts();
  apic_send_ipi(0, ICR_ALL_INCLUDING_SELF | ICR_FIXED | PING_VECTOR);
  bool answered = wait_for_count(&pongs, cpus - 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  bool each_ap = true;
  for (unsigned i = 1; i < cpus; i++) each_ap &= pings[i] == 1 && pongs_from[i] == 1;
  reportf(answered && each_ap && pings[0] == 1 && pongs == cpus - 1,
          "broadcast to all including self reaches every CPU once (sender %u, %u answers)",
          pings[0], pongs);
}

/* Lowest priority to every AP (equal task priorities): exactly one of them takes it. */
static void check_lowest_priority(unsigned cpus) {
  unsigned targets = ((1u << cpus) - 1) & ~1u;
  reset_counts();
  apic_send_ipi(targets, ICR_LOGICAL | ICR_LOWEST_PRIORITY | PING_VECTOR);
  bool answered = wait_for_count(&pongs, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  unsigned taken = 0;
  for (unsigned i = 0; i < cpus; i++) taken += pings[i];
  reportf(answered && pongs == 1 && taken == 1 && pings[0] == 0,
          "lowest priority to logical %#x reaches exactly one AP (%u pings, %u answers)", targets,
          taken, pongs);
}

static void check_nmi(unsigned cpus) {
  unsigned target = cpus - 1;
  reset_counts();
  apic_send_ipi(target, ICR_NMI);
  bool answered = wait_for_count(&pongs, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  bool only_target = true;
  for (unsigned i = 0; i < cpus; i++) only_target &= nmis[i] == (i == target) && pings[i] == 0;
  reportf(answered && pongs == 1 && only_target, "NMI IPI to APIC ID %u arrives as an NMI there",
          target);
}

static void check_logical(unsigned cpus) {
  unsigned targets = 0;
  for (unsigned i = 1; i < cpus; i += 2) targets |= 1u << i; /* the odd APs */
  unsigned expected = (unsigned)__builtin_popcount(targets);
  reset_counts();
  apic_send_ipi(targets, ICR_LOGICAL | ICR_FIXED | PING_VECTOR);
  bool answered = wait_for_count(&pongs, expected, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(answered && pongs == expected && only_targets_pinged(cpus, targets),
          "logical flat destination %#x reaches exactly those APs (%u answers)", targets, pongs);
}

static void check_x2apic(unsigned cpus) {
  if (!apic_enable_x2apic()) {
    report_skip("x2APIC self-IPI and ICR", "CPUID.1:ECX[21] is clear on this platform");
    return;
  }
  check_self_ipi("x2APIC");
  self_hits = 0;
  apic_write(APIC_SELF_IPI, SELF_VECTOR);
  bool ok = wait_for_count(&self_hits, 1, WAIT_EVENT_CYCLES);
  spin_with_interrupts(QUIET_CYCLES);
  reportf(ok && self_hits == 1, "x2APIC: SELF_IPI MSR delivers vector %#x once (%u)", SELF_VECTOR,
          self_hits);
  if (cpus > 1) check_fixed_each(cpus, "x2APIC");
}

void guest_main(void) {
  set_trap_handler(PING_VECTOR, ping);
  for (unsigned i = 1; i < MAX_CPUS; i++) set_trap_handler((uint8_t)(PONG_VECTOR + i), pong);
  set_trap_handler(SELF_VECTOR, self_ipi);
  set_trap_handler(NMI_VECTOR, nmi);
  apic_init();
  apic_write(APIC_DFR, LDR_FLAT_DFR);
  apic_write(APIC_LDR, 1u << 24);
  check_self_ipi("xAPIC");

  unsigned cpus = fw_cfg_cpu_count();
  reportf(cpus >= 2 && cpus <= MAX_CPUS, "fw_cfg reports %u CPUs (this guest wants 2..%d)", cpus,
          MAX_CPUS);
  if (cpus < 2 || cpus > MAX_CPUS) return;
  unsigned online = smp_start_aps(cpus, ap_idle);
  reportf(online == cpus, "INIT-SIPI-SIPI brought %u of %u CPUs online", online, cpus);
  bool ids_ok = true;
  for (unsigned i = 1; i < online; i++) ids_ok &= ap_apic_ids[i] == i;
  reportf(ids_ok, "each AP has the APIC ID it was started by");
  if (online != cpus) return;

  check_fixed_each(cpus, "xAPIC");
  check_broadcast(cpus);
  check_broadcast_including_self(cpus);
  check_logical(cpus);
  check_lowest_priority(cpus);
  check_nmi(cpus);
  check_x2apic(cpus);
}
