// SPDX-License-Identifier: GPL-2.0
/* run_test: KVM_RUN on /dev/kagami with a tiny real-mode guest: every exit kind, signals, spin. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmod_test_lib.h"

#define MEM_SIZE 0x4000UL
#define CODE 0x1000

static int failures;

static void check(int ok, const char *what, long got) {
  if (ok) return;
  failures++;
  printf("FAIL: %s (got %#lx, errno %d: %s)\n", what, got, errno, strerror(errno));
}

/* Real mode at 0x1000: OUT, IN, MMIO write and read (0x8000 and 0x9000 are outside the slot),
 * CPUID, HLT, then UD2 with an empty IDT: #UD, #GP, #DF, triple fault. */
static const uint8_t program[] = {
    0xb0, 0x42,       /* mov al, 0x42 */
    0xe6, 0x10,       /* out 0x10, al */
    0xe4, 0x11,       /* in al, 0x11 */
    0xa2, 0x00, 0x80, /* mov [0x8000], al */
    0xa0, 0x00, 0x90, /* mov al, [0x9000] */
    0x89, 0xc6,       /* mov si, ax */
    0x66, 0x31, 0xc0, /* xor eax, eax */
    0x0f, 0xa2,       /* cpuid */
    0xf4,             /* hlt */
    0x0f, 0x0b,       /* ud2 */
};
static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp $ */
/* REP OUTSB of "abc" at 0x2000, then REP INSB of two bytes to 0x3000, then HLT. */
static const uint8_t string_io[] = {
    0xba, 0x20, 0x00, /* mov dx, 0x20 */
    0xbe, 0x00, 0x20, /* mov si, 0x2000 */
    0xbf, 0x00, 0x30, /* mov di, 0x3000 */
    0xb9, 0x03, 0x00, /* mov cx, 3 */
    0xf3, 0x6e,       /* rep outsb */
    0xb9, 0x02, 0x00, /* mov cx, 2 */
    0xf3, 0x6c,       /* rep insb */
    0xf4,             /* hlt */
};

struct vcpu {
  int sys, vm, fd;
  struct kvm_run *run;
  uint8_t *mem;
};

/* A VM whose slot 0 is mem_size bytes at mem (MEM_SIZE of fresh shared memory when NULL), with
 * code at CODE, in real mode. */
static int setup_with(struct vcpu *v, const uint8_t *code, size_t len, uint8_t *mem,
                      size_t mem_size) {
  v->sys = open("/dev/kagami", O_RDWR | O_CLOEXEC);
  if (v->sys < 0) return perror("open /dev/kagami"), -1;
  v->vm = ioctl(v->sys, KVM_CREATE_VM, 0);
  v->mem =
      mem ? mem : mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (v->vm < 0 || v->mem == MAP_FAILED) return perror("KVM_CREATE_VM"), -1;
  memcpy(v->mem + CODE, code, len);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = mem_size, .userspace_addr = (uintptr_t)v->mem};
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  v->fd = ioctl(v->vm, KVM_CREATE_VCPU, 0);
  if (v->fd < 0) return perror("KVM_CREATE_VCPU"), -1;
  v->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
  if (v->run == MAP_FAILED) return perror("mmap kvm_run"), -1;

  struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[1];
  } cpuid = {.head.nent = 1, .entries[0] = {.function = 0, .eax = 0x1234}};
  if (ioctl(v->fd, KVM_SET_CPUID2, &cpuid)) return perror("KVM_SET_CPUID2"), -1;
  struct kvm_sregs sregs;
  if (ioctl(v->fd, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  check(!(sregs.efer & (1 << 12)), "EFER.SVME is hidden from userspace", sregs.efer);
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  sregs.idt.limit = 0;
  if (ioctl(v->fd, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  if (ioctl(v->fd, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

static int setup(struct vcpu *v, const uint8_t *code, size_t len) {
  return setup_with(v, code, len, NULL, MEM_SIZE);
}

/* As KVM 6.1 once a vCPU has run: KVM_SET_CPUID2 takes only the table in force (selftest
 * cpuid_test); KVM_GET/SET_DEBUGREGS round-trip and refuse DR6/DR7 bits 63:32 (state_test). */
static void after_run_checks(struct vcpu *v) {
  struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[1];
  } cpuid = {.head.nent = 1, .entries[0] = {.function = 0, .eax = 0x1234}};
  check(ioctl(v->fd, KVM_SET_CPUID2, &cpuid) == 0, "the same CPUID after KVM_RUN", errno);
  cpuid.entries[0].eax = 0x1235;
  errno = 0;
  check(ioctl(v->fd, KVM_SET_CPUID2, &cpuid) == -1 && errno == EINVAL,
        "a changed CPUID after KVM_RUN is EINVAL", errno);
  struct kvm_debugregs dbg = {
      .db = {0x1000, 0x2000, 0x3000, 0x4000}, .dr6 = 0xffff0ff0, .dr7 = 0x401};
  struct kvm_debugregs got;
  check(ioctl(v->fd, KVM_SET_DEBUGREGS, &dbg) == 0, "KVM_SET_DEBUGREGS", errno);
  memset(&got, 0xff, sizeof(got));
  check(ioctl(v->fd, KVM_GET_DEBUGREGS, &got) == 0 && got.db[0] == 0x1000 && got.db[3] == 0x4000 &&
            got.dr7 == 0x401 && (got.dr6 & 0xffffffff) == 0xffff0ff0 && got.flags == 0,
        "KVM_GET_DEBUGREGS returns what was set", got.dr7);
  dbg.dr7 = 1ULL << 32;
  errno = 0;
  check(ioctl(v->fd, KVM_SET_DEBUGREGS, &dbg) == -1 && errno == EINVAL, "DR7 bits 63:32 are EINVAL",
        errno);
}

static int run_until(struct vcpu *v, uint32_t want, const char *what) {
  int r = ioctl(v->fd, KVM_RUN, 0);
  check(r == 0, what, r);
  check(r != 0 || v->run->exit_reason != KVM_EXIT_INTR, "KVM_EXIT_INTR only with EINTR",
        v->run->exit_reason);
  check(v->run->exit_reason == want, what, v->run->exit_reason);
  return r == 0 && v->run->exit_reason == want;
}

static int exits(void) {
  struct vcpu v;
  struct kvm_regs regs;

  if (setup(&v, program, sizeof(program))) return 1;
  struct kvm_run *run = v.run;
  uint8_t *data;
  if (run_until(&v, KVM_EXIT_IO, "OUT exits with KVM_EXIT_IO")) {
    data = (uint8_t *)run + run->io.data_offset;
    check(run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x10 && run->io.size == 1 &&
              run->io.count == 1 && data[0] == 0x42,
          "OUT 0x10 of 0x42", data[0]);
  }
  if (run_until(&v, KVM_EXIT_IO, "IN exits with KVM_EXIT_IO")) {
    data = (uint8_t *)run + run->io.data_offset;
    check(run->io.direction == KVM_EXIT_IO_IN && run->io.port == 0x11, "IN 0x11", run->io.port);
    data[0] = 0x99;
  }
  if (run_until(&v, KVM_EXIT_MMIO, "a write outside RAM exits with KVM_EXIT_MMIO"))
    check(run->mmio.is_write && run->mmio.phys_addr == 0x8000 && run->mmio.len == 1 &&
              run->mmio.data[0] == 0x99,
          "MMIO write of IN's 0x99 at 0x8000", run->mmio.phys_addr);
  if (run_until(&v, KVM_EXIT_MMIO, "a read outside RAM exits with KVM_EXIT_MMIO")) {
    check(!run->mmio.is_write && run->mmio.phys_addr == 0x9000 && run->mmio.len == 1,
          "MMIO read at 0x9000", run->mmio.phys_addr);
    run->mmio.data[0] = 0x77;
  }
  if (run_until(&v, KVM_EXIT_HLT, "HLT exits with KVM_EXIT_HLT")) {
    ioctl(v.fd, KVM_GET_REGS, &regs);
    check(regs.rax == 0x1234, "CPUID answered from KVM_SET_CPUID2", regs.rax);
    check((regs.rsi & 0xff) == 0x77, "the MMIO read completed into AL", regs.rsi);
    check(regs.rip == CODE + sizeof(program) - 2, "RIP is past HLT", regs.rip);
  }
  after_run_checks(&v);
  /* Delete the slot (the nested page table and its pins go) and put it back: the guest's code
   * page faults in again. */
  struct kvm_userspace_memory_region region = {.slot = 0, .userspace_addr = (uintptr_t)v.mem};
  check(ioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &region) == 0, "slot deleted", errno);
  region.memory_size = MEM_SIZE;
  check(ioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &region) == 0, "slot back", errno);
  run_until(&v, KVM_EXIT_SHUTDOWN, "a triple fault exits with KVM_EXIT_SHUTDOWN");
  run->immediate_exit = 1;
  errno = 0;
  check(ioctl(v.fd, KVM_RUN, 0) == -1 && errno == EINTR, "immediate_exit gives EINTR", errno);
  printf("%s: run exits\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

static int string_io_test(void) {
  struct vcpu v;
  struct kvm_regs regs;

  if (setup(&v, string_io, sizeof(string_io))) return 1;
  memcpy(v.mem + 0x2000, "abc", 3);
  struct kvm_run *run = v.run;
  uint8_t *data;
  if (run_until(&v, KVM_EXIT_IO, "REP OUTSB exits with KVM_EXIT_IO")) {
    data = (uint8_t *)run + run->io.data_offset;
    check(run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x20 && run->io.size == 1 &&
              run->io.count == 3 && memcmp(data, "abc", 3) == 0,
          "REP OUTSB of abc to 0x20 in one exit", run->io.count);
    check(run->io.data_offset == 4096, "I/O data on the second page, as KVM", run->io.data_offset);
  }
  if (run_until(&v, KVM_EXIT_IO, "REP INSB exits with KVM_EXIT_IO")) {
    data = (uint8_t *)run + run->io.data_offset;
    check(run->io.direction == KVM_EXIT_IO_IN && run->io.count == 2, "REP INSB of 2", 0);
    memcpy(data, "xy", 2);
  }
  /* As KVM 6.1: immediate_exit completes the INSB, then EINTR with the exit reason left as it
   * was (KVM's selftests complete their ucall I/O so, then read exit_reason again). */
  run->immediate_exit = 1;
  errno = 0;
  check(ioctl(v.fd, KVM_RUN, 0) == -1 && errno == EINTR, "immediate_exit gives EINTR", errno);
  check(run->exit_reason == KVM_EXIT_IO, "immediate_exit keeps the exit reason", run->exit_reason);
  run->immediate_exit = 0;
  if (run_until(&v, KVM_EXIT_HLT, "HLT after string I/O")) {
    ioctl(v.fd, KVM_GET_REGS, &regs);
    check(memcmp(v.mem + 0x3000, "xy", 2) == 0, "INSB wrote to ES:DI", v.mem[0x3000]);
    check(regs.rsi == 0x2003 && regs.rdi == 0x3002 && regs.rcx == 0, "SI, DI, CX stepped",
          regs.rsi);
  }
  printf("%s: string I/O\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

/* Real mode: the bytes at 0x8000 and at 0xfffff (ES = 0xf000), each OUT to 0x10, then a write
 * of 0x77 to 0x8000, then HLT. */
static const uint8_t reads_low_memory[] = {
    0xa0, 0x00, 0x80,             /* mov al, [0x8000] */
    0xe6, 0x10,                   /* out 0x10, al */
    0xb8, 0x00, 0xf0,             /* mov ax, 0xf000 */
    0x8e, 0xc0,                   /* mov es, ax */
    0x26, 0xa0, 0xff, 0xff,       /* mov al, es:[0xffff] */
    0xe6, 0x10,                   /* out 0x10, al */
    0xc6, 0x06, 0x00, 0x80, 0x77, /* mov byte [0x8000], 0x77 */
    0xf4,                         /* hlt */
};

/* Anonymous memory in transparent huge pages: 4 MiB, 2 MiB-aligned, touched. */
static uint8_t *huge_memory(void) {
  const size_t huge = 2UL << 20;
  uint8_t *p = mmap(NULL, 3 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  p = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(huge - 1));
  if (madvise(p, 2 * huge, MADV_HUGEPAGE)) return NULL;
  memset(p, 0, 2 * huge);
  return p;
}

/* The guest of reads_low_memory on memory at mem (slot 0 at GPA 0, 2 MiB): it must see the
 * VMM's bytes and the VMM its write, whether kagami maps a 2 MiB leaf (want_huge) or 4 KiB. */
static void low_memory_guest(uint8_t *mem, long want_huge, const char *what) {
  struct vcpu v;
  long before = huge_leaves();

  mem[0x8000] = 0x5a;
  mem[0xfffff] = 0xa5;
  if (setup_with(&v, reads_low_memory, sizeof(reads_low_memory), mem, 2UL << 20)) {
    failures++;
    return;
  }
  struct kvm_run *run = v.run;
  if (run_until(&v, KVM_EXIT_IO, what))
    check(((uint8_t *)run + run->io.data_offset)[0] == 0x5a, "the guest reads 0x8000", 0);
  check(huge_leaves() - before == want_huge, what, huge_leaves() - before);
  if (run_until(&v, KVM_EXIT_IO, what))
    check(((uint8_t *)run + run->io.data_offset)[0] == 0xa5, "the guest reads 0xfffff", 0);
  if (run_until(&v, KVM_EXIT_HLT, what))
    check(mem[0x8000] == 0x77, "the VMM sees 0x77", mem[0x8000]);
  close(v.fd);
  close(v.vm);
  close(v.sys);
  munmap(run, 2 * 4096);
}

/* 2 MiB nested-page-table leaves where the VMM's memory is a transparent huge page; 4 KiB where
 * the same memory is not 2 MiB-aligned to the guest, or is not huge. */
static int huge_page_test(void) {
  uint8_t *mem = huge_memory();
  if (!mem) return perror("huge memory"), 1;
  if (huge_leaves() < 0) return printf("FAIL: no huge line in debugfs live_objects\n"), 1;
  low_memory_guest(mem, 1, "a transparent huge page maps as one 2 MiB leaf");
  low_memory_guest(mem + 4096, 0, "the same memory 4 KiB off 2 MiB alignment maps 4 KiB pages");
  uint8_t *small = mmap(NULL, 2UL << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  low_memory_guest(small, 0, "shared memory in 4 KiB pages maps 4 KiB pages");
  check(huge_leaves() == 0, "no 2 MiB leaf outlives its VM", huge_leaves());
  printf("%s: 2 MiB nested pages\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

/* Real mode: WRMSR TSC_AUX = 0x1234, RDTSCP, OUT of ECX (what RDTSCP read) to 0x10, HLT. */
static const uint8_t tsc_aux_program[] = {
    0x66, 0xb9, 0x03, 0x01, 0x00, 0xc0, /* mov ecx, 0xc0000103 (TSC_AUX) */
    0x66, 0xb8, 0x34, 0x12, 0x00, 0x00, /* mov eax, 0x1234 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0x0f, 0x01, 0xf9,                   /* rdtscp */
    0x66, 0x89, 0xc8,                   /* mov eax, ecx */
    0x66, 0xe7, 0x10,                   /* out 0x10, eax */
    0xf4,                               /* hlt */
};

static int64_t host_tsc_aux(void) {
  uint64_t value;
  int fd = open("/dev/cpu/0/msr", O_RDONLY);
  int ok = fd >= 0 && pread(fd, &value, 8, 0xc0000103) == 8;
  if (fd >= 0) close(fd);
  return ok ? (int64_t)value : -1;
}

/* The guest's TSC_AUX is its own (RDTSCP reads what it wrote) and the host's survives, on a CPU
 * with RDTSCP (the nested host has it): KVM_GET_SUPPORTED_CPUID reports it, too. */
static int tsc_aux_test(void) {
  cpu_set_t cpu0;
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);
  if (sched_setaffinity(0, sizeof(cpu0), &cpu0)) return perror("sched_setaffinity"), 1;
  int64_t host_before = host_tsc_aux();
  if (host_before < 0) return perror("/dev/cpu/0/msr (modprobe msr)"), 1;

  struct vcpu v;
  if (setup(&v, tsc_aux_program, sizeof(tsc_aux_program))) return 1;
  struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[128];
  } supported = {.head.nent = 128};
  check(ioctl(v.sys, KVM_GET_SUPPORTED_CPUID, &supported) == 0, "KVM_GET_SUPPORTED_CPUID", errno);
  uint32_t ext1_edx = 0;
  for (uint32_t i = 0; i < supported.head.nent; i++)
    if (supported.entries[i].function == 0x80000001) ext1_edx = supported.entries[i].edx;
  check(ext1_edx & (1u << 27), "RDTSCP is in KVM_GET_SUPPORTED_CPUID", ext1_edx);
  if (run_until(&v, KVM_EXIT_IO, "RDTSCP's ECX goes out")) {
    uint32_t got;
    memcpy(&got, (uint8_t *)v.run + v.run->io.data_offset, 4);
    check(v.run->io.size == 4 && got == 0x1234, "RDTSCP reads the guest's TSC_AUX", got);
  }
  check(host_tsc_aux() == host_before, "the host's TSC_AUX is back after the exit", host_tsc_aux());
  run_until(&v, KVM_EXIT_HLT, "HLT after RDTSCP");
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry entry;
  } msrs = {.head.nmsrs = 1, .entry.index = 0xc0000103};
  check(ioctl(v.fd, KVM_GET_MSRS, &msrs) == 1 && msrs.entry.data == 0x1234,
        "KVM_GET_MSRS reads the guest's TSC_AUX", (long)msrs.entry.data);
  printf("%s: TSC_AUX\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

static void on_alarm(int sig) {
  (void)sig;
}

/* This thread's guest time in clock ticks (proc(5): field 43 of /proc/thread-self/stat), or -1. */
static long thread_guest_time(void) {
  char buf[1024];
  FILE *f = fopen("/proc/thread-self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  long value = -1;
  /* Field 3 (state) follows ") "; field 43 is 40 fields further on. */
  for (int field = 3; p && field <= 43; field++) {
    p = strchr(p, ' ');
    if (p && field == 43) value = strtol(p + 1, NULL, 10);
    if (p) p++;
  }
  return value;
}

/* A guest that spins: SIGALRM ends KVM_RUN with EINTR and KVM_EXIT_INTR. The second in the guest
 * counts as the thread's guest time, as on KVM (PF_VCPU around VMRUN). */
static int signal_test(void) {
  struct vcpu v;
  struct sigaction sa = {.sa_handler = on_alarm};

  if (setup(&v, spin, sizeof(spin))) return 1;
  sigaction(SIGALRM, &sa, NULL);
  long guest_before = thread_guest_time();
  alarm(1);
  errno = 0;
  int r = ioctl(v.fd, KVM_RUN, 0);
  check(r == -1 && errno == EINTR, "a signal ends KVM_RUN with EINTR", errno);
  check(v.run->exit_reason == KVM_EXIT_INTR, "exit reason KVM_EXIT_INTR", v.run->exit_reason);
  long guest_after = thread_guest_time();
  check(guest_before >= 0 && guest_after > guest_before,
        "a second spinning in the guest counts as guest time", guest_after - guest_before);
  printf("%s: signal\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

/* --spin: run a spinning guest forever (the caller kills it with -9). */
static int spin_forever(const char *marker) {
  struct vcpu v;

  if (setup(&v, spin, sizeof(spin))) return 1;
  close(open(marker, O_CREAT | O_WRONLY, 0644));
  for (;;) ioctl(v.fd, KVM_RUN, 0);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--spin") == 0) return spin_forever(argv[2]);
  if (argc != 1) {
    fprintf(stderr, "usage: run_test [--spin MARKER]\n");
    return 2;
  }
  return exits() | string_io_test() | signal_test() | huge_page_test() | tsc_aux_test();
}
