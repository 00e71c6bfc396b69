// SPDX-License-Identifier: GPL-2.0
/* mp_state_test: MP states with an in-kernel LAPIC: INIT/SIPI, HLT in the kernel, SET/GET. */
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
#include <sys/time.h>
#include <unistd.h>

#define MEM_SIZE 0x10000UL
#define BSP_CODE 0x1000
#define AP_CODE 0x2000  /* SIPI vector 2 */
#define AP2_CODE 0x3000 /* SIPI vector 3, from KVM_SET_VCPU_EVENTS + SET_MP_STATE */
#define TIMER_HANDLER 0x4000
#define IPI_HANDLER 0x4100
#define AP_IPI_HANDLER 0x4200
#define MARKERS 0x5000
#define TIMER_VECTOR 0x30
#define IPI_VECTOR 0x31
#define AP_IPI_VECTOR 0x32
#define APIC_BASE 0xfee00000UL

static int failures;
static const char *device;

static void check(int ok, const char *what, long got) {
  if (ok) return;
  failures++;
  printf("FAIL: %s (got %#lx, errno %d: %s)\n", what, got, errno, strerror(errno));
}

/* The guest programs, one instruction per line. */
// clang-format off
/* mov dword fs:[reg], value (FS is the xAPIC page: its base is set through KVM_SET_SREGS). */
#define APIC_WRITE(reg, value)                                                               \
  0x66, 0x64, 0xc7, 0x06, (reg) & 0xff, (reg) >> 8, (value) & 0xff, ((value) >> 8) & 0xff, \
      ((value) >> 16) & 0xff, (value) >> 24

/* The BSP: enable its APIC, INIT and SIPI (vector 2) to APIC ID 1, report; then STI; HLT with
 * nothing to wake it; then the LAPIC timer and a self-IPI, each while halted; then an IPI to the
 * AP, which halts in another thread. */
static const uint8_t bsp_program[] = {
    APIC_WRITE(0x0f0, 0x1ff),      /* SVR: APIC software-enabled, spurious vector 0xff */
    APIC_WRITE(0x310, 0x01000000), /* ICR high: destination APIC ID 1 */
    APIC_WRITE(0x300, 0x00004500), /* ICR low: INIT, level assert */
    APIC_WRITE(0x300, 0x00004602), /* ICR low: SIPI, vector 2 */
    0xe6, 0x10,                    /* out 0x10, al */
    0xfb,                          /* sti */
    0xf4,                          /* hlt: nothing pending */
    0xe6, 0x12,                    /* out 0x12, al */
    0xfa,                          /* cli */
    APIC_WRITE(0x3e0, 0x0b),       /* timer divide by 1 */
    APIC_WRITE(0x320, TIMER_VECTOR), /* LVT timer: one-shot */
    APIC_WRITE(0x380, 0x100000),   /* initial count: about 1 ms */
    0xfb,                          /* sti */
    0xf4,                          /* hlt: the timer wakes it */
    0xe6, 0x16,                    /* out 0x16, al */
    0xfa,                          /* cli */
    APIC_WRITE(0x300, 0x00044000 | IPI_VECTOR), /* ICR: fixed, shorthand self */
    0xfb,                          /* sti */
    0xf4,                          /* hlt: the self-IPI wakes it */
    0xe6, 0x17,                    /* out 0x17, al */
    APIC_WRITE(0x310, 0x01000000), /* ICR high: destination APIC ID 1 */
    APIC_WRITE(0x300, 0x00004000 | AP_IPI_VECTOR), /* ICR low: fixed */
    0xe6, 0x1a,                    /* out 0x1a, al */
    0xeb, 0xfe,                    /* jmp $ */
};
/* The AP, at the SIPI page in real mode: a marker, then an OUT; then (once userspace has based
 * FS at the xAPIC page) enable its APIC and halt until the BSP's IPI. */
static const uint8_t ap_program[] = {
    0xc6, 0x06, MARKERS & 0xff, MARKERS >> 8, 0x5a, /* mov byte [MARKERS], 0x5a */
    0xe6, 0x11,                                     /* out 0x11, al */
    APIC_WRITE(0x0f0, 0x1ff),                       /* SVR: APIC software-enabled */
    0xfb,                                           /* sti */
    0xf4,                                           /* hlt */
    0xe6, 0x1b,                                     /* out 0x1b, al */
    0xeb, 0xfe,                                     /* jmp $ */
};
static const uint8_t ap2_program[] = {
    0xc6, 0x06, (MARKERS + 1) & 0xff, MARKERS >> 8, 0xa5, /* mov byte [MARKERS + 1], 0xa5 */
    0xe6, 0x15,                                           /* out 0x15, al */
    0xf4,                                                 /* hlt */
};
/* Interrupt handlers: report, EOI, IRET. */
static const uint8_t timer_handler[] = {0xe6, 0x13, APIC_WRITE(0x0b0, 0), 0xcf};
static const uint8_t ipi_handler[] = {0xe6, 0x14, APIC_WRITE(0x0b0, 0), 0xcf};
static const uint8_t ap_ipi_handler[] = {0xe6, 0x19, APIC_WRITE(0x0b0, 0), 0xcf};

// clang-format on

struct vm {
  int sys, fd;
  uint8_t *mem;
};

struct vcpu {
  int fd;
  struct kvm_run *run;
};

static void on_timer(int sig) {
  (void)sig;
}

/* One-shot SIGALRM after ms milliseconds (0 disarms). */
static void arm_timer(long ms) {
  struct itimerval t = {.it_value = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000}};
  setitimer(ITIMER_REAL, &t, NULL);
}

static int vm_create(struct vm *vm, int split) {
  vm->sys = open(device, O_RDWR | O_CLOEXEC);
  if (vm->sys < 0) return perror(device), -1;
  vm->fd = ioctl(vm->sys, KVM_CREATE_VM, 0);
  if (vm->fd < 0) return perror("KVM_CREATE_VM"), -1;
  struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24};
  if (split && ioctl(vm->fd, KVM_ENABLE_CAP, &cap)) return perror("KVM_CAP_SPLIT_IRQCHIP"), -1;
  vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (vm->mem == MAP_FAILED) return perror("mmap"), -1;
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)vm->mem};
  if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  return 0;
}

static void vm_destroy(struct vm *vm) {
  close(vm->fd);
  close(vm->sys);
  munmap(vm->mem, MEM_SIZE);
}

static int vcpu_create(struct vm *vm, struct vcpu *v, unsigned long id) {
  v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
  if (v->fd < 0) return perror("KVM_CREATE_VCPU"), -1;
  v->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
  if (v->run == MAP_FAILED) return perror("mmap kvm_run"), -1;
  return 0;
}

static void vcpu_destroy(struct vcpu *v) {
  munmap(v->run, 2 * 4096);
  close(v->fd);
}

/* FS based at the xAPIC page, the guest programs' way to reach it from real mode. */
static int vcpu_fs_at_apic(struct vcpu *v) {
  struct kvm_sregs sregs;
  if (ioctl(v->fd, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.fs.base = APIC_BASE;
  if (ioctl(v->fd, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  return 0;
}

/* Real mode at CS:IP 0:rip, FS based at the xAPIC page. */
static int vcpu_real_mode(struct vcpu *v, uint64_t rip) {
  struct kvm_sregs sregs;
  if (ioctl(v->fd, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  sregs.fs.base = APIC_BASE;
  if (ioctl(v->fd, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = rip, .rflags = 2};
  if (ioctl(v->fd, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

static uint32_t get_mp_state(struct vcpu *v) {
  struct kvm_mp_state mp = {.mp_state = 0xdead};
  if (ioctl(v->fd, KVM_GET_MP_STATE, &mp)) return 0xbad;
  return mp.mp_state;
}

static int set_mp_state(struct vcpu *v, uint32_t state) {
  struct kvm_mp_state mp = {.mp_state = state};
  errno = 0;
  return ioctl(v->fd, KVM_SET_MP_STATE, &mp);
}

/* KVM_RUN with a watchdog of ms: returns KVM_RUN's result, errno as it left it. EAGAIN (KVM_RUN
 * of a vCPU that had no INIT yet, once it has one) means run again, as KVM's users do. */
static int run_for(struct vcpu *v, long ms) {
  arm_timer(ms);
  errno = 0;
  int r = ioctl(v->fd, KVM_RUN, 0);
  for (int tries = 0; r == -1 && errno == EAGAIN && tries < 10; tries++)
    r = ioctl(v->fd, KVM_RUN, 0);
  int saved = errno;
  arm_timer(0);
  errno = saved;
  return r;
}

/* KVM_RUN must end with an OUT to port within 3 s. */
static int run_to_out(struct vcpu *v, uint16_t port, const char *what) {
  int r = run_for(v, 3000);
  check(r == 0, what, r);
  if (r) return 0;
  int ok = v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == port;
  check(ok, what, v->run->exit_reason == KVM_EXIT_IO ? v->run->io.port : v->run->exit_reason);
  return ok;
}

/* KVM_RUN must block until the timer signal: EINTR, KVM_EXIT_INTR, and the state kept. */
static void run_blocks(struct vcpu *v, uint32_t state, const char *what) {
  int r = run_for(v, 200);
  check(r == -1 && errno == EINTR, what, r ? errno : v->run->exit_reason);
  check(v->run->exit_reason == KVM_EXIT_INTR, "EINTR goes with KVM_EXIT_INTR", v->run->exit_reason);
  check(get_mp_state(v) == state, what, get_mp_state(v));
}

/* Without an irqchip a vCPU is RUNNABLE, and that is the only state it takes. */
static int no_irqchip_test(void) {
  struct vm vm;
  struct vcpu v;

  if (vm_create(&vm, 0) || vcpu_create(&vm, &v, 1)) return 1;
  check(get_mp_state(&v) == KVM_MP_STATE_RUNNABLE, "no irqchip: vCPU 1 RUNNABLE", get_mp_state(&v));
  check(set_mp_state(&v, KVM_MP_STATE_RUNNABLE) == 0, "no irqchip: SET RUNNABLE", errno);
  check(set_mp_state(&v, KVM_MP_STATE_HALTED) == -1 && errno == EINVAL,
        "no irqchip: SET HALTED is EINVAL", errno);
  check(set_mp_state(&v, KVM_MP_STATE_INIT_RECEIVED) == -1 && errno == EINVAL,
        "no irqchip: SET INIT_RECEIVED is EINVAL", errno);
  vcpu_destroy(&v);
  vm_destroy(&vm);
  printf("%s: no irqchip\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

/* Each state KVM takes on x86 reads back; SIPI_RECEIVED is not in this list (it starts the vCPU);
 * s390's states and garbage are EINVAL. */
static void round_trips(struct vcpu *ap) {
  static const uint32_t states[] = {KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_HALTED,
                                    KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_UNINITIALIZED};
  static const uint32_t bad[] = {KVM_MP_STATE_STOPPED,
                                 KVM_MP_STATE_CHECK_STOP,
                                 KVM_MP_STATE_OPERATING,
                                 KVM_MP_STATE_LOAD,
                                 0xdead,
                                 0xffffffff};
  for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
    check(set_mp_state(ap, states[i]) == 0, "SET_MP_STATE of a valid state", states[i]);
    check(get_mp_state(ap) == states[i], "GET_MP_STATE reads it back", get_mp_state(ap));
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    check(set_mp_state(ap, bad[i]) == -1 && errno == EINVAL, "SET_MP_STATE of a bad state", bad[i]);
    check(get_mp_state(ap) == KVM_MP_STATE_UNINITIALIZED, "a bad state changes nothing",
          get_mp_state(ap));
  }
}

/* The BSP starts the AP with INIT and SIPI through the xAPIC's ICR. */
static void init_sipi(struct vm *vm, struct vcpu *bsp, struct vcpu *ap) {
  run_blocks(ap, KVM_MP_STATE_UNINITIALIZED, "an AP waiting for INIT blocks in KVM_RUN");
  run_to_out(bsp, 0x10, "the BSP sent INIT and SIPI");
  if (!run_to_out(ap, 0x11, "the AP starts at the SIPI page")) return;
  struct kvm_sregs sregs;
  struct kvm_regs regs;
  check(ioctl(ap->fd, KVM_GET_SREGS, &sregs) == 0 && sregs.cs.selector == 0x200 &&
            sregs.cs.base == AP_CODE,
        "the AP's CS is the SIPI vector's page", sregs.cs.selector);
  check(!(sregs.cr0 & 1), "the AP runs in real mode", sregs.cr0);
  check(ioctl(ap->fd, KVM_GET_REGS, &regs) == 0, "KVM_GET_REGS", errno);
  /* 5: at the OUT, which KVM skips on the next KVM_RUN; 7: past it. */
  check(regs.rip == 5 || regs.rip == 7, "the AP ran from offset 0", regs.rip);
  check(vm->mem[MARKERS] == 0x5a, "the AP wrote its marker", vm->mem[MARKERS]);
  check(get_mp_state(ap) == KVM_MP_STATE_RUNNABLE, "the started AP is RUNNABLE", get_mp_state(ap));
}

/* KVM_SET_VCPU_EVENTS' SIPI vector and KVM_SET_MP_STATE(SIPI_RECEIVED) start an AP there. */
static void sipi_from_userspace(struct vm *vm, struct vcpu *ap) {
  struct kvm_vcpu_events events;
  check(ioctl(ap->fd, KVM_GET_VCPU_EVENTS, &events) == 0, "KVM_GET_VCPU_EVENTS", errno);
  check(!(events.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && events.sipi_vector == 0,
        "as KVM, the SIPI vector is never reported", events.flags);
  events.flags = KVM_VCPUEVENT_VALID_SIPI_VECTOR;
  events.sipi_vector = AP2_CODE >> 12;
  check(ioctl(ap->fd, KVM_SET_VCPU_EVENTS, &events) == 0, "SET_VCPU_EVENTS with a SIPI vector",
        errno);
  check(set_mp_state(ap, KVM_MP_STATE_SIPI_RECEIVED) == 0, "SET_MP_STATE(SIPI_RECEIVED)", errno);
  if (run_to_out(ap, 0x15, "SIPI_RECEIVED starts the AP at the SIPI vector"))
    check(vm->mem[MARKERS + 1] == 0xa5, "the AP wrote its marker", vm->mem[MARKERS + 1]);
}

/* HLT with IF=1 and nothing pending sleeps in the kernel; a signal ends KVM_RUN, not the halt. */
static void halt(struct vcpu *bsp) {
  run_blocks(bsp, KVM_MP_STATE_HALTED, "HLT with nothing pending blocks until a signal");
  run_blocks(bsp, KVM_MP_STATE_HALTED, "KVM_RUN of a halted vCPU blocks again");
  check(set_mp_state(bsp, KVM_MP_STATE_RUNNABLE) == 0, "SET_MP_STATE(RUNNABLE) ends the halt",
        errno);
  run_to_out(bsp, 0x12, "the vCPU goes on after HLT");
}

/* The LAPIC timer and a self-IPI each wake a halted vCPU, which takes the interrupt. */
static void halt_wakes(struct vcpu *bsp) {
  if (run_to_out(bsp, 0x13, "the LAPIC timer wakes HLT: its handler runs"))
    run_to_out(bsp, 0x16, "after the timer's IRET, past HLT");
  if (run_to_out(bsp, 0x14, "a self-IPI wakes HLT: its handler runs"))
    run_to_out(bsp, 0x17, "after the IPI's IRET, past HLT");
  check(get_mp_state(bsp) == KVM_MP_STATE_RUNNABLE, "the woken vCPU is RUNNABLE",
        get_mp_state(bsp));
}

/* The AP's thread: KVM_RUN twice, each port it exits with (or a negative errno). SIGALRM is the
 * main thread's; SIGUSR1 from it ends a KVM_RUN that never returns. */
struct ap_runner {
  struct vcpu *v;
  int ports[2];
  volatile int done;
};

static void *ap_runner_main(void *arg) {
  struct ap_runner *a = arg;
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alarm, NULL);
  for (int i = 0; i < 2; i++) {
    int r = ioctl(a->v->fd, KVM_RUN, 0);
    a->ports[i] = r ? -errno : a->v->run->exit_reason == KVM_EXIT_IO ? a->v->run->io.port : -1000;
  }
  a->done = 1;
  return NULL;
}

/* A fixed IPI from the BSP wakes the AP, halted with IF=1 in its own thread's KVM_RUN. */
static void ipi_wakes_other_vcpu(struct vcpu *bsp, struct vcpu *ap) {
  struct ap_runner a = {.v = ap};
  pthread_t thread;

  if (vcpu_fs_at_apic(ap) || pthread_create(&thread, NULL, ap_runner_main, &a)) {
    failures++;
    return;
  }
  usleep(100 * 1000); /* the AP halts and sleeps */
  check(!a.done, "the AP halts in KVM_RUN", a.ports[0]);
  run_to_out(bsp, 0x1a, "the BSP sent a fixed IPI to the AP");
  for (int i = 0; i < 300 && !a.done; i++) usleep(10 * 1000);
  if (!a.done) pthread_kill(thread, SIGUSR1);
  pthread_join(thread, NULL);
  check(a.ports[0] == 0x19, "the IPI wakes the halted AP: its handler runs", a.ports[0]);
  check(a.ports[1] == 0x1b, "after the IPI's IRET, the AP is past HLT", a.ports[1]);
}

static void put_ivt(uint8_t *mem, int vector, uint16_t offset) {
  mem[vector * 4] = offset & 0xff;
  mem[vector * 4 + 1] = offset >> 8;
  mem[vector * 4 + 2] = 0;
  mem[vector * 4 + 3] = 0;
}

static int split_irqchip_test(void) {
  struct vm vm;
  struct vcpu bsp, ap, ap2;

  if (vm_create(&vm, 1)) return 1;
  memcpy(vm.mem + BSP_CODE, bsp_program, sizeof(bsp_program));
  memcpy(vm.mem + AP_CODE, ap_program, sizeof(ap_program));
  memcpy(vm.mem + AP2_CODE, ap2_program, sizeof(ap2_program));
  memcpy(vm.mem + TIMER_HANDLER, timer_handler, sizeof(timer_handler));
  memcpy(vm.mem + IPI_HANDLER, ipi_handler, sizeof(ipi_handler));
  memcpy(vm.mem + AP_IPI_HANDLER, ap_ipi_handler, sizeof(ap_ipi_handler));
  put_ivt(vm.mem, TIMER_VECTOR, TIMER_HANDLER);
  put_ivt(vm.mem, IPI_VECTOR, IPI_HANDLER);
  put_ivt(vm.mem, AP_IPI_VECTOR, AP_IPI_HANDLER);
  if (vcpu_create(&vm, &bsp, 0) || vcpu_create(&vm, &ap, 1) || vcpu_create(&vm, &ap2, 2)) return 1;
  if (vcpu_real_mode(&bsp, BSP_CODE)) return 1;
  check(get_mp_state(&bsp) == KVM_MP_STATE_RUNNABLE, "vCPU 0 is RUNNABLE", get_mp_state(&bsp));
  check(get_mp_state(&ap) == KVM_MP_STATE_UNINITIALIZED, "vCPU 1 is UNINITIALIZED",
        get_mp_state(&ap));
  round_trips(&ap);
  init_sipi(&vm, &bsp, &ap);
  sipi_from_userspace(&vm, &ap2);
  halt(&bsp);
  halt_wakes(&bsp);
  ipi_wakes_other_vcpu(&bsp, &ap);
  vcpu_destroy(&ap2);
  vcpu_destroy(&ap);
  vcpu_destroy(&bsp);
  vm_destroy(&vm);
  printf("%s: split irqchip: INIT/SIPI, HLT, MP states\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

/* With KVM_CREATE_IRQCHIP, KVM_INTERRUPT is ENXIO (the in-kernel PIC feeds ExtINT), and APs
 * wait for INIT as with the split model. */
static int kernel_irqchip_test(void) {
  struct vm vm;
  struct vcpu bsp, ap;

  if (vm_create(&vm, 0)) return 1;
  if (ioctl(vm.fd, KVM_CREATE_IRQCHIP, 0)) return perror("KVM_CREATE_IRQCHIP"), 1;
  if (vcpu_create(&vm, &bsp, 0) || vcpu_create(&vm, &ap, 1)) return 1;
  struct kvm_interrupt irq = {.irq = 0x20};
  errno = 0;
  check(ioctl(bsp.fd, KVM_INTERRUPT, &irq) == -1 && errno == ENXIO,
        "KVM_INTERRUPT with an in-kernel PIC is ENXIO", errno);
  check(get_mp_state(&bsp) == KVM_MP_STATE_RUNNABLE, "kernel irqchip: vCPU 0 is RUNNABLE",
        get_mp_state(&bsp));
  check(get_mp_state(&ap) == KVM_MP_STATE_UNINITIALIZED, "kernel irqchip: vCPU 1 waits for INIT",
        get_mp_state(&ap));
  vcpu_destroy(&ap);
  vcpu_destroy(&bsp);
  vm_destroy(&vm);
  printf("%s: kernel irqchip\n", failures ? "FAIL" : "PASS");
  return failures != 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mp_state_test /dev/kvm|/dev/kagami\n");
    return 2;
  }
  device = argv[1];
  struct sigaction sa = {.sa_handler = on_timer};
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  return no_irqchip_test() | split_irqchip_test() | kernel_irqchip_test();
}
