// SPDX-License-Identifier: GPL-2.0
/* clock_test: kvm-clock on /dev/kvm or /dev/kagami: CPUID leaves, pvclock MSRs, GET/SET_CLOCK. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x8000UL
#define CODE 0x1000
#define PVCLOCK 0x2000  /* the vCPU's pvclock_vcpu_time_info */
#define WALL 0x2100     /* pvclock_wall_clock */
#define CROSSING 0x2ff0 /* a structure here would cross into the next page */
#define DATA 0x4000     /* the guest's TSC readings and MSR read-back */
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define NSEC 1000000000LL
#define CLOCK_FLAGS (KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

struct pvclock {
  uint32_t version, pad0;
  uint64_t tsc_timestamp, system_time;
  uint32_t mul;
  int8_t shift;
  uint8_t flags, pad[2];
} __attribute__((packed));

struct wall_clock {
  uint32_t version, sec, nsec;
} __attribute__((packed));

static int failures;
static const char *dev;

static void check(int ok, const char *what, long long got) {
  if (ok) return;
  failures++;
  printf("FAIL: %s (got %#llx = %lld, errno %d: %s)\n", what, got, got, errno, strerror(errno));
}

/* Real mode at CODE; each OUT to 0x10 stops for the checks between the steps. */
static const uint8_t program[] = {
    /* 1: enable the pvclock page and the wall clock, read the TSC */
    0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, /* mov ecx, MSR_KVM_SYSTEM_TIME_NEW */
    0x66, 0xb8, 0x01, 0x20, 0x00, 0x00, /* mov eax, PVCLOCK | 1 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0x66, 0xb9, 0x00, 0x4d, 0x56, 0x4b, /* mov ecx, MSR_KVM_WALL_CLOCK_NEW */
    0x66, 0xb8, 0x00, 0x21, 0x00, 0x00, /* mov eax, WALL */
    0x0f, 0x30,                         /* wrmsr */
    0x0f, 0x31,                         /* rdtsc */
    0x66, 0xa3, 0x00, 0x40,             /* mov [DATA], eax */
    0x66, 0x89, 0x16, 0x04, 0x40,       /* mov [DATA + 4], edx */
    0xe6, 0x10,                         /* out 0x10, al */
    /* 2: write the MSR again (a refresh), read the TSC and the MSR back */
    0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, /* mov ecx, MSR_KVM_SYSTEM_TIME_NEW */
    0x66, 0xb8, 0x01, 0x20, 0x00, 0x00, /* mov eax, PVCLOCK | 1 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0x0f, 0x31,                         /* rdtsc */
    0x66, 0xa3, 0x08, 0x40,             /* mov [DATA + 8], eax */
    0x66, 0x89, 0x16, 0x0c, 0x40,       /* mov [DATA + 12], edx */
    0x0f, 0x32,                         /* rdmsr */
    0x66, 0xa3, 0x10, 0x40,             /* mov [DATA + 16], eax */
    0x66, 0x89, 0x16, 0x14, 0x40,       /* mov [DATA + 20], edx */
    0xe6, 0x10,                         /* out 0x10, al */
    /* 3, 4, 5, 6: userspace changes things in between */
    0xe6, 0x10, /* out 0x10, al */
    0xe6, 0x10, /* out 0x10, al */
    0xe6, 0x10, /* out 0x10, al */
    0xe6, 0x10, /* out 0x10, al */
    0xeb, 0xfe, /* jmp $ */
};

struct vm {
  int sys, vm, vcpu;
  struct kvm_run *run;
  uint8_t *mem;
};

static int64_t now_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* The guest's reading (msr.rst): system_time plus the TSC delta scaled. */
static uint64_t pvclock_read(const struct pvclock *p, uint64_t tsc) {
  uint64_t delta = tsc - p->tsc_timestamp;
  if (p->shift < 0)
    delta >>= -p->shift;
  else
    delta <<= p->shift;
  return p->system_time + (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
}

static struct kvm_cpuid2 *supported_cpuid(int sys) {
  struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
  c->nent = 256;
  if (ioctl(sys, KVM_GET_SUPPORTED_CPUID, c)) return perror("KVM_GET_SUPPORTED_CPUID"), NULL;
  return c;
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid2 *c, uint32_t function) {
  for (uint32_t i = 0; i < c->nent; i++)
    if (c->entries[i].function == function) return &c->entries[i];
  return NULL;
}

static void cpuid_leaves(const struct kvm_cpuid2 *c) {
  const struct kvm_cpuid_entry2 *sig = find_leaf(c, 0x40000000), *feat = find_leaf(c, 0x40000001);
  const struct kvm_cpuid_entry2 *leaf1 = find_leaf(c, 1);
  char name[13] = {0};

  check(sig != NULL, "supported CPUID has 0x40000000", 0);
  check(feat != NULL, "supported CPUID has 0x40000001", 0);
  check(leaf1 != NULL, "supported CPUID has leaf 1", 0);
  if (sig) {
    memcpy(name, &sig->ebx, 4);
    memcpy(name + 4, &sig->ecx, 4);
    memcpy(name + 8, &sig->edx, 4);
    check(memcmp(name, "KVMKVMKVM\0\0\0", 12) == 0, "0x40000000 signature is KVMKVMKVM", sig->ebx);
    check(sig->eax >= 0x40000001, "0x40000000 EAX names 0x40000001", sig->eax);
  }
  if (feat) {
    /* CLOCKSOURCE, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
    uint32_t want = 1u << 0 | 1u << 3 | 1u << 24;
    check((feat->eax & want) == want, "0x40000001 EAX has the kvm-clock bits", feat->eax);
    printf("info: %s: 0x40000001 EAX %#x\n", dev, feat->eax);
  }
  if (leaf1) {
    check(leaf1->ecx & 1u << 21, "leaf 1 ECX has X2APIC", leaf1->ecx);
    check(leaf1->edx & 1u << 9, "leaf 1 EDX has APIC", leaf1->edx);
    printf("info: %s: leaf 1 ECX %#x (TSC deadline bit 24: %u)\n", dev, leaf1->ecx,
           (leaf1->ecx >> 24) & 1);
  }
}

static int set_clock(int vm, uint64_t clock, uint32_t flags, uint64_t realtime) {
  struct kvm_clock_data d = {.clock = clock, .flags = flags, .realtime = realtime};
  return ioctl(vm, KVM_SET_CLOCK, &d);
}

static uint64_t get_clock(int vm, uint32_t *flags) {
  struct kvm_clock_data d;
  memset(&d, 0xff, sizeof(d));
  check(ioctl(vm, KVM_GET_CLOCK, &d) == 0, "KVM_GET_CLOCK", errno);
  if (flags) *flags = d.flags;
  return d.clock;
}

/* KVM_GET/SET_CLOCK as KVM 6.1's x86.c: flags, round trip, REALTIME never steps back. */
static void clock_ioctls(int sys, int vm) {
  long cap = ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK);
  uint32_t flags;

  printf("info: %s: KVM_CAP_ADJUST_CLOCK = %#lx\n", dev, cap);
  check(cap == CLOCK_FLAGS, "KVM_CAP_ADJUST_CLOCK is KVM's valid flags", cap);
  uint64_t c0 = get_clock(vm, &flags);
  printf("info: %s: KVM_GET_CLOCK flags %#x\n", dev, flags);
  check(c0 < 30 * NSEC, "a new VM's clock starts near 0", c0);
  check(!(flags & ~CLOCK_FLAGS), "GET_CLOCK flags are KVM's", flags);
  check(get_clock(vm, NULL) >= c0, "the clock does not go back", c0);

  check(set_clock(vm, c0 + NSEC, 0, 0) == 0, "SET_CLOCK +1 s", errno);
  uint64_t c1 = get_clock(vm, NULL);
  check(c1 >= c0 + NSEC && c1 < c0 + 30 * NSEC, "GET_CLOCK after SET_CLOCK +1 s", c1 - c0);

  errno = 0;
  check(set_clock(vm, 0, 1, 0) == -1 && errno == EINVAL, "SET_CLOCK flag bit 0 is EINVAL", errno);
  errno = 0;
  check(set_clock(vm, 0, 1u << 4, 0) == -1 && errno == EINVAL, "SET_CLOCK flag bit 4 is EINVAL",
        errno);
  errno = 0;
  check(set_clock(vm, 0, 0x80000000u, 0) == -1 && errno == EINVAL, "SET_CLOCK flag 31 is EINVAL",
        errno);
  /* GET's flags may be passed back. */
  check(set_clock(vm, 5 * NSEC, CLOCK_FLAGS & ~KVM_CLOCK_REALTIME, 0) == 0,
        "SET_CLOCK with TSC_STABLE | HOST_TSC", errno);
  uint64_t c2 = get_clock(vm, NULL);
  check(c2 >= 5 * NSEC && c2 < 30 * NSEC, "SET_CLOCK to 5 s", c2);

  /* REALTIME 2 s ago: the clock moves on by those 2 s. */
  int64_t real = now_ns(CLOCK_REALTIME);
  check(set_clock(vm, 100 * NSEC, KVM_CLOCK_REALTIME, real - 2 * NSEC) == 0, "SET_CLOCK REALTIME",
        errno);
  uint64_t c3 = get_clock(vm, NULL);
  check(c3 >= 102 * NSEC && c3 < 130 * NSEC, "REALTIME 2 s ago adds 2 s", c3);
  /* REALTIME in the future: no step back. */
  check(set_clock(vm, 200 * NSEC, KVM_CLOCK_REALTIME, real + 100 * NSEC) == 0,
        "SET_CLOCK REALTIME ahead", errno);
  uint64_t c4 = get_clock(vm, NULL);
  check(c4 >= 200 * NSEC && c4 < 230 * NSEC, "REALTIME ahead does not step back", c4);

  /* Huge values are taken as they are (u64 ns). */
  check(set_clock(vm, 1ULL << 62, 0, 0) == 0, "SET_CLOCK 2^62", errno);
  check(get_clock(vm, NULL) >= 1ULL << 62, "GET_CLOCK after 2^62", 0);
  check(set_clock(vm, 0, 0, 0) == 0, "SET_CLOCK back to 0", errno);
}

static int setup(struct vm *v, int sys, const struct kvm_cpuid2 *cpuid) {
  v->sys = sys;
  v->vm = ioctl(sys, KVM_CREATE_VM, 0);
  v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (v->vm < 0 || v->mem == MAP_FAILED) return perror("KVM_CREATE_VM"), -1;
  memcpy(v->mem + CODE, program, sizeof(program));
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)v->mem};
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
  if (v->vcpu < 0) return perror("KVM_CREATE_VCPU"), -1;
  v->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
  if (v->run == MAP_FAILED) return perror("mmap kvm_run"), -1;
  if (ioctl(v->vcpu, KVM_SET_CPUID2, cpuid)) return perror("KVM_SET_CPUID2"), -1;
  struct kvm_sregs sregs;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  if (ioctl(v->vcpu, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

static int msr(int vcpu, uint32_t index, uint64_t *value, int set) {
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry e;
  } m = {.head.nmsrs = 1, .e = {.index = index, .data = set ? *value : 0}};
  int r = ioctl(vcpu, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m);
  if (!set) *value = m.e.data;
  return r;
}

static int step(struct vm *v, int n) {
  char what[64];
  int r = ioctl(v->vcpu, KVM_RUN, 0);
  snprintf(what, sizeof(what), "step %d ends at OUT 0x10", n);
  check(r == 0 && v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == 0x10, what,
        r ? r : (long long)v->run->exit_reason);
  return r == 0 && v->run->exit_reason == KVM_EXIT_IO;
}

static void sane(const struct pvclock *p, const char *when) {
  char what[96];
  snprintf(what, sizeof(what), "%s: version even and nonzero", when);
  check(p->version && !(p->version & 1), what, p->version);
  snprintf(what, sizeof(what), "%s: mul and shift give 100 MHz..10 GHz", when);
  /* ns for 10^9 cycles: 0.1 s .. 10 s */
  struct pvclock q = *p;
  q.tsc_timestamp = 0;
  q.system_time = 0;
  uint64_t ns = pvclock_read(&q, 1000000000ULL);
  check(p->mul && p->shift > -32 && p->shift < 32 && ns >= NSEC / 10 && ns <= 10 * NSEC, what, ns);
  printf("info: %s: %s: version %u mul %#x shift %d flags %#x system_time %llu\n", dev, when,
         p->version, p->mul, p->shift, p->flags, (unsigned long long)p->system_time);
}

/* The guest enables its page and wall clock, reads them twice; then SET_CLOCK, bad GPAs. */
static void guest_pvclock(int sys, const struct kvm_cpuid2 *cpuid) {
  struct vm v;
  struct pvclock p1, p2, p3;
  uint64_t value, tsc1, tsc2;

  if (setup(&v, sys, cpuid)) {
    failures++;
    return;
  }
  if (msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 0) != 1) {
    check(0, "KVM_GET_MSRS reaches MSR_KVM_SYSTEM_TIME_NEW (pending: MSR routing)", errno);
    return;
  }
  check(value == 0, "MSR_KVM_SYSTEM_TIME_NEW is 0 at reset", value);
  if (!step(&v, 1)) return;
  memcpy(&p1, v.mem + PVCLOCK, sizeof(p1));
  memcpy(&tsc1, v.mem + DATA, 8);
  uint64_t t1 = pvclock_read(&p1, tsc1);
  sane(&p1, "first write");
  struct wall_clock wc;
  memcpy(&wc, v.mem + WALL, sizeof(wc));
  int64_t boot = (int64_t)wc.sec * NSEC + wc.nsec;
  int64_t skew = now_ns(CLOCK_REALTIME) - (boot + (int64_t)get_clock(v.vm, NULL));
  check(wc.version && !(wc.version & 1), "wall clock version even and nonzero", wc.version);
  check(skew > -5 * NSEC && skew < 5 * NSEC, "wall clock + guest clock is the host's real time",
        skew);
  check((int64_t)(tsc1 - p1.tsc_timestamp) >= 0, "the guest's TSC is past tsc_timestamp",
        tsc1 - p1.tsc_timestamp);

  if (!step(&v, 2)) return;
  memcpy(&p2, v.mem + PVCLOCK, sizeof(p2));
  memcpy(&tsc2, v.mem + DATA + 8, 8);
  memcpy(&value, v.mem + DATA + 16, 8);
  uint64_t t2 = pvclock_read(&p2, tsc2), clock = get_clock(v.vm, NULL);
  sane(&p2, "second write");
  check(value == (PVCLOCK | 1), "RDMSR reads MSR_KVM_SYSTEM_TIME_NEW back", value);
  check(p2.version != p1.version, "the second write changed the version", p2.version);
  check(p2.system_time >= p1.system_time, "system_time does not go back", p2.system_time);
  check(t2 > t1, "the guest's time advances", t2 - t1);
  /* Read later than the guest's TSC; 1 ms of slack for a clock without the stable bit. */
  check((int64_t)(clock - t2) > -NSEC / 1000 && (int64_t)(clock - t2) < 5 * NSEC,
        "KVM_GET_CLOCK agrees with the page", clock - t2);

  /* SET_CLOCK rewrites the page before the vCPU runs again. */
  check(set_clock(v.vm, clock + 10 * NSEC, 0, 0) == 0, "SET_CLOCK +10 s", errno);
  if (!step(&v, 3)) return;
  memcpy(&p3, v.mem + PVCLOCK, sizeof(p3));
  sane(&p3, "after SET_CLOCK");
  check(p3.system_time >= clock + 10 * NSEC - NSEC && p3.system_time < clock + 20 * NSEC,
        "SET_CLOCK +10 s reaches the page", p3.system_time - clock);

  /* A structure crossing a page is never written; the MSR keeps the value. */
  memset(v.mem + CROSSING, 0xaa, 0x20);
  value = CROSSING | 1;
  check(msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 1) == 1, "KVM_SET_MSRS of a crossing GPA",
        errno);
  check(set_clock(v.vm, clock, 0, 0) == 0, "SET_CLOCK", errno);
  if (!step(&v, 4)) return;
  int untouched = 1;
  for (int i = 0; i < 0x20; i++) untouched &= v.mem[CROSSING + i] == 0xaa;
  check(untouched, "a page-crossing pvclock is not written", v.mem[CROSSING]);
  check(msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 0) == 1 && value == (CROSSING | 1),
        "KVM_GET_MSRS reads the crossing GPA back", value);

  /* Disabled (bit 0 clear): no more writes. */
  value = PVCLOCK;
  check(msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 1) == 1, "KVM_SET_MSRS disables", errno);
  memset(v.mem + PVCLOCK, 0, sizeof(struct pvclock));
  check(set_clock(v.vm, clock, 0, 0) == 0, "SET_CLOCK", errno);
  if (!step(&v, 5)) return;
  memcpy(&p3, v.mem + PVCLOCK, sizeof(p3));
  check(p3.version == 0 && p3.system_time == 0, "a disabled page is not written", p3.version);

  /* GPAs outside RAM, or running off its end, are taken and read back; the entry goes on. */
  static const uint64_t gpas[] = {(1ULL << 40) | 1, ~0ULL, MEM_SIZE - 4, MEM_SIZE - 0x10 + 1};
  for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
    value = gpas[i];
    check(msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 1) == 1, "SYSTEM_TIME outside RAM", errno);
    value = gpas[i] & ~1ULL;
    check(msr(v.vcpu, MSR_KVM_WALL_CLOCK_NEW, &value, 1) == 1, "WALL_CLOCK outside RAM", errno);
  }
  check(set_clock(v.vm, clock, 0, 0) == 0, "SET_CLOCK", errno);
  if (!step(&v, 6)) return;
  check(msr(v.vcpu, MSR_KVM_SYSTEM_TIME_NEW, &value, 0) == 1 &&
            value == gpas[sizeof(gpas) / sizeof(gpas[0]) - 1],
        "KVM_GET_MSRS reads a GPA past RAM back", value);
  close(v.vcpu);
  close(v.vm);
  munmap(v.mem, MEM_SIZE);
}

int main(int argc, char **argv) {
  dev = argc > 1 ? argv[1] : "/dev/kagami";
  int sys = open(dev, O_RDWR | O_CLOEXEC);
  if (sys < 0) return perror(dev), 2;
  struct kvm_cpuid2 *cpuid = supported_cpuid(sys);
  if (!cpuid) return 1;
  cpuid_leaves(cpuid);
  printf("%s: supported CPUID\n", failures ? "FAIL" : "PASS");

  int before = failures;
  int vm = ioctl(sys, KVM_CREATE_VM, 0);
  if (vm < 0) return perror("KVM_CREATE_VM"), 1;
  clock_ioctls(sys, vm);
  close(vm);
  printf("%s: KVM_GET/SET_CLOCK\n", failures > before ? "FAIL" : "PASS");

  before = failures;
  guest_pvclock(sys, cpuid);
  printf("%s: guest pvclock and wall clock\n", failures > before ? "FAIL" : "PASS");
  free(cpuid);
  close(sys);
  return failures != 0;
}
