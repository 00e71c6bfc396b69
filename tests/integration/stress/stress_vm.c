// SPDX-License-Identifier: GPL-2.0
/* stress: tiny real-mode VMs, the guests they run, and the random numbers of the cases. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "stress.h"

const char *stress_dev = "/dev/kagami";

const uint8_t guest_spin[2] = {0xeb, 0xfe};         /* jmp $ */
const uint8_t guest_triple_fault[2] = {0x0f, 0x0b}; /* ud2 with an empty IDT */
/* OUT, IN, an MMIO write and read at GPA 0xf0000 (outside slot 0), CPUID, HLT, again. */
const uint8_t guest_exits[20] = {
    0xe6, 0x10,       /* out 0x10, al */
    0xe4, 0x11,       /* in al, 0x11 */
    0xb8, 0x00, 0xf0, /* mov ax, 0xf000 */
    0x8e, 0xd8,       /* mov ds, ax */
    0xa2, 0x00, 0x00, /* mov [0], al (GPA 0xf0000: MMIO) */
    0xa0, 0x10, 0x00, /* mov al, [0x10] */
    0x0f, 0xa2,       /* cpuid */
    0xf4,             /* hlt */
    0xeb, 0xec,       /* jmp 0x1000 */
};
/* Writes every page of 0x2000..0x1ffff forever (DS = 0x200 * n): keeps the NPT busy. */
const uint8_t guest_sweep[22] = {
    0xbb, 0x00, 0x02,             /* mov bx, 0x200 */
    0x8e, 0xdb,                   /* mov ds, bx */
    0xc6, 0x06, 0x00, 0x00, 0x5a, /* mov byte [0], 0x5a */
    0x81, 0xc3, 0x00, 0x01,       /* add bx, 0x100 */
    0x81, 0xfb, 0x00, 0x20,       /* cmp bx, 0x2000 */
    0x72, 0xef,                   /* jb 0x1003 */
    0xeb, 0xea,                   /* jmp 0x1000 */
};

static void on_alarm(int sig) {
  (void)sig;
}

void start_interrupt_timer(long usec) {
  struct sigaction sa = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, usec}, {0, usec}};
  setitimer(ITIMER_REAL, &it, NULL);
}

int tiny_vcpu_reset(struct tiny_vm *t, int i) {
  struct kvm_sregs sregs;
  if (ioctl(t->vcpu[i], KVM_GET_SREGS, &sregs)) return -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  sregs.idt.limit = 0;
  if (ioctl(t->vcpu[i], KVM_SET_SREGS, &sregs)) return -1;
  struct kvm_regs regs = {.rip = GUEST_CODE, .rflags = 2};
  return ioctl(t->vcpu[i], KVM_SET_REGS, &regs);
}

/* The interrupt controller model, chosen before the first vCPU as KVM requires. */
static int tiny_vm_irqchip(struct tiny_vm *t, enum tiny_irqchip irqchip) {
  struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24};
  switch (irqchip) {
    case TINY_IRQCHIP_KERNEL: return ioctl(t->vm, KVM_CREATE_IRQCHIP, 0);
    case TINY_IRQCHIP_SPLIT: return ioctl(t->vm, KVM_ENABLE_CAP, &split);
    default: return 0;
  }
}

int tiny_vm_create(struct tiny_vm *t, const uint8_t *code, size_t len, int nvcpus) {
  return tiny_vm_create_irq(t, code, len, nvcpus, TINY_IRQCHIP_NONE);
}

int tiny_vm_create_irq(struct tiny_vm *t, const uint8_t *code, size_t len, int nvcpus,
                       enum tiny_irqchip irqchip) {
  memset(t, 0, sizeof(*t));
  t->sys = t->vm = -1;
  t->sys = open(stress_dev, O_RDWR | O_CLOEXEC);
  if (t->sys < 0) return perror(stress_dev), -1;
  t->vm = ioctl(t->sys, KVM_CREATE_VM, 0);
  if (t->vm < 0) return perror("KVM_CREATE_VM"), -1;
  if (tiny_vm_irqchip(t, irqchip)) return perror("irqchip"), -1;
  t->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (t->mem == MAP_FAILED) return perror("mmap"), -1;
  memcpy(t->mem + GUEST_CODE, code, len);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)t->mem};
  if (ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot 0"), -1;
  for (int i = 0; i < nvcpus; i++) {
    t->vcpu[i] = ioctl(t->vm, KVM_CREATE_VCPU, i);
    if (t->vcpu[i] < 0) return perror("KVM_CREATE_VCPU"), -1;
    t->nvcpus++;
    t->run[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu[i], 0);
    if (t->run[i] == MAP_FAILED) return perror("mmap kvm_run"), -1;
    if (tiny_vcpu_reset(t, i)) return perror("vCPU reset"), -1;
  }
  return 0;
}

void tiny_vm_destroy(struct tiny_vm *t) {
  for (int i = 0; i < t->nvcpus; i++) {
    munmap(t->run[i], 4096);
    close(t->vcpu[i]);
  }
  if (t->mem && t->mem != MAP_FAILED) munmap(t->mem, GUEST_MEM);
  if (t->vm >= 0) close(t->vm);
  if (t->sys >= 0) close(t->sys);
  t->nvcpus = 0;
}

static uint64_t rng_state = 1;

void rng_seed(uint64_t seed) {
  rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

uint64_t rng_below(uint64_t n) {
  return n ? rng() % n : 0;
}

uint64_t rng_interesting(void) {
  switch (rng_below(8)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return ~0ULL;
    case 3: return 1ULL << rng_below(64);
    case 4: return (1ULL << rng_below(64)) - 1;
    case 5: return rng_below(64) << 12;
    case 6: return rng_below(0x100);
    default: return rng();
  }
}

void rng_fill(void *buf, size_t len) {
  uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)rng();
}

/* A valid buffer, NULL, an unmapped address, a kernel address, or the end of a valid buffer. */
void *rng_pointer(void *valid, size_t valid_len) {
  switch (rng_below(6)) {
    case 0: return NULL;
    case 1: return BOGUS_PTR;
    case 2: return (void *)0xffffffff81000000UL;
    case 3: return (uint8_t *)valid + valid_len - rng_below(64);
    default: return valid;
  }
}
