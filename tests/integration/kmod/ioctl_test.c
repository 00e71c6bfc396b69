// SPDX-License-Identifier: GPL-2.0
/* ioctl_test: checks kagami.ko's KVM ioctls on /dev/kagami (run inside the nested host). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmod_test_lib.h"

#define PAGE 4096UL

static int set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                      uint64_t uaddr) {
  struct kvm_userspace_memory_region r = {
      .slot = slot,
      .flags = flags,
      .guest_phys_addr = gpa,
      .memory_size = size,
      .userspace_addr = uaddr,
  };
  return ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static void test_system_fd(int sys) {
  EXPECT_EQ(ioctl(sys, KVM_GET_API_VERSION, 0), 12);
  EXPECT_EQ(ioctl(sys, KVM_CHECK_EXTENSION, 0x7fff0000), 0);
  EXPECT_EQ(ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
  long size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
  check_errno(size == 2 * 4096, "KVM_GET_VCPU_MMAP_SIZE: kvm_run and the PIO page", size, errno);
  EXPECT_ERR(ioctl(sys, KVM_CREATE_VM, 1), EINVAL);
  EXPECT_ERR(ioctl(sys, KVM_CREATE_VM, ~0UL), EINVAL);
  EXPECT_ERR(ioctl(sys, KVM_RUN, 0), ENOTTY);
  EXPECT_ERR(ioctl(sys, KVM_GET_SUPPORTED_CPUID, NULL), EFAULT);
  EXPECT_ERR(ioctl(sys, 0xdeadbeef, 0), ENOTTY);
  EXPECT_EQ(ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT), 1);
  EXPECT_EQ(ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID), 1);
}

static struct kvm_cpuid2 *cpuid_buffer(uint32_t nent) {
  struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
  if (c) c->nent = nent;
  return c;
}

/* KVM_GET_SUPPORTED_CPUID: E2BIG when too small; the hypervisor bit set, SVM and VMX hidden. */
static void test_supported_cpuid(int sys) {
  struct kvm_cpuid2 *c = cpuid_buffer(300);
  if (!c) return;
  c->nent = 0;
  EXPECT_ERR(ioctl(sys, KVM_GET_SUPPORTED_CPUID, c), E2BIG);
  c->nent = 1;
  EXPECT_ERR(ioctl(sys, KVM_GET_SUPPORTED_CPUID, c), E2BIG);
  c->nent = 300;
  EXPECT_EQ(ioctl(sys, KVM_GET_SUPPORTED_CPUID, c), 0);
  check_errno(c->nent > 2 && c->nent <= 256, "a bounded number of CPUID entries", c->nent, 0);
  for (uint32_t i = 0; i < c->nent; i++) {
    const struct kvm_cpuid_entry2 *e = &c->entries[i];
    if (e->function == 1) {
      check_errno(e->ecx & (1u << 31), "leaf 1 has the hypervisor bit", e->ecx, 0);
      check_errno(!(e->ecx & (1u << 5)), "leaf 1 hides VMX", e->ecx, 0);
      check_errno(!(e->ecx & (1u << 3)), "leaf 1 hides MONITOR", e->ecx, 0);
    }
    if (e->function == 0x80000001) check_errno(!(e->ecx & (1u << 2)), "SVM is hidden", e->ecx, 0);
  }
  free(c);
}

/* SET_CPUID2 and GET_CPUID2 bounds, and KVM_SET_SREGS refusing what VMRUN would refuse. */
static void test_vcpu_state(int vcpu) {
  struct kvm_cpuid2 *c = cpuid_buffer(2);
  struct kvm_sregs sregs, bad;
  struct kvm_regs regs;

  if (!c) return;
  c->nent = 257;
  EXPECT_ERR(ioctl(vcpu, KVM_SET_CPUID2, c), E2BIG);
  c->nent = 2;
  c->entries[0].function = 0;
  c->entries[1].function = 1;
  EXPECT_EQ(ioctl(vcpu, KVM_SET_CPUID2, c), 0);
  c->nent = 1;
  EXPECT_ERR(ioctl(vcpu, KVM_GET_CPUID2, c), E2BIG);
  c->nent = 2;
  EXPECT_EQ(ioctl(vcpu, KVM_GET_CPUID2, c), 0);
  EXPECT_EQ(c->nent, 2);
  free(c);

  EXPECT_EQ(ioctl(vcpu, KVM_GET_SREGS, &sregs), 0);
  EXPECT_EQ(sregs.efer & (1 << 12), 0); /* SVME is never shown */
  EXPECT_EQ(sregs.cs.selector, 0xf000);
  bad = sregs;
  bad.cr0 |= 1ULL << 32;
  EXPECT_ERR(ioctl(vcpu, KVM_SET_SREGS, &bad), EINVAL);
  bad = sregs;
  bad.cr4 |= 1ULL << 13; /* VMXE */
  EXPECT_ERR(ioctl(vcpu, KVM_SET_SREGS, &bad), EINVAL);
  bad = sregs;
  bad.efer |= 1ULL << 12; /* SVME */
  EXPECT_ERR(ioctl(vcpu, KVM_SET_SREGS, &bad), EINVAL);
  bad = sregs;
  bad.cr0 = 0x80000000; /* PG without PE */
  EXPECT_ERR(ioctl(vcpu, KVM_SET_SREGS, &bad), EINVAL);
  EXPECT_EQ(ioctl(vcpu, KVM_SET_SREGS, &sregs), 0);
  EXPECT_EQ(ioctl(vcpu, KVM_GET_REGS, &regs), 0);
  EXPECT_EQ(regs.rip, 0xfff0);
  regs.rax = 0x1122334455667788ULL;
  EXPECT_EQ(ioctl(vcpu, KVM_SET_REGS, &regs), 0);
  regs.rax = 0;
  EXPECT_EQ(ioctl(vcpu, KVM_GET_REGS, &regs), 0);
  EXPECT_EQ(regs.rax == 0x1122334455667788ULL, 1);
}

static void test_memory_slots(int vm, char *buf) {
  uint64_t u = (uint64_t)(uintptr_t)buf;

  EXPECT_EQ(set_region(vm, 0, 0, 0, 8 * PAGE, u), 0);
  EXPECT_ERR(set_region(vm, 1, 0, 4 * PAGE, 4 * PAGE, u + 8 * PAGE), EEXIST);
  EXPECT_ERR(set_region(vm, 1, 0, 0x100001, 4 * PAGE, u + 8 * PAGE), EINVAL);
  EXPECT_ERR(set_region(vm, 1, 0, 0x100000, 4 * PAGE + 1, u + 8 * PAGE), EINVAL);
  EXPECT_ERR(set_region(vm, 1, 0, 0x100000, 4 * PAGE, u + 8 * PAGE + 1), EINVAL);
  EXPECT_ERR(set_region(vm, 0, 0, 0, 16 * PAGE, u), EINVAL);       /* resize */
  EXPECT_ERR(set_region(vm, 0, 0, 0, 8 * PAGE, u + PAGE), EINVAL); /* new address */
  EXPECT_EQ(set_region(vm, 0, 0, 0, 8 * PAGE, u), 0);              /* no change */
  EXPECT_EQ(set_region(vm, 0, 0, 0x100000, 8 * PAGE, u), 0);       /* move */
  EXPECT_EQ(set_region(vm, 1, 0, 0, 4 * PAGE, u + 8 * PAGE), 0);   /* old place is free */
  EXPECT_ERR(set_region(vm, 2, 0, 0x104000, 8 * PAGE, u), EEXIST); /* overlaps the moved */
  EXPECT_EQ(set_region(vm, 1, 0, 0, 0, 0), 0);                     /* delete */
  EXPECT_ERR(set_region(vm, 1, 0, 0, 0, 0), EINVAL);               /* delete again */
  EXPECT_EQ(set_region(vm, 2, KVM_MEM_READONLY, 0x200000, 4 * PAGE, u), 0);
  EXPECT_ERR(set_region(vm, 2, 0, 0x200000, 4 * PAGE, u), EINVAL); /* readonly flip */
  EXPECT_EQ(set_region(vm, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x300000, PAGE, u), 0);
  EXPECT_EQ(set_region(vm, 3, 0, 0, 0, 0), 0); /* a logging slot, deleted */
  EXPECT_ERR(set_region(vm, 3, 1u << 5, 0x300000, PAGE, u), EINVAL);
  EXPECT_ERR(set_region(vm, 64, 0, 0x300000, PAGE, u), EINVAL);
  EXPECT_ERR(set_region(vm, 0x10000, 0, 0x300000, PAGE, u), EINVAL); /* address space 1 */
  EXPECT_ERR(set_region(vm, 0xffffffff, 0, 0x300000, PAGE, u), EINVAL);
  EXPECT_ERR(set_region(vm, 3, 0, 0xfffffffffffff000ULL, 2 * PAGE, u), EINVAL); /* wraps */
  EXPECT_ERR(set_region(vm, 3, 0, 0, 1ULL << 43, u), EINVAL);                   /* > 2^31 pages */
  EXPECT_ERR(set_region(vm, 3, 0, 0, ~0ULL & ~(PAGE - 1), u), EINVAL);
  EXPECT_ERR(set_region(vm, 3, 0, 0x300000, PAGE, 0xffff800000000000ULL), EINVAL); /* kernel */
  EXPECT_ERR(set_region(vm, 3, 0, 0x300000, 2 * PAGE, 0x00007ffffffff000ULL), EINVAL);
  EXPECT_ERR(ioctl(vm, KVM_SET_USER_MEMORY_REGION, NULL), EFAULT);
  EXPECT_ERR(ioctl(vm, KVM_SET_USER_MEMORY_REGION, (void *)16), EFAULT);
  EXPECT_EQ(set_region(vm, 63, 0, 0x400000, PAGE, u), 0);
}

static void test_vm_fd(int vm) {
  uint64_t addr = 0xfffbc000;

  EXPECT_EQ(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000), 0);
  EXPECT_ERR(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffff000), EINVAL);
  EXPECT_ERR(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, NULL), EFAULT);
  EXPECT_EQ(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr), 0);
  EXPECT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS), 64);
  EXPECT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, 0x7fff0000), 0);
  EXPECT_ERR(ioctl(vm, KVM_RUN, 0), ENOTTY);
  EXPECT_ERR(ioctl(vm, KVM_CREATE_PIT2, 0), ENOTTY);  // no in-kernel PIT
  EXPECT_ERR(ioctl(vm, 0xdeadbeef, 0), ENOTTY);
}

/* Returns the mapped kvm_run of vCPU 0; closes every vCPU fd but vcpu0's. */
static void *test_vcpus(int sys, int vm, int *vcpu0) {
  long size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
  uint64_t addr = 0xfffbc000;

  *vcpu0 = EXPECT_OK(ioctl(vm, KVM_CREATE_VCPU, 0));
  EXPECT_ERR(ioctl(vm, KVM_CREATE_VCPU, 0), EEXIST);
  int vcpu1 = EXPECT_OK(ioctl(vm, KVM_CREATE_VCPU, 1));
  int vcpu63 = EXPECT_OK(ioctl(vm, KVM_CREATE_VCPU, 63));
  EXPECT_ERR(ioctl(vm, KVM_CREATE_VCPU, 64), EINVAL);
  EXPECT_ERR(ioctl(vm, KVM_CREATE_VCPU, -1L), EINVAL);
  EXPECT_ERR(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr), EINVAL); /* after vCPUs */
  EXPECT_ERR(ioctl(*vcpu0, KVM_RUN, 1), EINVAL);
  EXPECT_ERR(ioctl(*vcpu0, KVM_GET_REGS, NULL), EFAULT);
  EXPECT_ERR(ioctl(*vcpu0, KVM_SET_SREGS, NULL), EFAULT);
  test_vcpu_state(*vcpu0);
  EXPECT_ERR(ioctl(*vcpu0, 0xdeadbeef, 0), ENOTTY);

  void *bad = mmap(NULL, size, PROT_READ, MAP_SHARED, *vcpu0, PAGE);
  check_errno(bad == MAP_FAILED, "mmap of the vCPU fd at offset 4096 past its end fails", 0, errno);
  bad = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, *vcpu0, size);
  check_errno(bad == MAP_FAILED, "mmap of the vCPU fd at its end fails", 0, errno);
  uint8_t *pio = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, *vcpu0, PAGE);
  check_errno(pio != MAP_FAILED, "mmap of the PIO page alone", 0, errno);
  if (pio != MAP_FAILED) {
    memset(pio, 0xab, PAGE); /* the whole page is there: no SIGBUS */
    munmap(pio, PAGE);
  }
  bad = mmap(NULL, size + PAGE, PROT_READ, MAP_SHARED, *vcpu0, 0);
  check_errno(bad == MAP_FAILED, "mmap of the vCPU fd beyond its size fails", 0, errno);
  struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *vcpu0, 0);
  check_errno(run != MAP_FAILED, "mmap of the vCPU fd", 0, errno);
  if (run == MAP_FAILED) return NULL;
  check_errno(run->exit_reason == 0, "a fresh kvm_run is zero", run->exit_reason, 0);
  run->immediate_exit = 1;
  check_errno(run->immediate_exit == 1, "kvm_run is writable", run->immediate_exit, 0);
  close(vcpu1);
  close(vcpu63);
  return run;
}

/* --hold MARKER: keep a VM and a vCPU open, create MARKER, wait for SIGTERM. */
static int hold(const char *marker) {
  int sys = open("/dev/kagami", O_RDWR);
  int vm = sys < 0 ? -1 : ioctl(sys, KVM_CREATE_VM, 0);
  int vcpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) {
    perror("ioctl_test --hold");
    return 1;
  }
  close(sys);
  int fd = open(marker, O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return 1;
  close(fd);
  pause();
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--hold") == 0) return hold(argv[2]);
  if (argc != 1) {
    fprintf(stderr, "usage: ioctl_test [--hold MARKER]\n");
    return 2;
  }
  int sys = open("/dev/kagami", O_RDWR | O_CLOEXEC);
  if (sys < 0) {
    perror("open /dev/kagami");
    return 1;
  }
  test_system_fd(sys);
  test_supported_cpuid(sys);

  char *buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int vm = EXPECT_OK(ioctl(sys, KVM_CREATE_VM, 0));
  int vm2 = EXPECT_OK(ioctl(sys, KVM_CREATE_VM, 0)); /* a second VM at the same time */
  if (vm < 0 || vm2 < 0 || buf == MAP_FAILED) return 1;
  test_memory_slots(vm, buf);
  test_vm_fd(vm);
  close(vm2);

  int vcpu0 = -1;
  struct kvm_run *run = test_vcpus(sys, vm, &vcpu0);
  /* The VM fd goes first: the vCPU fd and its mapping keep the VM alive. */
  close(vm);
  if (run) {
    run->immediate_exit = 2;
    check_errno(run->immediate_exit == 2, "kvm_run stays usable after the VM fd is closed", 0, 0);
  }
  EXPECT_ERR(ioctl(vcpu0, KVM_RUN, 0), EINTR); /* immediate_exit */
  /* As KVM 6.1: immediate_exit leaves the exit reason as it was (KVM_EXIT_UNKNOWN here). */
  if (run)
    check_errno(run->exit_reason == KVM_EXIT_UNKNOWN, "immediate_exit: exit reason kept", 0, 0);
  close(vcpu0);
  if (run) {
    check_errno(run->immediate_exit == 2, "kvm_run stays mapped after the vCPU fd is closed", 0, 0);
    munmap(run, PAGE);
  }
  close(sys);
  printf("%s: %d checks passed, %d failed\n", checks_failed ? "FAIL" : "PASS", checks_passed,
         checks_failed);
  return checks_failed ? 1 : 0;
}
