// SPDX-License-Identifier: GPL-2.0
/* stress: invalid and random ioctls on the system, VM and vCPU fds, and random guest state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "stress.h"

#define BUF_SIZE 0x10000
static uint8_t buf[BUF_SIZE];

/* The KVM ioctls each fd kind knows (KVM_SET_SIGNAL_MASK is left out: a random mask could block
 * the timer that ends KVM_RUN, turning every later case of this child into a timeout). */
static const unsigned long system_ioctls[] = {
    KVM_GET_API_VERSION,    KVM_CREATE_VM,
    KVM_GET_MSR_INDEX_LIST, KVM_CHECK_EXTENSION,
    KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
    KVM_GET_EMULATED_CPUID, KVM_GET_MSR_FEATURE_INDEX_LIST,
    KVM_GET_MSRS,
};
static const unsigned long vm_ioctls[] = {
    KVM_SET_USER_MEMORY_REGION,
    KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CHECK_EXTENSION,
    KVM_CREATE_VCPU,
    KVM_GET_DIRTY_LOG,
    KVM_ENABLE_CAP,
    KVM_IOEVENTFD,
    KVM_IRQFD,
    KVM_SET_CLOCK,
    KVM_GET_CLOCK,
    KVM_IRQ_LINE,
    KVM_CLEAR_DIRTY_LOG,
};
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,          KVM_GET_REGS,   KVM_SET_REGS,        KVM_GET_SREGS,       KVM_SET_SREGS,
    KVM_SET_CPUID2,   KVM_GET_CPUID2, KVM_GET_FPU,         KVM_SET_FPU,         KVM_GET_XSAVE,
    KVM_SET_XSAVE,    KVM_GET_XCRS,   KVM_SET_XCRS,        KVM_GET_MSRS,        KVM_SET_MSRS,
    KVM_INTERRUPT,    KVM_NMI,        KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_MP_STATE,
    KVM_SET_MP_STATE, KVM_TRANSLATE,  KVM_ENABLE_CAP,      KVM_SET_GUEST_DEBUG, KVM_CHECK_EXTENSION,
};

/* Half the time a known ioctl, else any number of KVM's type, sometimes of another type. */
static unsigned long random_ioctl(const unsigned long *known, size_t n) {
  if (rng_below(2)) return known[rng_below(n)];
  unsigned type = rng_below(8) ? KVMIO : (unsigned)rng_below(256);
  return _IOC(rng_below(4), type, rng_below(256), rng_below(_IOC_SIZEMASK + 1));
}

static void *random_arg(void) {
  rng_fill(buf, 4096);
  /* Small counts in the first words make array ioctls (nent, nmsrs) reach their loops. */
  if (rng_below(2)) ((uint32_t *)buf)[0] = (uint32_t)rng_below(rng_below(2) ? 8 : 0x1000);
  if (rng_below(8) == 0) return (void *)(uintptr_t)rng_interesting();
  return rng_pointer(buf, BUF_SIZE);
}

static void fuzz_fd(int fd, const unsigned long *known, size_t n, int first_free) {
  while (!case_time_up()) {
    ioctl(fd, random_ioctl(known, n), random_arg());
    close_from(first_free);
  }
}

int case_fuzz_system(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_spin, sizeof(guest_spin), 0)) return 1;
  fuzz_fd(t.sys, system_ioctls, sizeof(system_ioctls) / sizeof(*system_ioctls), t.vm + 1);
  tiny_vm_destroy(&t);
  return 0;
}

int case_fuzz_vm(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_spin, sizeof(guest_spin), 1)) return 1;
  int first_free = dup(0);
  close(first_free);
  fuzz_fd(t.vm, vm_ioctls, sizeof(vm_ioctls) / sizeof(*vm_ioctls), first_free);
  tiny_vm_destroy(&t);
  return 0;
}

int case_fuzz_vcpu(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_exits, sizeof(guest_exits), 1)) return 1;
  start_interrupt_timer(20000);
  int first_free = dup(0);
  close(first_free);
  fuzz_fd(t.vcpu[0], vcpu_ioctls, sizeof(vcpu_ioctls) / sizeof(*vcpu_ioctls), first_free);
  tiny_vm_destroy(&t);
  return 0;
}

/* Random slot ids, flags, sizes and addresses, overlapping or not; the guest keeps running. */
int case_slots(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1)) return 1;
  start_interrupt_timer(5000);
  while (!case_time_up()) {
    struct kvm_userspace_memory_region r = {
        .slot = rng_below(4) ? (uint32_t)rng_below(80) : (uint32_t)rng(),
        .flags = rng_below(3) ? (uint32_t)rng_below(4) : (uint32_t)rng(),
        .guest_phys_addr = rng_below(2) ? rng_below(64) << 12 : rng_interesting(),
        .memory_size = rng_below(2) ? rng_below(64) << 12 : rng_interesting(),
        .userspace_addr = (uintptr_t)(rng_below(2) ? t.mem + (rng_below(32) << 12)
                                                   : (uint8_t *)rng_pointer(buf, BUF_SIZE)),
    };
    if (rng_below(4) == 0) r.userspace_addr = rng_interesting();
    ioctl(t.vm, KVM_SET_USER_MEMORY_REGION, &r);
    if (rng_below(4) == 0) ioctl(t.vcpu[0], KVM_RUN, 0);
  }
  tiny_vm_destroy(&t);
  return 0;
}

/* KVM_SET_CPUID2 with small, exact, huge and lying entry counts; KVM_GET_CPUID2 likewise. */
int case_cpuid(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_exits, sizeof(guest_exits), 1)) return 1;
  start_interrupt_timer(20000);
  size_t max_nent = (BUF_SIZE - sizeof(struct kvm_cpuid2)) / sizeof(struct kvm_cpuid_entry2);
  while (!case_time_up()) {
    struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)buf;
    rng_fill(buf, BUF_SIZE);
    static const uint32_t counts[] = {0, 1, 255, 256, 257, 4096, 0x7fffffff, 0xffffffff};
    c->nent = rng_below(2) ? counts[rng_below(8)] : (uint32_t)rng_below(max_nent + 1);
    c->padding = 0;
    int set = rng_below(2);
    void *arg = rng_below(6) ? buf : rng_pointer(buf, BUF_SIZE);
    ioctl(t.vcpu[0], set ? KVM_SET_CPUID2 : KVM_GET_CPUID2, arg);
    if (set) {
      c->nent = (uint32_t)rng_below(max_nent + 1);
      ioctl(t.sys, KVM_GET_SUPPORTED_CPUID, buf);
      if (rng_below(4) == 0) ioctl(t.vcpu[0], KVM_RUN, 0);
    }
  }
  tiny_vm_destroy(&t);
  return 0;
}

static void randomize_segment(struct kvm_segment *s) {
  if (rng_below(2)) return;
  rng_fill(s, sizeof(*s));
  if (rng_below(2)) s->base = rng_below(2) ? 0 : rng_below(0x20000);
}

static void randomize_sregs(struct kvm_sregs *s) {
  struct kvm_segment *segs[] = {&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt};
  for (size_t i = 0; i < sizeof(segs) / sizeof(*segs); i++) randomize_segment(segs[i]);
  if (rng_below(2)) s->cr0 ^= 1ULL << rng_below(64);
  if (rng_below(4) == 0) s->cr0 = rng_interesting();
  if (rng_below(2)) s->cr4 ^= 1ULL << rng_below(32);
  if (rng_below(4) == 0) s->cr4 = rng_interesting();
  if (rng_below(2)) s->efer ^= 1ULL << rng_below(16);
  if (rng_below(4) == 0) s->efer = rng_interesting();
  if (rng_below(2)) s->cr3 = rng_interesting();
  if (rng_below(4) == 0) s->cr2 = rng();
  if (rng_below(2)) s->gdt.base = rng_below(0x20000), s->gdt.limit = (uint16_t)rng();
  if (rng_below(2)) s->idt.base = rng_below(0x20000), s->idt.limit = (uint16_t)rng();
  if (rng_below(8) == 0) rng_fill(s->interrupt_bitmap, sizeof(s->interrupt_bitmap));
  if (rng_below(8) == 0) s->apic_base = rng();
  /* EFER.LME with paging off, together with the random rest, wedges QEMU TCG's own SVM
   * emulation (the nested host's CPU stops for good, with kvm-amd as with kagami.ko; replay:
   * README.md, "Findings"). Real guests pass through that state only on their way into long
   * mode; the stress program leaves it out so that a wedge it finds is kagami.ko's. */
  if ((s->efer & (1ULL << 8)) && !(s->cr0 & (1ULL << 31))) s->efer &= ~(1ULL << 8);
}

/* Answers what a random guest asked for, so that the next KVM_RUN completes it. */
static void answer_exit(struct kvm_run *run) {
  if (run->exit_reason == KVM_EXIT_MMIO) rng_fill(run->mmio.data, 8);
  if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN &&
      run->io.data_offset >= sizeof(*run) && run->io.data_offset < 4096)
    rng_fill((uint8_t *)run + run->io.data_offset,
             (size_t)run->io.size * run->io.count < 4096 - run->io.data_offset
                 ? (size_t)run->io.size * run->io.count
                 : 0);
}

static void run_a_little(struct tiny_vm *t, int times) {
  for (int i = 0; i < times && !case_time_up(); i++) {
    if (ioctl(t->vcpu[0], KVM_RUN, 0) && errno != EINTR) break;
    answer_exit(t->run[0]);
  }
}

static int parse_hex(const char *hex, void *out, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (sscanf(hex + 2 * i, "%2hhx", (uint8_t *)out + i) != 1) return -1;
  return 0;
}

/* --state HEX: the vCPU state of one trace line, set once, then KVM_RUN for the slice. */
int replay_state(const char *hex) {
  struct kvm_sregs s;
  struct kvm_regs r;
  if (strlen(hex) != 2 * (sizeof(s) + sizeof(r)) || parse_hex(hex, &s, sizeof(s)) ||
      parse_hex(hex + 2 * sizeof(s), &r, sizeof(r)))
    return fprintf(stderr, "--state: not a trace line's state\n"), 2;
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_exits, sizeof(guest_exits), 1)) return 1;
  printf("KVM_SET_SREGS: %d, ", ioctl(t.vcpu[0], KVM_SET_SREGS, &s));
  printf("KVM_SET_REGS: %d\n", ioctl(t.vcpu[0], KVM_SET_REGS, &r));
  start_interrupt_timer(10000);
  for (int i = 0; i < 8 && !case_time_up(); i++) {
    int ret = ioctl(t.vcpu[0], KVM_RUN, 0);
    printf("KVM_RUN: %d (errno %d), exit reason %u\n", ret, ret ? errno : 0, t.run[0]->exit_reason);
    answer_exit(t.run[0]);
  }
  tiny_vm_destroy(&t);
  return 0;
}

static char *hex(char *out, const void *p, size_t len) {
  for (size_t i = 0; i < len; i++) sprintf(out + 2 * i, "%02x", ((const uint8_t *)p)[i]);
  return out;
}

/* With STRESS_TRACE set: the state each KVM_RUN starts from, on stderr, as hex that `--state`
 * takes back, so that the last line before a hang is a one-shot reproducer. */
static void trace_state(int vcpu) {
  static int trace = -1;
  if (trace < 0) trace = getenv("STRESS_TRACE") != NULL;
  if (!trace) return;
  struct kvm_sregs s;
  struct kvm_regs r;
  ioctl(vcpu, KVM_GET_SREGS, &s);
  ioctl(vcpu, KVM_GET_REGS, &r);
  char sregs_hex[2 * sizeof(s) + 1], regs_hex[2 * sizeof(r) + 1];
  /* One write, then a pause: the line must leave the nested host before a KVM_RUN that may
   * wedge it. */
  fprintf(stderr, "trace: cr0 %llx cr4 %llx efer %llx rip %llx rflags %llx state %s%s\n", s.cr0,
          s.cr4, s.efer, r.rip, r.rflags, hex(sregs_hex, &s, sizeof(s)),
          hex(regs_hex, &r, sizeof(r)));
  usleep(30000);
}

/* Bogus segments and control registers through KVM_SET_SREGS, random registers, then KVM_RUN. */
int case_sregs_run(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_exits, sizeof(guest_exits), 1)) return 1;
  start_interrupt_timer(10000);
  while (!case_time_up()) {
    struct kvm_sregs s;
    struct kvm_regs r;
    if (rng_below(8) == 0) tiny_vcpu_reset(&t, 0);
    if (ioctl(t.vcpu[0], KVM_GET_SREGS, &s) == 0) {
      randomize_sregs(&s);
      ioctl(t.vcpu[0], KVM_SET_SREGS, &s);
    }
    rng_fill(&r, sizeof(r));
    if (rng_below(2)) r.rip = GUEST_CODE + rng_below(sizeof(guest_exits));
    if (rng_below(2)) r.rflags = 2 | (rng() & 0x3f7fd5);
    ioctl(t.vcpu[0], KVM_SET_REGS, &r);
    trace_state(t.vcpu[0]);
    run_a_little(&t, 4);
  }
  tiny_vm_destroy(&t);
  return 0;
}

/* Random bytes as guest code, in random modes: the MMIO decoder and every exit handler get
 * whatever a confused guest can produce. */
int case_random_code(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_spin, sizeof(guest_spin), 1)) return 1;
  start_interrupt_timer(10000);
  while (!case_time_up()) {
    rng_fill(t.mem, GUEST_MEM);
    tiny_vcpu_reset(&t, 0);
    if (rng_below(2)) {
      struct kvm_sregs s;
      ioctl(t.vcpu[0], KVM_GET_SREGS, &s);
      randomize_sregs(&s);
      ioctl(t.vcpu[0], KVM_SET_SREGS, &s);
    }
    run_a_little(&t, 16);
  }
  tiny_vm_destroy(&t);
  return 0;
}
