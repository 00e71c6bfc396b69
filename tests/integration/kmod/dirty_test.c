// SPDX-License-Identifier: GPL-2.0
/* dirty_test: dirty logging on /dev/kvm or /dev/kagami: GET/CLEAR_DIRTY_LOG, manual protect. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kmod_test_lib.h"

#define PAGE 4096UL
#define RAM_SIZE (2UL << 20) /* slot 0: one 2 MiB-aligned transparent huge page at GPA 0 */
#define RAM_PAGES (RAM_SIZE / PAGE)
#define WORDS (RAM_PAGES / 64)
#define SMALL_GPA 0x400000UL /* slot 1: 100 pages the guest never touches */
#define SMALL_PAGES 100
#define CODE 0x1000       /* writes the pages listed at TABLE, then OUT 0x11 */
#define TABLE 0x1800      /* real-mode segments (page << 8), 0-terminated */
#define INS_CODE 0x1100   /* INSB from port 0x12 to 0x50200, then OUT 0x11 */
#define CLOCK_CODE 0x1200 /* kvm-clock page at 0x60000, then OUT 0x11 */
#define SPIN_CODE 0x1300  /* increments 0x30010 forever */
#define FIRST_DATA 0x10   /* pages below hold the code: compared only where noted */
#define DONE_PORT 0x11

static int failures, sys;
static const char *dev;

static void check(int ok, const char *what, long got) {
  if (ok) return;
  failures++;
  printf("FAIL: %s (got %ld, errno %d: %s)\n", what, got, errno, strerror(errno));
}

static void expect_err(int r, int err, const char *what) {
  if (r == -1 && errno == err) return;
  failures++;
  printf("FAIL: %s: want errno %d (%s), got %d errno %d (%s)\n", what, err, strerror(err), r, errno,
         strerror(errno));
}

/* Real mode, DS = 0. Each table entry: ES = entry, then inc byte [es:0x10]. */
static const uint8_t writer[] = {
    0xbe, 0x00, 0x18,             /* mov si, TABLE */
    0x8b, 0x04,                   /* next: mov ax, [si] */
    0x85, 0xc0,                   /* test ax, ax */
    0x74, 0x0c,                   /* jz done */
    0x8e, 0xc0,                   /* mov es, ax */
    0x26, 0xfe, 0x06, 0x10, 0x00, /* inc byte [es:0x10] */
    0x83, 0xc6, 0x02,             /* add si, 2 */
    0xeb, 0xee,                   /* jmp next */
    0xe6, 0x11,                   /* done: out 0x11, al */
    0xeb, 0xe7,                   /* jmp CODE */
};
static const uint8_t ins[] = {
    0xb8, 0x00, 0x50, /* mov ax, 0x5000 */
    0x8e, 0xc0,       /* mov es, ax */
    0xbf, 0x00, 0x02, /* mov di, 0x200 */
    0xba, 0x12, 0x00, /* mov dx, 0x12 */
    0x6c,             /* insb */
    0xe6, 0x11,       /* out 0x11, al */
};
static const uint8_t clock_on[] = {
    0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, /* mov ecx, MSR_KVM_SYSTEM_TIME_NEW */
    0x66, 0xb8, 0x01, 0x00, 0x06, 0x00, /* mov eax, 0x60000 | 1 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0xe6, 0x11,                         /* out 0x11, al */
};
static const uint8_t spin[] = {
    0xb8, 0x00, 0x30,             /* mov ax, 0x3000 */
    0x8e, 0xc0,                   /* mov es, ax */
    0x26, 0xfe, 0x06, 0x10, 0x00, /* loop: inc byte [es:0x10] */
    0xeb, 0xf9,                   /* jmp loop */
};

struct vm {
  int fd, vcpu;
  struct kvm_run *run;
  uint8_t *ram, *small;
};

/* 2 MiB of anonymous memory, 2 MiB-aligned, in a transparent huge page where the kernel can;
 * what is around it is unmapped. */
static uint8_t *huge_ram(void) {
  uint8_t *map =
      mmap(NULL, 2 * RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return NULL;
  uint8_t *p = (uint8_t *)(((uintptr_t)map + RAM_SIZE - 1) & ~(RAM_SIZE - 1));
  if (p > map) munmap(map, p - map);
  munmap(p + RAM_SIZE, map + RAM_SIZE - p);
  madvise(p, RAM_SIZE, MADV_HUGEPAGE);
  memset(p, 0, RAM_SIZE);
  return p;
}

static int set_slot(struct vm *v, uint32_t slot, uint32_t flags) {
  struct kvm_userspace_memory_region r = {.slot = slot, .flags = flags};
  r.guest_phys_addr = slot ? SMALL_GPA : 0;
  r.memory_size = slot ? SMALL_PAGES * PAGE : RAM_SIZE;
  r.userspace_addr = (uintptr_t)(slot ? v->small : v->ram);
  return ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static int get_log(struct vm *v, uint32_t slot, void *bitmap) {
  struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = bitmap};
  return ioctl(v->fd, KVM_GET_DIRTY_LOG, &log);
}

static int clear_log(struct vm *v, uint32_t slot, uint64_t first, uint32_t num, void *bitmap) {
  struct kvm_clear_dirty_log log = {
      .slot = slot, .num_pages = num, .first_page = first, .dirty_bitmap = bitmap};
  return ioctl(v->fd, KVM_CLEAR_DIRTY_LOG, &log);
}

static int enable_manual(struct vm *v, uint64_t flags) {
  struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = {flags}};
  return ioctl(v->fd, KVM_ENABLE_CAP, &cap);
}

/* A VM with slot 0 (RAM, flags ram_flags) and slot 1, the guest's programs in RAM, real mode. */
static int vm_create(struct vm *v, uint64_t manual, uint32_t ram_flags) {
  memset(v, 0, sizeof(*v));
  v->fd = ioctl(sys, KVM_CREATE_VM, 0);
  v->ram = huge_ram();
  v->small =
      mmap(NULL, SMALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (v->fd < 0 || !v->ram || v->small == MAP_FAILED) return perror("VM"), -1;
  memcpy(v->ram + CODE, writer, sizeof(writer));
  memcpy(v->ram + INS_CODE, ins, sizeof(ins));
  memcpy(v->ram + CLOCK_CODE, clock_on, sizeof(clock_on));
  memcpy(v->ram + SPIN_CODE, spin, sizeof(spin));
  if (manual && enable_manual(v, manual)) return perror("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2"), -1;
  if (set_slot(v, 0, ram_flags) || set_slot(v, 1, KVM_MEM_LOG_DIRTY_PAGES))
    return perror("KVM_SET_USER_MEMORY_REGION"), -1;
  v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
  if (v->vcpu < 0) return perror("KVM_CREATE_VCPU"), -1;
  v->run = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
  if (v->run == MAP_FAILED) return perror("mmap kvm_run"), -1;
  struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
  cpuid->nent = 256;
  int r = ioctl(sys, KVM_GET_SUPPORTED_CPUID, cpuid) || ioctl(v->vcpu, KVM_SET_CPUID2, cpuid);
  free(cpuid);
  if (r) return perror("CPUID"), -1;
  struct kvm_sregs sregs;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  return ioctl(v->vcpu, KVM_SET_SREGS, &sregs) ? perror("KVM_SET_SREGS"), -1 : 0;
}

static void vm_destroy(struct vm *v) {
  munmap(v->run, 2 * PAGE);
  close(v->vcpu);
  close(v->fd);
  munmap(v->small, SMALL_PAGES * PAGE);
  munmap(v->ram, RAM_SIZE);
}

/* Runs the guest from rip until its OUT to DONE_PORT. */
static int run_from(struct vm *v, uint64_t rip, const char *what) {
  struct kvm_regs regs = {.rip = rip, .rflags = 2};
  if (ioctl(v->vcpu, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  for (int i = 0; i < 4; i++) {
    int r = ioctl(v->vcpu, KVM_RUN, 0);
    struct kvm_run *run = v->run;
    if (r == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT) return 0;
    if (r == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == 0x12) {
      ((uint8_t *)run)[run->io.data_offset] = 0x5a;
      continue;
    }
    check(0, what, r ? r : (long)run->exit_reason);
    return -1;
  }
  return -1;
}

/* The guest increments byte 0x10 of each page in pages (0-terminated page numbers). */
static void guest_writes(struct vm *v, const uint16_t *pages, const char *what) {
  uint8_t before[RAM_PAGES];
  int n = 0;
  for (; pages[n]; n++) {
    before[n] = v->ram[pages[n] * PAGE + 0x10];
    ((uint16_t *)(v->ram + TABLE))[n] = pages[n] << 8;
  }
  ((uint16_t *)(v->ram + TABLE))[n] = 0;
  if (run_from(v, CODE, what)) return;
  for (int i = 0; i < n; i++)
    check(v->ram[pages[i] * PAGE + 0x10] == (uint8_t)(before[i] + 1), "the guest wrote", pages[i]);
}

/* GET_DIRTY_LOG of slot 0 reports exactly the pages listed among pages from..RAM_PAGES-1. */
static void expect_dirty(struct vm *v, unsigned int from, const uint16_t *pages, const char *what) {
  uint64_t got[WORDS], want[WORDS] = {0};
  memset(got, 0xa5, sizeof(got));
  for (; *pages; pages++) want[*pages / 64] |= 1ULL << (*pages % 64);
  if (get_log(v, 0, got)) {
    check(0, what, -1);
    return;
  }
  for (unsigned int page = from; page < RAM_PAGES; page++) {
    int g = (got[page / 64] >> (page % 64)) & 1, w = (want[page / 64] >> (page % 64)) & 1;
    if (g != w) {
      failures++;
      printf("FAIL: %s: page %#x %s\n", what, page,
             g ? "dirty, not written" : "written, not dirty");
    }
  }
}

static const uint16_t none[] = {0};
static const uint16_t set1[] = {0x10, 0x11, 0x7f, 0x80, 0xff, 0};
static const uint16_t set2[] = {0x11, 0x40, 0};

/* The capability, and KVM_ENABLE_CAP's flags checks (KVM 6.1's kvm_vm_ioctl_enable_cap_generic). */
static void capability(void) {
  struct vm v = {.fd = ioctl(sys, KVM_CREATE_VM, 0)};
  long want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
  check(ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) == want,
        "system fd: MANUAL_DIRTY_LOG_PROTECT2 = its flags", 0);
  check(ioctl(v.fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) == want,
        "VM fd: MANUAL_DIRTY_LOG_PROTECT2 = its flags", 0);
  expect_err(enable_manual(&v, KVM_DIRTY_LOG_INITIALLY_SET), EINVAL, "INITIALLY_SET alone");
  expect_err(enable_manual(&v, 4), EINVAL, "unknown flag 4");
  expect_err(enable_manual(&v, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | 8), EINVAL, "ENABLE | 8");
  struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .flags = 1, .args = {1}};
  expect_err(ioctl(v.fd, KVM_ENABLE_CAP, &cap), EINVAL, "KVM_ENABLE_CAP flags 1");
  check(enable_manual(&v, 3) == 0, "ENABLE | INITIALLY_SET", errno);
  check(enable_manual(&v, 1) == 0, "ENABLE", errno);
  check(enable_manual(&v, 0) == 0, "off again", errno);
  close(v.fd);
}

/*
 * Without manual protect: logging turned on over a 2 MiB mapping, GET returns and clears,
 * a page written again is dirty again, an untouched one is not; turned off and on again.
 */
static void get_and_clear(void) {
  static const uint16_t warm[] = {0x10, 0x80, 0};
  struct vm v;
  if (vm_create(&v, 0, 0)) {
    failures++;
    return;
  }
  /* kagami.ko counts its 2 MiB leaves in debugfs; kvm-amd has no such count. */
  long huge = huge_leaves();
  if (strstr(dev, "kagami")) check(huge >= 0, "debugfs kagami/live_objects has a huge count", huge);
  guest_writes(&v, warm, "before logging");
  if (huge >= 0) check(huge_leaves() == huge + 1, "kagami maps the RAM as one 2 MiB leaf", huge);
  check(set_slot(&v, 0, KVM_MEM_LOG_DIRTY_PAGES) == 0, "logging turned on in place", errno);
  if (huge >= 0) check(huge_leaves() == huge, "logging drops the 2 MiB leaf", huge_leaves());
  expect_dirty(&v, 0, none, "nothing written since logging began");
  guest_writes(&v, set1, "set1");
  expect_dirty(&v, FIRST_DATA, set1, "GET reports exactly the pages written");
  expect_dirty(&v, 0, none, "GET cleared them");
  guest_writes(&v, set2, "set2");
  expect_dirty(&v, FIRST_DATA, set2, "a page written again is dirty again, an untouched one not");

  /* CLEAR works without manual protect too (KVM does not refuse it). */
  guest_writes(&v, set1, "set1 again");
  uint64_t bits[WORDS] = {0};
  bits[0x11 / 64] = 1ULL << (0x11 % 64);
  check(clear_log(&v, 0, 0, RAM_PAGES, bits) == 0, "CLEAR without manual protect", errno);
  static const uint16_t set1_but_11[] = {0x10, 0x7f, 0x80, 0xff, 0};
  expect_dirty(&v, FIRST_DATA, set1_but_11, "CLEAR cleared page 0x11 only");

  check(set_slot(&v, 0, 0) == 0, "logging turned off", errno);
  expect_err(get_log(&v, 0, bits), ENOENT, "GET on a slot that stopped logging");
  guest_writes(&v, set1, "writes after logging stopped");
  /* As KVM's recovery of huge pages: the split 2 MiB leaf comes back (kagami.ko only). */
  if (huge >= 0)
    check(huge_leaves() == huge + 1, "the 2 MiB leaf is back once logging stopped", huge_leaves());
  check(set_slot(&v, 0, KVM_MEM_LOG_DIRTY_PAGES) == 0, "logging turned on again", errno);
  expect_dirty(&v, 0, none, "a new log starts clean");
  guest_writes(&v, set2, "set2 after restart");
  expect_dirty(&v, FIRST_DATA, set2, "the new log sees the writes");
  vm_destroy(&v);
}

/* Manual protect: GET only copies; CLEAR clears and protects the bits given, nothing else. */
static void manual_protect(void) {
  struct vm v;
  if (vm_create(&v, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_MEM_LOG_DIRTY_PAGES)) {
    failures++;
    return;
  }
  guest_writes(&v, set1, "manual: set1");
  expect_dirty(&v, FIRST_DATA, set1, "manual: GET reports the pages written");
  expect_dirty(&v, FIRST_DATA, set1, "manual: GET again still does");
  uint64_t ones[WORDS];
  memset(ones, 0xff, sizeof(ones));
  check(clear_log(&v, 0, 0, RAM_PAGES, ones) == 0, "manual: CLEAR all", errno);
  expect_dirty(&v, 0, none, "manual: CLEAR cleared every page");
  guest_writes(&v, set2, "manual: set2");
  expect_dirty(&v, FIRST_DATA, set2, "manual: a cleared page written again is dirty again");

  /* Pages 64..127 only: 0x40 (64) goes, 0x11 stays. */
  check(clear_log(&v, 0, 64, 64, ones) == 0, "manual: CLEAR pages 64..127", errno);
  static const uint16_t only_11[] = {0x11, 0};
  expect_dirty(&v, FIRST_DATA, only_11, "manual: CLEAR left the pages outside its range");
  vm_destroy(&v);
}

/* INITIALLY_SET: a new log has every page dirty (and none protected until CLEAR). */
static void initially_set(void) {
  struct vm v;
  if (vm_create(&v, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET,
                KVM_MEM_LOG_DIRTY_PAGES)) {
    failures++;
    return;
  }
  uint64_t small[2] = {0, ~0ULL};
  check(get_log(&v, 1, small) == 0, "INITIALLY_SET: GET of the 100-page slot", errno);
  check(small[0] == ~0ULL && small[1] == (1ULL << 36) - 1,
        "INITIALLY_SET: pages 0..99 dirty, nothing past the slot", (long)small[1]);
  uint64_t all[WORDS];
  memset(all, 0xff, sizeof(all));
  check(clear_log(&v, 1, 64, 36, all) == 0, "CLEAR up to the slot's unaligned end", errno);
  check(get_log(&v, 1, small) == 0 && small[0] == ~0ULL && small[1] == 0,
        "INITIALLY_SET: CLEAR of pages 64..99", (long)small[1]);
  uint64_t ram[WORDS] = {0}, and = ~0ULL;
  check(get_log(&v, 0, ram) == 0, "INITIALLY_SET: GET of RAM", errno);
  for (unsigned int i = 0; i < WORDS; i++) and &= ram[i];
  check(and == ~0ULL, "INITIALLY_SET: every page of RAM starts dirty", (long)and);
  guest_writes(&v, set1, "INITIALLY_SET: set1");
  check(clear_log(&v, 0, 0, RAM_PAGES, all) == 0, "INITIALLY_SET: CLEAR all", errno);
  expect_dirty(&v, 0, none, "INITIALLY_SET: clean after CLEAR");
  guest_writes(&v, set2, "INITIALLY_SET: set2");
  expect_dirty(&v, FIRST_DATA, set2, "INITIALLY_SET: CLEAR protected the pages");
  vm_destroy(&v);
}

/* Writes the module makes itself, as KVM's mark_page_dirty(): string I/O into RAM, kvm-clock. */
static void module_writes(void) {
  struct vm v;
  if (vm_create(&v, 0, KVM_MEM_LOG_DIRTY_PAGES)) {
    failures++;
    return;
  }
  expect_dirty(&v, 0, none, "module: nothing yet");
  if (run_from(&v, INS_CODE, "INSB into RAM") == 0)
    check(v.ram[0x50200] == 0x5a, "INSB wrote the port's byte", v.ram[0x50200]);
  static const uint16_t ins_page[] = {0x50, 0};
  expect_dirty(&v, FIRST_DATA, ins_page, "INSB's page is dirty");
  run_from(&v, CLOCK_CODE, "kvm-clock on");
  static const uint16_t clock_page[] = {0x60, 0};
  expect_dirty(&v, FIRST_DATA, clock_page, "the kvm-clock page is dirty");
  vm_destroy(&v);
}

/* Bad arguments: KVM 6.1's errors, in its order (kvm_get/clear_dirty_log_protect). Its x86 has
 * two address spaces (SMM); a newer KVM built without SMM answers EINVAL for address space 1. */
static void bad_arguments(void) {
  struct vm v;
  if (vm_create(&v, 0, 0)) {
    failures++;
    return;
  }
  uint64_t bits[WORDS] = {0};
  expect_err(get_log(&v, 0, bits), ENOENT, "GET on a slot without logging");
  expect_err(get_log(&v, 5, bits), ENOENT, "GET on an empty slot id");
  expect_err(get_log(&v, 1000, bits), ENOENT, "GET on slot 1000 (a valid id, no slot)");
  expect_err(get_log(&v, 1 << 16, bits), ENOENT, "GET in address space 1 (SMM)");
  expect_err(get_log(&v, 32764, bits), EINVAL, "GET on slot id 32764");
  expect_err(get_log(&v, 2 << 16, bits), EINVAL, "GET in address space 2");
  expect_err(get_log(&v, 5, NULL), ENOENT, "GET: the slot is looked at before the bitmap");
  expect_err(get_log(&v, 1, NULL), EFAULT, "GET to a NULL bitmap");
  uint8_t *guard = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(guard + PAGE, PAGE, PROT_NONE);
  expect_err(get_log(&v, 1, guard + PAGE), EFAULT, "GET to a PROT_NONE bitmap");
  expect_err(get_log(&v, 1, guard + PAGE - 8), EFAULT, "GET to a bitmap 8 bytes short");
  check(get_log(&v, 1, guard + PAGE - 16) == 0, "GET of 100 pages writes 16 bytes", errno);
  expect_err(ioctl(v.fd, KVM_GET_DIRTY_LOG, NULL), EFAULT, "GET with a NULL argument");
  expect_err(ioctl(v.fd, KVM_CLEAR_DIRTY_LOG, NULL), EFAULT, "CLEAR with a NULL argument");

  expect_err(clear_log(&v, 32764, 0, 64, bits), EINVAL, "CLEAR on slot id 32764");
  expect_err(clear_log(&v, 5, 1, 64, bits), EINVAL, "CLEAR: first_page 1 before the slot");
  expect_err(clear_log(&v, 5, 0, 64, bits), ENOENT, "CLEAR on an empty slot id");
  expect_err(clear_log(&v, 0, 0, 64, bits), ENOENT, "CLEAR on a slot without logging");
  expect_err(clear_log(&v, 1, 1, 63, bits), EINVAL, "CLEAR: first_page 1");
  expect_err(clear_log(&v, 1, 0, 63, bits), EINVAL, "CLEAR: 63 pages, short of the end");
  expect_err(clear_log(&v, 1, 0, 101, bits), EINVAL, "CLEAR: past the slot's end");
  expect_err(clear_log(&v, 1, 128, 0, bits), EINVAL, "CLEAR: first_page past the end");
  expect_err(clear_log(&v, 1, 1ULL << 63, 64, bits), EINVAL, "CLEAR: first_page 2^63");
  check(clear_log(&v, 1, 64, 36, bits) == 0, "CLEAR: 36 pages up to the end", errno);
  check(clear_log(&v, 1, 0, 0, NULL) == 0, "CLEAR: no pages, no bitmap read", errno);
  expect_err(clear_log(&v, 1, 0, 64, NULL), EFAULT, "CLEAR from a NULL bitmap");
  expect_err(clear_log(&v, 1, 0, 100, guard + PAGE - 8), EFAULT, "CLEAR from 8 bytes short");
  munmap(guard, 2 * PAGE);

  struct kvm_userspace_memory_region r = {.slot = 2,
                                          .flags = 1u << 2,
                                          .guest_phys_addr = 1 << 30,
                                          .memory_size = PAGE,
                                          .userspace_addr = (uintptr_t)v.small};
  expect_err(ioctl(v.fd, KVM_SET_USER_MEMORY_REGION, &r), EINVAL, "unknown slot flag 4");
  r.flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
  check(ioctl(v.fd, KVM_SET_USER_MEMORY_REGION, &r) == 0, "a logging read-only slot", errno);
  r.flags = KVM_MEM_LOG_DIRTY_PAGES;
  expect_err(ioctl(v.fd, KVM_SET_USER_MEMORY_REGION, &r), EINVAL, "READONLY may not change");
  r.guest_phys_addr = 2UL << 30; /* moved: the log goes with it */
  r.flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
  check(ioctl(v.fd, KVM_SET_USER_MEMORY_REGION, &r) == 0, "a logging slot moves", errno);
  check(get_log(&v, 2, bits) == 0, "the moved slot still logs", errno);
  r.memory_size = 0;
  check(ioctl(v.fd, KVM_SET_USER_MEMORY_REGION, &r) == 0, "a logging slot deleted", errno);
  expect_err(get_log(&v, 2, bits), ENOENT, "GET on the deleted slot");
  vm_destroy(&v);
}

/* A vCPU thread spinning in the guest, writing page 0x30, until a signal stops it. */
static void on_signal(int sig) {
  (void)sig;
}

static void *spinner(void *arg) {
  struct vm *v = arg;
  struct kvm_regs regs = {.rip = SPIN_CODE, .rflags = 2};
  ioctl(v->vcpu, KVM_SET_REGS, &regs);
  while (!v->run->immediate_exit && ioctl(v->vcpu, KVM_RUN, 0) == 0) {
  }
  return NULL;
}

/* Waits (up to 5 s) until the guest has written its counter again. */
static int counter_moves(volatile uint8_t *counter) {
  uint8_t seen = *counter;
  for (int i = 0; i < 5000; i++) {
    if (*counter != seen) return 1;
    usleep(1000);
  }
  return 0;
}

/*
 * The protection reaches a vCPU that runs all along (on another CPU when there is one): after
 * each GET has returned, the guest's next write is logged, never lost to a stale TLB entry.
 */
static void running_vcpu(void) {
  struct vm v;
  if (vm_create(&v, 0, KVM_MEM_LOG_DIRTY_PAGES)) {
    failures++;
    return;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, spinner, &v);
  volatile uint8_t *counter = v.ram + 0x30010;
  static const uint16_t page_30[] = {0x30, 0};
  check(counter_moves(counter), "the spinning guest writes", *counter);
  for (int round = 0; round < 20; round++) {
    uint64_t bits[WORDS];
    if (get_log(&v, 0, bits)) check(0, "GET while a vCPU runs", errno);
    if (!counter_moves(counter)) {
      check(0, "the guest went on writing", round);
      break;
    }
    expect_dirty(&v, FIRST_DATA, page_30, "a write after GET returned is logged");
  }
  v.run->immediate_exit = 1;
  pthread_kill(thread, SIGUSR1);
  pthread_join(thread, NULL);
  vm_destroy(&v);
}

int main(int argc, char **argv) {
  dev = argc > 1 ? argv[1] : "/dev/kagami";
  sys = open(dev, O_RDWR | O_CLOEXEC);
  if (sys < 0) return perror(dev), 2;
  struct {
    void (*run)(void);
    const char *name;
  } cases[] = {
      {capability, "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2"},
      {get_and_clear, "GET_DIRTY_LOG without manual protect, over a 2 MiB mapping, flags toggled"},
      {manual_protect, "manual protect: GET copies, CLEAR clears and protects"},
      {initially_set, "manual protect with INITIALLY_SET"},
      {module_writes, "the module's own writes (INSB, kvm-clock) are logged"},
      {bad_arguments, "bad slot ids, ranges and bitmaps; moved and deleted logging slots"},
      {running_vcpu, "a vCPU running during GET sees the protection"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int before = failures;
    cases[i].run();
    printf("%s: %s: %s\n", failures > before ? "FAIL" : "PASS", dev, cases[i].name);
  }
  close(sys);
  return failures != 0;
}
