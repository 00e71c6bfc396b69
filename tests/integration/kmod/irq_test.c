// SPDX-License-Identifier: GPL-2.0
/*
 * irq_test: GSI routing, KVM_SIGNAL_MSI, KVM_IRQ_LINE, KVM_IRQFD and KVM_IOEVENTFD on the raw KVM
 * ABI, with their error cases, teardown under live eventfds, and small guests taking an MSI,
 * an EOI exit, a resampled level interrupt and ioeventfd writes.
 * Usage: irq_test /dev/kvm|/dev/kagami (the expectations are kvm-amd's answers).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmod_test_lib.h"

static int sys_fd;

enum chip_mode { NO_IRQCHIP, SPLIT, KERNEL };

static int new_vm(enum chip_mode mode) {
  int vm = ioctl(sys_fd, KVM_CREATE_VM, 0);
  if (vm < 0) {
    perror("KVM_CREATE_VM");
    exit(2);
  }
  if (mode == SPLIT) {
    struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
    EXPECT_OK(ioctl(vm, KVM_ENABLE_CAP, &cap));
  } else if (mode == KERNEL) {
    EXPECT_OK(ioctl(vm, KVM_CREATE_IRQCHIP, 0));
  }
  return vm;
}

/* A routing table of up to 4096 entries, as KVM_SET_GSI_ROUTING takes it. */
struct table {
  struct kvm_irq_routing hdr;
  struct kvm_irq_routing_entry e[4096];
};

static struct table tbl;

static void add_msi(uint32_t gsi, uint32_t dest, uint32_t vector, int level) {
  struct kvm_irq_routing_entry *e = &tbl.e[tbl.hdr.nr++];
  memset(e, 0, sizeof(*e));
  e->gsi = gsi;
  e->type = KVM_IRQ_ROUTING_MSI;
  e->u.msi.address_lo = 0xfee00000u | dest << 12;
  e->u.msi.data = vector | (level ? 0xc000 : 0);
}

static void add_chip(uint32_t gsi, uint32_t chip, uint32_t pin) {
  struct kvm_irq_routing_entry *e = &tbl.e[tbl.hdr.nr++];
  memset(e, 0, sizeof(*e));
  e->gsi = gsi;
  e->type = KVM_IRQ_ROUTING_IRQCHIP;
  e->u.irqchip.irqchip = chip;
  e->u.irqchip.pin = pin;
}

static int set_routing(int vm) {
  return ioctl(vm, KVM_SET_GSI_ROUTING, &tbl);
}

static int irqfd(int vm, int fd, uint32_t gsi, uint32_t flags, int resamplefd) {
  struct kvm_irqfd a = {.fd = fd, .gsi = gsi, .flags = flags, .resamplefd = resamplefd};
  return ioctl(vm, KVM_IRQFD, &a);
}

static int ioeventfd(int vm, int fd, uint64_t addr, uint32_t len, uint32_t flags, uint64_t match) {
  struct kvm_ioeventfd a = {.datamatch = match, .addr = addr, .len = len, .fd = fd, .flags = flags};
  return ioctl(vm, KVM_IOEVENTFD, &a);
}

static int irq_line(int vm, uint32_t gsi, uint32_t level, int *status) {
  struct kvm_irq_level l = {.irq = gsi, .level = level};
  int r = ioctl(vm, KVM_IRQ_LINE_STATUS, &l);
  *status = l.status;
  return r;
}

static int signal_msi(int vm, uint32_t dest, uint32_t vector, uint32_t flags) {
  struct kvm_msi m = {.address_lo = 0xfee00000u | dest << 12, .data = vector, .flags = flags};
  return ioctl(vm, KVM_SIGNAL_MSI, &m);
}

static int efd(void) {
  return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* What a read of the eventfd gets: its counter, or -1 when it is 0 (the kernel took it). */
static long efd_count(int fd) {
  uint64_t v;
  return read(fd, &v, sizeof(v)) == sizeof(v) ? (long)v : -1;
}

static void efd_signal(int fd) {
  uint64_t one = 1;
  if (write(fd, &one, sizeof(one)) != sizeof(one)) perror("eventfd write");
}

static void test_no_irqchip(void) {
  int vm = new_vm(NO_IRQCHIP), fd = efd(), status;

  tbl.hdr.nr = 0;
  EXPECT_ERR(set_routing(vm), EINVAL);
  EXPECT_ERR(irq_line(vm, 4, 1, &status), ENXIO);
  EXPECT_ERR(signal_msi(vm, 0, 0x30, 0), EINVAL);
  EXPECT_ERR(irqfd(vm, fd, 5, 0, -1), EINVAL);
  EXPECT_EQ(irqfd(vm, fd, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
  EXPECT_EQ(ioeventfd(vm, fd, 0x1000, 2, KVM_IOEVENTFD_FLAG_PIO, 0), 0);
  close(vm); /* with a live ioeventfd */
  close(fd);
}

static void test_routing_split(void) {
  int vm = new_vm(SPLIT), status;

  tbl.hdr.nr = 0;
  tbl.hdr.flags = 0;
  EXPECT_EQ(set_routing(vm), 0);
  add_msi(5, 0, 0x30, 0);
  EXPECT_EQ(set_routing(vm), 0);
  tbl.hdr.flags = 1;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.hdr.flags = 0;
  tbl.hdr.nr = 4097;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.hdr.nr = 0xffffffffu;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.hdr.nr = 0;
  for (uint32_t gsi = 0; gsi < 4096; gsi++) add_msi(gsi, 0, 0x30 + gsi % 200, gsi & 1);
  EXPECT_EQ(set_routing(vm), 0);
  tbl.e[4095].gsi = 4096;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[4095].gsi = 0; /* a second MSI for GSI 0 */
  EXPECT_ERR(set_routing(vm), EINVAL);

  tbl.hdr.nr = 0;
  add_chip(3, KVM_IRQCHIP_IOAPIC, 3); /* no irqchip routes in split mode */
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.hdr.nr = 0;
  add_msi(1, 0, 0x31, 0);
  tbl.e[0].type = 99;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[0].type = KVM_IRQ_ROUTING_MSI;
  tbl.e[0].flags = KVM_MSI_VALID_DEVID; /* accepted (ignored) on x86 */
  EXPECT_EQ(set_routing(vm), 0);
  tbl.e[0].flags = 2;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[0].flags = 0;
  EXPECT_EQ(set_routing(vm), 0);

  /* No vCPU yet: KVM's delivery finds no LAPIC and answers -1. */
  EXPECT_EQ(irq_line(vm, 1, 1, &status), 0);
  EXPECT_EQ(status, -1);
  EXPECT_EQ(irq_line(vm, 2000, 1, &status), 0);
  EXPECT_EQ(status, -1);
  EXPECT_ERR(signal_msi(vm, 0, 0x30, 0), EPERM);
  EXPECT_ERR(signal_msi(vm, 0, 0x30, 2), EINVAL);
  int vcpu = EXPECT_OK(ioctl(vm, KVM_CREATE_VCPU, 0));
  /* A LAPIC fresh from reset is software-disabled (SVR bit 8): it takes no fixed interrupt. */
  EXPECT_EQ(signal_msi(vm, 0, 0x30, 0), 0);
  EXPECT_EQ(signal_msi(vm, 0, 0x30, KVM_MSI_VALID_DEVID), 0);
  EXPECT_EQ(signal_msi(vm, 7, 0x30, 0), 0); /* no LAPIC with ID 7 */
  EXPECT_EQ(irq_line(vm, 1, 1, &status), 0);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(irq_line(vm, 1, 0, &status), 0);
  EXPECT_EQ(status, -1);
  close(vcpu);
  close(vm);
}

static void test_routing_kernel(void) {
  int vm = new_vm(KERNEL), status;

  tbl.hdr.nr = 0;
  add_chip(1, KVM_IRQCHIP_IOAPIC, 23);
  add_chip(1, KVM_IRQCHIP_PIC_MASTER, 7);
  add_chip(1, KVM_IRQCHIP_PIC_SLAVE, 7);
  add_msi(30, 0, 0x40, 0);
  EXPECT_EQ(set_routing(vm), 0);
  tbl.e[0].u.irqchip.pin = 24;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[0].u.irqchip.pin = 23;
  tbl.e[1].u.irqchip.pin = 8;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[1].u.irqchip.pin = 7;
  tbl.e[2].u.irqchip.irqchip = 3;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[2].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC; /* the IOAPIC twice for GSI 1 */
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[2].u.irqchip.irqchip = KVM_IRQCHIP_PIC_SLAVE;
  tbl.e[2].flags = 1;
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[2].flags = 0;
  tbl.e[3].gsi = 1; /* an MSI next to irqchip routes */
  EXPECT_ERR(set_routing(vm), EINVAL);
  tbl.e[3].gsi = 30;
  EXPECT_EQ(set_routing(vm), 0);
  EXPECT_EQ(irq_line(vm, 9999, 1, &status), 0);
  EXPECT_EQ(status, -1);
  EXPECT_EQ(irq_line(vm, 1, 1, &status), 0);
  printf("info: kernel irqchip, IRQ_LINE_STATUS gsi 1 (IOAPIC 23 + PIC pins) -> %d\n", status);
  EXPECT_EQ(irq_line(vm, 1, 0, &status), 0);

  /* Back to KVM's default table: GSI 0-15 on both PIC and IOAPIC, 16-23 on the IOAPIC. */
  tbl.hdr.nr = 0;
  for (uint32_t gsi = 0; gsi < 24; gsi++) {
    add_chip(gsi, KVM_IRQCHIP_IOAPIC, gsi);
    if (gsi < 16) add_chip(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
  }
  EXPECT_EQ(set_routing(vm), 0);
  close(vm);
}

static void test_irqfd(enum chip_mode mode) {
  int vm = new_vm(mode), a = efd(), b = efd(), r = efd(), null = open("/dev/null", O_RDONLY);

  tbl.hdr.nr = 0;
  add_msi(5, 0, 0x30, 0);
  add_msi(6, 0, 0x31, 0);
  if (mode == KERNEL)
    for (uint32_t gsi = 0; gsi < 5; gsi++) add_chip(gsi, KVM_IRQCHIP_IOAPIC, gsi);
  EXPECT_EQ(set_routing(vm), 0);
  int vcpu = EXPECT_OK(ioctl(vm, KVM_CREATE_VCPU, 0));

  EXPECT_ERR(irqfd(vm, a, 5, 4, -1), EINVAL);
  EXPECT_ERR(irqfd(vm, -1, 5, 0, -1), EBADF);
  EXPECT_ERR(irqfd(vm, null, 5, 0, -1), EINVAL);
  EXPECT_EQ(irqfd(vm, a, 5, 0, -1), 0);
  EXPECT_ERR(irqfd(vm, a, 6, 0, -1), EBUSY);
  EXPECT_ERR(irqfd(vm, a, 5, 0, -1), EBUSY);
  /* A signal is taken by the kernel at once (it reads the counter in its wakeup). */
  efd_signal(a);
  EXPECT_EQ(efd_count(a), -1);
  EXPECT_EQ(irqfd(vm, a, 6, KVM_IRQFD_FLAG_DEASSIGN, -1), 0); /* no such pair: still 0 */
  EXPECT_EQ(irqfd(vm, a, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
  EXPECT_ERR(irqfd(vm, -1, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), EBADF);
  efd_signal(a); /* deassigned: the counter stays */
  EXPECT_EQ(efd_count(a), 1);
  /* An event pending before the assign is delivered, but its counter is left as KVM leaves it. */
  efd_signal(a);
  EXPECT_EQ(irqfd(vm, a, 5, 0, -1), 0);
  EXPECT_EQ(efd_count(a), 1);
  EXPECT_EQ(irqfd(vm, b, 9999, 0, -1), 0); /* an unrouted GSI is fine */
  efd_signal(b);
  EXPECT_EQ(efd_count(b), -1);

  if (mode == SPLIT) {
    EXPECT_ERR(irqfd(vm, r, 3, KVM_IRQFD_FLAG_RESAMPLE, b), EINVAL);
  } else {
    int c = efd(), d = efd();
    EXPECT_ERR(irqfd(vm, c, 3, KVM_IRQFD_FLAG_RESAMPLE, -1), EBADF);
    EXPECT_ERR(irqfd(vm, c, 3, KVM_IRQFD_FLAG_RESAMPLE, null), EINVAL);
    EXPECT_EQ(irqfd(vm, c, 3, KVM_IRQFD_FLAG_RESAMPLE, r), 0);
    EXPECT_EQ(irqfd(vm, d, 3, KVM_IRQFD_FLAG_RESAMPLE, r), 0); /* two resamplers on GSI 3 */
    efd_signal(c);
    EXPECT_EQ(efd_count(c), -1);
    EXPECT_EQ(irqfd(vm, d, 3, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
    close(c); /* the other one dies with its eventfd (EPOLLHUP) */
    close(d);
  }

  /* Closing an eventfd detaches its irqfd: a new one may take the same number and GSI. */
  close(a);
  a = efd();
  EXPECT_EQ(irqfd(vm, a, 5, 0, -1), 0);
  efd_signal(a);
  EXPECT_EQ(efd_count(a), -1);

  /*
   * Closing the VM fd detaches the irqfds at once, though the vCPU fd keeps the VM (KVM's
   * kvm_vm_release): afterwards nobody consumes the eventfds' signals.
   */
  close(vm);
  efd_signal(a);
  EXPECT_EQ(efd_count(a), 1);
  efd_signal(b);
  EXPECT_EQ(efd_count(b), 1);
  close(vcpu);
  close(a);
  close(b);
  close(r);
  close(null);
}

static void test_ioeventfd(void) {
  int vm = new_vm(SPLIT), a = efd(), b = efd(), null = open("/dev/null", O_RDONLY);
  const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO, dm = KVM_IOEVENTFD_FLAG_DATAMATCH;
  const uint32_t de = KVM_IOEVENTFD_FLAG_DEASSIGN;

  EXPECT_EQ(ioeventfd(vm, a, 0x1000, 2, pio, 0), 0);
  EXPECT_ERR(ioeventfd(vm, a, 0x1000, 2, pio, 0), EEXIST);
  EXPECT_ERR(ioeventfd(vm, b, 0x1000, 2, pio | dm, 7), EEXIST); /* a wildcard covers it */
  EXPECT_EQ(ioeventfd(vm, b, 0x1000, 4, pio, 0), 0);            /* another length */
  EXPECT_EQ(ioeventfd(vm, a, 0x1000, 2, 0, 0), 0);              /* MMIO is another bus */
  EXPECT_EQ(ioeventfd(vm, a, 0x2000, 1, pio | dm, 1), 0);
  EXPECT_EQ(ioeventfd(vm, b, 0x2000, 1, pio | dm, 2), 0);
  EXPECT_ERR(ioeventfd(vm, b, 0x2000, 1, pio | dm, 2), EEXIST);
  EXPECT_ERR(ioeventfd(vm, b, 0x2000, 0, pio, 0), EEXIST); /* any length covers them */
  EXPECT_EQ(ioeventfd(vm, a, 0x3000, 0, pio, 0), 0);
  EXPECT_ERR(ioeventfd(vm, b, 0x3000, 4, pio, 0), EEXIST);
  EXPECT_ERR(ioeventfd(vm, a, 0x4000, 0, pio | dm, 1), EINVAL);
  EXPECT_ERR(ioeventfd(vm, a, 0x4000, 3, pio, 0), EINVAL);
  EXPECT_ERR(ioeventfd(vm, a, 0x4000, 16, 0, 0), EINVAL);
  EXPECT_ERR(ioeventfd(vm, a, 0x4000, 4, 0x20, 0), EINVAL);
  EXPECT_ERR(ioeventfd(vm, a, UINT64_MAX - 1, 4, 0, 0), EINVAL);
  EXPECT_ERR(ioeventfd(vm, -1, 0x4000, 4, pio, 0), EBADF);
  EXPECT_ERR(ioeventfd(vm, null, 0x4000, 4, pio, 0), EINVAL);
  EXPECT_EQ(ioeventfd(vm, a, 0xfee01000, 8, dm, 0x1234567890ull), 0);
  EXPECT_EQ(ioeventfd(vm, a, 0x5000, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0), 0);
  EXPECT_EQ(ioeventfd(vm, a, 0x5000, 4, 0x10, 0), 0); /* KVM's unnamed FAST_MMIO bit */

  EXPECT_ERR(ioeventfd(vm, a, 0x1000, 2, pio | dm | de, 0), ENOENT); /* it is a wildcard */
  EXPECT_ERR(ioeventfd(vm, b, 0x1000, 2, pio | de, 0), ENOENT);      /* another eventfd */
  EXPECT_ERR(ioeventfd(vm, a, 0x2000, 1, pio | dm | de, 2), ENOENT); /* another match */
  EXPECT_EQ(ioeventfd(vm, a, 0x2000, 1, pio | dm | de, 1), 0);
  EXPECT_EQ(ioeventfd(vm, a, 0x1000, 2, pio | de, 0), 0);
  EXPECT_ERR(ioeventfd(vm, a, 0x1000, 2, pio | de, 0), ENOENT);
  EXPECT_ERR(ioeventfd(vm, -1, 0x1000, 2, pio | de, 0), EBADF);
  EXPECT_EQ(ioeventfd(vm, a, 0x1000, 2, pio, 0), 0); /* free again */

  /* Many: 900 more ports on one bus all fit. */
  int ok = 0;
  for (uint32_t i = 0; i < 900; i++) ok += ioeventfd(vm, b, 0x10000 + i, 1, pio, 0) == 0;
  EXPECT_EQ(ok, 900);
  close(a); /* ioeventfds keep their own references */
  close(vm);
  close(b);
  close(null);
}

/*
 * Guests: a real-mode program at 0x1000 in 16 KiB of RAM, stack below 0x3000, ES at the LAPIC
 * (whose registers take 32-bit accesses only).
 */
#define GUEST_MEM 0x4000
struct guest {
  int vm, vcpu;
  struct kvm_run *run;
  uint8_t *mem;
};

static void on_alarm(int sig) {
  (void)sig;
}

static int guest_new(struct guest *g, enum chip_mode mode, const uint8_t *code, size_t len) {
  struct kvm_sregs sregs;
  g->vm = new_vm(mode);
  g->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memcpy(g->mem + 0x1000, code, len);
  struct kvm_userspace_memory_region region = {.memory_size = GUEST_MEM,
                                               .userspace_addr = (uintptr_t)g->mem};
  if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
  if (g->vcpu < 0) return perror("KVM_CREATE_VCPU"), -1;
  g->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
  if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  sregs.es.base = 0xfee00000; /* the LAPIC page, for SVR and EOI writes */
  if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = 0x1000, .rsp = 0x3000, .rflags = 2};
  if (ioctl(g->vcpu, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

static void guest_free(struct guest *g) {
  munmap(g->run, 2 * 4096);
  close(g->vcpu);
  close(g->vm);
  munmap(g->mem, GUEST_MEM);
}

/* Runs to the next exit (5 s at most): its reason; for port I/O, port << 8 | the byte written. */
static long guest_exit(struct guest *g) {
  alarm(5);
  int r = ioctl(g->vcpu, KVM_RUN, 0);
  alarm(0);
  if (r) return -errno;
  if (g->run->exit_reason == KVM_EXIT_IO)
    return (long)g->run->io.port << 8 | ((uint8_t *)g->run)[g->run->io.data_offset];
  if (g->run->exit_reason == KVM_EXIT_IOAPIC_EOI) return 0x10000 | g->run->eoi.vector;
  return g->run->exit_reason;
}

/* OUTs and MMIO writes that ioeventfds take complete in the kernel: only the others exit. */
static void test_ioeventfd_guest(void) {
  static const uint8_t code[] = {
      0xb0, 0x42,       /* mov al, 0x42 */
      0xe6, 0x10,       /* out 0x10, al: any value */
      0xb0, 0x01,       /* mov al, 1 */
      0xe6, 0x12,       /* out 0x12, al: not the datamatch, exits */
      0xb0, 0x02,       /* mov al, 2 */
      0xe6, 0x12,       /* out 0x12, al: the datamatch */
      0xa2, 0x00, 0x80, /* mov [0x8000], al: MMIO, length 1 */
      0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
      0xa3, 0x10, 0x80, /* mov [0x8010], ax: MMIO, any length */
      0xe6, 0x11,       /* out 0x11, al: nobody's, exits */
      0xf4,             /* hlt */
  };
  struct guest g;
  int fd[4];
  if (guest_new(&g, NO_IRQCHIP, code, sizeof(code))) return;
  for (int i = 0; i < 4; i++) fd[i] = efd();
  EXPECT_EQ(ioeventfd(g.vm, fd[0], 0x10, 1, KVM_IOEVENTFD_FLAG_PIO, 0), 0);
  EXPECT_EQ(
      ioeventfd(g.vm, fd[1], 0x12, 1, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH, 2), 0);
  EXPECT_EQ(ioeventfd(g.vm, fd[2], 0x8000, 1, 0, 0), 0);
  EXPECT_EQ(ioeventfd(g.vm, fd[3], 0x8010, 0, 0, 0), 0);
  EXPECT_EQ(guest_exit(&g), 0x1201);
  EXPECT_EQ(guest_exit(&g), 0x1134);
  EXPECT_EQ(guest_exit(&g), KVM_EXIT_HLT);
  for (int i = 0; i < 4; i++) EXPECT_EQ(efd_count(fd[i]), 1);
  guest_free(&g);
  for (int i = 0; i < 4; i++) close(fd[i]);
}

/*
 * Split irqchip: an edge MSI through an irqfd reaches the guest's handler; a level one on a
 * userspace IOAPIC GSI also makes its EOI exit (KVM_EXIT_IOAPIC_EOI).
 */
static void test_msi_guest(void) {
  static const uint8_t code[] = {
      0x66, 0x26, 0xc7, 0x06, 0xf0, 0x00, 0xff, 0x01, 0x00, 0x00, /* mov dword [es:0xf0], 0x1ff */
      0xe6, 0x14,       /* out 0x14, al: ready for the edge MSI */
      0xfb, 0xf4,       /* sti; hlt */
      0xfa, 0xe6, 0x17, /* cli; out 0x17, al: ready for the level one */
      0xfb, 0xf4,       /* sti; hlt */
      0xe6, 0x18,       /* out 0x18, al: done */
      0xeb, 0xfe,       /* jmp $ */
  };
  static const uint8_t handler[] = {
      0xe6, 0x13,                                     /* out 0x13, al (al: the vector) */
      0x66, 0x26, 0xc7, 0x06, 0xb0, 0x00, 0, 0, 0, 0, /* mov dword [es:0xb0], 0: EOI */
      0xcf,                                           /* iret */
  };
  struct guest g;
  int edge = efd(), level = efd();
  if (guest_new(&g, SPLIT, code, sizeof(code))) return;
  for (int v = 0; v < 2; v++) {
    g.mem[0x1100 + 0x100 * v] = 0xb0; /* mov al, vector */
    g.mem[0x1101 + 0x100 * v] = 0x30 + v;
    memcpy(g.mem + 0x1102 + 0x100 * v, handler, sizeof(handler));
    uint16_t ivt[2] = {(uint16_t)(0x1100 + 0x100 * v), 0};
    memcpy(g.mem + (0x30 + v) * 4, ivt, sizeof(ivt));
  }
  tbl.hdr.nr = 0;
  add_msi(5, 0, 0x30, 0);
  add_msi(3, 0, 0x31, 1);
  EXPECT_EQ(set_routing(g.vm), 0);
  EXPECT_EQ(irqfd(g.vm, edge, 5, 0, -1), 0);
  EXPECT_EQ(irqfd(g.vm, level, 3, 0, -1), 0);
  EXPECT_EQ(guest_exit(&g), 0x1400);
  efd_signal(edge);
  EXPECT_EQ(guest_exit(&g), 0x1330);
  EXPECT_EQ(guest_exit(&g), 0x1730); /* an edge vector's EOI stays in the kernel */
  efd_signal(level);
  EXPECT_EQ(guest_exit(&g), 0x1331);
  EXPECT_EQ(guest_exit(&g), 0x10031);
  EXPECT_EQ(guest_exit(&g), 0x1831);
  guest_free(&g);
  close(edge);
  close(level);
}

/*
 * Kernel irqchip: a resampling irqfd holds IOAPIC pin 3 (level, vector 0x32) until the guest's EOI,
 * which signals the resample eventfd (KVM's ack notifier). With the pin made edge-triggered the EOI
 * (TMR clear) still reaches the resampler, as KVM's kvm_ioapic_scan_entry() routes the vector of a
 * pin with an ack notifier to the IOAPIC.
 */
static void test_resample_guest(int level) {
  static const uint8_t code[] = {
      0xb0, 0xff, 0xe6, 0x21, 0xe6, 0xa1, /* mask the PICs: GSI 3 also reaches LINT0 as ExtINT */
      0x66, 0x26, 0xc7, 0x06, 0xf0, 0x00, 0xff, 0x01, 0x00, 0x00, /* mov dword [es:0xf0], 0x1ff */
      0x66, 0x64, 0xc7, 0x06, 0x00, 0x00, 0x17, 0,    0,    0,    /* IOREGSEL = pin 3, high */
      0x66, 0x64, 0xc7, 0x06, 0x10, 0x00, 0x00, 0,    0,    0,    /* IOWIN = 0: APIC ID 0 */
      0x66, 0x64, 0xc7, 0x06, 0x00, 0x00, 0x16, 0,    0,    0,    /* IOREGSEL = pin 3, low */
      0x66, 0x64, 0xc7, 0x06, 0x10, 0x00, 0x32, 0x80, 0,    0,    /* IOWIN = level, vector 0x32 */
      0xe6, 0x14,                                                 /* out 0x14, al: ready */
      0xfb, 0xf4,                                                 /* sti; hlt */
      0xfa, 0xe6, 0x18,                                           /* cli; out 0x18, al: done */
      0xeb, 0xfe,                                                 /* jmp $ */
  };
  static const uint8_t handler[] = {
      0xb0, 0x32,                                     /* mov al, 0x32 */
      0xe6, 0x13,                                     /* out 0x13, al */
      0x66, 0x26, 0xc7, 0x06, 0xb0, 0x00, 0, 0, 0, 0, /* mov dword [es:0xb0], 0: EOI */
      0xcf,                                           /* iret */
  };
  uint8_t prog[sizeof(code)];
  struct kvm_sregs sregs;
  struct guest g;
  int fd = efd(), resample = efd();
  memcpy(prog, code, sizeof(code));
  for (size_t i = 0; !level && i + 1 < sizeof(prog); i++)
    if (prog[i] == 0x32 && prog[i + 1] == 0x80) prog[i + 1] = 0; /* IOWIN = edge, vector 0x32 */
  if (guest_new(&g, KERNEL, prog, sizeof(prog))) return;
  ioctl(g.vcpu, KVM_GET_SREGS, &sregs);
  sregs.fs.base = 0xfec00000; /* the IOAPIC */
  ioctl(g.vcpu, KVM_SET_SREGS, &sregs);
  memcpy(g.mem + 0x1100, handler, sizeof(handler));
  uint16_t ivt[2] = {0x1100, 0};
  memcpy(g.mem + 0x32 * 4, ivt, sizeof(ivt));
  EXPECT_EQ(irqfd(g.vm, fd, 3, KVM_IRQFD_FLAG_RESAMPLE, resample), 0);
  EXPECT_EQ(guest_exit(&g), 0x14ff);
  efd_signal(fd);
  EXPECT_EQ(guest_exit(&g), 0x1332);
  EXPECT_EQ(guest_exit(&g), 0x1832);
  EXPECT_EQ(efd_count(fd), -1);
  EXPECT_EQ(efd_count(resample), 1);
  guest_free(&g);
  close(fd);
  close(resample);
}

/* Races: eventfds signalled and closed by other threads while the VM is torn down. */
struct race {
  int fds[4];
  volatile int stop;
};

static void *race_signal(void *arg) {
  struct race *r = arg;
  uint64_t one = 1;
  while (!r->stop)
    for (int i = 0; i < 4; i++)
      if (write(r->fds[i], &one, sizeof(one)) < 0) { /* closed meanwhile: fine */
      }
  return NULL;
}

static void *race_close(void *arg) {
  struct race *r = arg;
  sched_yield();
  close(r->fds[1]);
  close(r->fds[3]);
  return NULL;
}

static void test_teardown_races(int rounds) {
  int ok = 0;
  for (int round = 0; round < rounds; round++) {
    int vm = new_vm(round & 1 ? KERNEL : SPLIT), resample = efd();
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    struct race r = {.stop = 0};
    pthread_t signaller, closer;

    tbl.hdr.nr = 0;
    add_msi(20, 0, 0x30, 0);
    add_msi(21, 0, 0x31, 1);
    EXPECT_EQ(set_routing(vm), 0);
    if (round & 1) EXPECT_EQ(ioctl(vm, KVM_CREATE_IRQCHIP, 0), -1); /* already has one */
    for (int i = 0; i < 4; i++) {
      r.fds[i] = efd();
      uint32_t flags = (round & 1) && i >= 2 ? KVM_IRQFD_FLAG_RESAMPLE : 0;
      ok += irqfd(vm, r.fds[i], i < 2 ? 20 + i : i, flags, resample) == 0;
    }
    ok += ioeventfd(vm, r.fds[0], 0x1000, 1, KVM_IOEVENTFD_FLAG_PIO, 0) == 0;
    ok += ioeventfd(vm, r.fds[1], 0xd0000000, 4, 0, 0) == 0;
    pthread_create(&signaller, NULL, race_signal, &r);
    pthread_create(&closer, NULL, race_close, &r);
    close(r.fds[0]);
    close(vm);
    close(vcpu);
    pthread_join(closer, NULL);
    r.stop = 1;
    pthread_join(signaller, NULL);
    close(r.fds[2]);
    close(resample);
  }
  EXPECT_EQ(ok, rounds * 6);
}

int main(int argc, char **argv) {
  const char *dev = argc > 1 ? argv[1] : "/dev/kvm";

  sys_fd = open(dev, O_RDWR | O_CLOEXEC);
  if (sys_fd < 0) {
    perror(dev);
    return 2;
  }
  test_no_irqchip();
  test_routing_split();
  test_routing_kernel();
  test_irqfd(SPLIT);
  test_irqfd(KERNEL);
  test_ioeventfd();
  test_teardown_races(200);
  struct sigaction sa = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &sa, NULL);
  test_ioeventfd_guest();
  test_msi_guest();
  test_resample_guest(1);
  test_resample_guest(0);
  printf("%s: %d passed, %d failed\n", dev, checks_passed, checks_failed);
  return checks_failed ? 1 : 0;
}
