// SPDX-License-Identifier: GPL-2.0
/* stress: lifetimes: many VMs, vCPU threads, fds closed and memory unmapped under running vCPUs. */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stress.h"

/* VMs created and destroyed in a loop, some with many vCPUs, some run to their first HLT, some
 * kept open together before all are closed. */
int case_many_vms(void) {
  struct tiny_vm held[16];
  int nheld = 0;
  while (!case_time_up()) {
    struct tiny_vm t;
    int nvcpus = (int)rng_below(9);
    if (tiny_vm_create(&t, guest_exits, sizeof(guest_exits), nvcpus)) {
      tiny_vm_destroy(&t);
      break; /* out of memory or fds is not a kernel bug, but say so */
    }
    if (nvcpus && rng_below(2)) {
      start_interrupt_timer(20000);
      for (int i = 0; i < 6; i++) ioctl(t.vcpu[0], KVM_RUN, 0);
    }
    if (nheld < 16 && rng_below(2))
      held[nheld++] = t;
    else
      tiny_vm_destroy(&t);
    if (nheld == 16 || rng_below(16) == 0)
      while (nheld) tiny_vm_destroy(&held[--nheld]);
  }
  while (nheld) tiny_vm_destroy(&held[--nheld]);
  return 0;
}

/* Triple faults again and again: KVM_RUN after a SHUTDOWN, with the vCPU reset or not. */
int case_triple_fault(void) {
  struct tiny_vm t;
  if (tiny_vm_create(&t, guest_triple_fault, sizeof(guest_triple_fault), 1)) return 1;
  start_interrupt_timer(20000);
  int bad = 0;
  while (!case_time_up()) {
    if (rng_below(2)) tiny_vcpu_reset(&t, 0);
    int r = ioctl(t.vcpu[0], KVM_RUN, 0);
    if (r == 0 && t.run[0]->exit_reason != KVM_EXIT_SHUTDOWN &&
        t.run[0]->exit_reason != KVM_EXIT_INTERNAL_ERROR && !bad++)
      printf("  triple fault gave exit reason %u\n", t.run[0]->exit_reason);
  }
  tiny_vm_destroy(&t);
  return bad != 0;
}

struct runner {
  struct tiny_vm *t;
  int index;
  volatile int stop;
};

static void on_usr1(int sig) {
  (void)sig;
}

/* A vCPU thread: KVM_RUN until told to stop (a signal ends each KVM_RUN with EINTR). */
static void *run_vcpu(void *arg) {
  struct runner *r = arg;
  while (!r->stop) {
    int fd = r->t->vcpu[r->index];
    if (ioctl(fd, KVM_RUN, 0) && errno != EINTR && errno != EAGAIN) {
      if (errno == EBADF || errno == EIO) break;
    }
    struct kvm_run *run = r->t->run[r->index];
    if (run->exit_reason == KVM_EXIT_SHUTDOWN || run->exit_reason == KVM_EXIT_INTERNAL_ERROR ||
        run->exit_reason == KVM_EXIT_FAIL_ENTRY)
      tiny_vcpu_reset(r->t, r->index);
  }
  return NULL;
}

static void start_runners(struct tiny_vm *t, struct runner *r, pthread_t *th) {
  struct sigaction sa = {.sa_handler = on_usr1};
  sigaction(SIGUSR1, &sa, NULL);
  for (int i = 0; i < t->nvcpus; i++) {
    r[i] = (struct runner){.t = t, .index = i};
    pthread_create(&th[i], NULL, run_vcpu, &r[i]);
  }
}

static void stop_runners(struct tiny_vm *t, struct runner *r, pthread_t *th) {
  for (int i = 0; i < t->nvcpus; i++) r[i].stop = 1;
  for (int i = 0; i < t->nvcpus; i++) {
    while (pthread_tryjoin_np(th[i], NULL) == EBUSY) {
      pthread_kill(th[i], SIGUSR1);
      usleep(1000);
    }
  }
}

/* vCPU threads spinning in KVM_RUN, stopped by signals at random moments, over and over. */
int case_threads_killed(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct runner r[8];
    pthread_t th[8];
    const uint8_t *code = rng_below(2) ? guest_spin : guest_sweep;
    if (tiny_vm_create(&t, code, code == guest_spin ? 2 : sizeof(guest_sweep),
                       1 + (int)rng_below(4)))
      return 1;
    start_runners(&t, r, th);
    usleep(rng_below(100000));
    stop_runners(&t, r, th);
    tiny_vm_destroy(&t);
  }
  return 0;
}

/* The VM fd (and the system fd) closed while vCPU threads run; then the vCPU fds, still running. */
int case_vm_fd_closed(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct runner r[8];
    pthread_t th[8];
    if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1 + (int)rng_below(4))) return 1;
    start_runners(&t, r, th);
    usleep(rng_below(50000));
    close(t.vm);
    close(t.sys);
    t.vm = t.sys = -1;
    usleep(rng_below(50000));
    if (rng_below(2)) {
      /* Closing a vCPU fd under its own KVM_RUN: the ioctl holds the file, the fd number goes. */
      for (int i = 0; i < t.nvcpus; i++) close(t.vcpu[i]);
      usleep(rng_below(20000));
      for (int i = 0; i < t.nvcpus; i++) r[i].stop = 1, t.vcpu[i] = -1;
    }
    stop_runners(&t, r, th);
    tiny_vm_destroy(&t);
  }
  return 0;
}

/* A second slot deleted, put back, moved while a vCPU writes into it from another thread; now
 * and then slot 0 (the code) goes too. */
int case_slot_delete_running(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct runner r[8];
    pthread_t th[8];
    if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1 + (int)rng_below(2))) return 1;
    uint8_t *extra = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    start_runners(&t, r, th);
    for (int i = 0; i < 50 && !case_time_up(); i++) {
      struct kvm_userspace_memory_region region = {
          .slot = 1,
          .userspace_addr = (uintptr_t)extra,
          .memory_size = 0x10000,
          .guest_phys_addr = rng_below(2) ? 0x20000 : 0x40000 + (rng_below(16) << 16)};
      ioctl(t.vm, KVM_SET_USER_MEMORY_REGION, &region);
      usleep(rng_below(5000));
      region.memory_size = 0;
      ioctl(t.vm, KVM_SET_USER_MEMORY_REGION, &region);
      if (rng_below(8) == 0) {
        struct kvm_userspace_memory_region zero = {
            .slot = 0, .userspace_addr = (uintptr_t)t.mem, .memory_size = 0};
        ioctl(t.vm, KVM_SET_USER_MEMORY_REGION, &zero);
        usleep(rng_below(5000));
        zero.memory_size = GUEST_MEM;
        ioctl(t.vm, KVM_SET_USER_MEMORY_REGION, &zero);
      }
    }
    stop_runners(&t, r, th);
    tiny_vm_destroy(&t);
    munmap(extra, 0x10000);
  }
  return 0;
}

/* Guest memory unmapped (or remapped) by the VMM while its slot exists and vCPUs write it. */
int case_munmap_running(void) {
  while (!case_time_up()) {
    struct tiny_vm t;
    struct runner r[8];
    pthread_t th[8];
    if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1 + (int)rng_below(2))) return 1;
    start_runners(&t, r, th);
    usleep(rng_below(30000));
    if (rng_below(2))
      munmap(t.mem + 0x2000, GUEST_MEM - 0x2000);
    else
      mmap(t.mem + 0x2000, GUEST_MEM - 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
           -1, 0);
    usleep(rng_below(30000));
    stop_runners(&t, r, th);
    tiny_vm_destroy(&t);
  }
  return 0;
}

/* One random dirty-log operation on t (slot 0: the guest's RAM, slot 1: extra memory). */
static int dirty_log_op(struct tiny_vm *t, uint8_t *extra, uint64_t *bitmap) {
  struct kvm_userspace_memory_region ram = {
      .slot = 0, .memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)t->mem};
  struct kvm_userspace_memory_region more = {
      .slot = 1, .memory_size = 0x10000, .userspace_addr = (uintptr_t)extra};
  struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = {rng_below(4)}};
  struct kvm_dirty_log get = {.slot = (uint32_t)rng_below(3), .dirty_bitmap = bitmap};
  struct kvm_clear_dirty_log clear = {.slot = (uint32_t)rng_below(3),
                                      .first_page = rng_below(2) ? rng_interesting() : 0,
                                      .num_pages = (uint32_t)rng_interesting(),
                                      .dirty_bitmap = rng_pointer(bitmap, 64)};
  switch (rng_below(6)) {
    case 0:
      ram.flags = rng_below(2) ? KVM_MEM_LOG_DIRTY_PAGES : 0;
      return ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &ram) != 0; /* a flags change */
    case 1:
      more.flags = (uint32_t)rng_below(4);
      more.guest_phys_addr = rng_below(2) ? 0x20000 : 0x40000 + (rng_below(16) << 16);
      more.memory_size = rng_below(3) ? 0x10000 : 0;
      ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &more); /* created, moved or deleted */
      return 0;
    case 2: ioctl(t->vm, KVM_ENABLE_CAP, &cap); return 0;
    case 3:
      if (rng_below(4) == 0) get.dirty_bitmap = rng_pointer(bitmap, 64);
      if (rng_below(8) == 0) get.slot = (uint32_t)rng();
      /* Slot 0 with a good buffer answers 0 or ENOENT (not logging), never anything else. */
      return ioctl(t->vm, KVM_GET_DIRTY_LOG, &get) && get.slot == 0 && get.dirty_bitmap == bitmap &&
             errno != ENOENT;
    default: ioctl(t->vm, KVM_CLEAR_DIRTY_LOG, &clear); return 0;
  }
}

/* Dirty logging turned on and off, read, cleared and its slots moved while vCPUs write. */
int case_dirty_log_running(void) {
  /* rng_pointer() may point up to 64 bytes in: GET writes up to 8 bytes from there. */
  static uint64_t bitmap[16];
  int bad = 0;
  while (!case_time_up() && !bad) {
    struct tiny_vm t;
    struct runner r[8];
    pthread_t th[8];
    if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1 + (int)rng_below(2))) return 1;
    uint8_t *extra = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    start_runners(&t, r, th);
    for (int i = 0; i < 200 && !case_time_up() && !bad; i++) {
      bad = dirty_log_op(&t, extra, bitmap);
      if (bad) printf("  dirty-log op %d: errno %d\n", i, errno);
      if (rng_below(4) == 0) usleep(rng_below(2000));
    }
    stop_runners(&t, r, th);
    tiny_vm_destroy(&t);
    munmap(extra, 0x10000);
  }
  return bad;
}

/* Killed with SIGKILL by the parent: a spinning guest (or a triple-faulting one, re-run). */
int case_spin_until_killed(void) {
  struct tiny_vm t;
  int spin = (int)rng_below(2);
  if (tiny_vm_create(&t, spin ? guest_spin : guest_triple_fault, 2, 1)) return 1;
  for (;;) ioctl(t.vcpu[0], KVM_RUN, 0);
}

/* Killed with SIGKILL by the parent while several vCPU threads are in KVM_RUN. */
int case_run_threads_until_killed(void) {
  struct tiny_vm t;
  struct runner r[8];
  pthread_t th[8];
  if (tiny_vm_create(&t, guest_sweep, sizeof(guest_sweep), 1 + (int)rng_below(8))) return 1;
  start_runners(&t, r, th);
  for (;;) pause();
}
