/* SPDX-License-Identifier: GPL-2.0 */
/* stress: shared declarations of the kagami.ko stress program (tiny VMs, random numbers, cases). */
#ifndef KAGAMI_STRESS_H
#define KAGAMI_STRESS_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM 0x20000UL /* slot 0: 128 KiB of real-mode guest RAM at GPA 0 */
#define GUEST_CODE 0x1000
#define BOGUS_PTR ((void *)0xdead0000UL) /* never mapped in this process */

extern const char *stress_dev; /* /dev/kagami or /dev/kvm */

/* A VM with slot 0 and up to 8 vCPUs; every vCPU starts in real mode at GUEST_CODE. */
struct tiny_vm {
  int sys, vm;
  uint8_t *mem;
  int nvcpus;
  int vcpu[8];
  struct kvm_run *run[8];
};

enum tiny_irqchip { TINY_IRQCHIP_NONE, TINY_IRQCHIP_KERNEL, TINY_IRQCHIP_SPLIT };

int tiny_vm_create(struct tiny_vm *t, const uint8_t *code, size_t len, int nvcpus);
int tiny_vm_create_irq(struct tiny_vm *t, const uint8_t *code, size_t len, int nvcpus,
                       enum tiny_irqchip irqchip);
void tiny_vm_destroy(struct tiny_vm *t);
int tiny_vcpu_reset(struct tiny_vm *t, int i);
/* Periodic SIGALRM (no-op handler, no SA_RESTART) so that KVM_RUN of a spinning guest returns. */
void start_interrupt_timer(long usec);

/* Guests. */
extern const uint8_t guest_spin[2];
extern const uint8_t guest_triple_fault[2];
extern const uint8_t guest_exits[20];
extern const uint8_t guest_sweep[22];

/* xorshift64*, seeded per case so that each case can be replayed with its seed. */
void rng_seed(uint64_t seed);
uint64_t rng(void);
uint64_t rng_below(uint64_t n);
uint64_t rng_interesting(void); /* 0, 1, -1, powers of two, page-ish values, random */
void rng_fill(void *buf, size_t len);
void *rng_pointer(void *valid, size_t valid_len);

/* The running case stops starting new iterations once this returns true. */
int case_time_up(void);
/* Closes every fd from `first` up: those an ioctl may have created. */
void close_from(int first);

/* Cases: each runs in its own child process and returns 0 unless it saw a wrong answer. */
int case_fuzz_system(void);
int case_fuzz_vm(void);
int case_fuzz_vcpu(void);
int case_slots(void);
int case_cpuid(void);
int case_sregs_run(void);
int case_random_code(void);
int case_many_vms(void);
int case_triple_fault(void);
int case_threads_killed(void);
int case_vm_fd_closed(void);
int case_slot_delete_running(void);
int case_munmap_running(void);
int case_dirty_log_running(void);
/* Interrupt machinery (stress_irq.c). */
int case_gsi_routing(void);
int case_irqfd_closed(void);
int case_ioeventfd_closed(void);
int case_irqchip_blobs(void);
int case_apic_msrs(void);
int case_irqchip_order(void);
int case_kvmclock(void);
/* --state HEX: one traced vCPU state, set and run. */
int replay_state(const char *hex);
/* Cases that block until the parent kills them with SIGKILL. */
int case_spin_until_killed(void);
int case_run_threads_until_killed(void);

#endif
