// `kagami migrate`: asks the source's control socket to migrate, shows progress until it is
// over, and cancels it on Ctrl-C.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "api/control_client.hpp"
#include "api/vm_control.hpp"
#include "cli/commands.hpp"

namespace kagami {
namespace {

volatile std::sig_atomic_t g_interrupts = 0;

void count_interrupt(int) {
  g_interrupts = g_interrupts + 1;
}

// Ctrl-C (or SIGTERM) is counted; the polling loop sends the cancel, a second one leaves.
void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = count_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

double mib(double bytes) {
  return bytes / (1 << 20);
}

double number(const Json& object, const char* key) {
  const Json* v = object.find(key);
  return v && v->is_number() ? v->as_double() : 0;
}

std::string text(const Json& object, const char* key) {
  const Json* v = object.find(key);
  return v && v->is_string() ? v->as_string() : "";
}

bool flag(const Json& object, const char* key) {
  const Json* v = object.find(key);
  return v && v->is_bool() && v->as_bool();
}

// One updating line on a terminal; elsewhere (a log, a test) a line per pass or state change.
class Progress {
 public:
  Progress() : tty_(::isatty(STDOUT_FILENO)) {}

  void show(const Json& migration) {
    const Json* passes = migration.find("passes");
    size_t count = passes && passes->is_array() ? passes->as_array().size() : 0;
    double dirty = 0;
    if (count > 0) dirty = number(passes->as_array().back(), "dirty-pages-per-second") * 4096;
    bool settling = count > 0 && flag(passes->as_array().back(), "settling");
    std::string state = text(migration, "state");
    char line[256];
    std::snprintf(line, sizeof(line),
                  "%s: pass %zu, %.1f / %.1f MiB sent, dirty %.1f MiB/s, throttle %.0f%%, "
                  "expected downtime %.0f ms%s",
                  state.c_str(), count, mib(number(migration, "total-bytes")),
                  mib(number(migration, "ram-bytes")), mib(dirty),
                  number(migration, "throttle-percent"), number(migration, "expected-downtime-ms"),
                  settling ? " (settling)" : "");
    if (tty_) {
      std::printf("\r%s\033[K", line);
      shown_ = true;
    } else if (count != last_count_ || state != last_state_) {
      std::printf("%s\n", line);
    }
    std::fflush(stdout);
    last_count_ = count;
    last_state_ = state;
  }

  // Ends the updating line, so what follows starts on its own.
  void end() {
    if (shown_) std::printf("\n");
    shown_ = false;
    std::fflush(stdout);
  }

 private:
  bool tty_;
  bool shown_ = false;
  size_t last_count_ = SIZE_MAX;
  std::string last_state_;
};

Json migrate_request(const MigrateOptions& m) {
  Json request = Json::object()
                     .set("command", "migrate")
                     .set("to", m.to)
                     .set("downtime-ms", m.downtime_ms)
                     .set("auto-converge", m.auto_converge)
                     .set("local", m.local)
                     .set("settle-passes", m.settle_passes);
  if (m.bandwidth_mib) request.set("bandwidth", m.bandwidth_mib);
  if (m.time_limit_s) request.set("time-limit-s", m.time_limit_s);
  return request;
}

void print_summary(const Json& migration) {
  const Json* passes = migration.find("passes");
  size_t count = 0, settling = 0;
  if (passes && passes->is_array()) {
    count = passes->as_array().size();
    for (const Json& pass : passes->as_array()) settling += flag(pass, "settling") ? 1 : 0;
  }
  std::printf(
      "migrated to %s in %.0f ms: downtime %.1f ms, %.1f MiB sent for %.1f MiB of RAM, "
      "%zu passes (%zu settling)\n",
      text(migration, "peer").c_str(), number(migration, "total-ms"),
      number(migration, "downtime-ms"), mib(number(migration, "total-bytes")),
      mib(number(migration, "ram-bytes")), count, settling);
  const Json* phases = migration.find("downtime-phases");
  if (!phases || !phases->is_object()) return;
  const Json& p = *phases;
  std::printf(
      "downtime: pause %.1f ms, last dirty log %.1f ms, last pass %.1f ms (%.1f MiB), "
      "state save %.1f ms (%.0f KiB), state send %.1f ms, state loaded %.1f ms, "
      "go to running %.1f ms\n",
      number(p, "pause-ms"), number(p, "collect-ms"), number(p, "ram-ms"),
      mib(number(p, "ram-bytes")), number(p, "state-save-ms"), number(p, "state-bytes") / 1024,
      number(p, "state-send-ms"), number(p, "state-loaded-ms"), number(p, "running-ms"));
}

// Polls until the migration is over; the exit status.
int watch(ControlClient& client, const std::string& to) {
  Progress progress;
  bool cancel_sent = false;
  const Json status_request = Json::object().set("command", "status");
  for (;;) {
    if (g_interrupts > 1) {
      progress.end();
      std::fprintf(stderr, "kagami: stopped watching; the source is still cancelling\n");
      return 1;
    }
    Json status;
    try {
      if (g_interrupts > 0 && !cancel_sent) {
        client.request(Json::object().set("command", "migrate-cancel"));  // refused if just over
        cancel_sent = true;
      }
      status = client.request(status_request);
    } catch (const ControlError& e) {
      progress.end();
      std::fprintf(stderr, "kagami: %s before the migration to %s was over\n", e.what(),
                   to.c_str());
      return 1;
    }
    const Json* migration = status.find("migration");
    if (!migration || !migration->is_object()) {
      progress.end();
      std::fprintf(stderr, "kagami: %s\n", text(status, "error").c_str());
      return 1;
    }
    std::string state = text(*migration, "state");
    progress.show(*migration);
    // "migrated": the source stopped because the destination confirmed (the migration's own
    // state may lag behind by a moment).
    if (state == "completed" || text(status, "state") == "migrated") {
      progress.end();
      print_summary(*migration);
      return 0;
    }
    if (state == "failed" || state == "cancelled") {
      progress.end();
      std::string error = state == "failed" ? text(*migration, "error") : "";
      std::fprintf(stderr, "kagami: migration to %s %s%s%s; the guest runs on here\n", to.c_str(),
                   state.c_str(), error.empty() ? "" : ": ", error.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

int migrate_command(const MigrateOptions& m) {
  ControlClient client(m.api_socket);
  catch_interrupts();
  Json reply = client.request(migrate_request(m));
  const Json* ok = reply.find("ok");
  if (!ok || !ok->is_bool() || !ok->as_bool()) {
    std::fprintf(stderr, "kagami: %s\n", text(reply, "error").c_str());
    return 1;
  }
  return watch(client, m.to);
}

}  // namespace kagami
