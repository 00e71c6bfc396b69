// SPDX-License-Identifier: GPL-2.0
/* stress: the interrupt machinery: routing tables, irqfds, ioeventfds, LAPIC and irqchip state. */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "stress.h"

#define MAX_ROUTES 4096 /* KVM_MAX_IRQ_ROUTES on x86 */
#define MAX_FDS 16
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_LVTT 0x832

static int bad; /* wrong answers seen by this case */

static void wrong(const char *what, long got) {
  if (!bad++) printf("  %s (got %ld, errno %d)\n", what, got, errno);
}

/* The timer's SIGALRM may interrupt KVM_CREATE_VM too (EINTR on kvm-amd): off between VMs. */
static void stop_interrupt_timer(void) {
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
}

static enum tiny_irqchip random_irqchip(void) {
  return (enum tiny_irqchip)rng_below(3);
}

/* A small table now and then, the maximum, one beyond it, or a count that lies. */
static uint32_t random_route_count(void) {
  switch (rng_below(8)) {
    case 0: return 0;
    case 1: return MAX_ROUTES;
    case 2: return MAX_ROUTES + 1 + (uint32_t)rng_below(4);
    case 3: return (uint32_t)rng_interesting();
    default: return (uint32_t)rng_below(64);
  }
}

/* Entries of every type (IRQCHIP, MSI, the s390/Hyper-V/Xen ones, unknown), GSIs in and out of
 * range, irqchip and pin numbers beyond the chips, random flags and padding. */
static void random_route(struct kvm_irq_routing_entry *e) {
  rng_fill(e, sizeof(*e));
  e->gsi = rng_below(4) ? (uint32_t)rng_below(64) : (uint32_t)rng_interesting();
  e->type = rng_below(4) ? 1 + (uint32_t)rng_below(2) : (uint32_t)rng_below(8);
  if (rng_below(2)) e->flags = 0;
  if (rng_below(2)) e->pad = 0;
  if (e->type == KVM_IRQ_ROUTING_IRQCHIP && rng_below(2)) {
    e->u.irqchip.irqchip = (uint32_t)rng_below(4);
    e->u.irqchip.pin = (uint32_t)rng_below(32);
  } else if (e->type == KVM_IRQ_ROUTING_MSI && rng_below(2)) {
    e->u.msi.address_lo = 0xfee00000 | (uint32_t)rng_below(0x100000);
    e->u.msi.address_hi = rng_below(4) ? 0 : (uint32_t)rng();
    e->u.msi.data = (uint32_t)rng_below(0x10000);
  }
}

static void set_random_routing(int vm) {
  uint32_t nr = random_route_count();
  size_t room = MAX_ROUTES + 8;
  struct kvm_irq_routing *r = calloc(1, sizeof(*r) + room * sizeof(r->entries[0]));
  if (!r) return;
  r->nr = nr;
  r->flags = rng_below(8) ? 0 : (uint32_t)rng_interesting();
  for (uint32_t i = 0; i < nr && i < room; i++) random_route(&r->entries[i]);
  void *arg = rng_below(16) ? (void *)r : rng_pointer(r, 8);
  int ret = ioctl(vm, KVM_SET_GSI_ROUTING, arg);
  /* KVM: more than KVM_MAX_IRQ_ROUTES entries or any flag is EINVAL. */
  if (arg == r && ret == 0 && (nr > MAX_ROUTES || r->flags))
    wrong("SET_GSI_ROUTING took a bad table", nr);
  free(r);
}

static void random_msi_and_line(int vm) {
  struct kvm_msi msi;
  rng_fill(&msi, sizeof(msi));
  if (rng_below(2)) msi.flags = 0;
  if (rng_below(2)) msi.address_lo = 0xfee00000 | (uint32_t)rng_below(0x100000);
  ioctl(vm, KVM_SIGNAL_MSI, &msi);
  struct kvm_irq_level line = {.irq = (uint32_t)(rng_below(2) ? rng_below(48) : rng()),
                               .level = (uint32_t)rng_below(3)};
  ioctl(vm, rng_below(2) ? KVM_IRQ_LINE : KVM_IRQ_LINE_STATUS, &line);
}

struct vcpu_thread {
  pthread_t th;
  struct tiny_vm *t;
  int index;
  volatile int stop;
};

static void on_signal(int sig) {
  (void)sig;
}

static void *vcpu_loop(void *arg) {
  struct vcpu_thread *v = arg;
  while (!v->stop) {
    if (ioctl(v->t->vcpu[v->index], KVM_RUN, 0) && (errno == EBADF || errno == EIO)) break;
    uint32_t reason = v->t->run[v->index]->exit_reason;
    if (reason == KVM_EXIT_SHUTDOWN || reason == KVM_EXIT_INTERNAL_ERROR ||
        reason == KVM_EXIT_FAIL_ENTRY)
      tiny_vcpu_reset(v->t, v->index);
  }
  return NULL;
}

static void start_vcpus(struct tiny_vm *t, struct vcpu_thread *v) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGUSR1, &sa, NULL);
  for (int i = 0; i < t->nvcpus; i++) {
    v[i] = (struct vcpu_thread){.t = t, .index = i};
    pthread_create(&v[i].th, NULL, vcpu_loop, &v[i]);
  }
}

static void stop_vcpus(struct tiny_vm *t, struct vcpu_thread *v) {
  for (int i = 0; i < t->nvcpus; i++) v[i].stop = 1;
  for (int i = 0; i < t->nvcpus; i++)
    while (pthread_tryjoin_np(v[i].th, NULL) == EBUSY) {
      pthread_kill(v[i].th, SIGUSR1);
      usleep(1000);
    }
}

/* Random routing tables, MSIs and IRQ lines on VMs of every irqchip model, vCPUs running. */
int case_gsi_routing(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct vcpu_thread v[2];
    if (tiny_vm_create_irq(&t, guest_exits, sizeof(guest_exits), 1 + (int)rng_below(2),
                           random_irqchip()))
      return 1;
    start_vcpus(&t, v);
    for (int i = 0; i < 16 && !case_time_up(); i++) {
      set_random_routing(t.vm);
      random_msi_and_line(t.vm);
    }
    stop_vcpus(&t, v);
    tiny_vm_destroy(&t);
  }
  return bad != 0;
}

/* An fd for KVM_IRQFD/KVM_IOEVENTFD: mostly an eventfd, else a closed, bogus or other fd. */
static int random_fd(const int *efd, int n) {
  switch (rng_below(8)) {
    case 0: return -1;
    case 1: return 1000 + (int)rng_below(100); /* not open */
    case 2: return 0;                          /* not an eventfd */
    default: return efd[rng_below(n)];
  }
}

static void random_irqfd(int vm, const int *efd, int n) {
  struct kvm_irqfd irqfd = {.fd = (uint32_t)random_fd(efd, n),
                            .gsi = (uint32_t)(rng_below(4) ? rng_below(32) : rng()),
                            .flags = (uint32_t)rng_below(4),
                            .resamplefd = (uint32_t)random_fd(efd, n)};
  if (rng_below(8) == 0) irqfd.flags = (uint32_t)rng();
  ioctl(vm, KVM_IRQFD, &irqfd);
}

/* Ports and addresses the guest_exits guest reaches (OUT 0x10, IN 0x11, MMIO 0xf0000/0xf0010),
 * and random ones; lengths 0-8 and random; every flag. */
static void random_ioeventfd(int vm, const int *efd, int n) {
  static const uint64_t addrs[] = {0x10, 0x11, 0xf0000, 0xf0010};
  struct kvm_ioeventfd io = {.datamatch = rng_below(2) ? rng_below(256) : rng(),
                             .addr = rng_below(4) ? addrs[rng_below(4)] : rng_interesting(),
                             .len = (uint32_t)(rng_below(8) ? rng_below(9) : rng()),
                             .fd = random_fd(efd, n),
                             .flags = (uint32_t)rng_below(16)};
  if (rng_below(8) == 0) io.flags = (uint32_t)rng();
  if (rng_below(8) == 0) rng_fill(io.pad, sizeof(io.pad));
  ioctl(vm, KVM_IOEVENTFD, &io);
}

/* Writes eventfds while the main thread closes them: a signal source under the module's feet. */
struct writer {
  pthread_t th;
  int *efd, n;
  volatile int stop;
};

static void *write_eventfds(void *arg) {
  struct writer *w = arg;
  uint64_t one = 1;
  while (!w->stop)
    for (int i = 0; i < w->n; i++) {
      int fd = w->efd[i];
      if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EBADF) continue;
    }
  return NULL;
}

/* irqfds and ioeventfds assigned, signalled and deassigned, their eventfds closed (and the
 * numbers reused) under the module's feet, the VM closed with them live, vCPUs running. */
static int eventfd_case(int with_ioeventfd) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct vcpu_thread v[2];
    int efd[MAX_FDS], n = 1 + (int)rng_below(MAX_FDS);
    if (tiny_vm_create_irq(&t, guest_exits, sizeof(guest_exits), 1 + (int)rng_below(2),
                           random_irqchip()))
      return 1;
    for (int i = 0; i < n; i++)
      efd[i] = eventfd(0, EFD_CLOEXEC | (rng_below(2) ? EFD_NONBLOCK : 0));
    if (rng_below(2)) set_random_routing(t.vm);
    struct writer w = {.efd = efd, .n = n};
    pthread_create(&w.th, NULL, write_eventfds, &w);
    start_vcpus(&t, v);
    for (int i = 0; i < 32 && !case_time_up(); i++) {
      if (with_ioeventfd)
        random_ioeventfd(t.vm, efd, n);
      else
        random_irqfd(t.vm, efd, n);
      if (rng_below(8) == 0) set_random_routing(t.vm);
      if (rng_below(8) == 0) {
        int k = (int)rng_below(n);
        close(efd[k]);
        efd[k] = eventfd(0, EFD_CLOEXEC);
      }
    }
    /* The VM goes first half the time: its irqfds and ioeventfds still hold live eventfds. */
    int vm_first = (int)rng_below(2);
    stop_vcpus(&t, v);
    if (vm_first) tiny_vm_destroy(&t);
    w.stop = 1;
    pthread_join(w.th, NULL);
    for (int i = 0; i < n; i++) close(efd[i]);
    if (!vm_first) tiny_vm_destroy(&t);
  }
  return bad != 0;
}

int case_irqfd_closed(void) {
  return eventfd_case(0);
}

int case_ioeventfd_closed(void) {
  return eventfd_case(1);
}

/* A LAPIC page: random, or the vCPU's own with a few registers changed. */
static void random_lapic(int vcpu) {
  struct kvm_lapic_state s;
  if (rng_below(2) || ioctl(vcpu, KVM_GET_LAPIC, &s)) {
    rng_fill(&s, sizeof(s));
  } else {
    for (int i = (int)rng_below(8); i >= 0; i--) {
      uint32_t value = (uint32_t)rng_interesting();
      memcpy(s.regs + 16 * rng_below(64), &value, sizeof(value));
    }
  }
  ioctl(vcpu, KVM_SET_LAPIC, &s);
}

static void random_irqchip_state(int vm) {
  struct kvm_irqchip chip;
  chip.chip_id = (uint32_t)(rng_below(8) ? rng_below(3) : rng());
  if (rng_below(2) || ioctl(vm, KVM_GET_IRQCHIP, &chip)) {
    rng_fill(&chip.chip, sizeof(chip.chip));
  } else {
    uint8_t *bytes = (uint8_t *)&chip.chip;
    for (int i = (int)rng_below(16); i >= 0; i--)
      bytes[rng_below(sizeof(chip.chip))] = (uint8_t)rng();
  }
  ioctl(vm, KVM_SET_IRQCHIP, &chip);
}

/* Random KVM_SET_LAPIC and KVM_SET_IRQCHIP blobs on every irqchip model, vCPUs running. */
int case_irqchip_blobs(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct vcpu_thread v[2];
    if (tiny_vm_create_irq(&t, guest_spin, sizeof(guest_spin), 1 + (int)rng_below(2),
                           random_irqchip()))
      return 1;
    start_interrupt_timer(20000);
    for (int i = 0; i < 16 && !case_time_up(); i++) {
      random_lapic(t.vcpu[rng_below(t.nvcpus)]);
      random_irqchip_state(t.vm);
      if (rng_below(4) == 0) random_msi_and_line(t.vm);
      if (rng_below(4) == 0) ioctl(t.vcpu[0], KVM_RUN, 0);
    }
    stop_interrupt_timer();
    start_vcpus(&t, v);
    usleep(rng_below(50000));
    stop_vcpus(&t, v);
    tiny_vm_destroy(&t);
  }
  return bad != 0;
}

static void set_msr(int vcpu, uint32_t index, uint64_t value) {
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry e;
  } m = {.head.nmsrs = 1, .e = {.index = index, .data = value}};
  ioctl(vcpu, KVM_SET_MSRS, &m);
}

/* The vCPU's CPUID from the supported one, so x2APIC may be enabled. */
static void set_supported_cpuid(struct tiny_vm *t, int i) {
  struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
  if (!c) return;
  c->nent = 256;
  if (!ioctl(t->sys, KVM_GET_SUPPORTED_CPUID, c)) ioctl(t->vcpu[i], KVM_SET_CPUID2, c);
  free(c);
}

static uint32_t random_apic_msr(void) {
  switch (rng_below(8)) {
    case 0: return MSR_TSC_DEADLINE;
    case 1: return MSR_APIC_BASE;
    case 2: return MSR_X2APIC_LVTT;
    default: return 0x800 + (uint32_t)rng_below(0x100);
  }
}

/* kvm-clock's MSRs (old and new) and a GPA: in RAM (the code page too), MMIO, crossing a page. */
static uint32_t random_kvmclock_msr(void) {
  static const uint32_t msrs[] = {0x11, 0x12, 0x4b564d00, 0x4b564d01};
  return msrs[rng_below(4)];
}

static uint64_t random_gpa(void) {
  switch (rng_below(6)) {
    case 0: return 0xf0000 | rng_below(2);         /* outside slot 0: MMIO */
    case 1: return (GUEST_MEM - 8) | rng_below(2); /* the end of RAM */
    case 2: return 0x2ff1 + rng_below(16);         /* crossing a page */
    case 3: return rng_interesting();
    default: return rng_below(GUEST_MEM) & ~3ULL; /* RAM, enabled or not */
  }
}

/* Real-mode code: WRMSR/RDMSR of random MSRs from `pick` (values from `value`), then jmp $. */
static void random_msr_code(uint8_t *code, int n, uint32_t (*pick)(void), uint64_t (*value)(void)) {
  for (int i = 0; i < n; i++, code += 20) {
    uint64_t v = value();
    uint32_t ecx = pick(), eax = (uint32_t)v, edx = (uint32_t)(v >> 32);
    if (rng_below(2)) edx = 0;
    code[0] = 0x66, code[1] = 0xb9, memcpy(code + 2, &ecx, 4);    /* mov ecx, imm32 */
    code[6] = 0x66, code[7] = 0xb8, memcpy(code + 8, &eax, 4);    /* mov eax, imm32 */
    code[12] = 0x66, code[13] = 0xba, memcpy(code + 14, &edx, 4); /* mov edx, imm32 */
    code[18] = 0x0f, code[19] = rng_below(4) ? 0x30 : 0x32;       /* wrmsr or rdmsr */
  }
  code[0] = 0xeb, code[1] = 0xfe;
}

/* Random x2APIC (0x800-0x8ff), TSC-deadline and APIC_BASE writes, from userspace and from the
 * guest (a #GP with an empty IDT triple-faults: the vCPU is reset). */
int case_apic_msrs(void) {
  static uint8_t code[64 * 20 + 2];
  while (!case_time_up()) {
    struct tiny_vm t;
    struct vcpu_thread v[2];
    int ops = 1 + (int)rng_below(64);
    random_msr_code(code, ops, random_apic_msr, rng_interesting);
    if (tiny_vm_create_irq(&t, code, (size_t)ops * 20 + 2, 1 + (int)rng_below(2), random_irqchip()))
      return 1;
    for (int i = 0; i < t.nvcpus; i++) {
      set_supported_cpuid(&t, i);
      if (rng_below(2)) set_msr(t.vcpu[i], MSR_APIC_BASE, 0xfee00c00 | (i ? 0 : 0x100));
      if (rng_below(2)) set_msr(t.vcpu[i], MSR_X2APIC_LVTT, 0x40000 | rng_below(256));
      for (int k = (int)rng_below(32); k > 0; k--)
        set_msr(t.vcpu[i], random_apic_msr(), rng_below(2) ? rng_interesting() : rng_below(64));
    }
    start_vcpus(&t, v);
    usleep(rng_below(50000));
    stop_vcpus(&t, v);
    tiny_vm_destroy(&t);
  }
  return bad != 0;
}

/* KVM_CREATE_IRQCHIP, the split capability (any pin count), vCPUs, routing and irqfds in random
 * order. Once a vCPU exists, KVM refuses to create an irqchip. */
int case_irqchip_order(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    if (tiny_vm_create_irq(&t, guest_exits, sizeof(guest_exits), 0, TINY_IRQCHIP_NONE)) return 1;
    int efd = eventfd(0, EFD_CLOEXEC);
    for (int step = 0; step < 12; step++) {
      switch (rng_below(6)) {
        case 0: {
          int r = ioctl(t.vm, KVM_CREATE_IRQCHIP, 0);
          if (r == 0 && t.nvcpus) wrong("KVM_CREATE_IRQCHIP after a vCPU", r);
          break;
        }
        case 1: {
          struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP,
                                       .args[0] = rng_below(2) ? rng_below(32) : rng()};
          if (rng_below(8) == 0) cap.flags = (uint32_t)rng();
          int r = ioctl(t.vm, KVM_ENABLE_CAP, &cap);
          if (r == 0 && t.nvcpus) wrong("KVM_CAP_SPLIT_IRQCHIP after a vCPU", r);
          break;
        }
        case 2:
          if (t.nvcpus < 8) {
            int i = t.nvcpus;
            t.vcpu[i] = ioctl(t.vm, KVM_CREATE_VCPU, i);
            if (t.vcpu[i] < 0) break;
            t.run[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu[i], 0);
            t.nvcpus++;
            if (t.run[i] == MAP_FAILED) return 1;
            tiny_vcpu_reset(&t, i);
          }
          break;
        case 3: set_random_routing(t.vm); break;
        case 4: {
          struct kvm_irqfd irqfd = {
              .fd = (uint32_t)efd, .gsi = (uint32_t)rng_below(32), .flags = (uint32_t)rng_below(2)};
          ioctl(t.vm, KVM_IRQFD, &irqfd);
          break;
        }
        default:
          if (t.nvcpus) {
            start_interrupt_timer(20000);
            ioctl(t.vcpu[rng_below(t.nvcpus)], KVM_RUN, 0);
          }
      }
    }
    /* The eventfd goes before the VM half the time: an irqfd whose eventfd is gone. */
    int efd_first = (int)rng_below(2);
    if (efd_first) close(efd);
    tiny_vm_destroy(&t);
    if (!efd_first) close(efd);
    stop_interrupt_timer();
  }
  return bad != 0;
}

/* kvm-clock: random GPAs in its MSRs from userspace and the guest, KVM_SET_CLOCK with random
 * values and flags, KVM_GET_CLOCK, while the vCPUs run and rewrite their pages. (No vCPU ioctl
 * while its thread runs: it would wait for KVM_RUN, and a spinning guest never returns.) */
int case_kvmclock(void) {
  static uint8_t code[64 * 20 + 2];
  while (!case_time_up()) {
    struct tiny_vm t;
    struct vcpu_thread v[2];
    int ops = 1 + (int)rng_below(64);
    random_msr_code(code, ops, random_kvmclock_msr, random_gpa);
    if (tiny_vm_create_irq(&t, code, (size_t)ops * 20 + 2, 1 + (int)rng_below(2), random_irqchip()))
      return 1;
    for (int i = 0; i < t.nvcpus; i++)
      for (int k = (int)rng_below(8); k > 0; k--)
        set_msr(t.vcpu[i], random_kvmclock_msr(), random_gpa());
    start_vcpus(&t, v);
    for (int i = (int)rng_below(16); i > 0 && !case_time_up(); i--) {
      struct kvm_clock_data d;
      rng_fill(&d, sizeof(d));
      if (rng_below(2)) d.flags &= KVM_CLOCK_REALTIME;
      int r = ioctl(t.vm, KVM_SET_CLOCK, &d);
      /* KVM accepts only the flags its KVM_GET_CLOCK gives. */
      if (r == 0 && (d.flags & ~(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)))
        wrong("KVM_SET_CLOCK took unknown flags", d.flags);
      ioctl(t.vm, KVM_GET_CLOCK, &d);
      usleep(rng_below(5000));
    }
    stop_vcpus(&t, v);
    tiny_vm_destroy(&t);
  }
  return bad != 0;
}
