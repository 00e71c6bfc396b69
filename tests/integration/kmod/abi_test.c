// SPDX-License-Identifier: GPL-2.0
/* abi_test: the vCPU state and event ioctls on a KVM device (/dev/kagami or /dev/kvm), KVM's way.
 */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define MEM_SIZE 0x4000UL
#define CODE 0x1000
#define IRQ_HANDLER 0x1100
#define NMI_HANDLER 0x1200
#define STACK 0x3000
#define TSC_SET (1ULL << 40)
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_PAT 0x277u
#define MSR_TSC 0x10u
#define MSR_MCG_CAP 0x179u
#define MSR_MCG_STATUS 0x17au
#define MSR_MCG_CTL 0x17bu
#define MSR_MC_CTL(bank) (0x400u + 4 * (bank)) /* then _STATUS, _ADDR, _MISC */
#define MSR_MC0_CTL2 0x280u
#define MSR_K8_INT_PENDING_MSG 0xc0010055u
#define MSR_HWCR 0xc0010015u
#define MSR_UCODE_REV 0x8bu
#define MSR_K7_EVNTSEL0 0xc0010000u
#define GP_HANDLER 0x1300

static int failures;
static int strict; /* /dev/kagami: also the checks where kagami is stricter than KVM */

#define check(ok, what, got) check_at(__LINE__, ok, what, got)
static void check_at(int line, int ok, const char *what, long got) {
  if (ok) return;
  failures++;
  printf("FAIL: line %d: %s (got %#lx, errno %d: %s)\n", line, what, got, errno, strerror(errno));
}

#define EXPECT_ERR(expr, e)                                       \
  do {                                                            \
    errno = 0;                                                    \
    long _r = (long)(expr);                                       \
    check(_r == -1 && errno == (e), #expr " fails with " #e, _r); \
  } while (0)
#define EXPECT_EQ(expr, v)                       \
  do {                                           \
    errno = 0;                                   \
    long _r = (long)(expr);                      \
    check(_r == (long)(v), #expr " == " #v, _r); \
  } while (0)

/* Real mode at CODE; IVT entries for vector 0x20 and NMI point at the handlers below. */
static const uint8_t program[] = {
    0xfb,       /* sti */
    0xf4,       /* hlt: KVM_INTERRUPT 0x20 here */
    0xfa,       /* cli */
    0xe6, 0x12, /* out 0x12, al: IF=0, userspace asks for the interrupt window */
    0xfb,       /* sti */
    0x90,       /* nop: the window opens */
    0xe6, 0x13, /* out 0x13, al */
    0xf4,       /* hlt: KVM_NMI here */
    0xe6, 0x14, /* out 0x14, al: userspace sets the TSC */
    0x0f, 0x31, /* rdtsc */
    0xf4,       /* hlt */
};
static const uint8_t irq_handler[] = {0xb0, 0x20, 0xe6, 0x30, 0xcf}; /* out 0x30, 0x20; iret */
static const uint8_t nmi_handler[] = {0xb0, 0x02, 0xe6, 0x31, 0xcf}; /* out 0x31, 2; iret */
static const uint8_t spin[] = {0xeb, 0xfe};

struct vcpu {
  int sys, vm, fd;
  struct kvm_run *run;
  uint8_t *mem;
};

static int setup(struct vcpu *v, const char *dev, const uint8_t *code, size_t len) {
  v->sys = open(dev, O_RDWR | O_CLOEXEC);
  if (v->sys < 0) return perror(dev), -1;
  v->vm = ioctl(v->sys, KVM_CREATE_VM, 0);
  v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (v->vm < 0 || v->mem == MAP_FAILED) return perror("KVM_CREATE_VM"), -1;
  memcpy(v->mem + CODE, code, len);
  memcpy(v->mem + IRQ_HANDLER, irq_handler, sizeof(irq_handler));
  memcpy(v->mem + NMI_HANDLER, nmi_handler, sizeof(nmi_handler));
  uint16_t *ivt = (uint16_t *)v->mem;
  ivt[0x20 * 2] = IRQ_HANDLER; /* offset; segment 0 */
  ivt[2 * 2] = NMI_HANDLER;
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)v->mem};
  if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  v->fd = ioctl(v->vm, KVM_CREATE_VCPU, 0);
  if (v->fd < 0) return perror("KVM_CREATE_VCPU"), -1;
  v->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
  if (v->run == MAP_FAILED) return perror("mmap kvm_run"), -1;
  struct kvm_sregs sregs;
  if (ioctl(v->fd, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  if (ioctl(v->fd, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = CODE, .rflags = 2, .rsp = STACK};
  if (ioctl(v->fd, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

static void teardown(struct vcpu *v) {
  munmap(v->run, 2 * 4096);
  close(v->fd);
  close(v->vm);
  close(v->sys);
  munmap(v->mem, MEM_SIZE);
}

struct msrs {
  struct kvm_msrs head;
  struct kvm_msr_entry e[256];
};

static void test_msrs(struct vcpu *v) {
  static struct {
    struct kvm_msr_list head;
    uint32_t indices[512];
  } list;
  static struct msrs m;

  list.head.nmsrs = 0;
  EXPECT_ERR(ioctl(v->sys, KVM_GET_MSR_INDEX_LIST, &list), E2BIG);
  check(list.head.nmsrs > 0 && list.head.nmsrs <= 512, "E2BIG gives the count", list.head.nmsrs);
  list.head.nmsrs = 512;
  EXPECT_EQ(ioctl(v->sys, KVM_GET_MSR_INDEX_LIST, &list), 0);
  /* KVM leaves EFER to the sregs; kagami lists it too. */
  uint32_t want[] = {MSR_STAR, MSR_LSTAR, MSR_PAT, MSR_TSC, MSR_EFER}, found = 0;
  size_t nwant = strict ? 5 : 4;
  for (uint32_t i = 0; i < list.head.nmsrs; i++)
    for (size_t j = 0; j < nwant; j++) found += list.indices[i] == want[j];
  check(found == nwant, "the index list has STAR, LSTAR, PAT, TSC (and EFER)", found);
  EXPECT_ERR(ioctl(v->sys, KVM_GET_MSR_INDEX_LIST, NULL), EFAULT);

  /* Every listed MSR reads. */
  m.head.nmsrs = list.head.nmsrs < 255 ? list.head.nmsrs : 255;
  for (uint32_t i = 0; i < m.head.nmsrs; i++)
    m.e[i] = (struct kvm_msr_entry){.index = list.indices[i]};
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), m.head.nmsrs);
  m.head.nmsrs = 256;
  EXPECT_ERR(ioctl(v->fd, KVM_GET_MSRS, &m), E2BIG);
  EXPECT_ERR(ioctl(v->fd, KVM_SET_MSRS, &m), E2BIG);
  m.head.nmsrs = 3;
  EXPECT_ERR(ioctl(v->fd, KVM_GET_MSRS, (void *)8), EFAULT);

  /* Round trip; a refused entry stops the batch: the count says how far it went. */
  m.e[0] = (struct kvm_msr_entry){.index = MSR_STAR, .data = 0x0023001000000000ULL};
  m.e[1] = (struct kvm_msr_entry){.index = MSR_LSTAR, .data = 0xffffffff81000000ULL};
  m.e[2] = (struct kvm_msr_entry){.index = MSR_PAT, .data = 0x0007040600070406ULL};
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 3);
  memset(m.e, 0, 3 * sizeof(m.e[0]));
  m.e[0].index = MSR_STAR, m.e[1].index = MSR_LSTAR, m.e[2].index = MSR_PAT;
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 3);
  check(m.e[0].data == 0x0023001000000000ULL && m.e[1].data == 0xffffffff81000000ULL,
        "STAR and LSTAR read back", m.e[1].data);
  m.e[0] = (struct kvm_msr_entry){.index = MSR_STAR, .data = 1};
  m.e[1] = (struct kvm_msr_entry){.index = MSR_PAT, .data = 0x02}; /* type 2 is reserved */
  m.e[2] = (struct kvm_msr_entry){.index = MSR_LSTAR, .data = 2};
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 1);
  m.e[0] = (struct kvm_msr_entry){.index = MSR_EFER, .data = 1ULL << 63};
  m.e[1] = (struct kvm_msr_entry){.index = MSR_LSTAR, .data = 1ULL << 60}; /* not canonical */
  m.head.nmsrs = 1;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 0);
  m.e[0] = m.e[1];
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 0);
  m.e[0] = (struct kvm_msr_entry){.index = 0xdeadbeef};
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 0);
  m.e[0] = (struct kvm_msr_entry){.index = MSR_EFER};
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 1);
  check(!(m.e[0].data & (1 << 12)), "EFER.SVME is hidden", m.e[0].data);
}

/* One MSR through KVM_GET/SET_MSRS: the count of entries done, 1 or 0. */
static long msr_get(struct vcpu *v, uint32_t index, uint64_t *data) {
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry e;
  } m = {.head.nmsrs = 1, .e.index = index};
  long r = ioctl(v->fd, KVM_GET_MSRS, &m);
  *data = m.e.data;
  return r;
}

static long msr_set(struct vcpu *v, uint32_t index, uint64_t data) {
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry e;
  } m = {.head.nmsrs = 1, .e = {.index = index, .data = data}};
  return ioctl(v->fd, KVM_SET_MSRS, &m);
}

/*
 * The machine-check MSRs from userspace, as KVM without KVM_X86_SETUP_MCE: 32 banks, no MCG_CTL_P
 * nor CMCI (so MCG_CTL and MCi_CTL2 take only 0), MCi_CTL only 0 or all ones (bit 10 of bank 4
 * excepted), MCG_CAP read-only; and the AMD MSRs Linux reads at boot: INT_PENDING_MSG (its
 * erratum-400 check) reads 0, HWCR and UCODE_REV as kvm-amd's.
 */
static void test_mce_msrs(struct vcpu *v) {
  uint64_t d = 1;

  EXPECT_EQ(msr_get(v, MSR_MCG_CAP, &d), 1);
  check(d == 32, "MCG_CAP: 32 banks, no MCG_CTL_P, no CMCI", (long)d);
  EXPECT_EQ(msr_set(v, MSR_MCG_CAP, d), 0);
  EXPECT_EQ(msr_set(v, MSR_MCG_STATUS, 4), 1);
  EXPECT_EQ(msr_get(v, MSR_MCG_STATUS, &d), 1);
  check(d == 4, "MCG_STATUS reads back", (long)d);
  EXPECT_EQ(msr_set(v, MSR_MCG_STATUS, 0), 1);
  EXPECT_EQ(msr_get(v, MSR_MCG_CTL, &d), 1);
  check(d == 0, "MCG_CTL reads 0", (long)d);
  EXPECT_EQ(msr_set(v, MSR_MCG_CTL, 0), 1);
  EXPECT_EQ(msr_set(v, MSR_MCG_CTL, ~0ULL), 0);
  EXPECT_EQ(msr_set(v, MSR_MC_CTL(0), ~0ULL), 1);
  EXPECT_EQ(msr_set(v, MSR_MC_CTL(4), ~0ULL & ~(1ULL << 10)), 1);
  EXPECT_EQ(msr_get(v, MSR_MC_CTL(4), &d), 1);
  check(d == (~0ULL & ~(1ULL << 10)), "MC4_CTL reads back", (long)d);
  EXPECT_EQ(msr_set(v, MSR_MC_CTL(0), 5), 0);
  EXPECT_EQ(msr_set(v, MSR_MC_CTL(1) + 1, 0x8000000000000001ULL), 1); /* userspace: any STATUS */
  EXPECT_EQ(msr_get(v, MSR_MC_CTL(1) + 1, &d), 1);
  check(d == 0x8000000000000001ULL, "MC1_STATUS reads back", (long)d);
  EXPECT_EQ(msr_set(v, MSR_MC_CTL(31) + 3, 7), 1);
  EXPECT_EQ(msr_get(v, MSR_MC_CTL(31) + 3, &d), 1);
  check(d == 7, "MC31_MISC reads back", (long)d);
  EXPECT_EQ(msr_get(v, MSR_MC_CTL(32), &d), 0);
  EXPECT_EQ(msr_get(v, MSR_MC0_CTL2 + 31, &d), 1);
  EXPECT_EQ(msr_set(v, MSR_MC0_CTL2, 0), 1);
  EXPECT_EQ(msr_set(v, MSR_MC0_CTL2, 1), 0);
  d = 1;
  EXPECT_EQ(msr_get(v, MSR_K8_INT_PENDING_MSG, &d), 1);
  check(d == 0, "INT_PENDING_MSG reads 0", (long)d);

  /* HWCR: FFDIS (which Linux sets on K8) is ignored, McStatusWrEn kept, other bits refused. */
  EXPECT_EQ(msr_get(v, MSR_HWCR, &d), 1);
  check(d == 0, "HWCR reads 0", (long)d);
  EXPECT_EQ(msr_set(v, MSR_HWCR, 1 << 6), 1);
  EXPECT_EQ(msr_set(v, MSR_HWCR, 1 << 18), 1);
  EXPECT_EQ(msr_get(v, MSR_HWCR, &d), 1);
  check(d == 1 << 18, "HWCR keeps McStatusWrEn", (long)d);
  EXPECT_EQ(msr_set(v, MSR_HWCR, 1), 0);
  EXPECT_EQ(msr_set(v, MSR_HWCR, 0), 1);
  /* The legacy counters, as KVM without a vPMU: they read 0 and ignore writes. */
  EXPECT_EQ(msr_set(v, MSR_K7_EVNTSEL0, 0x430076), 1);
  EXPECT_EQ(msr_get(v, MSR_K7_EVNTSEL0, &d), 1);
  check(d == 0, "K7_EVNTSEL0 reads 0", (long)d);
  /* UCODE_REV: kvm-amd's reset value, then what userspace sets. */
  EXPECT_EQ(msr_get(v, MSR_UCODE_REV, &d), 1);
  check(d == 0x01000065, "UCODE_REV reads kvm-amd's reset value", (long)d);
  EXPECT_EQ(msr_set(v, MSR_UCODE_REV, 0x1234ULL << 32), 1);
  EXPECT_EQ(msr_get(v, MSR_UCODE_REV, &d), 1);
  check(d == 0x1234ULL << 32, "UCODE_REV reads back", (long)d);

  static struct {
    struct kvm_msr_list head;
    uint32_t indices[512];
  } list = {.head.nmsrs = 512};
  EXPECT_EQ(ioctl(v->sys, KVM_GET_MSR_INDEX_LIST, &list), 0);
  static const uint32_t saved[] = {MSR_MCG_STATUS, MSR_MCG_CTL, MSR_HWCR, MSR_UCODE_REV};
  size_t found = 0;
  for (uint32_t i = 0; i < list.head.nmsrs; i++)
    for (size_t j = 0; j < sizeof(saved) / sizeof(saved[0]); j++)
      found += list.indices[i] == saved[j];
  check(found == 4, "the index list has MCG_STATUS, MCG_CTL, HWCR, UCODE_REV", (long)found);
}

/* As KVM's tsc_msrs_test: a new vCPU's TSC starts at 0 (not the host's), and KVM_SET_MSRS and
 * KVM_GET_MSRS round-trip it: what reads back is the value plus the host cycles in between.
 * created: the host TSC before KVM_CREATE_VM. */
static void test_tsc(struct vcpu *v, uint64_t created) {
  struct {
    struct kvm_msrs head;
    struct kvm_msr_entry e[1];
  } m = {.head.nmsrs = 1, .e[0].index = MSR_TSC};
  uint64_t before, after;

  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 1);
  after = __rdtsc();
  check(m.e[0].data <= after - created, "a new vCPU's TSC counts from 0", (long)m.e[0].data);
  uint64_t values[] = {1ULL << 40, 1ULL << 42};
  for (size_t i = 0; i < 2; i++) {
    m.e[0].data = values[i];
    before = __rdtsc();
    EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 1);
    EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 1);
    after = __rdtsc();
    check(m.e[0].data >= values[i] && m.e[0].data - values[i] <= after - before,
          "the TSC reads back as set, plus the cycles in between", (long)m.e[0].data);
  }
  /* KVM's kvm_synchronize_tsc(): a host write of 0 means "vCPU creation, keep in step with the
   * VM", so the TSC keeps counting from the last value set, on every vCPU. */
  m.e[0].data = 0;
  before = __rdtsc();
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 1);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MSRS, &m), 1);
  after = __rdtsc();
  check(m.e[0].data >= values[1] && m.e[0].data - values[1] <= after - created,
        "a host write of 0 keeps the VM's TSC", (long)m.e[0].data);
}

/* As KVM's kvm_set_apic_base() from KVM_SET_SREGS: reserved bits and x2APIC-without-xAPIC fail,
 * and a failed call changes nothing. */
static void test_apic_base(struct vcpu *v) {
  struct kvm_sregs sregs, back;

  EXPECT_EQ(ioctl(v->fd, KVM_GET_SREGS, &sregs), 0);
  uint64_t orig = sregs.apic_base;
  check(!strict || orig == 0xfee00900, "the BSP's reset APIC base", (long)orig);
  uint64_t bad[] = {0x400, 0xfee00400, 0xfee00901, 0xfee00a00, 1ULL << 63};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sregs.apic_base = bad[i];
    sregs.cr2 = 0x1234;
    EXPECT_ERR(ioctl(v->fd, KVM_SET_SREGS, &sregs), EINVAL);
    EXPECT_EQ(ioctl(v->fd, KVM_GET_SREGS, &back), 0);
    check(back.apic_base == orig && back.cr2 != 0x1234, "a refused APIC base changes nothing",
          (long)bad[i]);
  }
  sregs.apic_base = 0xfee00000; /* xAPIC disabled: valid */
  sregs.cr2 = back.cr2;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_SREGS, &sregs), 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_SREGS, &back), 0);
  check(back.apic_base == 0xfee00000, "a valid APIC base reads back", (long)back.apic_base);
  sregs.apic_base = orig;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_SREGS, &sregs), 0);
}

static void test_fpu(struct vcpu *v) {
  struct kvm_fpu fpu, back;
  static struct kvm_xsave xsave;

  EXPECT_EQ(ioctl(v->fd, KVM_GET_FPU, &fpu), 0);
  /* kvm-amd on this emulated CPU (no XSAVE) reads MXCSR as 0 and ignores writes to it. */
  check(fpu.fcw == 0x37f && (!strict || fpu.mxcsr == 0x1f80),
        "FPU at reset: FCW 0x37f, MXCSR 0x1f80", fpu.mxcsr);
  fpu.fcw = 0x27f;
  fpu.xmm[3][5] = 0xa5;
  fpu.fpr[1][0] = 0x5a;
  fpu.mxcsr = 0x1f81;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_FPU, &fpu), 0);
  memset(&back, 0, sizeof(back));
  EXPECT_EQ(ioctl(v->fd, KVM_GET_FPU, &back), 0);
  check(back.fcw == 0x27f && back.xmm[3][5] == 0xa5 && back.fpr[1][0] == 0x5a &&
            (!strict || back.mxcsr == 0x1f81),
        "KVM_SET_FPU round trip", back.fcw);
  EXPECT_ERR(ioctl(v->fd, KVM_GET_FPU, NULL), EFAULT);
  if (strict) {
    fpu.mxcsr = 0xffffffff;
    EXPECT_ERR(ioctl(v->fd, KVM_SET_FPU, &fpu), EINVAL);
  }

  check(ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0, "KVM_CAP_XSAVE", 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_XSAVE, &xsave), 0);
  uint64_t *hdr = (uint64_t *)&xsave.region[128];
  check((xsave.region[0] & 0xffff) == 0x27f, "XSAVE legacy region has FCW", xsave.region[0]);
  check(!(hdr[0] & ~3ULL), "XSTATE_BV has x87 and SSE only", (long)hdr[0]);
  if (strict) check(hdr[0] == 3, "XSTATE_BV is x87|SSE", (long)hdr[0]);
  xsave.region[0] = 0x37f;
  hdr[0] = 3;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_XSAVE, &xsave), 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_FPU, &back), 0);
  check(back.fcw == 0x37f && back.xmm[3][5] == 0xa5, "KVM_SET_XSAVE reaches the FPU", back.fcw);
  hdr[0] = 3 | 1ULL << 62; /* a feature no guest has */
  EXPECT_ERR(ioctl(v->fd, KVM_SET_XSAVE, &xsave), EINVAL);
  hdr[0] = 3;
  if (strict) {          /* kvm-amd on a CPU without XSAVE ignores these two */
    hdr[1] = 1ULL << 63; /* compacted format */
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XSAVE, &xsave), EINVAL);
    hdr[1] = 0;
    xsave.region[6] = 0xffffffff; /* MXCSR: FXRSTOR would fault */
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XSAVE, &xsave), EINVAL);
  }

  struct kvm_xcrs xcrs = {.nr_xcrs = 99};
  EXPECT_EQ(ioctl(v->fd, KVM_GET_XCRS, &xcrs), 0);
  if (ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
    check(xcrs.nr_xcrs == 1 && xcrs.xcrs[0].xcr == 0 && xcrs.xcrs[0].value == 1,
          "XCR0 is x87 at reset", (long)xcrs.xcrs[0].value);
    EXPECT_EQ(ioctl(v->fd, KVM_SET_XCRS, &xcrs), 0);
    xcrs.xcrs[0].value = 0; /* x87 is mandatory */
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XCRS, &xcrs), EINVAL);
    xcrs.xcrs[0].value = 1ULL << 9; /* PKRU: XSAVE is hidden */
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XCRS, &xcrs), EINVAL);
    xcrs.xcrs[0].value = 1;
    xcrs.flags = 1;
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XCRS, &xcrs), EINVAL);
    xcrs.flags = 0;
    xcrs.nr_xcrs = 17;
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XCRS, &xcrs), EINVAL);
  } else {
    check(xcrs.nr_xcrs == 0, "no XCRs without KVM_CAP_XCRS", xcrs.nr_xcrs);
    EXPECT_ERR(ioctl(v->fd, KVM_SET_XCRS, &xcrs), EINVAL);
  }
}

static void test_events(struct vcpu *v) {
  struct kvm_vcpu_events ev, back;

  check(ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0, "KVM_CAP_VCPU_EVENTS", 0);
  check(ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_USER_NMI) > 0, "KVM_CAP_USER_NMI", 0);
  check(ioctl(v->sys, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) > 0, "KVM_CAP_MP_STATE", 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev), 0);
  check(!ev.exception.injected && !ev.interrupt.injected && !ev.nmi.pending && !ev.nmi.injected,
        "no event at reset", ev.flags);
  check((ev.flags & (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW)) ==
            (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW),
        "GET_VCPU_EVENTS flags", ev.flags);

  memset(&ev, 0, sizeof(ev));
  ev.flags = 1u << 31;
  EXPECT_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
  ev.flags = 0;
  ev.exception.injected = 1;
  ev.exception.nr = 2; /* NMI is not an exception */
  EXPECT_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
  ev.exception.nr = 32;
  EXPECT_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
  EXPECT_ERR(ioctl(v->fd, KVM_SET_VCPU_EVENTS, NULL), EFAULT);

  ev.exception.nr = 13;
  ev.exception.has_error_code = 1;
  ev.exception.error_code = 0x10;
  ev.interrupt.injected = 1;
  ev.interrupt.nr = 0x21;
  ev.interrupt.shadow = 1;
  ev.nmi.pending = 1;
  ev.nmi.masked = 1;
  ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), 0);
  memset(&back, 0, sizeof(back));
  EXPECT_EQ(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &back), 0);
  check(back.exception.injected && back.exception.nr == 13 && back.exception.has_error_code &&
            back.exception.error_code == 0x10,
        "the injected exception round trips", back.exception.nr);
  check(back.interrupt.injected && back.interrupt.nr == 0x21, "the interrupt round trips",
        back.interrupt.nr);
  check(back.interrupt.shadow != 0, "the interrupt shadow round trips", back.interrupt.shadow);
  check(back.nmi.pending && back.nmi.masked && !back.nmi.injected, "the NMI state round trips",
        back.nmi.pending);
  struct kvm_interrupt irq = {.irq = 0x22};
  EXPECT_EQ(ioctl(v->fd, KVM_INTERRUPT, &irq), 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &back), 0);
  check(back.interrupt.injected && back.interrupt.nr == 0x22, "KVM_INTERRUPT replaces the vector",
        back.interrupt.nr);

  memset(&ev, 0, sizeof(ev));
  ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev), 0);
  EXPECT_EQ(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &back), 0);
  check(!back.exception.injected && !back.interrupt.injected && !back.nmi.pending &&
            !back.nmi.masked && !back.interrupt.shadow,
        "events cleared", back.interrupt.injected);
  irq.irq = 256;
  EXPECT_ERR(ioctl(v->fd, KVM_INTERRUPT, &irq), EINVAL);
  EXPECT_ERR(ioctl(v->fd, KVM_INTERRUPT, NULL), EFAULT);

  struct kvm_mp_state mp = {.mp_state = 99};
  EXPECT_EQ(ioctl(v->fd, KVM_GET_MP_STATE, &mp), 0);
  check(mp.mp_state == KVM_MP_STATE_RUNNABLE, "runnable at reset", mp.mp_state);
  EXPECT_EQ(ioctl(v->fd, KVM_SET_MP_STATE, &mp), 0);
  mp.mp_state = KVM_MP_STATE_HALTED; /* needs an in-kernel irqchip */
  EXPECT_ERR(ioctl(v->fd, KVM_SET_MP_STATE, &mp), EINVAL);
  mp.mp_state = 1000;
  EXPECT_ERR(ioctl(v->fd, KVM_SET_MP_STATE, &mp), EINVAL);

  struct {
    struct kvm_signal_mask head;
    uint8_t set[8];
  } mask = {.head.len = 4};
  EXPECT_ERR(ioctl(v->fd, KVM_SET_SIGNAL_MASK, &mask), EINVAL);
  mask.head.len = 8;
  EXPECT_EQ(ioctl(v->fd, KVM_SET_SIGNAL_MASK, &mask), 0);
  EXPECT_EQ(ioctl(v->fd, KVM_SET_SIGNAL_MASK, NULL), 0);
}

static int run_until(struct vcpu *v, uint32_t want, const char *what) {
  int r = ioctl(v->fd, KVM_RUN, 0);
  check(r == 0, what, r);
  check(v->run->exit_reason == want, what, v->run->exit_reason);
  return r == 0 && v->run->exit_reason == want;
}

static int io_port(struct vcpu *v) {
  return v->run->exit_reason == KVM_EXIT_IO ? v->run->io.port : -1;
}

/* The guest program: an interrupt, the interrupt window, an NMI, and a TSC set from outside. */
static void test_guest(const char *dev) {
  struct vcpu v;
  struct kvm_regs regs;

  if (setup(&v, dev, program, sizeof(program))) {
    failures++;
    return;
  }
  struct kvm_run *run = v.run;
  if (run_until(&v, KVM_EXIT_HLT, "STI; HLT exits with KVM_EXIT_HLT"))
    check(run->if_flag == 1 && run->ready_for_interrupt_injection == 1,
          "after STI: if_flag and ready_for_interrupt_injection", run->if_flag);
  struct kvm_interrupt irq = {.irq = 0x20};
  EXPECT_EQ(ioctl(v.fd, KVM_INTERRUPT, &irq), 0);
  irq.irq = 0x21; /* as KVM without an irqchip: the last one queued wins */
  EXPECT_EQ(ioctl(v.fd, KVM_INTERRUPT, &irq), 0);
  irq.irq = 0x20;
  EXPECT_EQ(ioctl(v.fd, KVM_INTERRUPT, &irq), 0);
  if (run_until(&v, KVM_EXIT_IO, "the interrupt handler's OUT"))
    check(io_port(&v) == 0x30, "KVM_INTERRUPT 0x20 ran the IVT's handler", io_port(&v));
  if (run_until(&v, KVM_EXIT_IO, "OUT 0x12 with IF=0")) {
    check(io_port(&v) == 0x12, "the handler's IRET returned past HLT", io_port(&v));
    check(run->if_flag == 0 && run->ready_for_interrupt_injection == 0,
          "after CLI: not ready for injection", run->if_flag);
  }
  run->request_interrupt_window = 1;
  if (run_until(&v, KVM_EXIT_IRQ_WINDOW_OPEN, "STI opens the interrupt window")) {
    check(run->if_flag == 1 && run->ready_for_interrupt_injection == 1, "the window is open: ready",
          run->if_flag);
    ioctl(v.fd, KVM_GET_REGS, &regs);
    check(regs.rip >= CODE + 6 && regs.rip <= CODE + 7, "the window opens after STI's shadow",
          (long)regs.rip);
  }
  run->request_interrupt_window = 0;
  if (run_until(&v, KVM_EXIT_IO, "OUT 0x13")) check(io_port(&v) == 0x13, "OUT 0x13", io_port(&v));
  run_until(&v, KVM_EXIT_HLT, "HLT before the NMI");
  EXPECT_EQ(ioctl(v.fd, KVM_NMI, 0), 0);
  if (run_until(&v, KVM_EXIT_IO, "the NMI handler's OUT"))
    check(io_port(&v) == 0x31, "KVM_NMI ran vector 2's handler", io_port(&v));
  if (run_until(&v, KVM_EXIT_IO, "OUT 0x14")) check(io_port(&v) == 0x14, "OUT 0x14", io_port(&v));
  struct msrs m = {.head.nmsrs = 1, .e[0] = {.index = MSR_TSC, .data = TSC_SET}};
  EXPECT_EQ(ioctl(v.fd, KVM_SET_MSRS, &m), 1);
  m.e[0].data = 0;
  EXPECT_EQ(ioctl(v.fd, KVM_GET_MSRS, &m), 1);
  check(m.e[0].data >= TSC_SET && m.e[0].data < TSC_SET + (1ULL << 36), "the TSC reads back",
        (long)m.e[0].data);
  if (run_until(&v, KVM_EXIT_HLT, "RDTSC; HLT")) {
    ioctl(v.fd, KVM_GET_REGS, &regs);
    check(regs.rdx >= (TSC_SET >> 32) && regs.rdx <= (TSC_SET >> 32) + 8,
          "the guest's RDTSC sees KVM_SET_MSRS's TSC", (long)regs.rdx);
  }
  teardown(&v);
}

/* Real mode: the guest's own RDMSR and WRMSR of the machine-check MSRs, each followed by an OUT. */
static const uint8_t msr_program[] = {
    0x66, 0xb9, 0x55, 0x00, 0x01, 0xc0, /* mov ecx, INT_PENDING_MSG */
    0x0f, 0x32, 0xe6, 0x40,             /* rdmsr; out 0x40, al */
    0x66, 0xb9, 0x79, 0x01, 0x00, 0x00, /* mov ecx, MCG_CAP */
    0x0f, 0x32, 0xe6, 0x41,             /* rdmsr; out 0x41, al */
    0x66, 0xb9, 0x7b, 0x01, 0x00, 0x00, /* mov ecx, MCG_CTL */
    0x0f, 0x32, 0xe6, 0x42,             /* rdmsr (#GP: no MCG_CTL_P); out 0x42, al */
    0x66, 0xb9, 0x01, 0x04, 0x00, 0x00, /* mov ecx, MC0_STATUS */
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30, 0xe6, 0x43,             /* wrmsr (#GP: only 0); out 0x43, al */
    0x66, 0xb9, 0x00, 0x04, 0x00, 0x00, /* mov ecx, MC0_CTL */
    0x66, 0xb8, 0xff, 0xff, 0xff, 0xff, /* mov eax, ~0 */
    0x66, 0x89, 0xc2,                   /* mov edx, eax */
    0x0f, 0x30, 0xe6, 0x44,             /* wrmsr; out 0x44, al */
    0xf4,                               /* hlt */
};
/* #GP: OUT 0x3d, then return past the 2-byte RDMSR/WRMSR that faulted. */
static const uint8_t gp_handler[] = {
    0x55, 0x89, 0xe5,       /* push bp; mov bp, sp */
    0x83, 0x46, 0x02, 0x02, /* add word [bp+2], 2 */
    0x5d, 0xe6, 0x3d, 0xcf, /* pop bp; out 0x3d, al; iret */
};

/* The guest's RDMSR/WRMSR reach the same MSRs as KVM_GET/SET_MSRS, with the guest's #GPs. */
static void test_guest_msrs(const char *dev) {
  static const uint16_t ports[] = {0x40, 0x41, 0x3d, 0x42, 0x3d, 0x43, 0x44};
  struct vcpu v;
  struct kvm_regs regs;
  uint64_t d = 0;

  if (setup(&v, dev, msr_program, sizeof(msr_program))) {
    failures++;
    return;
  }
  memcpy(v.mem + GP_HANDLER, gp_handler, sizeof(gp_handler));
  ((uint16_t *)v.mem)[13 * 2] = GP_HANDLER;
  ioctl(v.fd, KVM_GET_REGS, &regs);
  regs.rax = regs.rdx = 0x5a5a;
  ioctl(v.fd, KVM_SET_REGS, &regs);
  for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
    if (!run_until(&v, KVM_EXIT_IO, "the MSR program's OUT")) break;
    check(io_port(&v) == ports[i], "the MSR program's exits: #GP (0x3d) where expected", i);
    ioctl(v.fd, KVM_GET_REGS, &regs);
    if (ports[i] == 0x40)
      check(regs.rax == 0 && regs.rdx == 0, "the guest reads INT_PENDING_MSG as 0", regs.rax);
    if (ports[i] == 0x41) check(regs.rax == 32, "the guest's MCG_CAP: 32 banks", regs.rax);
  }
  run_until(&v, KVM_EXIT_HLT, "the MSR program's HLT");
  EXPECT_EQ(msr_get(&v, MSR_MC_CTL(0), &d), 1);
  check(d == ~0ULL, "the guest's MC0_CTL write", (long)d);
  EXPECT_EQ(msr_get(&v, MSR_MC_CTL(0) + 1, &d), 1);
  check(d == 0, "the guest's refused MC0_STATUS write left it 0", (long)d);
  teardown(&v);
}

static volatile sig_atomic_t usr1_seen, alarm_seen;
static void on_usr1(int sig) {
  (void)sig, usr1_seen++;
}
static void on_alarm(int sig) {
  (void)sig, alarm_seen++;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* KVM_SET_SIGNAL_MASK: SIGUSR1 blocked during KVM_RUN, so only the later SIGALRM ends it. */
static void test_signal_mask(const char *dev) {
  struct vcpu v;
  struct sigaction usr1 = {.sa_handler = on_usr1}, alrm = {.sa_handler = on_alarm};

  if (setup(&v, dev, spin, sizeof(spin))) {
    failures++;
    return;
  }
  sigaction(SIGUSR1, &usr1, NULL);
  sigaction(SIGALRM, &alrm, NULL);
  struct {
    struct kvm_signal_mask head;
    uint8_t set[8];
  } mask = {.head.len = 8};
  uint64_t blocked = 1ULL << (SIGUSR1 - 1);
  memcpy(mask.set, &blocked, sizeof(blocked));
  EXPECT_EQ(ioctl(v.fd, KVM_SET_SIGNAL_MASK, &mask), 0);
  pid_t parent = getpid(), child = fork();
  if (child == 0) {
    usleep(200000);
    kill(parent, SIGUSR1);
    usleep(500000);
    kill(parent, SIGALRM);
    _exit(0);
  }
  double start = now();
  errno = 0;
  int r = ioctl(v.fd, KVM_RUN, 0);
  double took = now() - start;
  check(r == -1 && errno == EINTR, "SIGALRM ends KVM_RUN with EINTR", r);
  check(took > 0.5, "SIGUSR1 (masked during KVM_RUN) did not end it", (long)(took * 1000));
  check(alarm_seen == 1 && usr1_seen == 1, "both handlers ran once KVM_RUN returned", usr1_seen);
  waitpid(child, NULL, 0);
  teardown(&v);
}

int main(int argc, char **argv) {
  const char *dev = argc > 1 ? argv[1] : "/dev/kagami";
  struct vcpu v;

  strict = strcmp(dev, "/dev/kagami") == 0;
  uint64_t created = __rdtsc();
  if (setup(&v, dev, spin, sizeof(spin))) return 1;
  test_tsc(&v, created);
  test_msrs(&v);
  test_mce_msrs(&v);
  test_apic_base(&v);
  test_fpu(&v);
  test_events(&v);
  teardown(&v);
  test_guest(dev);
  test_guest_msrs(dev);
  test_signal_mask(dev);
  printf("%s: vCPU ABI on %s\n", failures ? "FAIL" : "PASS", dev);
  return failures != 0;
}
