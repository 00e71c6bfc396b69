// Control requests: checks each one's fields and bounds, calls the VM, builds the reply.
#include "api/control_requests.hpp"

#include <algorithm>
#include <initializer_list>

namespace kagami {
namespace {

constexpr size_t kMaxPathBytes = 4096;

class Request {
 public:
  Request(const Json& json, std::initializer_list<std::string_view> allowed) : json_(json) {
    command_ = json.find("command")->as_string();
    for (const Json::Member& m : json.as_object()) {
      if (m.key == "command") continue;
      if (std::find(allowed.begin(), allowed.end(), m.key) == allowed.end())
        throw ControlError(command_ + ": unknown field \"" + m.key + "\"");
    }
  }

  uint64_t integer(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max) const {
    const Json* v = json_.find(key);
    if (!v) return fallback;
    if (!v->is_int() || v->as_int() < static_cast<int64_t>(min) ||
        v->as_int() > static_cast<int64_t>(max))
      refuse(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return static_cast<uint64_t>(v->as_int());
  }

  bool boolean(std::string_view key, bool fallback) const {
    const Json* v = json_.find(key);
    if (!v) return fallback;
    if (!v->is_bool()) refuse(key, "must be true or false");
    return v->as_bool();
  }

  std::string text(std::string_view key) const {
    const Json* v = json_.find(key);
    if (!v) refuse(key, "is required");
    if (!v->is_string() || v->as_string().empty() || v->as_string().size() > kMaxPathBytes ||
        v->as_string().find('\0') != std::string::npos)
      refuse(key, "must be a non-empty string of at most " + std::to_string(kMaxPathBytes) +
                      " bytes, without NUL");
    return v->as_string();
  }

 private:
  // The one form of every field's error: the command, the field, what it must be.
  [[noreturn]] void refuse(std::string_view key, const std::string& why) const {
    throw ControlError(command_ + ": \"" + std::string(key) + "\" " + why);
  }

  const Json& json_;
  std::string command_;
};

Json ok() {
  return Json::object().set("ok", true);
}

Json pass_json(const MigrationPass& p) {
  return Json::object()
      .set("index", p.index)
      .set("pages", p.pages)
      .set("zero-pages", p.zero_pages)
      .set("bytes", p.bytes)
      .set("seconds", p.seconds)
      .set("dirty-pages-per-second", p.dirty_pages_per_second)
      .set("throttle-percent", p.throttle_percent)
      .set("settling", p.settling);
}

Json downtime_phases_json(const MigrationDowntimePhases& d) {
  return Json::object()
      .set("pause-ms", d.pause_ms)
      .set("collect-ms", d.collect_ms)
      .set("ram-ms", d.ram_ms)
      .set("ram-bytes", d.ram_bytes)
      .set("state-save-ms", d.state_save_ms)
      .set("state-bytes", d.state_bytes)
      .set("state-send-ms", d.state_send_ms)
      .set("state-loaded-ms", d.state_loaded_ms)
      .set("running-ms", d.running_ms);
}

Json migration_json(const MigrationStatus& m) {
  Json passes = Json::array();
  for (const MigrationPass& p : m.passes) passes.push(pass_json(p));
  return Json::object()
      .set("state", to_string(m.state))
      .set("peer", m.peer)
      .set("error", m.error)
      .set("ram-bytes", m.ram_bytes)
      .set("total-bytes", m.total_bytes)
      .set("remaining-pages", m.remaining_pages)
      .set("bandwidth", m.bandwidth)
      .set("expected-downtime-ms", m.expected_downtime_ms)
      .set("downtime-ms", m.downtime_ms)
      .set("total-ms", m.total_ms)
      .set("throttle-percent", m.throttle_percent)
      .set("downtime-phases", downtime_phases_json(m.downtime_phases))
      .set("passes", std::move(passes));
}

MigrateRequest migrate_request(const Json& json) {
  Request r(json, {"to", "downtime-ms", "bandwidth", "time-limit-s", "auto-converge", "local",
                   "settle-passes"});
  MigrateRequest m;
  m.to = r.text("to");
  m.downtime_ms = r.integer("downtime-ms", m.downtime_ms, 1, 600'000);
  m.bandwidth_mib = r.integer("bandwidth", 0, 0, 1 << 20);
  m.time_limit_s = r.integer("time-limit-s", 0, 0, 7 * 24 * 3600);
  m.auto_converge = r.boolean("auto-converge", true);
  m.local = r.boolean("local", false);
  m.settle_passes = r.integer("settle-passes", m.settle_passes, 0, 64);
  if (m.local && m.to.rfind("unix:", 0) != 0)
    throw ControlError("migrate: \"local\" needs a unix:PATH destination");
  return m;
}

ControlReply dispatch(VmControl& vm, const Json& json, const std::string& command) {
  if (command == "status") {
    (void)Request(json, {});
    Json reply = status_json(vm.status());
    Json body = ok();
    for (const Json::Member& m : reply.as_object()) body.set(m.key, m.value);
    return {std::move(body), {}};
  }
  if (command == "pause" || command == "resume" || command == "migrate-cancel") {
    (void)Request(json, {});
    if (command == "pause") vm.pause();
    if (command == "resume") vm.resume();
    if (command == "migrate-cancel") vm.cancel_migration();
    return {ok(), {}};
  }
  if (command == "migrate") {
    vm.migrate(migrate_request(json));
    return {ok(), {}};
  }
  if (command == "save-state") {
    std::string path = Request(json, {"path"}).text("path");
    uint64_t bytes = vm.save_state(path);
    return {ok().set("path", path).set("bytes", bytes), {}};
  }
  if (command == "quit") {
    (void)Request(json, {});
    return {ok(), [&vm] { vm.quit(); }};
  }
  throw ControlError("unknown command \"" + command +
                     "\" (status, pause, resume, migrate, migrate-cancel, save-state, quit)");
}

}  // namespace

Json status_json(const VmStatus& status) {
  return Json::object()
      .set("state", status.state)
      .set("vcpus", status.vcpus)
      .set("memory", status.memory)
      .set("hypervisor", status.hypervisor)
      .set("migration", migration_json(status.migration));
}

Json error_reply(const std::string& message) {
  return Json::object().set("ok", false).set("error", message);
}

ControlReply handle_request(VmControl& vm, std::string_view line) {
  try {
    Json json = parse_json(line);
    const Json* command = json.find("command");
    if (!json.is_object() || !command || !command->is_string())
      throw ControlError("a request is a JSON object with a \"command\" string");
    return dispatch(vm, json, command->as_string());
  } catch (const std::exception& e) {
    return {error_reply(e.what()), {}};
  }
}

}  // namespace kagami
