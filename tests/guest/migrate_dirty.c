/* migrate_dirty: a CPL3 loop that dirties a working set of RAM at a chosen rate, keeping a
 * running checksum and a counter, and checks the checksum against the memory itself every
 * interval, forever: the guest the live-migration tests move (tests/integration/migration).
 *
 * Command line (all optional):
 *   wss=SIZE         working set, K/M/G suffixes (default 64M), placed after the image
 *   rate=MIB         page writes per second, in MiB of pages (default 0: as fast as it goes);
 *                    paced by busy work measured at start, not by the clock, so a vCPU that
 *                    the VMM throttles to X% of its time also dirties X% as much (the way
 *                    auto-converge is meant to slow a guest down)
 *   interval_ms=N    how often the checksum is verified and a line printed (default 200)
 *   checks=N         stop after N verified intervals, reporting PASS (default 0: never)
 *   tsc_khz=N        TSC frequency; default: measured against the CMOS clock (1-2 s)
 *   selftest-corrupt change one word behind the checksum's back after the second check, to
 *                    show that a lost write is detected (the next check says MISMATCH)
 * The checksum is a sum over the working set's words, each weighed by its position.
 * Each interval prints "migrate_dirty: counter=N checksum=0xH dirty=RKiB/s ok" (R: page writes
 * over the interval, times 4 KiB); a mismatch prints "... MISMATCH memory=0xH" and the guest exits
 * with failure (kagami's status 3). The writes and the sums run at CPL3 (on the build host's
 * /dev/kvm at native speed); ring 0 prints between intervals. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define KIB 1024ul
#define MIB (1024ull * KIB)
#define PAGE_SIZE 4096ul
#define WORDS_PER_PAGE (PAGE_SIZE / 8)
#define ALIGN_2M (2 * MIB)
#define BATCH 256             /* writes between looks at the TSC, unpaced */
#define BATCHES_PER_SECOND 64 /* paced: batches short enough for the print interval */
#define SPIN_SAMPLE (1ul << 20)
#define MAX_RATE_MIB 1000000ul
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_SECONDS 0x00
#define CALIBRATION_TIMEOUT (1ul << 36) /* TSC cycles: ~20 s at 3 GHz */
#define DEFAULT_TSC_HZ 2000000000ul

/* Shared between ring 0 (setup) and ring 3 (everything else): all memory is user-accessible. */
struct dirty_state {
  volatile uint64_t* base;
  uint64_t words, pages;
  uint64_t counter, checksum, random;
  uint64_t tsc_hz, interval_cycles;
  uint64_t rate_mib, batch, spins_per_batch; /* spins_per_batch 0: unpaced */
  uint64_t spins_per_second;
  uint64_t checks_wanted, checks_done;
  uint64_t interval_start, interval_writes, interval_elapsed, memory; /* the last interval */
  bool corrupt_after_second_check;
  bool mismatch;
};

static struct dirty_state state;

/* Distinct per word, so a page that comes back with another page's content is caught. */
static inline uint64_t initial_value(uint64_t address) {
  return address * 0x9E3779B97F4A7C15ull + 0x5851F42D4C957F2Dull;
}

static bool cmdline_has_word(const char* word) {
  size_t len = strlen(word);
  for (const char* p = boot_info()->cmdline; *p;) {
    while (*p == ' ') p++;
    const char* start = p;
    while (*p && *p != ' ') p++;
    if ((size_t)(p - start) == len && !strncmp(start, word, len)) return true;
  }
  return false;
}

/* "64M", "4096K", "1G" or bytes; false on anything else or an overflow. */
static bool cmdline_size(const char* key, uint64_t* value) {
  char text[32];
  if (!cmdline_value(key, text, sizeof(text))) return false;
  size_t n = strlen(text);
  unsigned shift = 0;
  if (n > 1) {
    char suffix = text[n - 1];
    shift = suffix == 'K' || suffix == 'k'   ? 10
            : suffix == 'M' || suffix == 'm' ? 20
            : suffix == 'G' || suffix == 'g' ? 30
                                             : 0;
    if (shift) text[n - 1] = '\0';
  }
  uint64_t number;
  if (!parse_u64(text, &number) || number > (~0ull >> shift)) return false;
  *value = number << shift;
  return true;
}

static uint64_t option_u64(const char* key, uint64_t fallback) {
  uint64_t value;
  char text[32];
  if (cmdline_u64(key, &value)) return value;
  if (cmdline_value(key, text, sizeof(text))) {
    printf("migrate_dirty: FAIL: %s=%s is not a number\n", key, text);
    exit(1);
  }
  return fallback;
}

/* The working set: 2 MiB-aligned after the image, inside the RAM region holding the image. */
static volatile uint64_t* place_working_set(uint64_t size) {
  uint64_t base = (image_end() + ALIGN_2M - 1) & ~(ALIGN_2M - 1);
  const struct boot_info* info = boot_info();
  for (size_t i = 0; i < info->region_count; i++) {
    const struct memory_region* r = &info->regions[i];
    uint64_t end = r->base + r->length;
    if (r->type != MEMORY_RAM || r->base > image_end() || end < image_end()) continue;
    if (base + size <= end && base + size <= mapped_limit()) return (volatile uint64_t*)base;
    printf(
        "migrate_dirty: FAIL: a %lu KiB working set at %#lx does not fit in RAM ending at "
        "%#lx (give the guest more memory or a smaller wss=)\n",
        size / KIB, base, end);
    exit(1);
  }
  printf("migrate_dirty: FAIL: no RAM region holds the image\n");
  exit(1);
}

static uint8_t cmos_seconds(void) {
  outb(CMOS_INDEX, CMOS_SECONDS);
  return inb(CMOS_DATA);
}

/* Waits for the CMOS seconds to change; returns the TSC then, or 0 after the timeout. */
static uint64_t next_second_edge(uint64_t since) {
  uint8_t seconds = cmos_seconds();
  for (;;) {
    uint64_t now = rdtsc();
    if (cmos_seconds() != seconds) return now;
    if (now - since > CALIBRATION_TIMEOUT) return 0;
  }
}

/* TSC cycles per second between two ticks of the CMOS clock. */
static uint64_t measure_tsc_hz(void) {
  uint64_t start = rdtsc();
  uint64_t first = next_second_edge(start);
  uint64_t second = first ? next_second_edge(first) : 0;
  if (!second || second <= first) {
    printf("migrate_dirty: the CMOS clock did not tick; assuming a %lu MHz TSC\n",
           DEFAULT_TSC_HZ / 1000000);
    return DEFAULT_TSC_HZ;
  }
  return second - first;
}

/* Each word weighed by an odd number unique to its position: a page that comes back with
 * another page's content, or at another place, changes the sum, as a stale page does. */
static inline uint64_t weighed(uint64_t word, uint64_t value) {
  return value * (2 * word + 1);
}

static uint64_t sum_working_set(const struct dirty_state* s) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < s->words; i++) sum += weighed(i, s->base[i]);
  return sum;
}

static uint64_t fill_working_set(struct dirty_state* s) {
  for (uint64_t i = 0; i < s->words; i++) s->base[i] = initial_value((uint64_t)&s->base[i]);
  return sum_working_set(s);
}

/* xorshift64: a page anywhere in the working set for each write. */
static inline uint64_t next_random(uint64_t* x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* One word in a random page gets a value derived from the counter; the checksum follows the
 * change (sum += new - old, weighed, wrapping), never rereading the whole set. */
static void write_batch(struct dirty_state* s) {
  uint64_t counter = s->counter, checksum = s->checksum, random = s->random;
  for (uint64_t i = 0; i < s->batch; i++) {
    uint64_t page = next_random(&random) % s->pages;
    uint64_t word = page * WORDS_PER_PAGE + (counter % WORDS_PER_PAGE);
    uint64_t old = s->base[word];
    uint64_t value = (counter + 1) * 0xD6E8FEB86659FD93ull ^ word;
    s->base[word] = value;
    checksum += weighed(word, value) - weighed(word, old);
    counter++;
  }
  s->counter = counter;
  s->checksum = checksum;
  s->random = random;
}

/* In ring 0, after an interval: prints its line from the sum dirty_interval() took of the
 * memory; false on a mismatch. */
static bool report_interval(struct dirty_state* s) {
  uint64_t elapsed = s->interval_elapsed;
  uint64_t kib_s = elapsed ? s->interval_writes * s->tsc_hz / elapsed * (PAGE_SIZE / KIB) : 0;
  s->checks_done++;
  if (s->memory != s->checksum) {
    printf("migrate_dirty: counter=%lu checksum=%#018lx dirty=%luKiB/s MISMATCH memory=%#018lx\n",
           s->counter, s->checksum, kib_s, s->memory);
    return false;
  }
  printf("migrate_dirty: counter=%lu checksum=%#018lx dirty=%luKiB/s ok\n", s->counter, s->checksum,
         kib_s);
  if (s->corrupt_after_second_check && s->checks_done == 2) {
    s->base[s->words / 2] ^= 1; /* a lost write, as a page missed by migration would be */
    printf("migrate_dirty: selftest-corrupt: flipped a bit at %p behind the checksum\n",
           (void*)&s->base[s->words / 2]);
  }
  return true;
}

/* Busy work the compiler may not drop: about one cycle per iteration. */
static void spin(uint64_t iterations) {
  for (uint64_t i = iterations; i; i--) __asm__ volatile("" : : : "memory");
}

/* Spin iterations per second: the fastest of a few samples, so a preempted one is ignored. */
static uint64_t measure_spin_rate(uint64_t tsc_hz) {
  uint64_t best = ~0ull;
  for (int i = 0; i < 20; i++) {
    uint64_t start = rdtsc();
    spin(SPIN_SAMPLE);
    uint64_t cycles = rdtsc() - start;
    if (cycles && cycles < best) best = cycles;
  }
  return SPIN_SAMPLE * tsc_hz / best;
}

/* rate=MIB: batches of writes, each followed by as much busy work as fills its share of a
 * second at full speed. */
static void pace_by_work(struct dirty_state* s) {
  uint64_t writes_per_second = s->rate_mib * (MIB / PAGE_SIZE);
  s->batch = writes_per_second / BATCHES_PER_SECOND;
  if (s->batch == 0) s->batch = 1;
  if (s->batch > BATCH) s->batch = BATCH;
  s->spins_per_second = measure_spin_rate(s->tsc_hz);
  s->spins_per_batch = s->spins_per_second / writes_per_second * s->batch;
  if (s->spins_per_batch == 0) s->spins_per_batch = 1;
}

/* At CPL3: the pacing and the working set's first content; returns the CPL it ran at. */
static uint64_t prepare(void* arg) {
  struct dirty_state* s = arg;
  if (s->rate_mib) pace_by_work(s);
  s->checksum = fill_working_set(s);
  s->interval_start = rdtsc();
  return read_cs() & 3;
}

/* At CPL3: writes until the interval is over, then sums the working set for ring 0 to check
 * and print. Ports are used from ring 0 only: ring 3's go through the TSS I/O bitmap, and a
 * vCPU restored on kvm-amd in the nested host took #GP there (TCG wants TR of type 9, an
 * available TSS; KVM's SVM reports it busy). */
static uint64_t dirty_interval(void* arg) {
  struct dirty_state* s = arg;
  uint64_t start = s->interval_start, first = s->counter, now;
  do {
    write_batch(s);
    spin(s->spins_per_batch);
    now = rdtsc();
  } while (now - start < s->interval_cycles);
  s->interval_writes = s->counter - first;
  s->interval_elapsed = now - start;
  s->memory = sum_working_set(s);
  s->interval_start = rdtsc();
  return 0;
}

/* Runs intervals until checks=N of them passed (true) or one found a mismatch (false). */
static bool dirty_loop(struct dirty_state* s) {
  if (!s->tsc_hz) s->tsc_hz = measure_tsc_hz();
  s->interval_cycles = s->interval_cycles * (s->tsc_hz / 1000);
  uint64_t cpl = run_at_cpl3(prepare, s);
  if (s->rate_mib)
    printf("migrate_dirty: %lu M spins/s: %lu writes then %lu spins\n",
           s->spins_per_second / 1000000, s->batch, s->spins_per_batch);
  printf("migrate_dirty: running at CPL%lu: TSC %lu MHz, initial checksum %#018lx\n", cpl,
         s->tsc_hz / 1000000, s->checksum);
  for (;;) {
    run_at_cpl3(dirty_interval, s);
    if (!report_interval(s)) return false;
    if (s->checks_wanted && s->checks_done >= s->checks_wanted) return true;
  }
}

void guest_main(void) {
  uint64_t wss = 64 * MIB;
  char text[32];
  if (cmdline_value("wss", text, sizeof(text)) && !cmdline_size("wss", &wss)) {
    printf("migrate_dirty: FAIL: wss=%s is not a size\n", text);
    exit(1);
  }
  wss &= ~(PAGE_SIZE - 1);
  if (wss == 0) {
    printf("migrate_dirty: FAIL: the working set needs at least one page\n");
    exit(1);
  }
  uint64_t rate_mib = option_u64("rate", 0);
  if (rate_mib > MAX_RATE_MIB) {
    printf("migrate_dirty: FAIL: rate=%lu is above %lu MiB/s\n", rate_mib, MAX_RATE_MIB);
    exit(1);
  }
  uint64_t interval_ms = option_u64("interval_ms", 200);
  state = (struct dirty_state){
      .base = place_working_set(wss),
      .words = wss / 8,
      .pages = wss / PAGE_SIZE,
      .random = 0x2545F4914F6CDD1Dull,
      .tsc_hz = option_u64("tsc_khz", 0) * 1000,
      .interval_cycles = interval_ms ? interval_ms : 1,
      .rate_mib = rate_mib,
      .batch = BATCH,
      .checks_wanted = option_u64("checks", 0),
      .corrupt_after_second_check = cmdline_has_word("selftest-corrupt"),
  };
  printf("migrate_dirty: working set %lu KiB at %p, rate %lu MiB/s%s, every %lu ms\n", wss / KIB,
         (void*)state.base, rate_mib, rate_mib ? "" : " (unlimited)", interval_ms);
  bool matched = dirty_loop(&state);
  report("checksum of the working set matched at every check", matched);
  reportf(state.checks_done > 0, "%lu checks, %lu writes", state.checks_done, state.counter);
}
