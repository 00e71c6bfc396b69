// SPDX-License-Identifier: GPL-2.0
/* stress: runs the cases in child processes for a bounded time, with printed seeds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

struct stress_case {
  const char *name;
  int (*run)(void);
  int until_killed; /* blocks forever: the parent always kills it */
  int opt_in;       /* only with --case: see random-code below */
};

static const struct stress_case cases[] = {
    {"fuzz-system", case_fuzz_system, 0, 0},
    {"fuzz-vm", case_fuzz_vm, 0, 0},
    {"fuzz-vcpu", case_fuzz_vcpu, 0, 0},
    {"slots", case_slots, 0, 0},
    {"cpuid", case_cpuid, 0, 0},
    {"sregs-run", case_sregs_run, 0, 0},
    /* Random guest code can wedge QEMU TCG's own SVM emulation (seen with kvm-amd: a vCPU that
     * never leaves the guest, SIGKILL or not), which hangs the whole nested host. */
    {"random-code", case_random_code, 0, 1},
    {"many-vms", case_many_vms, 0, 0},
    {"triple-fault", case_triple_fault, 0, 0},
    {"threads-killed", case_threads_killed, 0, 0},
    {"vm-fd-closed", case_vm_fd_closed, 0, 0},
    {"slot-delete-running", case_slot_delete_running, 0, 0},
    {"munmap-running", case_munmap_running, 0, 0},
    {"dirty-log-running", case_dirty_log_running, 0, 0},
    {"gsi-routing", case_gsi_routing, 0, 0},
    {"irqfd-closed", case_irqfd_closed, 0, 0},
    {"ioeventfd-closed", case_ioeventfd_closed, 0, 0},
    {"irqchip-blobs", case_irqchip_blobs, 0, 0},
    {"apic-msrs", case_apic_msrs, 0, 0},
    {"irqchip-order", case_irqchip_order, 0, 0},
    {"kvmclock", case_kvmclock, 0, 0},
    {"spin-killed", case_spin_until_killed, 1, 0},
    {"run-threads-killed", case_run_threads_until_killed, 1, 0},
};
#define NCASES (sizeof(cases) / sizeof(*cases))

static double case_deadline;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int case_time_up(void) {
  return now() >= case_deadline;
}

void close_from(int first) {
  syscall(SYS_close_range, (unsigned)first, ~0U, 0);
}

static void show_stuck(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/stack", pid);
  FILE *f = fopen(path, "r");
  printf("  process %d does not die after SIGKILL; its kernel stack:\n", pid);
  while (f && fgets(line, sizeof(line), f)) printf("    %s", line);
  if (f) fclose(f);
}

/* Runs one case in a child for `slice` seconds; kills it with SIGKILL at `kill_at` (< 0: never,
 * unless it overruns). Returns 0 if it ended as expected. */
static int run_case(const struct stress_case *c, uint64_t seed, double slice, double kill_at) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), 1;
  if (pid == 0) {
    rng_seed(seed);
    case_deadline = now() + slice;
    _exit(c->run());
  }
  double start = now(), overrun = start + slice + 10;
  int status, killed = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    double t = now();
    if (!killed && ((kill_at >= 0 && t >= start + kill_at) || t >= overrun)) {
      if (t >= overrun) printf("  overran its %.1f s by 10 s: killing it\n", slice);
      kill(pid, SIGKILL);
      killed = 1;
      overrun = t + 20;
    } else if (killed && t >= overrun) {
      show_stuck(pid);
      return 1;
    }
    usleep(2000);
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && killed) {
    printf("  killed with -9 after %.2f s\n", now() - start);
    return 0;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  printf("  FAIL: %s ended with status %#x\n", c->name, status);
  return 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: stress [--dev PATH] [--seconds N] [--seed S] [--skip NAME]\n"
          "              [--case NAME [--slice SECONDS]] [--state HEX [--slice SECONDS]]\n"
          "  runs random cases against PATH (default /dev/kagami) for N seconds (default 25);\n"
          "  each case prints its seed: --case NAME --seed S replays it alone\n");
  exit(2);
}

int main(int argc, char **argv) {
  double seconds = 25;
  uint64_t seed = (uint64_t)time(NULL);
  const char *only = NULL;
  double fixed_slice = 0;
  const char *skip = "";
  const char *state = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--dev") == 0)
      stress_dev = argv[++i];
    else if (strcmp(argv[i], "--seconds") == 0)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--seed") == 0)
      seed = strtoull(argv[++i], NULL, 0);
    else if (strcmp(argv[i], "--case") == 0)
      only = argv[++i];
    else if (strcmp(argv[i], "--slice") == 0)
      fixed_slice = atof(argv[++i]);
    else if (strcmp(argv[i], "--skip") == 0)
      skip = argv[++i];
    else if (strcmp(argv[i], "--state") == 0)
      state = argv[++i];
    else
      usage();
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (state) {
    case_deadline = now() + (fixed_slice > 0 ? fixed_slice : 5);
    return replay_state(state);
  }
  printf("stress: %s for %.0f s, seed %#" PRIx64 "\n", stress_dev, seconds, seed);
  rng_seed(seed);
  double end = now() + seconds;
  int failures = 0, runs = 0;
  for (unsigned n = 0; only ? runs == 0 : now() < end; n++) {
    const struct stress_case *c = &cases[n % NCASES];
    if ((only && strcmp(c->name, only) != 0) || (!only && (c->opt_in || !strcmp(c->name, skip)))) {
      if (n >= NCASES && runs == 0) usage();
      continue;
    }
    uint64_t case_seed = only ? seed : rng();
    double slice = fixed_slice > 0 ? fixed_slice : 0.3 + (double)rng_below(700) / 1000;
    /* A quarter of the ordinary cases die by -9 mid-way too: the VMM killed at any moment (not
     * when replaying one case: it then runs its whole slice). */
    double kill_at = -1;
    if (c->until_killed || (!only && rng_below(4) == 0))
      kill_at = (double)rng_below(1000 * slice) / 1000;
    printf("[%d] %s --seed %#" PRIx64 " (%.2f s%s)\n", runs, c->name, case_seed, slice,
           kill_at >= 0 ? ", then -9" : "");
    failures += run_case(c, case_seed, slice, kill_at);
    runs++;
  }
  printf("stress: %d cases run, %d failed\n", runs, failures);
  return failures != 0;
}
