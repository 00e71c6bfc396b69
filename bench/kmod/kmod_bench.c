// SPDX-License-Identifier: GPL-2.0
/* kmod_bench: exit and nested-page-fault costs of a KVM-ABI device (/dev/kagami or /dev/kvm). */
#define _GNU_SOURCE /* memfd_create */
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

#define CODE 0x1000
#define TOUCH_BASE 0x100000UL  /* first page the first-touch guest writes */
#define MMIO_ADDR 0xe0000000UL /* outside every slot */

/* 32-bit protected mode, paging off, flat segments. */
static const uint8_t guest_cpuid[] = {
    0xbe, 0,    0, 0, 0, /* mov esi, N (patched) */
    0x31, 0xc0,          /* 1: xor eax, eax */
    0x0f, 0xa2,          /* cpuid (nop nop in the baseline) */
    0x4e,                /* dec esi */
    0x75, 0xf9,          /* jnz 1b */
    0xf4,                /* hlt */
};
static const uint8_t guest_pio[] = {0xe6, 0x10, 0xeb, 0xfc}; /* 1: out 0x10, al; jmp 1b */
static const uint8_t guest_mmio[] = {
    0xa2, 0x00, 0x00, 0x00, 0xe0, /* 1: mov [0xe0000000], al */
    0xeb, 0xf9,                   /* jmp 1b */
};
static const uint8_t guest_touch[] = {
    0xbf, 0x00, 0x00, 0x10, 0x00,       /* mov edi, 0x100000 */
    0xb9, 0,    0,    0,    0,          /* mov ecx, N (patched) */
    0x89, 0x07,                         /* 1: mov [edi], eax */
    0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, /* add edi, 4096 */
    0xe2, 0xf6,                         /* loop 1b */
    0xf4,                               /* hlt */
};

struct vm {
  int sys, vm, vcpu;
  struct kvm_run *run;
  uint8_t *mem;
  size_t mem_size;
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void set_flat_segment(struct kvm_segment *s, uint8_t type, uint16_t selector) {
  *s = (struct kvm_segment){.base = 0,
                            .limit = 0xffffffff,
                            .selector = selector,
                            .type = type,
                            .present = 1,
                            .dpl = 0,
                            .db = 1,
                            .s = 1,
                            .g = 1};
}

/* A VM with one slot of `mem_size` bytes at GPA 0 (memfd, as the kagami VMM's RAM) and one vCPU
 * at CODE in flat 32-bit protected mode, with the supported CPUID. */
static void vm_create(struct vm *v, const char *dev, const uint8_t *code, size_t len,
                      size_t mem_size) {
  v->sys = open(dev, O_RDWR | O_CLOEXEC);
  if (v->sys < 0) die(dev);
  v->vm = ioctl(v->sys, KVM_CREATE_VM, 0);
  if (v->vm < 0) die("KVM_CREATE_VM");
  int memfd = memfd_create("guest-ram", MFD_CLOEXEC);
  if (memfd < 0 || ftruncate(memfd, (off_t)mem_size)) die("memfd");
  v->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, memfd, 0);
  close(memfd);
  if (v->mem == MAP_FAILED) die("mmap");
  v->mem_size = mem_size;
  memcpy(v->mem + CODE, code, len);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = mem_size, .userspace_addr = (uintptr_t)v->mem};
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region)) die("KVM_SET_USER_MEMORY_REGION");
  v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
  if (v->vcpu < 0) die("KVM_CREATE_VCPU");
  v->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
  if (v->run == MAP_FAILED) die("mmap kvm_run");

  struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[256];
  } cpuid = {.head.nent = 256};
  if (ioctl(v->sys, KVM_GET_SUPPORTED_CPUID, &cpuid)) die("KVM_GET_SUPPORTED_CPUID");
  if (ioctl(v->vcpu, KVM_SET_CPUID2, &cpuid)) die("KVM_SET_CPUID2");

  struct kvm_sregs sregs;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs)) die("KVM_GET_SREGS");
  set_flat_segment(&sregs.cs, 11, 8);
  set_flat_segment(&sregs.ds, 3, 16);
  sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
  sregs.cr0 |= 1; /* PE */
  if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs)) die("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  if (ioctl(v->vcpu, KVM_SET_REGS, &regs)) die("KVM_SET_REGS");
}

static void vm_destroy(struct vm *v) {
  munmap(v->run, 4096);
  munmap(v->mem, v->mem_size);
  close(v->vcpu);
  close(v->vm);
  close(v->sys);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_expect(struct vm *v, uint32_t reason) {
  if (ioctl(v->vcpu, KVM_RUN, 0)) die("KVM_RUN");
  if (v->run->exit_reason != reason) {
    fprintf(stderr, "exit reason %u, expected %u\n", v->run->exit_reason, reason);
    exit(1);
  }
}

static void patch32(uint8_t *code, size_t offset, uint32_t value) {
  memcpy(code + offset, &value, 4);
}

/* Seconds for a guest that runs `n` loop iterations, with or without CPUID, to its HLT. */
static double cpuid_loop(const char *dev, uint32_t n, int with_cpuid) {
  uint8_t code[sizeof(guest_cpuid)];
  memcpy(code, guest_cpuid, sizeof(code));
  patch32(code, 1, n);
  if (!with_cpuid) code[7] = code[8] = 0x90;
  struct vm v;
  vm_create(&v, dev, code, sizeof(code), 0x10000);
  run_expect(&v, KVM_EXIT_HLT); /* warm up: the code page is mapped, the vCPU has run */
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  ioctl(v.vcpu, KVM_SET_REGS, &regs);
  double start = now();
  run_expect(&v, KVM_EXIT_HLT);
  double t = now() - start;
  vm_destroy(&v);
  return t;
}

/* Seconds per exit to userspace of a guest looping on OUT or on an MMIO write. */
static double exit_loop(const char *dev, const uint8_t *code, size_t len, uint32_t reason,
                        uint32_t n) {
  struct vm v;
  vm_create(&v, dev, code, len, 0x10000);
  for (int i = 0; i < 10; i++) run_expect(&v, reason);
  double start = now();
  for (uint32_t i = 0; i < n; i++) run_expect(&v, reason);
  double t = (now() - start) / n;
  vm_destroy(&v);
  return t;
}

/* Seconds per page for the first write of each of `pages` fresh pages (host memory is
 * populated beforehand, so what is timed is the nested page fault and its mapping). */
static double first_touch(const char *dev, uint32_t pages) {
  uint8_t code[sizeof(guest_touch)];
  memcpy(code, guest_touch, sizeof(code));
  patch32(code, 6, pages);
  struct vm v;
  vm_create(&v, dev, code, sizeof(code), TOUCH_BASE + (size_t)pages * 4096);
  double start = now();
  run_expect(&v, KVM_EXIT_HLT);
  double first = now() - start;
  /* The same loop again over mapped pages: the loop's own cost, subtracted. */
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  ioctl(v.vcpu, KVM_SET_REGS, &regs);
  start = now();
  run_expect(&v, KVM_EXIT_HLT);
  double again = now() - start;
  vm_destroy(&v);
  return (first - again) / pages;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr,
            "usage: kmod_bench DEVICE [SCALE]\n"
            "  prints one line per measure: NAME SECONDS-PER-OPERATION\n");
    return 2;
  }
  const char *dev = argv[1];
  double scale = argc == 3 ? atof(argv[2]) : 1;
  uint32_t n_cpuid = (uint32_t)(20000 * scale), n_exit = (uint32_t)(5000 * scale);
  uint32_t pages = (uint32_t)(8192 * scale);

  double with = cpuid_loop(dev, n_cpuid, 1), without = cpuid_loop(dev, n_cpuid, 0);
  printf("cpuid %.9f\n", (with - without) / n_cpuid);
  printf("pio %.9f\n", exit_loop(dev, guest_pio, sizeof(guest_pio), KVM_EXIT_IO, n_exit));
  printf("mmio %.9f\n", exit_loop(dev, guest_mmio, sizeof(guest_mmio), KVM_EXIT_MMIO, n_exit));
  printf("first-touch %.9f\n", first_touch(dev, pages));
  return 0;
}
