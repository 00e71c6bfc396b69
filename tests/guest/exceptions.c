/* exceptions: #DE, #UD, #GP and #PF reach the guest's own IDT with the right vector, RIP, error
 * code (and CR2), in ring 0 and ring 3, and the guest resumes after each.
 *
 * Software interrupts (int3, int n) are deliberately not tested here: the build host's
 * /dev/kvm cannot emulate int3 at CPL0 (KVM_EXIT_INTERNAL_ERROR, emulation suberror 1) and
 * turns int n at CPL3 into #UD, so they would turn this whole guest into a listed platform
 * limitation there and hide the results that do work. They belong in a guest of their own. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define VECTOR_DE 0
#define VECTOR_UD 6
#define VECTOR_GP 13
#define VECTOR_PF 14

#define PF_PRESENT 0x1
#define PF_WRITE 0x2
#define PF_USER 0x4

/* Probe address for #PF: inside the 4 GiB identity map, outside the image; its 2 MiB page is
 * unmapped (or made supervisor-only) around each probe. */
#define PF_PAGE 0x40000000ul
#define PF_ADDRESS (PF_PAGE + 0x1238)
#define BAD_SELECTOR 0x48 /* past the end of the GDT */

/* Written by each trap site just before its faulting instruction: where it is (label 1) and
 * where execution goes on (label 2). */
uint64_t trap_site_rip __attribute__((used));
uint64_t trap_resume_rip __attribute__((used));
#define TRAP_SITE_LABELS                 \
  "leaq 1f(%%rip), %%rax\n\t"            \
  "movq %%rax, trap_site_rip(%%rip)\n\t" \
  "leaq 2f(%%rip), %%rax\n\t"            \
  "movq %%rax, trap_resume_rip(%%rip)\n\t"

struct trap_record {
  unsigned count;
  uint64_t vector, rip, error_code, cs, cr2;
};
static struct trap_record seen;

static bool record_and_skip(struct trap_frame* frame) {
  seen.count++;
  seen.vector = frame->vector;
  seen.rip = frame->rip;
  seen.error_code = frame->error_code;
  seen.cs = frame->cs;
  seen.cr2 = read_cr2();
  frame->rip = trap_resume_rip;
  return true;
}

static void divide_by_zero(void) {
  __asm__ volatile(TRAP_SITE_LABELS
                   "xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\txorl %%edx, %%edx\n\t"
                   "1: divl %%ecx\n2:"
                   :
                   :
                   : "rax", "rcx", "rdx", "memory");
}

static void undefined_opcode(void) {
  __asm__ volatile(TRAP_SITE_LABELS "1: ud2\n2:" : : : "rax", "memory");
}

static void non_canonical_load(void) {
  __asm__ volatile(TRAP_SITE_LABELS
                   "movabsq $0x8000000000001000, %%rcx\n\t1: movq (%%rcx), %%rcx\n2:"
                   :
                   :
                   : "rax", "rcx", "memory");
}

static void bad_segment_load(void) {
  __asm__ volatile(TRAP_SITE_LABELS "movl %0, %%ecx\n\t1: movl %%ecx, %%ds\n2:"
                   :
                   : "i"(BAD_SELECTOR)
                   : "rax", "rcx", "memory");
}

static void read_probe(void) {
  __asm__ volatile(TRAP_SITE_LABELS "1: movq (%0), %%rcx\n2:"
                   :
                   : "r"(PF_ADDRESS)
                   : "rax", "rcx", "memory");
}

static void write_probe(void) {
  __asm__ volatile(TRAP_SITE_LABELS "1: movq %%rcx, (%0)\n2:"
                   :
                   : "r"(PF_ADDRESS)
                   : "rax", "rcx", "memory");
}

static void privileged_instruction(void) {
  __asm__ volatile(TRAP_SITE_LABELS "1: hlt\n2:" : : : "rax", "memory");
}

/* Ring-3 wrappers: run one trap site, then report that ring 3 went on after it. */
static uint64_t user_read_probe(void* arg) {
  (void)arg;
  read_probe();
  return 1;
}
static uint64_t user_undefined_opcode(void* arg) {
  (void)arg;
  undefined_opcode();
  return 1;
}
static uint64_t user_privileged_instruction(void* arg) {
  (void)arg;
  privileged_instruction();
  return 1;
}

struct expectation {
  const char* name;
  uint64_t vector, error_code, cs;
  bool check_cr2;
};

static void check(const struct expectation* e, bool resumed) {
  uint64_t want_rip = trap_site_rip; /* faults report the faulting instruction */
  bool ok = seen.count == 1 && seen.vector == e->vector && seen.rip == want_rip &&
            seen.error_code == e->error_code && seen.cs == e->cs &&
            (!e->check_cr2 || seen.cr2 == PF_ADDRESS) && resumed;
  printf("  %s: %u trap(s), vector %lu, RIP %#lx (want %#lx), error %#lx, CS %#lx, CR2 %#lx%s\n",
         e->name, seen.count, seen.vector, seen.rip, want_rip, seen.error_code, seen.cs, seen.cr2,
         resumed ? ", resumed" : ", did not resume");
  reportf(ok, "%s", e->name);
  seen = (struct trap_record){0};
}

static void run_ring0(const struct expectation* e, void (*site)(void)) {
  site();
  check(e, true);
}

static void run_ring3(const struct expectation* e, uint64_t (*site)(void*)) {
  check(e, run_at_cpl3(site, NULL) == 1);
}

/* Sets the 2 MiB page at PF_PAGE to (original & ~clear_bits) for one probe. */
static void run_with_page_bits_cleared(uint64_t clear_bits, const struct expectation* e,
                                       void (*ring0_site)(void), uint64_t (*ring3_site)(void*)) {
  uint64_t* pde = pde_for(PF_PAGE);
  uint64_t saved = *pde;
  *pde = saved & ~clear_bits;
  invlpg(PF_ADDRESS);
  if (ring0_site)
    run_ring0(e, ring0_site);
  else
    run_ring3(e, ring3_site);
  *pde = saved;
  invlpg(PF_ADDRESS);
}

#define EXPECT(...) (&(struct expectation){__VA_ARGS__})

void guest_main(void) {
  const uint8_t vectors[] = {VECTOR_DE, VECTOR_UD, VECTOR_GP, VECTOR_PF};
  for (size_t i = 0; i < sizeof(vectors); i++) set_trap_handler(vectors[i], record_and_skip);

  run_ring0(EXPECT(.name = "#DE divide by zero (ring 0)", .vector = VECTOR_DE, .cs = KERNEL_CS),
            divide_by_zero);
  run_ring0(EXPECT(.name = "#UD ud2 (ring 0)", .vector = VECTOR_UD, .cs = KERNEL_CS),
            undefined_opcode);
  run_ring0(EXPECT(.name = "#GP non-canonical load (ring 0)", .vector = VECTOR_GP, .cs = KERNEL_CS),
            non_canonical_load);
  run_ring0(EXPECT(.name = "#GP selector past the GDT limit, error code = selector (ring 0)",
                   .vector = VECTOR_GP, .error_code = BAD_SELECTOR, .cs = KERNEL_CS),
            bad_segment_load);
  run_with_page_bits_cleared(
      PTE_PRESENT,
      EXPECT(.name = "#PF read of a not-present page (ring 0)", .vector = VECTOR_PF,
             .error_code = 0, .cs = KERNEL_CS, .check_cr2 = true),
      read_probe, NULL);
  run_with_page_bits_cleared(
      PTE_PRESENT,
      EXPECT(.name = "#PF write to a not-present page (ring 0)", .vector = VECTOR_PF,
             .error_code = PF_WRITE, .cs = KERNEL_CS, .check_cr2 = true),
      write_probe, NULL);
  run_with_page_bits_cleared(
      PTE_PRESENT,
      EXPECT(.name = "#PF read of a not-present page (ring 3)", .vector = VECTOR_PF,
             .error_code = PF_USER, .cs = USER_CS, .check_cr2 = true),
      NULL, user_read_probe);
  run_with_page_bits_cleared(
      PTE_USER,
      EXPECT(.name = "#PF read of a supervisor-only page (ring 3)", .vector = VECTOR_PF,
             .error_code = PF_USER | PF_PRESENT, .cs = USER_CS, .check_cr2 = true),
      NULL, user_read_probe);
  run_ring3(EXPECT(.name = "#UD ud2 (ring 3)", .vector = VECTOR_UD, .cs = USER_CS),
            user_undefined_opcode);
  run_ring3(EXPECT(.name = "#GP hlt (ring 3)", .vector = VECTOR_GP, .cs = USER_CS),
            user_privileged_instruction);

  /* The probe page is mapped again: reading it must not fault any more. */
  read_probe();
  report("probe page readable again after the #PF tests", seen.count == 0);
}
