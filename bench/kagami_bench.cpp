// Benchmark harness: VMM start-up time, port-I/O exit rate, and VMM memory overhead.
//
// Each figure comes from running the real `kagami run` on the benchmark guest
// (bench/guest/bench_guest.S) several times and taking the median:
//   startup   fork+exec of kagami to the guest's first instruction, which writes a
//             byte to COM1 that arrives on kagami's stdout (a pipe read here);
//   pio       (time with N port writes - time with none) / N, as exits per second;
//   overhead  resident memory of kagami beyond the guest RAM the guest touched: VmRSS
//             from /proc/PID/status minus the Rss of the guest RAM mapping (the mapping
//             of /proc/PID/smaps at least as large as the guest's RAM; it is anonymous
//             memory or a memfd, by host), read while the guest spins after touching M MiB.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string kagami = "build/kagami";
  std::string guest = "build/bench/bench_guest.elf";
  std::string hypervisor;
  int runs = 15;
  unsigned pio_count = 100000;
  unsigned touch_mib = 64;
};

struct Child {
  pid_t pid = -1;
  int out = -1;  // the read end of its stdout
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "kagami_bench: %s\n", what.c_str());
  std::exit(1);
}

Child spawn(const Settings& s, const std::string& cmdline, const std::string& memory) {
  std::vector<std::string> args = {s.kagami, "run",       "--kernel",  s.guest, "--memory",
                                   memory,   "--testdev", "--cmdline", cmdline};
  if (!s.hypervisor.empty()) {
    args.push_back("--hypervisor");
    args.push_back(s.hypervisor);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die(std::string("pipe: ") + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's stdout until `token` has appeared; false on EOF.
bool wait_for_output(const Child& c, const std::string& token) {
  std::string seen;
  char buf[256];
  for (;;) {
    ssize_t n = read(c.out, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    seen.append(buf, static_cast<size_t>(n));
    if (seen.find(token) != std::string::npos) return true;
  }
}

int finish(Child& c) {
  char buf[256];
  while (read(c.out, buf, sizeof(buf)) > 0) {
  }
  close(c.out);
  int status = 0;
  waitpid(c.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One run of kagami to the end; checks the guest exited through debug-exit (status 1).
double timed_run(const Settings& s, const std::string& cmdline) {
  auto t0 = Clock::now();
  Child c = spawn(s, cmdline, "128M");
  int status = finish(c);
  double t = seconds_since(t0);
  if (status != 1) die("kagami exited with status " + std::to_string(status) + " (wanted 1)");
  return t;
}

void bench_startup(const Settings& s) {
  std::vector<double> first_instruction, whole_run;
  for (int i = 0; i < s.runs; i++) {
    auto t0 = Clock::now();
    Child c = spawn(s, "", "128M");
    if (!wait_for_output(c, "!")) die("the guest printed nothing");
    first_instruction.push_back(seconds_since(t0));
    int status = finish(c);
    whole_run.push_back(seconds_since(t0));
    if (status != 1) die("kagami exited with status " + std::to_string(status));
  }
  std::printf(
      "| startup: start of kagami to the guest's first instruction | %.2f ms (min %.2f) |\n",
      median(first_instruction) * 1e3,
      *std::min_element(first_instruction.begin(), first_instruction.end()) * 1e3);
  std::printf("| startup: whole run of a guest that exits at once | %.2f ms |\n",
              median(whole_run) * 1e3);
}

void bench_pio(const Settings& s) {
  std::vector<double> rates;
  int runs = std::max(3, s.runs / 5);
  for (int i = 0; i < runs; i++) {
    double base = timed_run(s, "");
    double loaded = timed_run(s, "pio=" + std::to_string(s.pio_count));
    rates.push_back(s.pio_count / std::max(loaded - base, 1e-9));
  }
  double rate = median(rates);
  std::printf(
      "| port-I/O exit round trip (%u writes to port 0xe0, CPL0) | %.0f exits/s (%.2f us each) |\n",
      s.pio_count, rate, 1e6 / rate);
}

std::map<std::string, long> status_kib(pid_t pid) {
  std::map<std::string, long> kib;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    char key[64];
    long value;
    if (std::sscanf(line.c_str(), "%63[^:]: %ld kB", key, &value) == 2) kib[key] = value;
  }
  return kib;
}

// Resident KiB of the mappings at least min_kib large: the guest's RAM, whatever backs it.
long large_mappings_rss_kib(pid_t pid, long min_kib) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  long size = 0, rss = 0, value;
  while (std::getline(in, line)) {
    if (std::sscanf(line.c_str(), "Size: %ld kB", &value) == 1) size = value;
    if (std::sscanf(line.c_str(), "Rss: %ld kB", &value) == 1 && size >= min_kib) rss += value;
  }
  return rss;
}

void bench_overhead(const Settings& s) {
  constexpr long kGuestKib = 512 * 1024;
  std::vector<double> overhead, guest;
  int runs = std::max(3, s.runs / 5);
  for (int i = 0; i < runs; i++) {
    Child c = spawn(s, "touch=" + std::to_string(s.touch_mib), "512M");
    if (!wait_for_output(c, "ready")) die("the guest did not get ready");
    auto kib = status_kib(c.pid);
    long guest_kib = large_mappings_rss_kib(c.pid, kGuestKib);
    kill(c.pid, SIGTERM);
    finish(c);
    overhead.push_back((kib["VmRSS"] - guest_kib) / 1024.0);
    guest.push_back(guest_kib / 1024.0);
  }
  std::printf("| VMM resident memory beyond guest RAM (VmRSS - guest RAM Rss) | %.1f MiB |\n",
              median(overhead));
  std::printf("| guest RAM resident after touching %u MiB | %.1f MiB |\n", s.touch_mib,
              median(guest));
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::vector<std::string> which;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--kagami")
      s.kagami = next();
    else if (a == "--guest")
      s.guest = next();
    else if (a == "--hypervisor")
      s.hypervisor = next();
    else if (a == "--runs")
      s.runs = std::max(1, std::atoi(next().c_str()));
    else if (a == "--pio-count")
      s.pio_count = static_cast<unsigned>(std::atoi(next().c_str()));
    else if (a == "startup" || a == "pio" || a == "overhead")
      which.push_back(a);
    else if (a == "-h" || a == "--help") {
      std::puts(
          "usage: kagami_bench [--kagami PATH] [--guest PATH] [--hypervisor PATH] [--runs N]\n"
          "                    [--pio-count N] [startup] [pio] [overhead]");
      return 0;
    } else
      die("unknown argument '" + a + "'");
  }
  if (which.empty()) which = {"startup", "pio", "overhead"};
  if (access(s.kagami.c_str(), X_OK) != 0) die(s.kagami + ": not found (run scripts/build)");
  if (access(s.guest.c_str(), R_OK) != 0) die(s.guest + ": not found (run scripts/build)");
  std::printf("| measure | value |\n|---|---|\n");
  for (const std::string& w : which) {
    if (w == "startup") bench_startup(s);
    if (w == "pio") bench_pio(s);
    if (w == "overhead") bench_overhead(s);
  }
  return 0;
}
