// SPDX-License-Identifier: GPL-2.0
/* irq_bench: interrupt latencies and eventfd exit costs of a KVM-ABI device with its LAPIC. */
#define _GNU_SOURCE /* memfd_create */
#include "irq_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define MSR_IA32_TSC 0x10
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define IRQFD_GSI 5
#define WARM_UP 10 /* first iterations left out of the statistics (page faults, first exits) */

/* One VM with a split irqchip (userspace IOAPIC, in-kernel LAPICs), one slot at GPA 0 holding
 * the guest image, and one or two vCPUs in flat 32-bit protected mode. */
struct bench_vm {
  int sys, vm, nvcpus;
  int vcpu[2];
  struct kvm_run *run[2];
  uint8_t *mem;
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void fail(const char *message) {
  fprintf(stderr, "irq_bench: %s\n", message);
  exit(1);
}

static volatile uint32_t *guest_u32(struct bench_vm *v, uint32_t gpa) {
  return (volatile uint32_t *)(v->mem + gpa);
}

static volatile uint64_t *guest_u64(struct bench_vm *v, uint32_t gpa) {
  return (volatile uint64_t *)(v->mem + gpa);
}

static uint32_t image_offset(const unsigned char *symbol) {
  return GUEST_CODE + (uint32_t)(symbol - irq_guest_start);
}

/* GDT (flat code 0x08 and data 0x10: interrupt delivery and IRET read them) and an IDT of
 * 32-bit interrupt gates: the benchmark's vectors to their handlers, others to a trap. */
static void write_tables(uint8_t *mem) {
  const uint64_t gdt[3] = {0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};
  memcpy(mem + GUEST_GDT, gdt, sizeof(gdt));
  for (int vector = 0; vector < 256; vector++) {
    const unsigned char *handler = guest_unexpected_handler;
    if (vector == TIMER_VECTOR || vector == IPI_REPLY_VECTOR || vector == IRQFD_VECTOR)
      handler = guest_record_handler;
    else if (vector == IPI_REQUEST_VECTOR)
      handler = guest_request_handler;
    else if (vector == QUIT_VECTOR)
      handler = guest_quit_handler;
    else if (vector == 0xff)
      handler = guest_spurious_handler;
    uint32_t offset = image_offset(handler);
    uint64_t gate = (offset & 0xffff) | (0x08u << 16) | ((uint64_t)0x8e00 << 32) |
                    ((uint64_t)(offset & 0xffff0000) << 32);
    memcpy(mem + GUEST_IDT + vector * 8, &gate, 8);
  }
}

static void set_flat_segment(struct kvm_segment *s, uint8_t type, uint16_t selector) {
  *s = (struct kvm_segment){.limit = 0xffffffff,
                            .selector = selector,
                            .type = type,
                            .present = 1,
                            .db = 1,
                            .s = 1,
                            .g = 1};
}

/* The supported CPUID, plus TSC-deadline when the device offers it (as QEMU does); fails when
 * x2APIC is asked for and not offered. */
static void set_cpuid(struct bench_vm *v, int vcpu, int x2apic) {
  struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[256];
  } cpuid = {.head.nent = 256};
  if (ioctl(v->sys, KVM_GET_SUPPORTED_CPUID, &cpuid)) die("KVM_GET_SUPPORTED_CPUID");
  int deadline = ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  for (uint32_t i = 0; i < cpuid.head.nent; i++) {
    struct kvm_cpuid_entry2 *e = &cpuid.entries[i];
    if (e->function != 1) continue;
    if (deadline) e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
    if (x2apic && !(e->ecx & CPUID_1_ECX_X2APIC)) fail("the device does not offer x2APIC");
  }
  if (ioctl(v->vcpu[vcpu], KVM_SET_CPUID2, &cpuid)) die("KVM_SET_CPUID2");
}

/* vCPU `index` enters at `entry` with the flat segments, the GDT and the IDT. */
static void set_entry(struct bench_vm *v, int index, const unsigned char *entry) {
  struct kvm_sregs sregs;
  if (ioctl(v->vcpu[index], KVM_GET_SREGS, &sregs)) die("KVM_GET_SREGS");
  set_flat_segment(&sregs.cs, 11, 8);
  set_flat_segment(&sregs.ds, 3, 16);
  sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
  sregs.gdt = (struct kvm_dtable){.base = GUEST_GDT, .limit = 3 * 8 - 1};
  sregs.idt = (struct kvm_dtable){.base = GUEST_IDT, .limit = 256 * 8 - 1};
  sregs.cr0 |= 1; /* PE */
  if (ioctl(v->vcpu[index], KVM_SET_SREGS, &sregs)) die("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = image_offset(entry), .rflags = 2};
  if (ioctl(v->vcpu[index], KVM_SET_REGS, &regs)) die("KVM_SET_REGS");
  /* An AP waits for INIT/SIPI; started by hand instead, as KVM allows. */
  struct kvm_mp_state runnable = {.mp_state = KVM_MP_STATE_RUNNABLE};
  if (ioctl(v->vcpu[index], KVM_SET_MP_STATE, &runnable)) die("KVM_SET_MP_STATE");
}

static void add_vcpu(struct bench_vm *v, int index, int x2apic) {
  v->vcpu[index] = ioctl(v->vm, KVM_CREATE_VCPU, index);
  if (v->vcpu[index] < 0) die("KVM_CREATE_VCPU");
  v->run[index] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu[index], 0);
  if (v->run[index] == MAP_FAILED) die("mmap kvm_run");
  set_cpuid(v, index, x2apic);
}

static void add_memory(struct bench_vm *v) {
  int memfd = memfd_create("guest-ram", MFD_CLOEXEC);
  if (memfd < 0 || ftruncate(memfd, GUEST_MEM_SIZE)) die("memfd");
  v->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, memfd, 0);
  close(memfd);
  if (v->mem == MAP_FAILED) die("mmap");
  memcpy(v->mem + GUEST_CODE, irq_guest_start, (size_t)(irq_guest_end - irq_guest_start));
  write_tables(v->mem);
  struct kvm_userspace_memory_region region = {.memory_size = GUEST_MEM_SIZE,
                                               .userspace_addr = (uintptr_t)v->mem};
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region)) die("KVM_SET_USER_MEMORY_REGION");
}

static void vm_create(struct bench_vm *v, const char *dev, int nvcpus, int x2apic, uint32_t n) {
  if (n > GUEST_MAX_ITERATIONS) fail("too many iterations");
  *v = (struct bench_vm){.nvcpus = nvcpus};
  v->sys = open(dev, O_RDWR | O_CLOEXEC);
  if (v->sys < 0) die(dev);
  v->vm = ioctl(v->sys, KVM_CREATE_VM, 0);
  if (v->vm < 0) die("KVM_CREATE_VM");
  struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
  if (ioctl(v->vm, KVM_ENABLE_CAP, &split)) die("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
  add_memory(v);
  for (int i = 0; i < nvcpus; i++) add_vcpu(v, i, x2apic);
  *guest_u32(v, SH_N) = n;
  *guest_u32(v, SH_X2APIC) = (uint32_t)x2apic;
}

static void vm_destroy(struct bench_vm *v) {
  for (int i = 0; i < v->nvcpus; i++) {
    munmap(v->run[i], 4096);
    close(v->vcpu[i]);
  }
  munmap(v->mem, GUEST_MEM_SIZE);
  close(v->vm);
  close(v->sys);
}

/* Runs vCPU `index` until it writes DONE_PORT; BENCH_PORT writes (exits to userspace) resume. */
static void run_until_done(struct bench_vm *v, int index) {
  struct kvm_run *run = v->run[index];
  for (;;) {
    if (ioctl(v->vcpu[index], KVM_RUN, 0)) {
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == BENCH_PORT) continue;
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT) return;
    struct kvm_regs regs;
    ioctl(v->vcpu[index], KVM_GET_REGS, &regs);
    if (regs.rsp + 12 <= GUEST_MEM_SIZE) /* an exception's or interrupt's frame */
      fprintf(stderr, "irq_bench: stack: %#x %#x %#x\n", *guest_u32(v, (uint32_t)regs.rsp),
              *guest_u32(v, (uint32_t)regs.rsp + 4), *guest_u32(v, (uint32_t)regs.rsp + 8));
    fprintf(stderr, "irq_bench: vCPU %d: exit reason %u (port %#x, suberror %u), rip %#llx\n",
            index, run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0,
            run->exit_reason == KVM_EXIT_INTERNAL_ERROR ? run->internal.suberror : 0, regs.rip);
    exit(1);
  }
}

static void *run_vcpu1(void *v) {
  run_until_done(v, 1);
  return NULL;
}

/* TSC cycles per second, against CLOCK_MONOTONIC over 100 ms. */
static double tsc_hz(void) {
  struct timespec a, b, pause = {.tv_nsec = 100000000};
  clock_gettime(CLOCK_MONOTONIC, &a);
  uint64_t t0 = __rdtsc();
  nanosleep(&pause, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  uint64_t t1 = __rdtsc();
  return (double)(t1 - t0) / ((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
}

/* The guest's TSC minus the host's: KVM_GET_MSRS(IA32_TSC) bracketed by host reads, the
 * narrowest of 20 brackets. */
static int64_t tsc_offset(struct bench_vm *v) {
  int64_t best = 0;
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 20; i++) {
    struct {
      struct kvm_msrs head;
      struct kvm_msr_entry entry;
    } msrs = {.head.nmsrs = 1, .entry.index = MSR_IA32_TSC};
    uint64_t before = __rdtsc();
    if (ioctl(v->vcpu[0], KVM_GET_MSRS, &msrs) != 1) die("KVM_GET_MSRS(IA32_TSC)");
    uint64_t after = __rdtsc();
    if (after - before < best_width) {
      best_width = after - before;
      best = (int64_t)(msrs.entry.data - (before + (after - before) / 2));
    }
  }
  return best;
}

/* The measurement under way, for the watchdog's report. */
static struct bench_vm *watched_vm;
static const char *watched_name;

/* SIGALRM: an interrupt was lost. Say where (async-signal-safe enough for a dying process). */
static void watchdog(int signal) {
  (void)signal;
  char line[160];
  uint32_t recorded = 0;
  struct bench_vm *v = watched_vm;
  while (v && recorded < *guest_u32(v, SH_N) && *guest_u64(v, GUEST_ARRAY_B + recorded * 8))
    recorded++;
  int len = snprintf(line, sizeof(line),
                     "irq_bench: %s: timed out after %u of %u iterations (ap_ready %u, ready %u)\n",
                     watched_name, recorded, v ? *guest_u32(v, SH_N) : 0,
                     v ? *guest_u32(v, SH_AP_READY) : 0, v ? *guest_u32(v, SH_READY) : 0);
  if (write(2, line, (size_t)len) < 0) _exit(1);
  _exit(1);
}

/* Arms the watchdog for one measurement: half a minute, and 100 ms per iteration. */
static void watch(struct bench_vm *v, const char *name, uint32_t n) {
  watched_vm = v;
  watched_name = name;
  alarm(30 + n / 10);
}

static int compare_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Prints NAME-median and NAME-p90 in seconds, from per-iteration cycles (warm-up left out). */
static void report(const char *name, int64_t *cycles, uint32_t n, double hz) {
  if (n <= WARM_UP) fail("too few iterations");
  int64_t *kept = cycles + WARM_UP;
  uint32_t count = n - WARM_UP;
  qsort(kept, count, sizeof(*kept), compare_i64);
  double median =
      count % 2 ? (double)kept[count / 2] : (kept[count / 2 - 1] + kept[count / 2]) / 2.0;
  printf("%s-median %.9f\n", name, median / hz);
  printf("%s-p90 %.9f\n", name, (double)kept[(count - 1) * 9 / 10] / hz);
  fflush(stdout);
}

/* Per iteration: GUEST_ARRAY_B[i] - GUEST_ARRAY_A[i] - offset. */
static int64_t *differences(struct bench_vm *v, uint32_t n, int64_t offset) {
  int64_t *cycles = calloc(n, sizeof(*cycles));
  if (!cycles) die("calloc");
  for (uint32_t i = 0; i < n; i++) {
    uint64_t end = *guest_u64(v, GUEST_ARRAY_B + i * 8);
    if (!end) fail("an interrupt was not recorded");
    cycles[i] = (int64_t)(end - *guest_u64(v, GUEST_ARRAY_A + i * 8)) - offset;
  }
  return cycles;
}

/* LAPIC timer: handler TSC minus the TSC deadline it was armed with (2 ms ahead), the guest
 * halted (the host wakes its vCPU) or, with spin, looping (the host interrupts it). */
static void bench_timer(const char *dev, int x2apic, int spin, uint32_t n, double hz,
                        const char *name) {
  struct bench_vm v;
  vm_create(&v, dev, 1, x2apic, n);
  *guest_u32(&v, SH_SPIN) = (uint32_t)spin;
  if (ioctl(v.sys, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
    fail("the device has no TSC-deadline timer");
  *guest_u64(&v, SH_DELTA) = (uint64_t)(hz * 2e-3);
  set_entry(&v, 0, guest_timer_main);
  watch(&v, name, n);
  run_until_done(&v, 0);
  int64_t *cycles = differences(&v, n, 0);
  report(name, cycles, n, hz);
  free(cycles);
  vm_destroy(&v);
}

/* IPI round trip: vCPU 0 IPIs vCPU 1 (its own thread), whose handler IPIs back. */
static void bench_ipi(const char *dev, int x2apic, uint32_t n, double hz, const char *name) {
  struct bench_vm v;
  vm_create(&v, dev, 2, x2apic, n);
  set_entry(&v, 0, guest_ipi_main);
  watch(&v, name, n);
  set_entry(&v, 1, guest_ap_main);
  pthread_t thread;
  if (pthread_create(&thread, NULL, run_vcpu1, &v)) fail("pthread_create");
  run_until_done(&v, 0);
  pthread_join(thread, NULL);
  int64_t *cycles = differences(&v, n, 0);
  report(name, cycles, n, hz);
  free(cycles);
  vm_destroy(&v);
}

struct irqfd_writer {
  struct bench_vm *v;
  int eventfd;
  uint32_t n;
};

/* For each interrupt the guest awaits (halted by then: 1 ms after it said so), write the host
 * TSC to GUEST_ARRAY_A and signal the eventfd. */
static void *irqfd_write_loop(void *arg) {
  struct irqfd_writer *w = arg;
  struct timespec poll = {.tv_nsec = 50000}, settle = {.tv_nsec = 1000000};
  for (uint32_t i = 0; i < w->n; i++) {
    while (__atomic_load_n(guest_u32(w->v, SH_READY), __ATOMIC_ACQUIRE) != i + 1)
      nanosleep(&poll, NULL);
    nanosleep(&settle, NULL);
    uint64_t one = 1;
    *guest_u64(w->v, GUEST_ARRAY_A + i * 8) = __rdtsc();
    if (write(w->eventfd, &one, sizeof(one)) != sizeof(one)) die("eventfd write");
  }
  return NULL;
}

/* GSI IRQFD_GSI is an MSI to APIC ID 0, IRQFD_VECTOR, fixed and edge; an eventfd raises it. */
static int add_irqfd(struct bench_vm *v) {
  struct {
    struct kvm_irq_routing head;
    struct kvm_irq_routing_entry entry;
  } routing = {.head.nr = 1,
               .entry = {.gsi = IRQFD_GSI,
                         .type = KVM_IRQ_ROUTING_MSI,
                         .u.msi = {.address_lo = APIC_BASE_GPA, .data = IRQFD_VECTOR}}};
  if (ioctl(v->vm, KVM_SET_GSI_ROUTING, &routing)) die("KVM_SET_GSI_ROUTING");
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) die("eventfd");
  struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = IRQFD_GSI};
  if (ioctl(v->vm, KVM_IRQFD, &irqfd)) die("KVM_IRQFD");
  return fd;
}

/* irqfd: guest handler TSC minus the host's TSC just before its eventfd write. */
static void bench_irqfd(const char *dev, int x2apic, uint32_t n, double hz, const char *name) {
  struct bench_vm v;
  vm_create(&v, dev, 1, x2apic, n);
  struct irqfd_writer writer = {.v = &v, .eventfd = add_irqfd(&v), .n = n};
  set_entry(&v, 0, guest_irqfd_main);
  watch(&v, name, n);
  int64_t offset = tsc_offset(&v);
  pthread_t thread;
  if (pthread_create(&thread, NULL, irqfd_write_loop, &writer)) fail("pthread_create");
  run_until_done(&v, 0);
  pthread_join(thread, NULL);
  int64_t drift = tsc_offset(&v) - offset;
  fprintf(stderr, "irq_bench: irqfd: TSC offset %lld cycles, %lld after the run\n",
          (long long)offset, (long long)(offset + drift));
  int64_t *cycles = differences(&v, n, offset + drift / 2);
  report(name, cycles, n, hz);
  free(cycles);
  close(writer.eventfd);
  vm_destroy(&v);
}

/* Cycles per OUT to BENCH_PORT: with an ioeventfd on it (handled in the kernel), or without
 * (a KVM_EXIT_IO to userspace each, resumed at once by run_until_done). */
static void bench_exits(const char *dev, uint32_t n, double hz, int ioeventfd, const char *name) {
  struct bench_vm v;
  vm_create(&v, dev, 1, 0, n);
  int fd = -1;
  if (ioeventfd) {
    fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0) die("eventfd");
    struct kvm_ioeventfd doorbell = {
        .addr = BENCH_PORT, .len = 1, .fd = fd, .flags = KVM_IOEVENTFD_FLAG_PIO};
    if (ioctl(v.vm, KVM_IOEVENTFD, &doorbell)) die("KVM_IOEVENTFD");
  }
  set_entry(&v, 0, guest_exit_main);
  watch(&v, name, n);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  run_until_done(&v, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  fprintf(stderr, "irq_bench: %s: %.2f us per write by the host's clock\n", name,
          ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n / 1e3);
  uint64_t cycles = *guest_u64(&v, SH_T_END) - *guest_u64(&v, SH_T_START);
  if (ioeventfd) {
    uint64_t count = 0;
    if (read(fd, &count, sizeof(count)) != sizeof(count) || count != n)
      fail("the ioeventfd did not count every write");
    close(fd);
  }
  printf("%s %.9f\n", name, (double)cycles / n / hz);
  fflush(stdout);
  vm_destroy(&v);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr,
            "usage: irq_bench DEVICE xapic|x2apic|exits [SCALE]\n"
            "  xapic, x2apic: LAPIC timer, IPI round trip and irqfd latency, that LAPIC mode\n"
            "  exits: port write with an ioeventfd, and as an exit to userspace\n"
            "  prints one line per measure: NAME SECONDS\n");
    return 2;
  }
  const char *dev = argv[1], *mode = argv[2];
  double scale = argc == 4 ? atof(argv[3]) : 1;
  signal(SIGALRM, watchdog); /* a lost interrupt must not hang the nested host's run */
  double hz = tsc_hz();
  if (!strcmp(mode, "exits")) {
    uint32_t n = (uint32_t)(5000 * scale);
    bench_exits(dev, n, hz, 1, "ioeventfd");
    bench_exits(dev, n, hz, 0, "pio-exit");
    return 0;
  }
  int x2apic = !strcmp(mode, "x2apic");
  if (!x2apic && strcmp(mode, "xapic")) fail("mode is xapic, x2apic or exits");
  char name[64];
  snprintf(name, sizeof(name), "timer-%s", mode);
  bench_timer(dev, x2apic, 0, (uint32_t)(300 * scale), hz, name);
  snprintf(name, sizeof(name), "timer-spin-%s", mode);
  bench_timer(dev, x2apic, 1, (uint32_t)(300 * scale), hz, name);
  snprintf(name, sizeof(name), "ipi-%s", mode);
  bench_ipi(dev, x2apic, (uint32_t)(300 * scale), hz, name);
  snprintf(name, sizeof(name), "irqfd-%s", mode);
  bench_irqfd(dev, x2apic, (uint32_t)(200 * scale), hz, name);
  return 0;
}
